// Package cloudflare reads the Cloudflare Zero Trust side of the
// integrations through cloudflare-go and records what it could not read as
// gaps.
package cloudflare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/driftd/driftd/internal/apicount"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/transport"
)

// Source reads one Cloudflare account.
type Source struct {
	idps       *zero_trust.IdentityProviderService
	orgs       *zero_trust.OrganizationService
	accountID  string
	teamDomain string
	token      config.Secret
}

// maxRetries replaces the SDK default of 10 retries with up to 30 s
// backoff each: a few retries, honouring Retry-After, bounded by the run.
const maxRetries = 3

// perPage is the identity-provider page size asked for; most accounts
// have a handful, so one request reads them all.
const perPage = 50

// New builds the service clients. No request is sent until Read. The
// services are built directly (not with cloudflare.NewClient) so no
// CLOUDFLARE_* environment variable changes where driftd connects.
func New(cfg config.Cloudflare, counter *apicount.Counter) (*Source, error) {
	base, err := transport.New(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("cloudflare.ca_file: %w", err)
	}
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.APIURL),
		option.WithAPIToken(cfg.APIToken.Reveal()),
		option.WithHTTPClient(&http.Client{Transport: counter.Transport(apicount.Cloudflare, base)}),
		option.WithMaxRetries(maxRetries),
	}
	return &Source{
		idps:       zero_trust.NewIdentityProviderService(opts...),
		orgs:       zero_trust.NewOrganizationService(opts...),
		accountID:  cfg.AccountID,
		teamDomain: cfg.TeamDomain,
		token:      cfg.APIToken,
	}, nil
}

// Read fills the Cloudflare part of snap: every identity provider of the
// account and, unless configured, the team domain. The two reads run
// concurrently; failures become gaps.
func (s *Source) Read(ctx context.Context, snap *snapshot.Snapshot) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	gap := func(what snapshot.DataKind, err error) {
		mu.Lock()
		defer mu.Unlock()
		snap.Gaps = append(snap.Gaps, snapshot.Gap{Side: snapshot.SideCloudflare, What: what, Error: s.describe(err)})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		idps, err := s.identityProviders(ctx)
		if err != nil {
			gap(snapshot.CloudflareIdPs, err)
			return
		}
		mu.Lock()
		snap.IdentityProviders = idps
		mu.Unlock()
	}()
	if s.teamDomain != "" {
		snap.AuthDomain = s.teamDomain
	} else {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var params zero_trust.OrganizationListParams
			params.AccountID.Value, params.AccountID.Present = s.accountID, true
			org, err := s.orgs.List(ctx, params)
			if err == nil && org.AuthDomain == "" {
				err = errors.New("the Zero Trust organization has no auth_domain")
			}
			if err != nil {
				gap(snapshot.CloudflareOrg, fmt.Errorf("reading the Zero Trust organization: %w", err))
				return
			}
			mu.Lock()
			snap.AuthDomain = strings.ToLower(org.AuthDomain)
			mu.Unlock()
		}()
	}
	wg.Wait()
}

// identityProviders reads every page. It stops on an empty page, on the
// last page announced by result_info, or on a short page, so a small
// account costs one request rather than the auto-pager's two.
func (s *Source) identityProviders(ctx context.Context) ([]snapshot.IdentityProvider, error) {
	out := []snapshot.IdentityProvider{}
	for page := int64(1); ; page++ {
		// The SDK's param.Field type is internal to it; its exported
		// fields are set directly (what cloudflare.F does), which avoids
		// importing the SDK root package and compiling every product.
		var params zero_trust.IdentityProviderListParams
		params.AccountID.Value, params.AccountID.Present = s.accountID, true
		params.Page.Value, params.Page.Present = page, true
		params.PerPage.Value, params.PerPage.Present = perPage, true
		res, err := s.idps.List(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("listing Access identity providers: %w", err)
		}
		for _, item := range res.Result {
			idp, err := decodeIdentityProvider(item.JSON.RawJSON())
			if err != nil {
				return nil, err
			}
			out = append(out, idp)
		}
		if len(res.Result) == 0 || len(res.Result) < perPage && res.ResultInfo.PerPage >= perPage {
			break
		}
		if total, ok := totalPages(res.ResultInfo.JSON.RawJSON()); ok && page >= total {
			break
		}
		if page > 1000 {
			return nil, errors.New("listing Access identity providers: more than 1000 pages; giving up")
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func totalPages(resultInfo string) (int64, bool) {
	var info struct {
		TotalPages *int64 `json:"total_pages"`
	}
	if json.Unmarshal([]byte(resultInfo), &info) != nil || info.TotalPages == nil {
		return 0, false
	}
	return *info.TotalPages, true
}

// rawIdentityProvider is the wire shape of an identity provider. The SDK's
// union has no discriminator (it labels other types as Azure AD) and does
// not type pkce_enabled, so driftd decodes the raw JSON itself.
type rawIdentityProvider struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Config struct {
		ClientID                 string   `json:"client_id"`
		DirectoryID              string   `json:"directory_id"`
		PKCEEnabled              *bool    `json:"pkce_enabled"`
		SupportGroups            *bool    `json:"support_groups"`
		ConditionalAccessEnabled *bool    `json:"conditional_access_enabled"`
		EmailClaimName           *string  `json:"email_claim_name"`
		Claims                   []string `json:"claims"`
		Prompt                   *string  `json:"prompt"`
	} `json:"config"`
	SCIMConfig *struct {
		Enabled                *bool   `json:"enabled"`
		UserDeprovision        *bool   `json:"user_deprovision"`
		SeatDeprovision        *bool   `json:"seat_deprovision"`
		IdentityUpdateBehavior *string `json:"identity_update_behavior"`
	} `json:"scim_config"`
}

func decodeIdentityProvider(raw string) (snapshot.IdentityProvider, error) {
	var r rawIdentityProvider
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return snapshot.IdentityProvider{}, fmt.Errorf("decoding an Access identity provider: %v", err)
	}
	if r.ID == "" || r.Type == "" {
		return snapshot.IdentityProvider{}, errors.New("decoding an Access identity provider: id or type missing in the API response")
	}
	idp := snapshot.IdentityProvider{ID: r.ID, Name: r.Name, Type: r.Type}
	if r.Type != "azureAD" {
		return idp, nil
	}
	c := r.Config
	idp.ClientID, idp.DirectoryID = c.ClientID, c.DirectoryID
	idp.PKCEEnabled, idp.SupportGroups, idp.ConditionalAccessEnabled = c.PKCEEnabled, c.SupportGroups, c.ConditionalAccessEnabled
	idp.EmailClaimName, idp.Claims, idp.Prompt = c.EmailClaimName, c.Claims, c.Prompt
	if idp.Claims == nil {
		idp.Claims = []string{}
	}
	if sc := r.SCIMConfig; sc != nil {
		idp.SCIM = &snapshot.IdPSCIM{
			Enabled:                sc.Enabled,
			UserDeprovision:        sc.UserDeprovision,
			SeatDeprovision:        sc.SeatDeprovision,
			IdentityUpdateBehavior: sc.IdentityUpdateBehavior,
		}
	}
	return idp, nil
}

// describe renders an error for a gap: HTTP status and Cloudflare's error
// codes and messages, without the SDK's request dump, and never the token.
func (s *Source) describe(err error) string {
	text := err.Error()
	var apiErr *zero_trust.Error
	if errors.As(err, &apiErr) {
		var parts []string
		for _, e := range apiErr.Errors {
			parts = append(parts, strconv.FormatInt(e.Code, 10)+" "+e.Message)
		}
		detail := fmt.Sprintf("HTTP %d", apiErr.StatusCode)
		if len(parts) > 0 {
			detail += ": " + strings.Join(parts, "; ")
		}
		text = strings.TrimSuffix(text, apiErr.Error()) + detail
	}
	if tok := s.token.Reveal(); len(tok) >= 4 {
		text = strings.ReplaceAll(text, tok, "[REDACTED]")
	}
	return text
}
