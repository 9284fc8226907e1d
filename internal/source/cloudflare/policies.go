package cloudflare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/driftd/driftd/internal/snapshot"
)

// Permissions the token needs for each read, named in the gap so the
// operator knows what to add.
const (
	permAccessAppsPolicies = "Access: Apps and Policies Read"
	permAccessGroups       = "Access: Organizations, Identity Providers, and Groups Read"
	permGateway            = "Zero Trust Read"
)

// policyRead is one of the four account-wide reads.
type policyRead struct {
	what snapshot.DataKind
	perm string
	run  func(context.Context, *snapshot.Policies) error
}

func (s *Source) policyReads() []policyRead {
	return []policyRead{
		{snapshot.CloudflareAccessPolicies, permAccessAppsPolicies, func(ctx context.Context, p *snapshot.Policies) (err error) {
			p.AccessPolicies, err = s.accessPolicies(ctx)
			return err
		}},
		{snapshot.CloudflareAccessApps, permAccessAppsPolicies, func(ctx context.Context, p *snapshot.Policies) (err error) {
			p.AccessApplications, err = s.accessApplications(ctx)
			return err
		}},
		{snapshot.CloudflareAccessGroups, permAccessGroups, func(ctx context.Context, p *snapshot.Policies) (err error) {
			p.AccessGroups, err = s.accessGroups(ctx)
			return err
		}},
		{snapshot.CloudflareGatewayRules, permGateway, func(ctx context.Context, p *snapshot.Policies) (err error) {
			p.GatewayRules, err = s.gatewayRules(ctx)
			return err
		}},
	}
}

// withPermission adds the token permission that covers a read to its
// error.
func withPermission(err error, perm string) error {
	return fmt.Errorf("%w (the API token needs %q)", err, perm)
}

// listPages asks for page after page through list and returns every raw
// item, with the identity-provider read's stopping rules and bounds.
func listPages(what string, list func(page int64) ([]byte, error)) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for page := int64(1); ; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("listing %s: more than %d pages; giving up", what, maxPages)
		}
		body, err := list(page)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", what, err)
		}
		items, env, err := decodeIdPPage(body)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", what, err)
		}
		out = append(out, items...)
		if len(items) == 0 || len(items) < perPage && pageSize(env) >= perPage {
			break
		}
		if info := env.ResultInfo; info != nil && info.TotalPages != nil && page >= *info.TotalPages {
			break
		}
	}
	return out, nil
}

// rawRuleSet is the part every policy and group shares.
type rawRuleSet struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Decision string          `json:"decision"`
	Reusable *bool           `json:"reusable"`
	Include  json.RawMessage `json:"include"`
	Exclude  json.RawMessage `json:"exclude"`
	Require  json.RawMessage `json:"require"`
}

// decodeObject decodes one element of a result array into v.
func decodeObject(what string, raw []byte, v any) error {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("decoding %s: %w: an element is not an object", what, errMalformed)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decoding %s: %w: %s", what, errMalformed, describeJSONError(err))
	}
	return nil
}

func (r rawRuleSet) refs(what string) ([]snapshot.GroupRef, error) {
	var out []snapshot.GroupRef
	for _, part := range []struct {
		where string
		raw   json.RawMessage
	}{{"include", r.Include}, {"exclude", r.Exclude}, {"require", r.Require}} {
		refs, err := AccessRuleRefs(part.where, part.raw)
		if err != nil {
			return nil, fmt.Errorf("decoding %s %s: %w", what, r.ID, err)
		}
		out = append(out, refs...)
	}
	return out, nil
}

func (r rawRuleSet) policy(what string) (snapshot.AccessPolicy, error) {
	if r.ID == "" {
		return snapshot.AccessPolicy{}, fmt.Errorf("decoding %s: %w: id missing", what, errMalformed)
	}
	refs, err := r.refs(what)
	if err != nil {
		return snapshot.AccessPolicy{}, err
	}
	return snapshot.AccessPolicy{ID: r.ID, Name: r.Name, Decision: r.Decision, Reusable: r.Reusable != nil && *r.Reusable, Refs: refs}, nil
}

// errRepeated is a list whose pages repeat an element.
func errRepeated(what, id string) error {
	return fmt.Errorf("listing %s: %w: %s appears twice (the pages repeat)", what, errMalformed, id)
}

func (s *Source) accessPolicies(ctx context.Context) ([]snapshot.AccessPolicy, error) {
	items, err := listPages("Access policies", func(page int64) ([]byte, error) {
		var params zero_trust.AccessPolicyListParams
		params.AccountID.Value, params.AccountID.Present = s.accountID, true
		params.Page.Value, params.Page.Present = page, true
		params.PerPage.Value, params.PerPage.Present = perPage, true
		var body []byte
		_, err := s.policies.List(ctx, params, option.WithResponseBodyInto(&body))
		return body, err
	})
	if err != nil {
		return nil, err
	}
	out := []snapshot.AccessPolicy{}
	seen := map[string]bool{}
	for _, item := range items {
		var r rawRuleSet
		if err := decodeObject("an Access policy", item, &r); err != nil {
			return nil, err
		}
		p, err := r.policy("Access policy")
		if err != nil {
			return nil, err
		}
		if seen[p.ID] {
			return nil, errRepeated("Access policies", p.ID)
		}
		seen[p.ID] = true
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *Source) accessApplications(ctx context.Context) ([]snapshot.AccessApplication, error) {
	items, err := listPages("Access applications", func(page int64) ([]byte, error) {
		var params zero_trust.AccessApplicationListParams
		params.AccountID.Value, params.AccountID.Present = s.accountID, true
		params.Page.Value, params.Page.Present = page, true
		params.PerPage.Value, params.PerPage.Present = perPage, true
		var body []byte
		_, err := s.apps.List(ctx, params, option.WithResponseBodyInto(&body))
		return body, err
	})
	if err != nil {
		return nil, err
	}
	out := []snapshot.AccessApplication{}
	seen := map[string]bool{}
	for _, item := range items {
		var r struct {
			ID       string            `json:"id"`
			Name     string            `json:"name"`
			Domain   string            `json:"domain"`
			Type     string            `json:"type"`
			Policies []json.RawMessage `json:"policies"`
		}
		if err := decodeObject("an Access application", item, &r); err != nil {
			return nil, err
		}
		if r.ID == "" {
			return nil, fmt.Errorf("decoding an Access application: %w: id missing", errMalformed)
		}
		if seen[r.ID] {
			return nil, errRepeated("Access applications", r.ID)
		}
		seen[r.ID] = true
		app := snapshot.AccessApplication{ID: r.ID, Name: r.Name, Domain: r.Domain, Type: r.Type}
		for _, raw := range r.Policies {
			var rp rawRuleSet
			if err := decodeObject("a policy of Access application "+r.ID, raw, &rp); err != nil {
				return nil, err
			}
			p, err := rp.policy("a policy of Access application " + r.ID + ":")
			if err != nil {
				return nil, err
			}
			app.Policies = append(app.Policies, p)
		}
		out = append(out, app)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *Source) accessGroups(ctx context.Context) ([]snapshot.AccessGroup, error) {
	items, err := listPages("Access groups", func(page int64) ([]byte, error) {
		var params zero_trust.AccessGroupListParams
		params.AccountID.Value, params.AccountID.Present = s.accountID, true
		params.Page.Value, params.Page.Present = page, true
		params.PerPage.Value, params.PerPage.Present = perPage, true
		var body []byte
		_, err := s.groups.List(ctx, params, option.WithResponseBodyInto(&body))
		return body, err
	})
	if err != nil {
		return nil, err
	}
	out := []snapshot.AccessGroup{}
	seen := map[string]bool{}
	for _, item := range items {
		var r rawRuleSet
		if err := decodeObject("an Access group", item, &r); err != nil {
			return nil, err
		}
		if r.ID == "" {
			return nil, fmt.Errorf("decoding an Access group: %w: id missing", errMalformed)
		}
		if seen[r.ID] {
			return nil, errRepeated("Access groups", r.ID)
		}
		seen[r.ID] = true
		refs, err := r.refs("Access group")
		if err != nil {
			return nil, err
		}
		out = append(out, snapshot.AccessGroup{ID: r.ID, Name: r.Name, Refs: refs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// gatewayRules reads the account's Gateway rules: the API answers them in
// one page (no paging parameters).
func (s *Source) gatewayRules(ctx context.Context) ([]snapshot.GatewayRule, error) {
	var params zero_trust.GatewayRuleListParams
	params.AccountID.Value, params.AccountID.Present = s.accountID, true
	var body []byte
	if _, err := s.gateway.List(ctx, params, option.WithResponseBodyInto(&body)); err != nil {
		return nil, fmt.Errorf("listing Gateway rules: %w", err)
	}
	items, _, err := decodeIdPPage(body)
	if err != nil {
		return nil, fmt.Errorf("listing Gateway rules: %w", err)
	}
	out := []snapshot.GatewayRule{}
	seen := map[string]bool{}
	for _, item := range items {
		var r struct {
			ID       string  `json:"id"`
			Name     string  `json:"name"`
			Action   string  `json:"action"`
			Enabled  bool    `json:"enabled"`
			Identity *string `json:"identity"`
		}
		if err := decodeObject("a Gateway rule", item, &r); err != nil {
			return nil, err
		}
		if r.ID == "" {
			return nil, errors.New("decoding a Gateway rule: id missing in the API response")
		}
		if seen[r.ID] {
			return nil, errRepeated("Gateway rules", r.ID)
		}
		seen[r.ID] = true
		rule := snapshot.GatewayRule{ID: r.ID, Name: r.Name, Action: r.Action, Enabled: r.Enabled}
		if r.Identity != nil {
			rule.Identity = *r.Identity
			for _, id := range GatewayGroupIDs(*r.Identity) {
				rule.Refs = append(rule.Refs, snapshot.GroupRef{GroupID: id, Where: "identity"})
			}
		}
		out = append(out, rule)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// mergePolicies copies the slices one read filled into dst.
func mergePolicies(dst, got *snapshot.Policies) {
	if got.AccessPolicies != nil {
		dst.AccessPolicies = got.AccessPolicies
	}
	if got.AccessApplications != nil {
		dst.AccessApplications = got.AccessApplications
	}
	if got.AccessGroups != nil {
		dst.AccessGroups = got.AccessGroups
	}
	if got.GatewayRules != nil {
		dst.GatewayRules = got.GatewayRules
	}
}
