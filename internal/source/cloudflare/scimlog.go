package cloudflare

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/driftd/driftd/internal/fanout"
	"github.com/driftd/driftd/internal/snapshot"
)

// SCIMLogWindow is how far back the SCIM update log is read: the newest
// entry in it is all ENTRA-SCIM-006 needs.
const SCIMLogWindow = 7 * 24 * time.Hour

const permAccessLogs = "Access: Audit Logs Read"

// scimLogReads bounds the SCIM log requests in flight (one per provider).
const scimLogReads = 4

// scimLogEntry is the only part of a SCIM update log entry driftd
// decodes. The rest (user emails, group names, request bodies) is
// personal data: never decoded, never kept.
type scimLogEntry struct {
	IdPID    string    `json:"idp_id"`
	LoggedAt time.Time `json:"logged_at"`
}

// scimLogs reads, for each SCIM-enabled azureAD provider, when
// Cloudflare last logged a SCIM request for it within the window
// before at: one request per provider, asking for the newest entry only,
// up to scimLogReads at once. It sets SCIMLog on each provider it read
// and returns the failures by provider ID.
func (s *Source) scimLogs(ctx context.Context, idps []snapshot.IdentityProvider, at time.Time) map[string]error {
	var mu sync.Mutex
	failed := map[string]error{}
	since := at.Add(-SCIMLogWindow).UTC().Truncate(time.Second)
	g := fanout.New(scimLogReads)
	for i := range idps {
		idp := &idps[i]
		if idp.Type != "azureAD" || idp.SCIM == nil || idp.SCIM.Enabled == nil || !*idp.SCIM.Enabled {
			continue
		}
		g.Go(func() {
			latest, err := s.latestSCIMLog(ctx, idp.ID, since)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed[idp.ID] = withPermission(fmt.Errorf("reading the SCIM update log of identity provider %s: %s", idp.ID, s.describe(err)), permAccessLogs)
				return
			}
			idp.SCIMLog = &snapshot.SCIMLog{Since: since, Latest: latest}
		})
	}
	g.Wait() // a panic goes on to Read, which carries it to the audit
	return failed
}

func (s *Source) latestSCIMLog(ctx context.Context, idpID string, since time.Time) (*time.Time, error) {
	var params zero_trust.AccessLogSCIMUpdateListParams
	params.AccountID.Value, params.AccountID.Present = s.accountID, true
	params.IdPID.Value, params.IdPID.Present = []string{idpID}, true
	params.Since.Value, params.Since.Present = since, true
	params.Direction.Value, params.Direction.Present = zero_trust.AccessLogSCIMUpdateListParamsDirectionDesc, true
	params.Limit.Value, params.Limit.Present = 1, true
	params.PerPage.Value, params.PerPage.Present = 1, true
	var body []byte
	if _, err := s.scim.List(ctx, params, option.WithResponseBodyInto(&body)); err != nil {
		return nil, err
	}
	env, err := decodeEnvelope(body)
	if err != nil {
		return nil, err
	}
	var raw []json.RawMessage
	// A null or absent result decodes to nil: not "no entries".
	if err := json.Unmarshal(env.Result, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("%w: result is not a list of log entries", errMalformed)
	}
	var latest *time.Time
	for _, item := range raw {
		var e scimLogEntry
		if err := decodeObject("a SCIM update log entry", item, &e); err != nil {
			return nil, err
		}
		if !strings.EqualFold(e.IdPID, idpID) || e.LoggedAt.IsZero() {
			// Filtered for this provider, so anything else is a broken
			// answer, not evidence either way.
			return nil, fmt.Errorf("%w: the log answered with an entry of another identity provider or without a time", errMalformed)
		}
		if t := e.LoggedAt.UTC(); latest == nil || t.After(*latest) {
			latest = &t
		}
	}
	return latest, nil
}
