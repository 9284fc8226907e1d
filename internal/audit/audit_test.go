package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/report"
)

// startSim runs the simulator with a scenario and loads driftd's config
// for it, exactly as `driftd demo` does.
func startSim(t *testing.T, scenario string, opts sim.Options) (*demo.Environment, *config.Config) {
	t.Helper()
	env := simtest.Start(t, scenario, opts)
	return env, simtest.Config(t, env)
}

func runAudit(t *testing.T, cfg *config.Config) *report.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Report
}

// keys renders findings as "integration CHECK-ID setting" for comparison.
func keys(findings []checks.Finding) []string {
	var out []string
	for _, f := range findings {
		out = append(out, fmt.Sprintf("%s %s %s", f.Integration, f.CheckID, f.Setting))
	}
	sort.Strings(out)
	return out
}

func statusOf(r *report.Report, integration, checkID string) string {
	for _, res := range r.Results {
		if res.Integration == integration && res.CheckID == checkID {
			return res.Status
		}
	}
	return ""
}

func TestHealthyTenantHasNoFindings(t *testing.T) {
	_, cfg := startSim(t, demo.ScenarioHealthy, sim.Options{})
	r := runAudit(t, cfg)
	if len(r.Findings) != 0 || len(r.Gaps) != 0 || !r.Complete() {
		t.Fatalf("healthy tenant: findings %v, gaps %+v", keys(r.Findings), r.Gaps)
	}
	for _, c := range checks.All() {
		if c.ID == "DRIFT-001" {
			if got := statusOf(r, "corp-sso", c.ID); got != report.StatusNotApplicable {
				t.Errorf("DRIFT-001 without a baseline: %s", got)
			}
			continue
		}
		if got := statusOf(r, "corp-sso", c.ID); got != report.StatusPass {
			t.Errorf("corp-sso %s: %s, want pass", c.ID, got)
		}
	}
	if got := statusOf(r, "contractors-sso", "ENTRA-SCIM-001"); got != report.StatusNotApplicable {
		t.Errorf("contractors-sso has no scim_app_id: %s", got)
	}
}

func TestDriftedTenantFindings(t *testing.T) {
	_, cfg := startSim(t, demo.ScenarioDrifted, sim.Options{})
	r := runAudit(t, cfg)
	if len(r.Gaps) != 0 {
		t.Fatalf("unexpected gaps: %+v", r.Gaps)
	}
	var got []string
	severities := map[string][]string{}
	for _, f := range r.Findings {
		if strings.HasPrefix(f.CheckID, "ENTRA-CRED") {
			severities[f.CheckID] = append(severities[f.CheckID], f.Severity.String())
			continue
		}
		got = append(got, fmt.Sprintf("%s %s %s", f.Integration, f.CheckID, f.Setting))
	}
	sort.Strings(got)
	want := []string{
		"contractors-sso CF-IDP-001 exists",
		"contractors-sso ENTRA-APP-005 owners",
		"corp-sso CF-IDP-003 claims",
		"corp-sso CF-IDP-003 email_claim_name",
		"corp-sso CF-IDP-003 pkce_enabled",
		"corp-sso CF-IDP-003 prompt",
		"corp-sso CF-IDP-003 support_groups",
		"corp-sso CF-POL-001 include/0/" + sim.GroupFinanceID,
		"corp-sso CF-POL-002 support_groups",
		// The deleted contractors login method is no integration's now, so
		// the rule through it is the first integration's to report.
		"corp-sso CF-POL-004 include/0/" + sim.GroupContractorsID + "/" + sim.ContractorsIdPID,
		"corp-sso CF-SCIM-001 scim_config.identity_update_behavior",
		"corp-sso CF-SCIM-001 scim_config.user_deprovision",
		"corp-sso CF-SCIM-002 support_groups",
		"corp-sso ENTRA-APP-001 web.redirectUris",
		"corp-sso ENTRA-APP-003 signInAudience",
		"corp-sso ENTRA-APP-004 web.implicitGrantSettings.enableIdTokenIssuance",
		"corp-sso ENTRA-CLAIM-001 email_claim_name",
		"corp-sso ENTRA-CLAIM-002 claims/employee_id",
		"corp-sso ENTRA-LIC-001 subscribedSkus",
		"corp-sso ENTRA-PERM-001 GroupMember.Read.All",
		"corp-sso ENTRA-PERM-002 Directory.Read.All",
		"corp-sso ENTRA-PERM-002 GroupMember.Read.All",
		"corp-sso ENTRA-PERM-003 extra/Microsoft Graph/Directory.Read.All",
		`corp-sso ENTRA-SCIM-001 emails[type eq "work"].value`,
		"corp-sso ENTRA-SCIM-002 name.familyName",
		"corp-sso ENTRA-SCIM-006 scim_requests",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	sort.Strings(severities["ENTRA-CRED-001"])
	// The expired corp secret is low beside the valid one; the contractors
	// app has no valid secret at all (ENTRA-CRED-004).
	if strings.Join(severities["ENTRA-CRED-001"], ",") != "high,low" {
		t.Errorf("client secrets: %v, want one expiring in 5 days (high) and one expired beside it (low)", severities["ENTRA-CRED-001"])
	}
	if strings.Join(severities["ENTRA-CRED-003"], ",") != "low" {
		t.Errorf("secret lifetime: %v, want the two-year corp secret (low)", severities["ENTRA-CRED-003"])
	}
	if strings.Join(severities["ENTRA-CRED-004"], ",") != "critical" {
		t.Errorf("no valid secret: %v, want one critical", severities["ENTRA-CRED-004"])
	}
	if strings.Join(severities["ENTRA-CRED-002"], ",") != "critical" {
		t.Errorf("certificates: %v, want one expired", severities["ENTRA-CRED-002"])
	}
	for _, f := range r.Findings {
		if f.CheckID == "ENTRA-SCIM-001" && f.Actual != `emails[type eq "work"].value ← userPrincipalName` {
			t.Errorf("SCIM-001 actual = %q", f.Actual)
		}
		if f.CheckID == "ENTRA-PERM-002" && f.Setting == "Directory.Read.All" && !strings.Contains(f.Actual, "individual users") {
			t.Errorf("user consent must be told apart: %q", f.Actual)
		}
	}
}

func TestFingerprintsStableAcrossRuns(t *testing.T) {
	_, cfg := startSim(t, demo.ScenarioDrifted, sim.Options{})
	a, b := runAudit(t, cfg), runAudit(t, cfg)
	fp := func(r *report.Report) []string {
		var out []string
		for _, f := range r.Findings {
			out = append(out, f.Fingerprint)
		}
		sort.Strings(out)
		return out
	}
	if strings.Join(fp(a), ",") != strings.Join(fp(b), ",") {
		t.Errorf("fingerprints differ between two runs")
	}
}

func TestForbiddenSynchronizationIsAGap(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioDrifted, sim.Options{})
	env.Server.InjectFault(sim.Fault{Service: "graph", PathContains: "/synchronization", Status: 403})
	r := runAudit(t, cfg)

	if len(r.Gaps) != 1 || r.Gaps[0].What != "entra.provisioning" || r.Gaps[0].Integration != "corp-sso" {
		t.Fatalf("want one provisioning gap, got %+v", r.Gaps)
	}
	if !strings.Contains(r.Gaps[0].Error, "403") || !strings.Contains(r.Gaps[0].Error, "Authorization_RequestDenied") {
		t.Errorf("gap error should say why: %q", r.Gaps[0].Error)
	}
	for _, id := range []string{"ENTRA-SCIM-001", "ENTRA-SCIM-002"} {
		if got := statusOf(r, "corp-sso", id); got != report.StatusCouldNotEvaluate {
			t.Errorf("%s: %s, want could_not_evaluate", id, got)
		}
	}
	for _, f := range r.Findings {
		if strings.HasPrefix(f.CheckID, "ENTRA-SCIM") {
			t.Errorf("SCIM finding invented from missing data: %+v", f)
		}
	}
	// The other checks still ran.
	if got := statusOf(r, "corp-sso", "ENTRA-APP-001"); got != report.StatusFail {
		t.Errorf("ENTRA-APP-001: %s", got)
	}
	if r.Integrations[0].Status != report.Incomplete || r.Integrations[1].Status != report.Complete {
		t.Errorf("statuses %+v", r.Integrations)
	}
}

// An answer with a broken signInAudience or null owners leaves exactly
// the checks that need them unevaluated; nothing is concluded from the
// missing properties, and the rest of the application is still read.
func TestMissingAppSettingsAndOwnersAreGaps(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioDrifted, sim.Options{})
	env.Server.InjectFault(sim.Fault{Service: "graph", PathContains: "/applications(appId='" + sim.CorpAppID, Kind: sim.KindWrongType, Member: "signInAudience", JSON: `{"value":"AzureADMyOrg"}`})
	env.Server.InjectFault(sim.Fault{Service: "graph", PathContains: "/applications(appId='" + sim.ContractorsAppID, Kind: sim.KindWrongType, Member: "owners", JSON: `null`})
	r := runAudit(t, cfg)
	var gaps []string
	for _, g := range r.Gaps {
		gaps = append(gaps, g.Integration+" "+string(g.What))
	}
	sort.Strings(gaps)
	if strings.Join(gaps, ", ") != "contractors-sso entra.application_owners, corp-sso entra.application_settings" {
		t.Errorf("gaps %+v", r.Gaps)
	}
	for _, c := range []struct{ integration, id, want string }{
		{"corp-sso", "ENTRA-APP-003", report.StatusCouldNotEvaluate},
		{"corp-sso", "ENTRA-APP-004", report.StatusCouldNotEvaluate},
		{"corp-sso", "ENTRA-CLAIM-001", report.StatusCouldNotEvaluate},
		{"corp-sso", "ENTRA-CLAIM-002", report.StatusCouldNotEvaluate},
		{"corp-sso", "ENTRA-APP-005", report.StatusPass},
		{"corp-sso", "ENTRA-APP-001", report.StatusFail},
		{"contractors-sso", "ENTRA-APP-005", report.StatusCouldNotEvaluate},
		{"contractors-sso", "ENTRA-APP-003", report.StatusPass},
		{"contractors-sso", "ENTRA-CRED-004", report.StatusFail},
	} {
		if got := statusOf(r, c.integration, c.id); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.integration, c.id, got, c.want)
		}
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioHealthy, sim.Options{PageSize: 1})
	env.Server.InjectFault(sim.Fault{Service: "graph", PathContains: "/applications", Status: 429, RetryAfter: "1", Times: 2})
	env.Server.InjectFault(sim.Fault{Service: "cloudflare", PathContains: "/identity_providers", Status: 429, RetryAfter: "1", Times: 1})
	start := time.Now()
	r := runAudit(t, cfg)
	if len(r.Gaps) != 0 || len(r.Findings) != 0 {
		t.Fatalf("throttled audit did not complete: gaps %+v findings %v", r.Gaps, keys(r.Findings))
	}
	if time.Since(start) < time.Second {
		t.Errorf("Retry-After was not honoured")
	}
}

func TestRequestCountsMatchTheWire(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioHealthy, sim.Options{})
	r := runAudit(t, cfg)
	served := env.Server.Requests()
	for _, svc := range []string{"graph", "cloudflare", "token"} {
		if r.Stats.APIRequests[svc] != served[svc] {
			t.Errorf("%s: driftd counted %d, the server saw %d", svc, r.Stats.APIRequests[svc], served[svc])
		}
	}
	// The budget: a token (OpenID discovery + token call); three Graph
	// JSON batches (objects by appId; grants and jobs; schemas) whatever
	// the number of integrations; identity providers and organization,
	// and one page each of Access policies, applications, groups and
	// Gateway rules, and the newest SCIM log entry of the one identity
	// provider with SCIM; one more Graph batch for the groups those rules
	// reference.
	if r.Stats.APIRequests["token"] > 2 || r.Stats.APIRequests["graph"] > 4 || r.Stats.APIRequests["cloudflare"] > 7 {
		t.Errorf("API requests %v exceed the budget", r.Stats.APIRequests)
	}
}

func TestBadCredentialsAreAGapWithoutLeaking(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioHealthy, sim.Options{})
	cfg.Entra.ClientSecret = config.NewSecret("CANARY-wrong-secret-51d2")
	cfg.Cloudflare.APIToken = config.NewSecret("CANARY-wrong-token-8c3a")
	r := runAudit(t, cfg)
	if len(r.Findings) != 0 {
		t.Errorf("findings from unreadable data: %v", keys(r.Findings))
	}
	if r.Complete() || len(r.Gaps) == 0 {
		t.Fatalf("want gaps, got %+v", r.Gaps)
	}
	out, _ := json.Marshal(r)
	for _, secret := range []string{"CANARY-wrong-secret-51d2", "CANARY-wrong-token-8c3a", env.Tenant.AuditorClientSecret, env.Tenant.CloudflareAPIToken} {
		if strings.Contains(string(out), secret) {
			t.Errorf("report leaks a secret")
		}
	}
	if !strings.Contains(string(out), "AADSTS") || !strings.Contains(string(out), "Authentication error") {
		t.Errorf("gaps should carry the services' own reasons: %s", out)
	}
	for _, g := range r.Gaps {
		if strings.Contains(g.Error, "\n") {
			t.Errorf("multi-line gap error: %q", g.Error)
		}
	}
}

func TestDeletedAppIsAGap(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioHealthy, sim.Options{})
	env.Server.Update(func(t *sim.Tenant) {
		var kept []sim.Application
		for _, a := range t.Applications {
			if a.AppID != sim.CorpAppID {
				kept = append(kept, a)
			}
		}
		t.Applications = kept
	})
	r := runAudit(t, cfg)
	if statusOf(r, "corp-sso", "ENTRA-APP-001") != report.StatusCouldNotEvaluate || statusOf(r, "corp-sso", "ENTRA-CRED-001") != report.StatusCouldNotEvaluate ||
		statusOf(r, "corp-sso", "ENTRA-CRED-004") != report.StatusCouldNotEvaluate {
		t.Errorf("checks of a missing app must not pass or fail: %+v", r.Results)
	}
	found := false
	for _, g := range r.Gaps {
		if g.What == "entra.application" && strings.Contains(g.Error, sim.CorpAppID) {
			found = true
		}
	}
	if !found {
		t.Errorf("want a gap naming the app, got %+v", r.Gaps)
	}
}

func TestSuppressions(t *testing.T) {
	_, cfg := startSim(t, demo.ScenarioDrifted, sim.Options{})
	now := time.Now()
	cfg.Suppress = []config.Suppression{
		{Check: "ENTRA-SCIM-002", Integration: "corp-sso", Reason: "HR owns names", ExpiresAt: now.Add(24 * time.Hour)},
		{Check: "CF-IDP-001", Reason: "contractors IdP being rebuilt", ExpiresAt: now.Add(-time.Hour)}, // expired
		{Check: "ENTRA-APP-001", Integration: "contractors-sso", Reason: "wrong integration: must not match"},
	}
	r := runAudit(t, cfg)
	for _, f := range r.Findings {
		switch f.CheckID {
		case "ENTRA-SCIM-002":
			if f.Suppression == nil || f.Suppression.Reason != "HR owns names" || f.Suppression.Expires == nil {
				t.Errorf("SCIM-002 not suppressed: %+v", f.Suppression)
			}
		default:
			if f.Suppression != nil {
				t.Errorf("%s suppressed by %+v", f.CheckID, f.Suppression)
			}
		}
	}
	// Suppressed findings do not count towards --fail-on.
	if all, counted := len(r.Findings), r.CountAtOrAbove(checks.Low); counted != all-1 {
		t.Errorf("counted %d of %d findings", counted, all)
	}
}

func TestManyIntegrationsStayCheap(t *testing.T) {
	env, _ := startSim(t, demo.ScenarioHealthy, sim.Options{})
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Twelve more integrations over the same apps: 41 Graph reads in round
	// one, more than two batches' worth.
	for i := 0; i < 12; i++ {
		fmt.Fprintf(f, "\n[[integration]]\nname = \"copy-%d\"\nentra_app_id = %q\nscim_app_id = %q\n", i, sim.CorpAppID, sim.CorpSCIMAppID)
	}
	f.Close()
	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	r := runAudit(t, cfg)
	if len(r.Gaps) != 0 || len(r.Findings) != 0 {
		t.Fatalf("gaps %+v findings %v", r.Gaps, keys(r.Findings))
	}
	// Round one: 3 batches of 20 (Graph's catalog and the SKUs, then
	// 14×2 apps and service principals and 13 SCIM apps: 43 reads);
	// round two: 3 (14 grants, 14 app role assignments, 13 jobs, 13
	// assignment probes: 54); round three: 1 (13 schemas and the 4 groups
	// the account's rules reference).
	if got := r.Stats.APIRequests["graph"]; got != 7 {
		t.Errorf("graph requests = %d for 14 integrations, want 7", got)
	}
}

func TestDisabledEnterpriseApp(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioHealthy, sim.Options{})
	env.Server.Update(func(tn *sim.Tenant) {
		for i := range tn.ServicePrincipals {
			if tn.ServicePrincipals[i].AppID == sim.CorpAppID {
				tn.ServicePrincipals[i].AccountEnabled = false
			}
		}
	})
	r := runAudit(t, cfg)
	if got := keys(r.Findings); len(got) != 1 || got[0] != "corp-sso ENTRA-APP-002 accountEnabled" {
		t.Errorf("findings %v", got)
	}
}
