package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/watch"
)

// changeSetting turns each pinned setting of the healthy snapshot's
// identity provider away from the baseline. A new row of the watch table
// with a baseline key needs an entry here.
var changeSetting = map[string]func(*snapshot.IdentityProvider){
	"pkce_enabled":                         func(p *snapshot.IdentityProvider) { p.PKCEEnabled = nil },
	"support_groups":                       func(p *snapshot.IdentityProvider) { p.SupportGroups = ptr(false) },
	"conditional_access_enabled":           func(p *snapshot.IdentityProvider) { p.ConditionalAccessEnabled = ptr(true) },
	"email_claim_name":                     func(p *snapshot.IdentityProvider) { p.EmailClaimName = nil },
	"claims":                               func(p *snapshot.IdentityProvider) { p.Claims = append(p.Claims, "oid") },
	"prompt":                               func(p *snapshot.IdentityProvider) { p.Prompt = ptr("select_account") },
	"scim_config.enabled":                  func(p *snapshot.IdentityProvider) { p.SCIM.Enabled = ptr(false) },
	"scim_config.user_deprovision":         func(p *snapshot.IdentityProvider) { p.SCIM.UserDeprovision = nil },
	"scim_config.seat_deprovision":         func(p *snapshot.IdentityProvider) { p.SCIM.SeatDeprovision = ptr(false) },
	"scim_config.identity_update_behavior": func(p *snapshot.IdentityProvider) { p.SCIM.IdentityUpdateBehavior = ptr("reauth") },
}

// agreementFindings evaluates the baseline checks and DRIFT-001 (against the
// healthy snapshot as approved) on snap, keyed by check and setting.
func agreementFindings(t *testing.T, snap *snapshot.Snapshot) map[string]Finding {
	t.Helper()
	approved := healthy()
	approved.TakenAt = now.Add(-24 * time.Hour)
	out := map[string]Finding{}
	for _, id := range []string{"CF-IDP-003", "CF-SCIM-001", "ENTRA-PERM-002", "ENTRA-SCIM-001", "DRIFT-001"} {
		c, _ := ByID(id)
		for _, f := range c.Evaluate(Input{Snapshot: snap, Integration: &snap.Integrations[0], Approved: approved}).Findings {
			out[id+" "+f.Setting] = f
		}
	}
	return out
}

func keys(m map[string]Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestBaselineChecksAgreeWithDrift: on the same change, the baseline check
// of a setting and DRIFT-001 report the same setting with the same values,
// and on a difference that means nothing neither reports anything.
func TestBaselineChecksAgreeWithDrift(t *testing.T) {
	for _, s := range watch.Settings() {
		if s.BaselineKey == "" {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			change, ok := changeSetting[s.Name]
			if !ok {
				t.Fatalf("no change for %s in changeSetting", s.Name)
			}
			snap := healthy()
			change(&snap.IdentityProviders[1])
			got := agreementFindings(t, snap)
			check := map[watch.Group]string{watch.IdP: "CF-IDP-003", watch.SCIM: "CF-SCIM-001"}[s.Group]
			base, okBase := got[check+" "+s.Name]
			drift, okDrift := got["DRIFT-001 "+s.Name]
			if !okBase || !okDrift || len(got) != 2 {
				t.Fatalf("want %s and DRIFT-001 on %s, got %v", check, s.Name, keys(got))
			}
			if (drift.Severity == High) != s.High {
				t.Errorf("DRIFT-001 severity %s, table says high=%v", drift.Severity, s.High)
			}
			// Sets are bracketed in baseline findings; the members agree.
			unbracket := func(v string) string {
				if s.Kind != watch.StringSet {
					return v
				}
				v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
				if v == "" {
					return "(none)"
				}
				return v
			}
			if unbracket(base.Expected) != drift.Expected || unbracket(base.Actual) != drift.Actual {
				t.Errorf("%s says %s → %s, DRIFT-001 says %s → %s", check, base.Expected, base.Actual, drift.Expected, drift.Actual)
			}
		})
	}
}

func TestNoiseIsQuietEverywhere(t *testing.T) {
	for name, mutate := range map[string]func(s *snapshot.Snapshot){
		"false booleans sent instead of omitted": func(s *snapshot.Snapshot) {
			s.IdentityProviders[1].ConditionalAccessEnabled = ptr(false)
		},
		"claims reordered and repeated": func(s *snapshot.Snapshot) {
			s.IdentityProviders[1].Claims = []string{"upn", "groups", "upn"}
		},
		"client_id in another case": func(s *snapshot.Snapshot) {
			s.IdentityProviders[1].ClientID = strings.ToUpper(appID)
		},
		"SCIM source attribute in another case": func(s *snapshot.Snapshot) {
			(*userMappings(s))[1].SourceName = "Mail"
			(*userMappings(s))[1].SourceType = "attribute"
		},
		"consent scopes recased and split": func(s *snapshot.Snapshot) {
			g := &s.Integrations[0].PermissionGrants[0]
			g.Scope, g.ConsentType = "EMAIL offline_access openid profile", "allPrincipals"
			s.Integrations[0].PermissionGrants = append(s.Integrations[0].PermissionGrants, snapshot.PermissionGrant{
				ClientID: "app-sp", ResourceID: "graph-sp", ConsentType: "AllPrincipals", Scope: "user.read Directory.Read.All GroupMember.Read.All"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			snap := healthy()
			mutate(snap)
			if got := agreementFindings(t, snap); len(got) != 0 {
				t.Errorf("unexpected %v", keys(got))
			}
		})
	}
}

func TestConsentAgreesWithDrift(t *testing.T) {
	// Admin consent for Directory.Read.All replaced by one user's consent:
	// ENTRA-PERM-002 calls it user consent, DRIFT-001 moves it from
	// adminConsent to userConsent.
	snap := healthy()
	in := &snap.Integrations[0]
	in.PermissionGrants[0].Scope = "email offline_access openid profile User.Read GroupMember.Read.All"
	in.PermissionGrants = append(in.PermissionGrants,
		snapshot.PermissionGrant{ClientID: "app-sp", ResourceID: "graph-sp", ConsentType: "Principal", PrincipalID: "u1", Scope: "Directory.Read.All"})
	got := agreementFindings(t, snap)
	if f := got["ENTRA-PERM-002 Directory.Read.All"]; !strings.Contains(f.Actual, "consented only by individual users") {
		t.Errorf("ENTRA-PERM-002: %+v", f)
	}
	if f := got["DRIFT-001 userConsent"]; f.Actual != "Directory.Read.All" {
		t.Errorf("DRIFT-001 userConsent: %+v", f)
	}

	// A grant of a consent type Graph does not document is consent for
	// neither.
	in.PermissionGrants[1].ConsentType = "SomethingNew"
	got = agreementFindings(t, snap)
	if f := got["ENTRA-PERM-002 Directory.Read.All"]; f.Actual != "no admin consent" {
		t.Errorf("ENTRA-PERM-002 with an unknown consent type: %+v", f)
	}
	if _, ok := got["DRIFT-001 userConsent"]; ok {
		t.Errorf("DRIFT-001 reports user consent from an unknown consent type: %v", keys(got))
	}
}

func TestMappingAgreesWithDrift(t *testing.T) {
	snap := healthy()
	(*userMappings(snap))[1].SourceName = "userPrincipalName"
	got := agreementFindings(t, snap)
	if _, ok := got["ENTRA-SCIM-001 "+WorkEmailTarget]; !ok {
		t.Errorf("ENTRA-SCIM-001 misses the changed source: %v", keys(got))
	}
	if f, ok := got["DRIFT-001 provisioning[scim.1].User."+WorkEmailTarget]; !ok || f.Expected != "mail" || f.Actual != "userPrincipalName" {
		t.Errorf("DRIFT-001 misses the changed source: %v", keys(got))
	}
}

func TestRepeatedClaimsMatchTheBaseline(t *testing.T) {
	snap := healthy()
	snap.Integrations[0].Baseline.Claims = &[]string{"upn", "groups", "upn"}
	if out := run(t, "CF-IDP-003", snap); len(out.Findings) != 0 {
		t.Errorf("claims are a set: %+v", out.Findings)
	}
	snap.IdentityProviders[1].Claims = nil
	want(t, run(t, "CF-IDP-003", snap), Medium, "claims", "[groups, upn]", "[]")
}

// TestCatalogListsWatchedSettings: the catalog documents every baseline
// key the table has, under the check that pins it.
func TestCatalogListsWatchedSettings(t *testing.T) {
	for _, s := range watch.Settings() {
		id := map[watch.Group]string{watch.IdP: "CF-IDP-003", watch.SCIM: "CF-SCIM-001"}[s.Group]
		if id == "" {
			continue
		}
		c, _ := ByID(id)
		if !strings.Contains(c.Description, s.Label+" ("+s.BaselineKey+")") {
			t.Errorf("%s does not document %s: %s", id, s.BaselineKey, c.Description)
		}
	}
}
