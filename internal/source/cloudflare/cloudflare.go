// Package cloudflare reads the Cloudflare Zero Trust side of the
// integrations through cloudflare-go and records what it could not read as
// gaps.
package cloudflare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudflare/cloudflare-go/v6/accounts"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/driftd/driftd/internal/apicount"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/fanout"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/transport"
)

// Source reads one Cloudflare account.
type Source struct {
	idps       *zero_trust.IdentityProviderService
	orgs       *zero_trust.OrganizationService
	policies   *zero_trust.AccessPolicyService
	apps       *zero_trust.AccessApplicationService
	groups     *zero_trust.AccessGroupService
	gateway    *zero_trust.GatewayRuleService
	scim       *zero_trust.AccessLogSCIMUpdateService
	audit      *accounts.LogAuditService
	accountID  string
	teamDomain string
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
	origin, err := transport.OriginOf(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("cloudflare.api_url: not an absolute URL")
	}
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.APIURL),
		option.WithAPIToken(cfg.APIToken.Reveal()),
		// The guard sits below the counter, so a refused request is not
		// counted as sent.
		option.WithHTTPClient(transport.Client(transport.Guard(counter.Transport(apicount.Cloudflare, base), origin))),
		option.WithMaxRetries(maxRetries),
	}
	return &Source{
		idps:       zero_trust.NewIdentityProviderService(opts...),
		orgs:       zero_trust.NewOrganizationService(opts...),
		policies:   zero_trust.NewAccessPolicyService(opts...),
		apps:       zero_trust.NewAccessApplicationService(opts...),
		groups:     zero_trust.NewAccessGroupService(opts...),
		gateway:    zero_trust.NewGatewayRuleService(opts...),
		scim:       zero_trust.NewAccessLogSCIMUpdateService(opts...),
		audit:      accounts.NewLogAuditService(opts...),
		accountID:  cfg.AccountID,
		teamDomain: cfg.TeamDomain,
	}, nil
}

// Result is what one Read observed of the account.
type Result struct {
	IdentityProviders []snapshot.IdentityProvider
	AuthDomain        string
	// Policies holds the Access and Gateway rules; a read that failed
	// leaves its slice nil and a gap.
	Policies *snapshot.Policies
	// SCIMLogFailures are the SCIM update log reads that failed, by
	// identity provider ID; the audit turns each into a gap of the
	// integrations that use the provider.
	SCIMLogFailures map[string]error
	Gaps            []snapshot.Gap
}

// Read reads the Cloudflare side: every identity provider of the
// account (then the SCIM update log of each that provisions over SCIM,
// for the week before at), the Access and Gateway rules and, unless
// configured, the team domain. The reads run concurrently; failures
// become gaps.
func (s *Source) Read(ctx context.Context, at time.Time) Result {
	var (
		mu  sync.Mutex
		res Result
	)
	gap := func(what snapshot.DataKind, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Gaps = append(res.Gaps, snapshot.Gap{Side: snapshot.SideCloudflare, What: what, Error: s.describe(err)})
	}
	// A panic in a read is raised again by Wait, in Read's own goroutine.
	reads := fanout.New(0)
	spawn := reads.Go
	spawn(func() {
		idps, err := s.identityProviders(ctx)
		if err != nil {
			gap(snapshot.CloudflareIdPs, err)
			return
		}
		failed := s.scimLogs(ctx, idps, at)
		mu.Lock()
		res.IdentityProviders, res.SCIMLogFailures = idps, failed
		mu.Unlock()
	})
	res.Policies = &snapshot.Policies{}
	for _, pr := range s.policyReads() {
		spawn(func() {
			var got snapshot.Policies
			if err := pr.run(ctx, &got); err != nil {
				gap(pr.what, withPermission(errors.New(s.describe(err)), pr.perm))
				return
			}
			mu.Lock()
			mergePolicies(res.Policies, &got)
			mu.Unlock()
		})
	}
	if s.teamDomain != "" {
		res.AuthDomain = s.teamDomain
	} else {
		spawn(func() {
			domain, err := s.authDomain(ctx)
			if err != nil {
				gap(snapshot.CloudflareOrg, fmt.Errorf("reading the Zero Trust organization: %w", err))
				return
			}
			mu.Lock()
			res.AuthDomain = domain
			mu.Unlock()
		})
	}
	reads.Wait()
	return res
}

// maxPages bounds the identity-provider pages driftd asks for: an
// account has a handful of providers, so a list longer than 100 pages of
// 50 is a broken or hostile answer.
const maxPages = 100

// errMalformed marks an answer that is not what the Cloudflare API
// documents.
var errMalformed = errors.New("malformed Cloudflare response")

// envelope is Cloudflare's v4 response wrapper. HTTP 200 does not mean
// success: only success=true with a result of the documented type does.
type envelope struct {
	Success *bool `json:"success"`
	Errors  []struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *struct {
		Page       *int64 `json:"page"`
		PerPage    *int64 `json:"per_page"`
		TotalPages *int64 `json:"total_pages"`
		// Cursor paging (the account audit log): Cloudflare documents
		// cursor, the SDK's pager reads cursors.after.
		Cursor  string `json:"cursor"`
		Cursors *struct {
			After string `json:"after"`
		} `json:"cursors"`
	} `json:"result_info"`
}

// decodeEnvelope checks success and returns the envelope; the result is
// left raw for the caller to check its type.
func decodeEnvelope(body []byte) (envelope, error) {
	var env envelope
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return env, fmt.Errorf("%w: the body is not a JSON object", errMalformed)
	}
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return env, fmt.Errorf("%w: %s", errMalformed, describeJSONError(err))
	}
	if env.Success == nil || !*env.Success {
		var parts []string
		for _, e := range env.Errors {
			parts = append(parts, strconv.FormatInt(e.Code, 10)+" "+e.Message)
		}
		detail := "no error given"
		if len(parts) > 0 {
			detail = strings.Join(parts, "; ")
		}
		return env, fmt.Errorf("the API answered without success: %s", detail)
	}
	return env, nil
}

// describeJSONError keeps encoding/json's error short and free of data.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("%s is a JSON %s of the wrong type", typeErr.Field, typeErr.Value)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("invalid JSON at byte %d", syntaxErr.Offset)
	}
	return "cannot decode the body"
}

// authDomain reads the Zero Trust organization's auth_domain.
func (s *Source) authDomain(ctx context.Context) (string, error) {
	var params zero_trust.OrganizationListParams
	params.AccountID.Value, params.AccountID.Present = s.accountID, true
	var body []byte
	if _, err := s.orgs.List(ctx, params, option.WithResponseBodyInto(&body)); err != nil {
		return "", err
	}
	env, err := decodeEnvelope(body)
	if err != nil {
		return "", err
	}
	var org struct {
		AuthDomain string `json:"auth_domain"`
	}
	if r := bytes.TrimSpace(env.Result); len(r) == 0 || r[0] != '{' {
		return "", fmt.Errorf("%w: result is not an object", errMalformed)
	}
	if err := json.Unmarshal(env.Result, &org); err != nil {
		return "", fmt.Errorf("%w: %s", errMalformed, describeJSONError(err))
	}
	if org.AuthDomain == "" {
		return "", errors.New("the Zero Trust organization has no auth_domain")
	}
	return strings.ToLower(org.AuthDomain), nil
}

// identityProviders reads every page. It stops on an empty page, on the
// last page announced by result_info, or on a short page, so a small
// account costs one request rather than the auto-pager's two.
func (s *Source) identityProviders(ctx context.Context) ([]snapshot.IdentityProvider, error) {
	out := []snapshot.IdentityProvider{}
	seen := map[string]bool{}
	for page := int64(1); ; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("listing Access identity providers: more than %d pages; giving up", maxPages)
		}
		// The SDK's param.Field type is internal to it; its exported
		// fields are set directly (what cloudflare.F does), which avoids
		// importing the SDK root package and compiling every product.
		var params zero_trust.IdentityProviderListParams
		params.AccountID.Value, params.AccountID.Present = s.accountID, true
		params.Page.Value, params.Page.Present = page, true
		params.PerPage.Value, params.PerPage.Present = perPage, true
		// The SDK sends the request; driftd decodes the answer itself
		// (see rawIdentityProvider).
		var body []byte
		if _, err := s.idps.List(ctx, params, option.WithResponseBodyInto(&body)); err != nil {
			return nil, fmt.Errorf("listing Access identity providers: %w", err)
		}
		items, env, err := decodeIdPPage(body)
		if err != nil {
			return nil, fmt.Errorf("listing Access identity providers: %w", err)
		}
		for _, item := range items {
			idp, err := decodeIdentityProvider(item)
			if err != nil {
				return nil, err
			}
			if seen[idp.ID] {
				return nil, fmt.Errorf("listing Access identity providers: %w: identity provider %s appears twice (the pages repeat)", errMalformed, idp.ID)
			}
			seen[idp.ID] = true
			out = append(out, idp)
		}
		if len(items) == 0 || len(items) < perPage && pageSize(env) >= perPage {
			break
		}
		if info := env.ResultInfo; info != nil && info.TotalPages != nil && page >= *info.TotalPages {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// decodeIdPPage checks one identity-provider page's envelope and returns
// its raw items: result must be an array.
func decodeIdPPage(body []byte) ([]json.RawMessage, envelope, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return nil, env, err
	}
	var items []json.RawMessage
	if r := bytes.TrimSpace(env.Result); len(r) == 0 || r[0] != '[' || json.Unmarshal(r, &items) != nil {
		return nil, env, fmt.Errorf("%w: result is not an array", errMalformed)
	}
	return items, env, nil
}

// pageSize is result_info.per_page, or 0.
func pageSize(env envelope) int64 {
	if env.ResultInfo == nil || env.ResultInfo.PerPage == nil {
		return 0
	}
	return *env.ResultInfo.PerPage
}

// rawIdentityProvider is the wire shape of an identity provider. The SDK's
// union has no discriminator (it labels other types as Azure AD) and does
// not type pkce_enabled, so driftd decodes the raw JSON itself: config and
// scim_config straight into the snapshot's types, whose JSON names are
// the API's, so a setting added to the snapshot is read with no change
// here.
type rawIdentityProvider struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Config     json.RawMessage   `json:"config"`
	SCIMConfig *snapshot.IdPSCIM `json:"scim_config"`
}

func decodeIdentityProvider(raw []byte) (snapshot.IdentityProvider, error) {
	var r rawIdentityProvider
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return snapshot.IdentityProvider{}, fmt.Errorf("decoding an Access identity provider: %w: an element of result is not an object", errMalformed)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return snapshot.IdentityProvider{}, fmt.Errorf("decoding an Access identity provider: %w: %s", errMalformed, describeJSONError(err))
	}
	if r.ID == "" || r.Type == "" {
		return snapshot.IdentityProvider{}, errors.New("decoding an Access identity provider: id or type missing in the API response")
	}
	if r.Type != "azureAD" {
		return snapshot.IdentityProvider{ID: r.ID, Name: r.Name, Type: r.Type}, nil
	}
	if t := bytes.TrimSpace(r.Config); len(t) == 0 || t[0] != '{' {
		return snapshot.IdentityProvider{}, fmt.Errorf("decoding an Access identity provider: %w: Azure AD provider %s has no config object", errMalformed, r.ID)
	}
	var idp snapshot.IdentityProvider
	if err := json.Unmarshal(r.Config, &idp); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			typeErr.Field = "config." + typeErr.Field // where it is in the response
		}
		return snapshot.IdentityProvider{}, fmt.Errorf("decoding an Access identity provider: %w: %s", errMalformed, describeJSONError(err))
	}
	// The provider's own fields, never whatever config says they are.
	idp.ID, idp.Name, idp.Type, idp.SCIM, idp.SCIMLog = r.ID, r.Name, r.Type, r.SCIMConfig, nil
	if idp.Claims == nil {
		idp.Claims = []string{}
	}
	return idp, nil
}

// describe renders an error for a gap: HTTP status and Cloudflare's error
// codes and messages, without the SDK's request dump. Secrets are
// scrubbed from every gap in one place, by the audit.
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
	return text
}
