package cloudflare

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v6/accounts"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/textsafe"
)

// PermAuditLog is the API token permission Cloudflare's account audit log
// needs.
const PermAuditLog = "Account Settings Read"

// auditLogPageSize is the limit of one audit log page.
const auditLogPageSize = 100

// Audit-log text limits.
const maxAuditName = 256

// wireAuditLog is the only part of an account audit log entry (version 2)
// driftd decodes. The request and response bodies (resource.request,
// resource.response), the raw request and the account are never decoded,
// never kept.
type wireAuditLog struct {
	ID     string `json:"id"`
	Action *struct {
		Description string    `json:"description"`
		Result      string    `json:"result"`
		Time        time.Time `json:"time"`
		Type        string    `json:"type"`
	} `json:"action"`
	Actor *struct {
		ID        string `json:"id"`
		Email     string `json:"email"`
		IPAddress string `json:"ip_address"`
		TokenID   string `json:"token_id"`
		TokenName string `json:"token_name"`
		Type      string `json:"type"`
	} `json:"actor"`
	Resource *struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"resource"`
}

// AuditLogs reads the account audit log (version 2) entries between from
// and to about any of ids, filtered server-side by time and resource, and
// returns them as Changes, newest first. Failed actions changed nothing
// and are left out. A refusal (401/403) is an error naming the token
// permission.
func (s *Source) AuditLogs(ctx context.Context, ids []string, from, to time.Time) ([]finding.Change, error) {
	wanted := map[string]bool{}
	var opts []option.RequestOption
	var sorted []string
	for _, id := range ids {
		key := strings.ToLower(strings.TrimSpace(id))
		if key != "" && !wanted[key] {
			wanted[key] = true
			sorted = append(sorted, key)
		}
	}
	if len(sorted) == 0 {
		return nil, nil
	}
	sort.Strings(sorted)
	// The SDK renders since and before as dates; the API also takes
	// timestamps, which keep the window as narrow as asked.
	opts = append(opts, option.WithQuery("since", from.UTC().Format(time.RFC3339)), option.WithQuery("before", to.UTC().Format(time.RFC3339)))
	for _, id := range sorted {
		opts = append(opts, option.WithQueryAdd("resource_id", id))
	}
	var out []finding.Change
	seenCursor := map[string]bool{}
	cursor := ""
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("reading the account audit log: more than %d pages; giving up", maxPages)
		}
		var params accounts.LogAuditListParams
		params.AccountID.Value, params.AccountID.Present = s.accountID, true
		params.Since.Value, params.Since.Present = from.UTC(), true
		params.Before.Value, params.Before.Present = to.UTC(), true
		params.Direction.Value, params.Direction.Present = accounts.LogAuditListParamsDirectionDesc, true
		params.Limit.Value, params.Limit.Present = auditLogPageSize, true
		if cursor != "" {
			params.Cursor.Value, params.Cursor.Present = cursor, true
		}
		var body []byte
		if _, err := s.audit.List(ctx, params, append(opts, option.WithResponseBodyInto(&body))...); err != nil {
			var apiErr *zero_trust.Error
			if errors.As(err, &apiErr) && (apiErr.StatusCode == 401 || apiErr.StatusCode == 403) {
				return nil, fmt.Errorf("%s missing (reading the account audit log: %s)", PermAuditLog, s.describe(err))
			}
			return nil, fmt.Errorf("reading the account audit log: %s", s.describe(err))
		}
		changes, next, err := auditLogPage(body, wanted)
		if err != nil {
			return nil, fmt.Errorf("reading the account audit log: %w", err)
		}
		out = append(out, changes...)
		if next == "" {
			break
		}
		if seenCursor[next] {
			return nil, errors.New("reading the account audit log: the next-page cursor repeats an earlier page")
		}
		seenCursor[next] = true
		cursor = next
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, nil
}

// auditLogPage converts one page. An entry without an action time, an
// actor or a resource is a broken answer, and so is one about a resource
// that was not asked for (the filter is server-side): the page fails
// rather than a change being dropped or misattributed.
func auditLogPage(body []byte, wanted map[string]bool) ([]finding.Change, string, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return nil, "", err
	}
	var entries []json.RawMessage
	// A null or absent result decodes to nil: not "no entries".
	if err := json.Unmarshal(env.Result, &entries); err != nil || entries == nil {
		return nil, "", fmt.Errorf("%w: result is not a list of audit log entries", errMalformed)
	}
	var out []finding.Change
	for _, raw := range entries {
		var e wireAuditLog
		if err := decodeObject("an audit log entry", raw, &e); err != nil {
			return nil, "", err
		}
		if e.Action == nil || e.Action.Time.IsZero() || e.Actor == nil || e.Resource == nil {
			return nil, "", fmt.Errorf("%w: an audit log entry has no action time, actor or resource", errMalformed)
		}
		id := strings.ToLower(e.Resource.ID)
		if !wanted[id] {
			return nil, "", fmt.Errorf("%w: the log answered with an entry about a resource that was not asked for", errMalformed)
		}
		if !strings.EqualFold(e.Action.Result, "success") {
			continue
		}
		c := finding.Change{Source: snapshot.SideCloudflare, At: e.Action.Time.UTC(), Target: id,
			Activity: textsafe.Clip(strings.TrimSpace(e.Action.Type+" "+e.Resource.Type), maxAuditName), IP: textsafe.Clip(e.Actor.IPAddress, 64)}
		if e.Action.Description != "" {
			c.Activity = textsafe.Clip(e.Action.Description, maxAuditName)
		}
		switch {
		case e.Actor.Type == "user" && e.Actor.Email != "":
			c.ActorType, c.Actor = finding.ActorUser, e.Actor.Email
		case e.Actor.TokenName != "" || e.Actor.TokenID != "":
			c.ActorType = finding.ActorApp
			c.Actor = "API token " + cmp.Or(e.Actor.TokenName, e.Actor.TokenID)
			c.ActorID = e.Actor.TokenID
			if e.Actor.Email != "" {
				c.Actor += " of " + e.Actor.Email
			}
		default:
			c.ActorType, c.Actor = finding.ActorApp, cmp.Or(e.Actor.Email, e.Actor.Type, "(unknown)")
			c.ActorID = e.Actor.ID
		}
		c.Actor, c.ActorID = textsafe.Clip(c.Actor, maxAuditName), textsafe.Clip(c.ActorID, maxAuditName)
		out = append(out, c)
	}
	next := ""
	if info := env.ResultInfo; info != nil {
		next = info.Cursor
		if next == "" && info.Cursors != nil {
			next = info.Cursors.After
		}
	}
	if len(entries) == 0 {
		next = "" // an empty page ends the list whatever the cursor says
	}
	return out, next, nil
}
