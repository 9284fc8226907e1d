package audit

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/report"
)

// Each provisioning scenario raises exactly its own check, with no gap.
func TestProvisioningScenarios(t *testing.T) {
	for scenario, want := range map[string]string{
		demo.ScenarioSCIMQuarantined: "corp-sso ENTRA-SCIM-003 status",
		demo.ScenarioSCIMFailing:     "corp-sso ENTRA-SCIM-004 last_execution",
		demo.ScenarioSCIMUnassigned:  "corp-sso ENTRA-SCIM-005 scope",
	} {
		t.Run(scenario, func(t *testing.T) {
			_, cfg := startSim(t, scenario, sim.Options{})
			r := runAudit(t, cfg)
			if len(r.Gaps) != 0 {
				t.Fatalf("gaps: %+v", r.Gaps)
			}
			if got := strings.Join(keys(r.Findings), "\n"); got != want {
				t.Errorf("findings:\n%s\nwant:\n%s", got, want)
			}
		})
	}
	// The quarantine's reason, error and start reach the finding.
	_, cfg := startSim(t, demo.ScenarioSCIMQuarantined, sim.Options{})
	r := runAudit(t, cfg)
	if len(r.Findings) == 1 {
		msg := r.Findings[0].Message
		for _, frag := range []string{"Quarantine", "EncounteredQuarantineException", "CredentialsNotValid", "since 20"} {
			if !strings.Contains(msg, frag) {
				t.Errorf("ENTRA-SCIM-003 message %q lacks %q", msg, frag)
			}
		}
	}
}

// A denied read of assignments, app role assignments or the SCIM log
// leaves exactly the checks that need it unevaluated — in the drifted
// tenant, where ENTRA-PERM-003 and ENTRA-SCIM-006 would otherwise fire.
func TestProvisioningReadsDeniedAreGaps(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioDrifted, sim.Options{})
	env.Server.InjectFault(sim.Fault{Service: "graph", PathContains: "/appRoleAssignedTo", Status: 403})
	env.Server.InjectFault(sim.Fault{Service: "graph", PathContains: "/appRoleAssignments", Status: 403})
	env.Server.InjectFault(sim.Fault{Service: "cloudflare", PathContains: "/logs/scim/updates", Status: 403})
	r := runAudit(t, cfg)
	var gaps []string
	for _, g := range r.Gaps {
		gaps = append(gaps, g.Integration+" "+g.What)
	}
	sort.Strings(gaps)
	want := "contractors-sso entra.app_role_assignments, corp-sso cloudflare.scim_logs, corp-sso entra.app_role_assignments, corp-sso entra.provisioning_assignments"
	if got := strings.Join(gaps, ", "); got != want {
		t.Errorf("gaps: %s\nwant: %s", got, want)
	}
	for _, g := range r.Gaps {
		if g.What == "cloudflare.scim_logs" && !strings.Contains(g.Error, "Access: Audit Logs Read") {
			t.Errorf("the SCIM log gap names the token permission to add: %q", g.Error)
		}
	}
	for _, c := range []struct{ integration, id, want string }{
		{"corp-sso", "ENTRA-PERM-003", report.StatusCouldNotEvaluate},
		{"corp-sso", "ENTRA-SCIM-005", report.StatusCouldNotEvaluate},
		{"corp-sso", "ENTRA-SCIM-006", report.StatusCouldNotEvaluate},
		{"corp-sso", "ENTRA-SCIM-003", report.StatusPass},
		{"corp-sso", "ENTRA-SCIM-004", report.StatusPass},
		{"corp-sso", "ENTRA-SCIM-001", report.StatusFail},
		{"corp-sso", "ENTRA-PERM-001", report.StatusFail},
	} {
		if got := statusOf(r, c.integration, c.id); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.integration, c.id, got, c.want)
		}
	}
}

// A SCIM log answer that is not what the API documents is a gap for the
// cross-side check, never "nothing logged" (which would raise it).
func TestHostileSCIMLogIsAGap(t *testing.T) {
	for name, f := range map[string]sim.Fault{
		"null element":   {Kind: sim.KindNullElements, Member: "result"},
		"result object":  {Kind: sim.KindWrongType, JSON: `{}`},
		"result null":    {Kind: sim.KindWrongType, JSON: `null`},
		"error body 200": {Kind: sim.KindErrorBody200},
		"malformed":      {Kind: sim.KindMalformed},
		"server error":   {Status: 500},
	} {
		t.Run(name, func(t *testing.T) {
			env, cfg := startSim(t, demo.ScenarioHealthy, sim.Options{})
			f.Service, f.PathContains = "cloudflare", "/logs/scim/updates"
			env.Server.InjectFault(f)
			r := runAudit(t, cfg)
			if len(r.Gaps) != 1 || r.Gaps[0].What != "cloudflare.scim_logs" || r.Gaps[0].Integration != "corp-sso" {
				t.Fatalf("gaps %+v, want one cloudflare.scim_logs gap of corp-sso", r.Gaps)
			}
			if len(r.Findings) != 0 {
				t.Errorf("findings invented: %v", keys(r.Findings))
			}
			if got := statusOf(r, "corp-sso", "ENTRA-SCIM-006"); got != report.StatusCouldNotEvaluate {
				t.Errorf("ENTRA-SCIM-006: %s", got)
			}
		})
	}
}

// Cloudflare's SCIM log names users and carries request bodies: none of
// it may reach the report or the stored snapshot, only a time.
func TestSCIMLogPersonalDataNeverKept(t *testing.T) {
	for _, scenario := range []string{demo.ScenarioHealthy, demo.ScenarioDrifted} {
		env, cfg := startSim(t, scenario, sim.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := Run(ctx, cfg, Options{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := json.Marshal(res.Report)
		snap, _ := json.Marshal(res.Snapshot)
		for _, e := range env.Tenant.SCIMUpdateLogs {
			for _, personal := range []string{e.ResourceUserEmail, e.RequestBody, e.CFResourceID, e.ResourceGroupName} {
				if personal == "" {
					continue
				}
				if strings.Contains(string(rep), personal) || strings.Contains(string(snap), personal) {
					t.Errorf("%s: SCIM log data %q reached the report or snapshot", scenario, personal)
				}
			}
		}
		if !strings.Contains(string(snap), `"scim_log"`) {
			t.Errorf("%s: the snapshot should record when the SCIM log was read", scenario)
		}
	}
}
