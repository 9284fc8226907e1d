package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func teamsConfig(route string) string {
	return strings.Replace(validConfig, "claims = []", "claims = []\n[[notify.teams]]\nname = \"sec\"\n"+route, 1)
}

const teamsHook = "https://prod-12.westeurope.logic.azure.com:443/workflows/6f1c/triggers/manual/paths/invoke?api-version=2016-06-01&sig=" + canary

func TestTeamsRoute(t *testing.T) {
	cfg, err := LoadWith(writeConfig(t, teamsConfig("webhook_url = \""+teamsHook+"\"\nmin_severity = \"high\"\nsend_resolved = false")), testEnv(canaryEnv))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Notify.Teams[0]
	if r.WebhookURL.Reveal() != teamsHook || r.Severity.String() != "high" || r.ResolvedEnabled() || r.Repeat.Hours() != 24 {
		t.Errorf("route: %+v", r)
	}
	routes := cfg.Notify.Routes()
	if len(routes) != 1 || routes[0].Transport() != TransportTeams || routes[0].Common().Name != "sec" {
		t.Errorf("Routes() = %v", routes)
	}
	if got := Transports(); got[len(got)-1] != TransportTeams {
		t.Errorf("Transports() = %v", got)
	}
}

func TestTeamsRouteErrors(t *testing.T) {
	const at = `notify.teams "sec"`
	for _, tc := range []struct{ route, want string }{
		{"", at + ": set webhook_url (or webhook_url_file, or $CREDENTIALS_DIRECTORY/teams_sec_webhook_url)"},
		{"webhook_url = \"http://prod-12.westeurope.logic.azure.com/x?sig=" + canary + "\"", at + ".webhook_url: must be an https:// URL (http:// only to a loopback address)"},
		{"webhook_url = \"" + canary + "\"", at + ".webhook_url: must be an https:// URL"},
		{"webhook_url = \"https://u:" + canary + "@prod-12.westeurope.logic.azure.com/x\"", at + ".webhook_url: must not contain credentials (user:password@)"},
		{"webhook_url = \"https://" + canary + "@prod-12.westeurope.logic.azure.com/x\"", at + ".webhook_url: must not contain credentials"},
		{"webhook_url = \"https://example.com/%zz" + canary + "\"", at + ".webhook_url: must be an https:// URL"},
		{"webhook_url = \"x\"\nwebhook_url_file = \"f\"", "notify.teams[0].webhook_url and notify.teams[0].webhook_url_file are both set; use one"},
		{"webhook_url = \"" + teamsHook + "\"\nmention = \"<at>x</at>\"", `unknown key "notify.teams.mention"`},
		{"webhook_url = \"" + teamsHook + "\"\nmin_severity = \"urgent\"", at + `.min_severity: "urgent" must be low, medium, high or critical`},
		{"webhook_url = \"" + teamsHook + "\"\nintegrations = [\"nope\"]", at + `.integrations: "nope" is not the name of a configured integration`},
	} {
		_, err := LoadWith(writeConfig(t, teamsConfig(tc.route)), testEnv(canaryEnv))
		checkErr(t, err, tc.want)
		if err != nil && (strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "\n")) {
			t.Errorf("error shows the URL or spans lines: %v", err)
		}
	}
	// Loopback http is for tests, as for Slack.
	if _, err := LoadWith(writeConfig(t, teamsConfig("webhook_url = \"http://127.0.0.1:9/hook?sig="+canary+"\"")), testEnv(canaryEnv)); err != nil {
		t.Errorf("loopback http: %v", err)
	}
	// Route names are unique across transports.
	text := teamsConfig("webhook_url = \""+teamsHook+"\"") + "\n[[notify.slack]]\nname = \"sec\"\nwebhook_url = \"https://hooks.slack.com/services/T/B/X\"\n"
	_, err := LoadWith(writeConfig(t, text), testEnv(canaryEnv))
	checkErr(t, err, `notify.teams[0].name: duplicate route name "sec"`)
}

func TestTeamsWebhookURLSources(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "teams-hook"), []byte(teamsHook+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(teamsConfig(`webhook_url_file = "teams-hook"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadWith(cfgPath, testEnv(canaryEnv))
	if err != nil || cfg.Notify.Teams[0].WebhookURL.Reveal() != teamsHook {
		t.Fatalf("webhook_url_file: %v", err)
	}
	// A file others can read is refused, naming the field.
	if err := os.Chmod(filepath.Join(dir, "teams-hook"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadWith(cfgPath, testEnv(canaryEnv))
	checkErr(t, err, "notify.teams[0].webhook_url_file: ", "chmod 600")

	// From the environment.
	env := map[string]string{"TEST_ENTRA_SECRET": "x", "TEST_CF_TOKEN": "x", "TEST_TEAMS": teamsHook}
	cfg, err = LoadWith(writeConfig(t, teamsConfig(`webhook_url = "${TEST_TEAMS}"`)), testEnv(env))
	if err != nil || cfg.Notify.Teams[0].WebhookURL.Reveal() != teamsHook {
		t.Fatalf("${VAR}: %v", err)
	}
	env["TEST_TEAMS"] = "http://prod-12.westeurope.logic.azure.com/x?sig=" + canary
	_, err = LoadWith(writeConfig(t, teamsConfig(`webhook_url = "${TEST_TEAMS}"`)), testEnv(env))
	checkErr(t, err, `notify.teams "sec".webhook_url: must be an https:// URL`)

	// systemd credentials: $CREDENTIALS_DIRECTORY/teams_<route>_webhook_url.
	credDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(credDir, "teams_sec_webhook_url"), []byte(teamsHook), 0o644); err != nil {
		t.Fatal(err)
	}
	env = map[string]string{"TEST_ENTRA_SECRET": "x", "TEST_CF_TOKEN": "x", "CREDENTIALS_DIRECTORY": credDir}
	cfg, err = LoadWith(writeConfig(t, teamsConfig("")), testEnv(env))
	if err != nil || cfg.Notify.Teams[0].WebhookURL.Reveal() != teamsHook {
		t.Fatalf("$CREDENTIALS_DIRECTORY: %v", err)
	}
	mkfifo(t, filepath.Join(credDir, "teams_other_webhook_url"))
	text := strings.Replace(teamsConfig(""), `name = "sec"`, `name = "other"`, 1)
	_, err = LoadWith(writeConfig(t, text), testEnv(env))
	checkErr(t, err, "$CREDENTIALS_DIRECTORY/teams_other_webhook_url: ", "is a named pipe, not a regular file")
}
