package checks

import (
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/snapshot"
)

const (
	groupEng   = "5b0c6f9e-2a8d-4e61-9c3f-0d7a1e4b8c21"
	goneIdP    = "0d4e1f7a-9999-4000-8000-00000000dead"
	otherAzure = "f1a2b3c4-0000-4000-8000-000000000002"
)

// withPolicies adds a reusable policy protecting an application, an
// application's own policy, an Access group and a Gateway rule, each
// referencing an Entra group through idp.
func withPolicies(idp string) *snapshot.Snapshot {
	snap := healthy()
	ref := func(where string, i int) []snapshot.GroupRef {
		return []snapshot.GroupRef{{GroupID: groupEng, IdPID: idp, Where: where, Index: i}}
	}
	snap.Policies = &snapshot.Policies{
		AccessPolicies: []snapshot.AccessPolicy{{ID: "pol-eng", Name: "Engineering", Decision: "allow", Refs: ref("include", 0)}},
		AccessApplications: []snapshot.AccessApplication{{ID: "app-grafana", Name: "Grafana", Domain: "grafana.acme.example", Policies: []snapshot.AccessPolicy{
			{ID: "pol-eng", Name: "Engineering", Reusable: true, Refs: ref("include", 0)},
			{ID: "pol-own", Name: "Own", Refs: ref("require", 1)},
		}}},
		AccessGroups: []snapshot.AccessGroup{{ID: "grp-staff", Name: "Staff", Refs: ref("exclude", 0)}},
		GatewayRules: []snapshot.GatewayRule{{ID: "gw-1", Name: "SSH", Enabled: true, Refs: []snapshot.GroupRef{{GroupID: groupEng, Where: "identity"}}}},
	}
	return snap
}

func TestGroupRefsSayWhere(t *testing.T) {
	refs := groupRefs(withPolicies(idpID).Policies)
	var where []string
	for _, r := range refs {
		where = append(where, r.Location)
	}
	want := []string{
		`reusable Access policy "Engineering" (include rule 1), protecting "Grafana" (grafana.acme.example)`,
		`Access policy "Own" of application "Grafana" (grafana.acme.example) (require rule 2)`,
		`Access group "Staff" (exclude rule 1), in every policy that uses the group`,
		`Gateway rule "SSH" (identity expression)`,
	}
	if strings.Join(where, "\n") != strings.Join(want, "\n") {
		t.Errorf("references:\n%s\nwant:\n%s", strings.Join(where, "\n"), strings.Join(want, "\n"))
	}
}

func TestPolicyUnknownIdP(t *testing.T) {
	if out := run(t, "CF-POL-004", withPolicies(idpID)); len(out.Findings) != 0 {
		t.Errorf("rules through the integration's provider: %+v", out.Findings)
	}
	// A deleted provider: the three Access references, not the Gateway one.
	out := run(t, "CF-POL-004", withPolicies(goneIdP))
	if len(out.Findings) != 3 {
		t.Fatalf("want 3 findings, got %+v", out.Findings)
	}
	for _, f := range out.Findings {
		if f.Severity != Medium || !strings.Contains(f.Message, goneIdP) || !strings.Contains(f.Actual, "no identity provider") || f.Remediation == "" {
			t.Errorf("finding %+v", f)
		}
	}
	if out.Findings[0].Resource.Kind != "access_policy" || out.Findings[2].Resource.Kind != "access_group" {
		t.Errorf("resources %+v, %+v", out.Findings[0].Resource, out.Findings[2].Resource)
	}
	// A provider of another type.
	snap := withPolicies("otp")
	out = run(t, "CF-POL-004", snap)
	if len(out.Findings) != 3 || !strings.Contains(out.Findings[0].Actual, "onetimepin") {
		t.Errorf("onetimepin provider: %+v", out.Findings)
	}
	// A second integration does not report the account-wide references
	// again.
	snap = withPolicies(goneIdP)
	snap.Integrations = append(snap.Integrations, snapshot.Integration{Name: "second", EntraAppID: "x"})
	c, _ := ByID("CF-POL-004")
	if out := c.Evaluate(Input{Snapshot: snap, Integration: &snap.Integrations[1]}); len(out.Findings) != 0 {
		t.Errorf("second integration: %+v", out.Findings)
	}
}

func TestPolicyGroupsNotSent(t *testing.T) {
	if out := run(t, "CF-POL-002", withPolicies(idpID)); len(out.Findings) != 0 {
		t.Errorf("support_groups on: %+v", out.Findings)
	}
	for _, off := range []*bool{ptr(false), nil} {
		snap := withPolicies(idpID)
		snap.IdentityProviders[1].SupportGroups = off
		f := want(t, run(t, "CF-POL-002", snap), High, "support_groups", "support_groups = true", "support_groups = false")
		if f.Resource.ID != idpID || !strings.Contains(f.Message, "3 rule(s)") || !strings.Contains(f.Message, `Access group "Staff"`) {
			t.Errorf("finding %+v", f)
		}
	}
	// Another integration's provider is that integration's business.
	snap := withPolicies(otherAzure)
	snap.IdentityProviders = append(snap.IdentityProviders, snapshot.IdentityProvider{ID: otherAzure, Name: "Other", Type: "azureAD", ClientID: "other-app", SupportGroups: ptr(false)})
	snap.Integrations = append(snap.Integrations, snapshot.Integration{Name: "other", EntraAppID: "other-app"})
	if out := run(t, "CF-POL-002", snap); len(out.Findings) != 0 {
		t.Errorf("first integration reported the other's provider: %+v", out.Findings)
	}
	c, _ := ByID("CF-POL-002")
	if out := c.Evaluate(Input{Snapshot: snap, Integration: &snap.Integrations[1]}); len(out.Findings) != 1 {
		t.Errorf("other integration: %+v", out.Findings)
	}
}

// Both checks need every Access list: a gap on any of them is "could
// not evaluate" (the engine skips the check), never a pass.
func TestPolicyChecksNeedAccessData(t *testing.T) {
	for _, id := range []string{"CF-POL-002", "CF-POL-004"} {
		c, _ := ByID(id)
		for _, k := range []snapshot.DataKind{snapshot.CloudflareIdPs, snapshot.CloudflareAccessPolicies, snapshot.CloudflareAccessApps, snapshot.CloudflareAccessGroups} {
			snap := withPolicies(goneIdP)
			snap.Gaps = []snapshot.Gap{{Side: snapshot.SideCloudflare, What: k, Error: "HTTP 403"}}
			if len(snap.Missing("corp-sso", c.Needs...)) == 0 {
				t.Errorf("%s does not need %s", id, k)
			}
		}
	}
}

func TestPolicyGroupMissingAndEmpty(t *testing.T) {
	for _, id := range []string{"CF-POL-001", "CF-POL-003"} {
		// Not looked up (no entry): nothing is concluded.
		if out := run(t, id, withPolicies(idpID)); len(out.Findings) != 0 {
			t.Errorf("%s without lookup: %+v", id, out.Findings)
		}
	}
	snap := withPolicies(idpID)
	snap.Policies.Groups = map[string]snapshot.EntraGroup{groupEng: {Exists: true, UserMembers: 3}}
	for _, id := range []string{"CF-POL-001", "CF-POL-003"} {
		if out := run(t, id, snap); len(out.Findings) != 0 {
			t.Errorf("%s on an existing group with users: %+v", id, out.Findings)
		}
	}
	// Deleted: one finding per reference, each saying where it sits.
	snap.Policies.Groups[groupEng] = snapshot.EntraGroup{}
	out := run(t, "CF-POL-001", snap)
	if len(out.Findings) != 4 {
		t.Fatalf("want 4 findings, got %+v", out.Findings)
	}
	f := out.Findings[0]
	if f.Severity != High || !strings.Contains(f.Message, `reusable Access policy "Engineering" (include rule 1), protecting "Grafana"`) ||
		!strings.Contains(f.Message, groupEng) || f.Actual != "no group with this object ID in the tenant" || f.Resource.ID != "pol-eng" {
		t.Errorf("finding %+v", f)
	}
	if g := out.Findings[3]; g.Resource.Kind != "gateway_rule" || !strings.Contains(g.Message, `Gateway rule "SSH"`) {
		t.Errorf("gateway finding %+v", g)
	}
	if out := run(t, "CF-POL-003", snap); len(out.Findings) != 0 {
		t.Errorf("CF-POL-003 on a deleted group: %+v", out.Findings)
	}
	snap.Policies.Groups[groupEng] = snapshot.EntraGroup{NotGUID: true}
	if out := run(t, "CF-POL-001", snap); len(out.Findings) != 4 || !strings.Contains(out.Findings[0].Actual, "not a GUID") {
		t.Errorf("not a GUID: %+v", out.Findings)
	}
	// Empty, nested groups counted by the lookup.
	snap.Policies.Groups[groupEng] = snapshot.EntraGroup{Exists: true}
	out = run(t, "CF-POL-003", snap)
	if len(out.Findings) != 4 || out.Findings[0].Severity != Low || out.Findings[0].Actual != "0 users" {
		t.Errorf("empty group: %+v", out.Findings)
	}
	if out := run(t, "CF-POL-001", snap); len(out.Findings) != 0 {
		t.Errorf("CF-POL-001 on an empty group: %+v", out.Findings)
	}
	// Either check needs the lookup and every list.
	for _, id := range []string{"CF-POL-001", "CF-POL-003"} {
		c, _ := ByID(id)
		for _, k := range []snapshot.DataKind{snapshot.EntraGroups, snapshot.CloudflareGatewayRules, snapshot.CloudflareAccessApps} {
			s := withPolicies(idpID)
			s.Gaps = []snapshot.Gap{{Side: snapshot.SideEntra, What: k, Error: "HTTP 403"}}
			if len(s.Missing("corp-sso", c.Needs...)) == 0 {
				t.Errorf("%s does not need %s", id, k)
			}
		}
	}
}
