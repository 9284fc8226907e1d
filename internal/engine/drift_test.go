package engine

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
)

func corpApp(t *sim.Tenant) *sim.Application {
	for i := range t.Applications {
		if t.Applications[i].AppID == sim.CorpAppID {
			return &t.Applications[i]
		}
	}
	panic("corp app missing from the scenario")
}

func corpIdP(t *sim.Tenant) *sim.IdentityProvider {
	for i := range t.IdentityProviders {
		if t.IdentityProviders[i].ID == sim.CorpIdPID {
			return &t.IdentityProviders[i]
		}
	}
	panic("corp IdP missing from the scenario")
}

func driftFindings(out Outcome) []checks.Finding {
	var fs []checks.Finding
	for _, f := range out.Result.Report.Findings {
		if f.CheckID == "DRIFT-001" {
			fs = append(fs, f)
		}
	}
	return fs
}

// approve records a run of the current tenant and approves it.
func (h *harness) approve() {
	h.t.Helper()
	out := h.run()
	var names []string
	for _, in := range h.cfg.Integrations {
		names = append(names, in.Name)
	}
	if err := h.store.ApproveBaseline(context.Background(), out.Recorded.Run.ID, names, time.Now()); err != nil {
		h.t.Fatal(err)
	}
}

func TestDriftFromApprovedBaseline(t *testing.T) {
	cases := []struct {
		name          string
		change        func(*sim.Tenant)
		field, before string
		after         string
	}{
		{"redirect URI removed", func(t *sim.Tenant) { corpApp(t).Web.RedirectURIs = nil },
			"web.redirectUris", "https://acme.cloudflareaccess.com/cdn-cgi/access/callback", "(none)"},
		{"permission added", func(t *sim.Tenant) {
			rra := &corpApp(t).RequiredResourceAccess[0]
			rra.ResourceAccess = append(rra.ResourceAccess, sim.ResourceAccess{ID: "570282fd-fa5c-430d-a7fd-fc8dc98a9dca", Type: "Scope"})
		}, "requiredResourceAccess", "", "Mail.Read (delegated)"},
		{"mapping source changed", func(t *sim.Tenant) {
			job := &t.SynchronizationJobs[sim.CorpSCIMSPID][0]
			for i := range job.Schema.SynchronizationRules[0].ObjectMappings {
				om := &job.Schema.SynchronizationRules[0].ObjectMappings[i]
				for j := range om.AttributeMappings {
					if om.AttributeMappings[j].TargetAttributeName == `emails[type eq "work"].value` {
						om.AttributeMappings[j].Source = sim.AttributeMappingSource{Expression: "[userPrincipalName]", Name: "userPrincipalName", Type: "Attribute"}
					}
				}
			}
		}, `.User.emails[type eq "work"].value`, "mail", "userPrincipalName"},
		{"IdP setting flipped", func(t *sim.Tenant) { corpIdP(t).Config.SupportGroups = false },
			"support_groups", "true", "false"},
		{"SCIM setting changed", func(t *sim.Tenant) { corpIdP(t).SCIMConfig.IdentityUpdateBehavior = "reauth" },
			"scim_config.identity_update_behavior", `"automatic"`, `"reauth"`},
		{"new client secret", func(t *sim.Tenant) {
			app := corpApp(t)
			app.PasswordCredentials = append(app.PasswordCredentials, sim.PasswordCredential{
				DisplayName: "backdoor", Hint: "Zz9", KeyID: "11111111-aaaa-4bbb-8ccc-222222222222",
				StartDateTime: time.Now(), EndDateTime: time.Now().Add(700 * 24 * time.Hour)})
		}, "passwordCredentials", "", `"backdoor"`},
		{"admin consent narrowed", func(t *sim.Tenant) {
			for i := range t.OAuth2PermissionGrants {
				g := &t.OAuth2PermissionGrants[i]
				if g.ClientID == sim.CorpSPID && g.ConsentType == "AllPrincipals" {
					g.Scope = strings.Replace(g.Scope, "GroupMember.Read.All", "", 1)
				}
			}
		}, "adminConsent", "GroupMember.Read.All", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, demo.ScenarioHealthy)
			h.approve()
			if fs := driftFindings(h.run()); len(fs) != 0 {
				t.Fatalf("drift right after approval: %+v", fs)
			}
			h.env.Server.Update(tc.change)
			fs := driftFindings(h.run())
			if len(fs) != 1 {
				var fields []string
				for _, f := range fs {
					fields = append(fields, f.Setting)
				}
				t.Fatalf("want exactly one DRIFT-001 finding, got %d: %v", len(fs), fields)
			}
			f := fs[0]
			if !strings.HasSuffix(f.Setting, tc.field) || f.Integration != "corp-sso" {
				t.Errorf("field %q, want …%q", f.Setting, tc.field)
			}
			if !strings.Contains(f.Expected, tc.before) || !strings.Contains(f.Actual, tc.after) || f.Expected == f.Actual {
				t.Errorf("before %q after %q; want %q → %q", f.Expected, f.Actual, tc.before, tc.after)
			}
			// The next run sees the same drift with the same fingerprint.
			again := driftFindings(h.run())
			if len(again) != 1 || again[0].Fingerprint != f.Fingerprint {
				t.Errorf("fingerprint not stable across runs")
			}
		})
	}
}

func TestReorderedSetsAreNotDrift(t *testing.T) {
	h := newHarness(t, demo.ScenarioHealthy)
	h.env.Server.Update(func(t *sim.Tenant) {
		corpIdP(t).Config.Claims = []string{"groups", "upn", "oid"}
		corpApp(t).Web.RedirectURIs = append(corpApp(t).Web.RedirectURIs, "https://intranet.acme.example/callback")
	})
	h.approve()
	h.env.Server.Update(func(t *sim.Tenant) {
		slices.Reverse(corpIdP(t).Config.Claims)
		slices.Reverse(corpApp(t).Web.RedirectURIs)
		slices.Reverse(corpApp(t).RequiredResourceAccess[0].ResourceAccess)
		for i := range t.OAuth2PermissionGrants {
			g := &t.OAuth2PermissionGrants[i]
			g.Scope = "  " + strings.Join(reversed(strings.Fields(g.Scope)), "   ") + " "
		}
		slices.Reverse(t.IdentityProviders)
	})
	if fs := driftFindings(h.run()); len(fs) != 0 {
		t.Errorf("reordering reported as drift: %+v", fs)
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}
