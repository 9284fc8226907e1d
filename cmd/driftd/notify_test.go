package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

func appendConfig(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func TestNotifyTestAndCheckNotify(t *testing.T) {
	srv := slacktest.NewServer(t)
	env, stateDir := daemonConfig(t, "@every 1h")
	appendConfig(t, env.ConfigPath, fmt.Sprintf(`
[[notify.slack]]
name = "bot"
token = %q
channel = %q
api_url = %q

[[notify.slack]]
name = "hook"
webhook_url = %q
min_severity = "critical"
`, slacktest.DefaultToken, slacktest.DefaultChannel, srv.URL(), srv.WebhookURL()))

	code, out, errOut := runCLI(t, "notify", "test", "--config", env.ConfigPath)
	if code != exitOK || !strings.Contains(out, "bot: sent") || !strings.Contains(out, "hook: sent") {
		t.Fatalf("notify test: %d\n%s%s", code, out, errOut)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("want one test message per route, got %d", n)
	}
	if code, _, errOut := runCLI(t, "notify", "test", "--config", env.ConfigPath, "--route", "nope"); code != exitError || !strings.Contains(errOut, `no route named "nope"`) {
		t.Errorf("unknown route: %d %s", code, errOut)
	}

	// A one-shot check sends its findings; without a store every finding is new.
	before := len(srv.Messages())
	if code, _, errOut := runCLI(t, "check", "--config", env.ConfigPath, "--notify"); code != exitFindings {
		t.Fatalf("check --notify: exit %d %s", code, errOut)
	}
	sent := srv.Messages()[before:]
	perTransport := map[string]int{}
	for _, m := range sent {
		perTransport[m.Transport]++
	}
	// A batch with many findings goes out as several numbered messages.
	if len(perTransport) != 2 {
		t.Fatalf("want messages on each route, got %d messages by %v", len(sent), perTransport)
	}
	for _, m := range sent {
		if m.Transport == slacktest.TransportWebhook && (strings.Contains(m.Text, "[HIGH]") || !strings.Contains(m.Text, "[CRITICAL]")) {
			t.Errorf("the critical-only webhook route got:\n%s", m.Text)
		}
	}

	// With a store, a second check sends nothing new.
	runCLI(t, "check", "--config", env.ConfigPath, "--notify", "--state-dir", stateDir)
	before = len(srv.Messages())
	runCLI(t, "check", "--config", env.ConfigPath, "--notify", "--state-dir", stateDir)
	if n := len(srv.Messages()) - before; n != 0 {
		t.Errorf("unchanged findings sent again: %d messages", n)
	}
}

func TestStatusShowsUndeliverableNotifications(t *testing.T) {
	srv := slacktest.NewServer(t)
	env, stateDir := daemonConfig(t, "@every 1h")
	appendConfig(t, env.ConfigPath, fmt.Sprintf("\n[[notify.slack]]\nname = \"bot\"\ntoken = \"xoxb-revoked\"\nchannel = %q\napi_url = %q\n", slacktest.DefaultChannel, srv.URL()))
	// The drifted tenant has findings: they decide the exit code, and the
	// delivery failure is on stderr.
	code, _, errOut := runCLI(t, "check", "--config", env.ConfigPath, "--notify", "--state-dir", stateDir)
	if code != exitFindings || !strings.Contains(errOut, "driftd: notification to route bot failed: invalid_auth") {
		t.Errorf("check --notify with a revoked token: %d %s", code, errOut)
	}
	_, out, _ := runCLI(t, "status", "--config", env.ConfigPath)
	if !strings.Contains(out, "Pending notifications: 1") || !strings.Contains(out, "invalid_auth") || !strings.Contains(out, "fix the route's configuration") {
		t.Errorf("status does not surface the stuck route:\n%s", out)
	}
	if strings.Contains(out+errOut, "xoxb-revoked") {
		t.Errorf("the token leaks")
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// mildlyDrifted is the healthy tenant with one medium finding (CF-IDP-003,
// prompt differs from the baseline): with --fail-on high its audit exits 0,
// and a route with the default min_severity is sent the finding.
func mildlyDrifted(t *testing.T) *demo.Environment {
	env := simConfig(t, demo.ScenarioHealthy)
	env.Server.Update(func(tn *sim.Tenant) {
		for i := range tn.IdentityProviders {
			if tn.IdentityProviders[i].ID == sim.CorpIdPID {
				tn.IdentityProviders[i].Config.Prompt = "select_account"
			}
		}
	})
	return env
}

// fullReport fails unless out is the complete JSON report.
func fullReport(t *testing.T, out string) {
	t.Helper()
	var doc struct {
		Version  int
		Findings []struct {
			CheckID string `json:"check_id"`
		}
		Stats struct {
			DurationMS *int64 `json:"duration_ms"`
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Version != 1 || len(doc.Findings) == 0 || doc.Stats.DurationMS == nil {
		t.Errorf("stdout is not the full report (%v):\n%s", err, out)
	}
}

// A failed delivery never costs the report: it is on stdout, the failure
// is one line per route on stderr, and the exit code says so.
func TestCheckNotifyFailureKeepsReport(t *testing.T) {
	srv := slacktest.NewServer(t)
	env := mildlyDrifted(t)
	dead := closedPort(t)
	appendConfig(t, env.ConfigPath, fmt.Sprintf(`
[[notify.slack]]
name = "revoked"
token = "xoxb-revoked-token"
channel = %q
api_url = %q

[[notify.slack]]
name = "unreachable"
token = %q
channel = %q
api_url = "http://%s/api/"

[[notify.slack]]
name = "deadhook"
webhook_url = "http://%s/services/T0/B0/deadhooksecret"
`, slacktest.DefaultChannel, srv.URL(), slacktest.DefaultToken, slacktest.DefaultChannel, dead, dead))

	if code, _, errOut := runCLI(t, "check", "--config", env.ConfigPath, "--fail-on", "high", "--format", "json"); code != exitOK {
		t.Fatalf("without --notify: exit %d, want 0\n%s", code, errOut)
	}

	start := time.Now()
	code, out, errOut := runCLI(t, "check", "--config", env.ConfigPath, "--fail-on", "high", "--format", "json", "--notify", "--notify-timeout", "3s")
	elapsed := time.Since(start)
	fullReport(t, out)
	if code != exitError {
		t.Errorf("undelivered notifications on a clean audit: exit %d, want 2", code)
	}
	for _, want := range []string{
		"driftd: notification to route revoked failed: invalid_auth\n",
		"driftd: notification to route unreachable failed: connection refused",
		"driftd: notification to route deadhook failed: connection refused",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := strings.Count(strings.TrimSpace(errOut), "\n") + 1; n != 3 {
		t.Errorf("stderr has %d lines, want one per failed route:\n%s", n, errOut)
	}
	for _, secret := range []string{"xoxb-revoked-token", slacktest.DefaultToken, "deadhooksecret"} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("output leaks %q", secret)
		}
	}
	if elapsed > 20*time.Second {
		t.Errorf("a dead Slack held the check for %s with --notify-timeout 3s", elapsed)
	}

	// The table report is written in full too, before delivery.
	code, out, errOut = runCLI(t, "check", "--config", env.ConfigPath, "--fail-on", "high", "--notify", "--notify-timeout", "1s")
	if code != exitError || !strings.HasPrefix(out, "driftd audit ") || !strings.Contains(out, "CF-IDP-003") || !strings.Contains(out, "API requests") {
		t.Errorf("table report with a failed delivery: exit %d\n%s\n%s", code, out, errOut)
	}

	// Findings at or above --fail-on keep exit code 1.
	code, out, errOut = runCLI(t, "check", "--config", env.ConfigPath, "--fail-on", "medium", "--format", "json", "--notify", "--notify-timeout", "1s")
	fullReport(t, out)
	if code != exitFindings || !strings.Contains(errOut, "route revoked failed: invalid_auth") {
		t.Errorf("findings and a failed delivery: exit %d, want 1\n%s", code, errOut)
	}
}

func TestCheckNotifyTimeoutFlag(t *testing.T) {
	env := simConfig(t, demo.ScenarioHealthy)
	code, _, errOut := runCLI(t, "check", "--config", env.ConfigPath, "--notify-timeout", "0s")
	if code != exitError || !strings.Contains(errOut, "--notify-timeout") {
		t.Errorf("--notify-timeout 0s: exit %d %s", code, errOut)
	}
}
