package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

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
	if len(sent) != 2 {
		t.Fatalf("want a message on each route, got %d", len(sent))
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
	code, _, errOut := runCLI(t, "check", "--config", env.ConfigPath, "--notify", "--state-dir", stateDir)
	if code != exitError || !strings.Contains(errOut, "invalid_auth") {
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
