package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// canary is a secret value that must never appear in any output.
const canary = "CANARY-s3cr3t-7f1e9d"

const validConfig = `
[entra]
tenant_id = "11111111-2222-3333-4444-555555555555"
client_id = "66666666-7777-8888-9999-000000000000"
client_secret = "${TEST_ENTRA_SECRET}"

[cloudflare]
account_id = "0123456789abcdef0123456789abcdef"
api_token = "${TEST_CF_TOKEN}"

[[integration]]
name = "corp-sso"
entra_app_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

[integration.baseline]
pkce_enabled = true
prompt = "login"
claims = []
`

func testEnv(vars map[string]string) Environment {
	return Environment{LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
}

var canaryEnv = map[string]string{"TEST_ENTRA_SECRET": canary, "TEST_CF_TOKEN": canary + "-cf"}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadValid(t *testing.T) {
	cfg, err := LoadWith(writeConfig(t, validConfig), testEnv(canaryEnv))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Entra.ClientSecret.Reveal() != canary {
		t.Errorf("client secret not resolved from the environment")
	}
	if cfg.Entra.AuthMethod() != AuthClientSecret {
		t.Errorf("auth = %q", cfg.Entra.AuthMethod())
	}
	if cfg.Entra.GraphURL != DefaultGraphURL || cfg.Cloudflare.APIURL != DefaultCloudflareAPI {
		t.Errorf("defaults not applied: %q %q", cfg.Entra.GraphURL, cfg.Cloudflare.APIURL)
	}
	if time.Duration(cfg.Expiry.Warning) != 30*24*time.Hour || time.Duration(cfg.Expiry.Critical) != 7*24*time.Hour ||
		time.Duration(cfg.Expiry.MaxSecretLifetime) != 365*24*time.Hour || time.Duration(cfg.Expiry.SCIMStaleAfter) != 24*time.Hour {
		t.Errorf("expiry defaults: %v %v %v %v", cfg.Expiry.Warning, cfg.Expiry.Critical, cfg.Expiry.MaxSecretLifetime, cfg.Expiry.SCIMStaleAfter)
	}
	b := cfg.Integrations[0].Baseline
	if b.PKCEEnabled == nil || !*b.PKCEEnabled || b.Prompt == nil || *b.Prompt != "login" {
		t.Errorf("baseline not decoded: %+v", b)
	}
	if b.Claims == nil || len(*b.Claims) != 0 {
		t.Errorf("claims = [] must decode to an empty, non-nil list")
	}
	if b.SupportGroups != nil {
		t.Errorf("absent baseline keys must stay unset")
	}
}

func TestExampleConfigLoads(t *testing.T) {
	env := testEnv(map[string]string{"DRIFTD_ENTRA_CLIENT_SECRET": canary, "DRIFTD_CLOUDFLARE_API_TOKEN": canary})
	cfg, err := LoadWith(filepath.Join("..", "..", "config.example.toml"), env)
	if err != nil {
		t.Fatalf("config.example.toml must load with credentials set: %v", err)
	}
	if len(cfg.Integrations) != 1 || cfg.Integrations[0].Baseline.SCIMIdentityUpdateBehavior == nil {
		t.Errorf("example config: unexpected integrations %+v", cfg.Integrations)
	}
	// Without credentials the error names the missing variable.
	_, err = LoadWith(filepath.Join("..", "..", "config.example.toml"), testEnv(nil))
	if err == nil || !strings.Contains(err.Error(), "DRIFTD_ENTRA_CLIENT_SECRET") {
		t.Errorf("want an error naming DRIFTD_ENTRA_CLIENT_SECRET, got %v", err)
	}
}

func TestInvalidFields(t *testing.T) {
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown key", `prompt = "login"`, "prompt = \"login\"\npkce = true", `:18: unknown key "integration.baseline.pkce"`},
		{"unknown section", `[cloudflare]`, "[cloudflar]\nx = 1\n[cloudflare]", `unknown key "cloudflar"`},
		{"syntax", `name = "corp-sso"`, `name = "corp-sso`, "config.toml:"},
		{"tenant id", `tenant_id = "11111111-2222-3333-4444-555555555555"`, `tenant_id = "contoso"`, "entra.tenant_id"},
		{"tenant id missing", `tenant_id = "11111111-2222-3333-4444-555555555555"`, ``, "entra.tenant_id: not set"},
		{"client id", `client_id = "66666666-7777-8888-9999-000000000000"`, `client_id = "x"`, "entra.client_id"},
		{"no entra credential", `client_secret = "${TEST_ENTRA_SECRET}"`, ``, "entra.client_secret: not set"},
		{"env var unset", `${TEST_ENTRA_SECRET}`, `${NOT_SET_ANYWHERE}`, "entra.client_secret: environment variable NOT_SET_ANYWHERE is not set"},
		{"secret and file", `client_secret = "${TEST_ENTRA_SECRET}"`, "client_secret = \"${TEST_ENTRA_SECRET}\"\nclient_secret_file = \"/x\"", "entra.client_secret and entra.client_secret_file"},
		{"secret file missing", `client_secret = "${TEST_ENTRA_SECRET}"`, `client_secret_file = "/nonexistent/secret"`, "entra.client_secret_file: cannot read /nonexistent/secret"},
		{"auth", `client_secret = "${TEST_ENTRA_SECRET}"`, "client_secret = \"${TEST_ENTRA_SECRET}\"\nauth = \"kerberos\"", "entra.auth"},
		{"authority http", `[cloudflare]`, "authority_host = \"http://login.example\"\n[cloudflare]", "entra.authority_host"},
		{"graph url", `[cloudflare]`, "graph_url = \"not a url\"\n[cloudflare]", "entra.graph_url"},
		{"ca file", `[cloudflare]`, "ca_file = \"/nonexistent/ca.pem\"\n[cloudflare]", "entra.ca_file"},
		{"account id", `account_id = "0123456789abcdef0123456789abcdef"`, `account_id = "acme"`, "cloudflare.account_id"},
		{"api token", `api_token = "${TEST_CF_TOKEN}"`, ``, "cloudflare.api_token: not set"},
		{"api url", `api_token = "${TEST_CF_TOKEN}"`, "api_token = \"${TEST_CF_TOKEN}\"\napi_url = \"ftp://x\"", "cloudflare.api_url"},
		{"team domain", `api_token = "${TEST_CF_TOKEN}"`, "api_token = \"${TEST_CF_TOKEN}\"\nteam_domain = \"https://acme.cloudflareaccess.com/\"", "cloudflare.team_domain"},
		{"expiry format", `[[integration]]`, "[expiry]\nwarning = \"30 days\"\n[[integration]]", "expiry.warning"},
		{"expiry order", `[[integration]]`, "[expiry]\nwarning = \"2d\"\ncritical = \"7d\"\n[[integration]]", "expiry.warning: 48h0m0s is shorter than expiry.critical"},
		{"no integration", "[[integration]]\nname = \"corp-sso\"\nentra_app_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\n\n[integration.baseline]\npkce_enabled = true\nprompt = \"login\"\nclaims = []", ``, "integration: at least one"},
		{"integration name", `name = "corp-sso"`, `name = "corp sso!"`, "integration[0].name"},
		{"app id", `entra_app_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"`, `entra_app_id = ""`, `integration "corp-sso".entra_app_id: not set`},
		{"scim app id", `entra_app_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"`, "entra_app_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\nscim_app_id = \"scim\"", `integration "corp-sso".scim_app_id`},
		{"idp id", `entra_app_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"`, "entra_app_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\ncloudflare_idp_id = \"idp\"", `integration "corp-sso".cloudflare_idp_id`},
		{"prompt", `prompt = "login"`, `prompt = "always"`, `integration "corp-sso".baseline.prompt`},
		{"identity update", `prompt = "login"`, `scim_identity_update_behavior = "sometimes"`, "baseline.scim_identity_update_behavior"},
		{"email claim", `prompt = "login"`, `email_claim_name = ""`, "baseline.email_claim_name"},
		{"wrong type", `pkce_enabled = true`, `pkce_enabled = "yes"`, "integration.baseline.pkce_enabled"},
		{"schedule", `claims = []`, "claims = []\n[daemon]\nschedule = \"sometimes\"", "daemon.schedule"},
		{"run timeout", `claims = []`, "claims = []\n[daemon]\nrun_timeout = \"-1m\"", "daemon.run_timeout"},
		{"state dir", `claims = []`, "claims = []\n[daemon]\nstate_dir = \"state\"", "daemon.state_dir"},
		{"retain", `claims = []`, "claims = []\n[daemon]\nretain_snapshots = -2", "daemon.retain_snapshots"},
		{"listen", `claims = []`, "claims = []\n[daemon]\nlisten = \"9464\"", "daemon.listen"},
		{"log format", `claims = []`, "claims = []\n[daemon]\nlog_format = \"xml\"", "daemon.log_format"},
		{"log level", `claims = []`, "claims = []\n[daemon]\nlog_level = \"loud\"", "daemon.log_level"},
		{"suppress check", `claims = []`, "claims = []\n[[suppress]]\ncheck = \"NOPE\"\nreason = \"x\"", "suppress[0].check"},
		{"suppress reason", `claims = []`, "claims = []\n[[suppress]]\ncheck = \"ENTRA-SCIM-002\"", "suppress[0].reason: required"},
		{"suppress integration", `claims = []`, "claims = []\n[[suppress]]\ncheck = \"ENTRA-SCIM-002\"\nreason = \"x\"\nintegration = \"other\"", "suppress[0].integration"},
		{"suppress expires", `claims = []`, "claims = []\n[[suppress]]\ncheck = \"ENTRA-SCIM-002\"\nreason = \"x\"\nexpires = \"next week\"", "suppress[0].expires"},
		{"slack name", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"Sec Ops\"\ntoken = \"x\"\nchannel = \"#a\"", "notify.slack[0].name"},
		{"slack transport", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"", `notify.slack "sec": set token (with channel) or webhook_url`},
		{"slack both", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\ntoken = \"x\"\nchannel = \"#a\"\nwebhook_url = \"https://hooks.slack.com/services/T/B/X\"", "token and webhook_url are both set"},
		{"slack channel", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\ntoken = \"x\"", `notify.slack "sec".channel: required`},
		{"slack webhook", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\nwebhook_url = \"" + canary + "\"", `notify.slack "sec".webhook_url: must be an https:// URL`},
		{"slack severity", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\ntoken = \"x\"\nchannel = \"#a\"\nmin_severity = \"urgent\"", `notify.slack "sec".min_severity`},
		{"slack repeat", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\ntoken = \"x\"\nchannel = \"#a\"\nrepeat_interval = \"daily\"", `notify.slack "sec".repeat_interval`},
		{"slack integrations", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\ntoken = \"x\"\nchannel = \"#a\"\nintegrations = [\"nope\"]", `notify.slack "sec".integrations`},
		{"slack unknown key", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\nchanel = \"#a\"", `unknown key "notify.slack.chanel"`},
		{"telemetry protocol", `claims = []`, "claims = []\n[telemetry]\nprotocol = \"http/json\"", "telemetry.protocol"},
		{"telemetry endpoint", `claims = []`, "claims = []\n[telemetry]\nprotocol = \"http/protobuf\"\nendpoint = \"collector:4318\"", "telemetry.endpoint"},
		{"telemetry header env", `claims = []`, "claims = []\n[telemetry]\nheaders = { \"x-api-key\" = \"${NOT_SET_ANYWHERE}\" }", "telemetry.headers.x-api-key"},
		{"duplicate name", "[integration.baseline]", "[[integration]]\nname = \"corp-sso\"\nentra_app_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\n[integration.baseline]", "duplicate integration name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(validConfig, tc.from) {
				t.Fatalf("test bug: %q not in the base config", tc.from)
			}
			text := strings.Replace(validConfig, tc.from, tc.to, 1)
			_, err := LoadWith(writeConfig(t, text), testEnv(canaryEnv))
			if err == nil {
				t.Fatalf("want an error containing %q, got none", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error leaks the secret: %q", err)
			}
		})
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	secretPath := filepath.Join(dir, "entra-secret")
	if err := os.WriteFile(secretPath, []byte(canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(validConfig, `client_secret = "${TEST_ENTRA_SECRET}"`, `client_secret_file = "entra-secret"`, 1)
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadWith(cfgPath, testEnv(canaryEnv))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Entra.ClientSecret.Reveal() != canary {
		t.Errorf("secret file (relative to the config) not read and trimmed")
	}

	// A file others can read is refused, without printing its content.
	if err := os.Chmod(secretPath, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadWith(cfgPath, testEnv(canaryEnv))
	if err == nil || !strings.Contains(err.Error(), "entra.client_secret_file") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("want a refusal naming the field, got %v", err)
	}

	// systemd credentials: trusted whatever their mode, used when nothing
	// else is configured.
	credDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(credDir, CredCloudflareAPIToken), []byte(canary), 0o644); err != nil {
		t.Fatal(err)
	}
	text = strings.Replace(validConfig, `api_token = "${TEST_CF_TOKEN}"`, ``, 1)
	env := map[string]string{"TEST_ENTRA_SECRET": "x", "CREDENTIALS_DIRECTORY": credDir}
	cfg, err = LoadWith(writeConfig(t, text), testEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cloudflare.APIToken.Reveal() != canary {
		t.Errorf("credential from $CREDENTIALS_DIRECTORY not used")
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	cfg, err := LoadWith(writeConfig(t, validConfig), testEnv(canaryEnv))
	if err != nil {
		t.Fatal(err)
	}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, cfg.Entra.ClientSecret), fmt.Sprintf(verb, *cfg))
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j))
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("config", "cfg", cfg, "secret", cfg.Entra.ClientSecret, "token", cfg.Cloudflare.APIToken)
	text := slog.New(slog.NewTextHandler(&logs, nil))
	text.Info("config", "cfg", *cfg, "secret", cfg.Entra.ClientSecret)
	outputs = append(outputs, logs.String())
	for _, out := range outputs {
		if strings.Contains(out, canary) || strings.Contains(out, fmt.Sprintf("%x", canary)) {
			t.Fatalf("secret leaked: %s", out)
		}
	}
	if !strings.Contains(string(j), redacted) {
		t.Errorf("JSON should show the redaction marker: %s", j)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "0d": 0} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-3d", "3 days", "3dd"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q): want an error", in)
		}
	}
}

func TestDaemonAndSuppressions(t *testing.T) {
	text := validConfig + `
[daemon]
schedule = "*/15 * * * *"
state_dir = "/srv/driftd"
listen = "127.0.0.1:9464"

[[suppress]]
check = "ENTRA-SCIM-002"
integration = "corp-sso"
reason = "names come from HR, not Entra"
expires = "2027-01-31"
`
	cfg, err := LoadWith(writeConfig(t, text), testEnv(canaryEnv))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Daemon.Schedule != "*/15 * * * *" || time.Duration(cfg.Daemon.RunTimeout) != 10*time.Minute || cfg.Daemon.RetainSnapshots != 50 {
		t.Errorf("daemon: %+v", cfg.Daemon)
	}
	if got := cfg.Suppress[0].ExpiresAt; !got.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("expires = %v", got)
	}
	// The state commands load without credentials in the environment.
	state, err := LoadForState(writeConfig(t, text))
	if err != nil || state.Daemon.StateDir != "/srv/driftd" {
		t.Errorf("LoadForState: %v %+v", err, state)
	}
}

func TestSlackRouteDefaults(t *testing.T) {
	text := validConfig + `
[[notify.slack]]
name = "sec"
webhook_url = "${TEST_WEBHOOK}"

[[notify.slack]]
name = "quiet"
token = "${TEST_CF_TOKEN}"
channel = "C123"
repeat_interval = "0"
send_resolved = false
min_severity = "critical"
`
	env := map[string]string{"TEST_ENTRA_SECRET": canary, "TEST_CF_TOKEN": canary, "TEST_WEBHOOK": "https://hooks.slack.com/services/T/B/" + canary}
	cfg, err := LoadWith(writeConfig(t, text), testEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	sec, quiet := cfg.Notify.Slack[0], cfg.Notify.Slack[1]
	if !sec.UsesWebhook() || sec.Repeat != 24*time.Hour || !sec.ResolvedEnabled() || sec.APIURL != DefaultSlackAPI || sec.Severity.String() != "medium" {
		t.Errorf("defaults: %+v", sec)
	}
	if quiet.UsesWebhook() || quiet.Repeat != 0 || quiet.ResolvedEnabled() || quiet.Severity.String() != "critical" {
		t.Errorf("explicit values: %+v", quiet)
	}
	if out := fmt.Sprintf("%+v", cfg); strings.Contains(out, canary) {
		t.Errorf("a webhook URL or token leaks when printed")
	}
}

// The catalog is the engine's: config asks the caller whether a check ID
// exists, and names the entry that is wrong.
func TestCheckIDsKnown(t *testing.T) {
	text := strings.Replace(validConfig, `claims = []`, "claims = []\n[[suppress]]\ncheck = \"ENTRA-SCIM-002\"\nreason = \"x\"\n[[suppress]]\ncheck = \"ENTRA-FOO-001\"\nreason = \"y\"", 1)
	path := writeConfig(t, text)
	cfg, err := LoadWith(path, testEnv(canaryEnv))
	if err != nil {
		t.Fatal(err)
	}
	known := func(id string) bool { return id == "ENTRA-SCIM-002" }
	err = cfg.CheckIDsKnown(path, known)
	if err == nil || !strings.Contains(err.Error(), `suppress[1].check: "ENTRA-FOO-001" is not a check ID`) || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("unknown check ID: %v", err)
	}
	if err := cfg.CheckIDsKnown(path, func(string) bool { return true }); err != nil {
		t.Errorf("known check IDs: %v", err)
	}
}
