package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/textsafe"
)

func TestStateCommands(t *testing.T) {
	env, stateDir := daemonConfig(t, "@every 1h")
	// A suppression for the low-severity SCIM finding.
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "\n[[suppress]]\ncheck = \"ENTRA-SCIM-002\"\nintegration = \"corp-sso\"\nreason = \"names come from HR\"\nexpires = \"2099-01-01\"\n")
	f.Close()

	// A usage error is not a run: nothing is recorded.
	if code, _, _ := runCLI(t, "check", "--config", env.ConfigPath, "--state-dir", stateDir, "--integration", "nope"); code != exitError {
		t.Errorf("unknown --integration: exit %d", code)
	}

	// Before any run: status says so, approve explains what to do.
	if code, out, _ := runCLI(t, "status", "--config", env.ConfigPath); code != exitOK || !strings.Contains(out, "No runs recorded yet") {
		t.Errorf("status on an empty store: %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "baseline", "approve", "--config", env.ConfigPath); code != exitError || !strings.Contains(errOut, "no complete run") {
		t.Errorf("approve without runs: %d %s", code, errOut)
	}

	// A one-shot check records into the store when asked.
	code, out, _ := runCLI(t, "check", "--config", env.ConfigPath, "--state-dir", stateDir, "--format", "json")
	if code != exitFindings {
		t.Fatalf("check --state-dir: exit %d", code)
	}
	if !strings.Contains(out, `"suppression"`) {
		t.Errorf("suppressed finding not marked in the report")
	}

	code, out, _ = runCLI(t, "findings", "--config", env.ConfigPath, "--format", "json")
	if code != exitOK {
		t.Fatalf("findings: exit %d", code)
	}
	var doc struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("findings --format json: %v\n%s", err, out)
	}
	if len(doc.Findings) == 0 {
		t.Fatal("no findings stored")
	}
	states := map[string]int{}
	for _, f := range doc.Findings {
		for _, key := range []string{"fingerprint", "check_id", "severity", "integration", "resource", "state", "first_seen", "last_seen", "resolved_at", "message"} {
			if _, ok := f[key]; !ok {
				t.Errorf("finding lacks %q: %v", key, f)
			}
		}
		res := f["resource"].(map[string]any)
		for _, key := range []string{"side", "kind", "id", "name"} {
			if _, ok := res[key]; !ok {
				t.Errorf("resource lacks %q", key)
			}
		}
		states[f["state"].(string)]++
		if f["check_id"] == "ENTRA-SCIM-002" && f["state"] != "suppressed" {
			t.Errorf("ENTRA-SCIM-002 should show as suppressed, is %v", f["state"])
		}
	}
	if states["suppressed"] != 1 || states["open"] == 0 {
		t.Errorf("states %v", states)
	}

	// Fix the tenant: the next check resolves; --all shows resolved ones.
	env.Server.Update(func(tn *sim.Tenant) { *tn = *sim.Healthy(time.Now()) })
	if code, _, _ := runCLI(t, "check", "--config", env.ConfigPath, "--state-dir", stateDir); code != exitOK {
		t.Errorf("healthy check: exit %d", code)
	}
	_, out, _ = runCLI(t, "findings", "--config", env.ConfigPath, "--format", "json")
	if strings.Contains(out, `"state": "open"`) {
		t.Errorf("open findings after the fix:\n%s", out)
	}
	_, out, _ = runCLI(t, "findings", "--config", env.ConfigPath, "--all", "--format", "json")
	if !strings.Contains(out, `"state": "resolved"`) || strings.Contains(out, `"resolved_at": null`) {
		t.Errorf("--all should list resolved findings with their time:\n%s", out)
	}

	// Approve, drift, see it in diff and as DRIFT-001.
	if code, out, errOut := runCLI(t, "baseline", "approve", "--config", env.ConfigPath); code != exitOK || !strings.Contains(out, "corp-sso") {
		t.Fatalf("approve: %d %s %s", code, out, errOut)
	}
	env.Server.Update(func(tn *sim.Tenant) {
		for i := range tn.IdentityProviders {
			if tn.IdentityProviders[i].ID == sim.CorpIdPID {
				tn.IdentityProviders[i].Config.EmailClaimName = "preferred_username"
			}
		}
	})
	code, out, _ = runCLI(t, "check", "--config", env.ConfigPath, "--state-dir", stateDir, "--format", "json")
	if code != exitFindings || !strings.Contains(out, "DRIFT-001") {
		t.Errorf("drift after approval: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "diff", "--config", env.ConfigPath, "--baseline")
	if code != exitOK || !strings.Contains(out, "email_claim_name") || !strings.Contains(out, `+ "preferred_username"`) {
		t.Errorf("diff --baseline: %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "diff", "--config", env.ConfigPath, "--format", "json", "2", "3")
	if code != exitOK || !strings.Contains(out, `"field": "email_claim_name"`) {
		t.Errorf("diff 2 3: %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "status", "--config", env.ConfigPath)
	if code != exitOK {
		t.Errorf("status: exit %d", code)
	}
	for _, want := range []string{"RUN", "complete", "check", "Open findings: 2 (2 medium)", "suppressed: 0", "Baseline corp-sso: run 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runCLI(t, "diff", "--config", env.ConfigPath, "1", "x"); code != exitError || !strings.Contains(errOut, `"x" is not a run ID`) {
		t.Errorf("bad run id: %d %s", code, errOut)
	}
}

// pwn, printed raw, retitles the terminal, clears the screen and
// overwrites the line with a reassuring lie.
const pwn = "\x1b]0;pwned\x07\x1b[2J\rAll checks passed\u202e"

// rawControl returns the first control or bidi character in out other
// than the writer's own newlines and tabs, or "".
func rawControl(out string) string {
	for _, r := range out {
		if r != '\n' && r != '\t' && textsafe.Unsafe(r) {
			return fmt.Sprintf("%U", r)
		}
	}
	return ""
}

// Display names and settings read from the APIs reach every text output
// escaped, and every JSON output exact.
func TestTextOutputsEscapeAPIData(t *testing.T) {
	env, stateDir := daemonConfig(t, "@every 1h")
	env.Server.Update(func(tn *sim.Tenant) {
		for i := range tn.Applications {
			tn.Applications[i].DisplayName = pwn + strings.Repeat("x", 100000)
		}
		for i := range tn.IdentityProviders {
			tn.IdentityProviders[i].Name = pwn
		}
		// A SCIM source name is shown as read (not quoted by the check).
		for _, jobs := range tn.SynchronizationJobs {
			for _, job := range jobs {
				for _, rule := range job.Schema.SynchronizationRules {
					for _, om := range rule.ObjectMappings {
						for i := range om.AttributeMappings {
							if strings.HasPrefix(om.AttributeMappings[i].TargetAttributeName, "emails") {
								om.AttributeMappings[i].Source = sim.AttributeMappingSource{Type: "Attribute", Name: pwn, Expression: "[x]"}
							}
						}
					}
				}
			}
		}
	})
	code, out, _ := runCLI(t, "check", "--config", env.ConfigPath, "--state-dir", stateDir, "--format", "json")
	if code != exitFindings || !strings.Contains(out, `\u001b]0;pwned\u0007\u001b[2J\rAll checks passed`+"\u202e") {
		t.Fatalf("JSON report does not carry the name exactly: exit %d", code)
	}
	if code, _, _ := runCLI(t, "baseline", "approve", "--config", env.ConfigPath, "--integration", "corp-sso"); code != exitOK {
		t.Fatalf("approve: exit %d", code)
	}
	env.Server.Update(func(tn *sim.Tenant) {
		for i := range tn.IdentityProviders {
			tn.IdentityProviders[i].Config.EmailClaimName = pwn
		}
	})
	// In order: the recorded check is the run diff --baseline compares.
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"check table", []string{"check", "--config", env.ConfigPath, "--state-dir", stateDir}},
		{"check markdown", []string{"check", "--config", env.ConfigPath, "--format", "markdown"}},
		{"findings", []string{"findings", "--config", env.ConfigPath, "--all"}},
		{"status", []string{"status", "--config", env.ConfigPath}},
		{"diff", []string{"diff", "--config", env.ConfigPath, "--baseline"}},
	} {
		name := tc.name
		code, out, errOut := runCLI(t, tc.args...)
		if code == exitError {
			t.Errorf("%s: exit %d %s", name, code, errOut)
		}
		if c := rawControl(out + errOut); c != "" {
			t.Errorf("%s: raw %s in the output:\n%q", name, c, out)
		}
		// Shown, escaped (some checks quote names in Go syntax themselves).
		if !strings.Contains(out, `0;pwned`) && name != "status" {
			t.Errorf("%s: the name is not shown:\n%s", name, out)
		}
		if strings.Contains(out, strings.Repeat("x", textsafe.MaxText+1)) {
			t.Errorf("%s: a 100,000-character name is not capped", name)
		}
	}
	// JSON escapes in its own way only (the audit caps the stored values).
	_, out, _ = runCLI(t, "findings", "--config", env.ConfigPath, "--format", "json")
	if !strings.Contains(out, `\u001b]0;pwned\u0007\u001b[2J\rAll checks passed`+"\u202e") {
		t.Error("findings --format json does not carry the name as read")
	}
}
