package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// showCanaries are distinct secret values, one per way of giving a
// secret, so a leak names its path.
var showCanaries = map[string]string{
	"env":        "CANARY-env-entra-4b1d",
	"file":       "CANARY-file-cf-93ce",
	"cred":       "xoxb-CANARY-cred-slack-77aa",
	"inline":     "https://hooks.example.com/CANARY-inline-url-5e02",
	"header":     "CANARY-header-env-c3f1",
	"inlineHead": "CANARY-inline-header-0d9e",
	"certpw":     "CANARY-certpw-file-1a2b",
}

// showFixture writes a configuration using every way of giving a
// secret: ${VAR}, *_file, $CREDENTIALS_DIRECTORY and inline.
func showFixture(t *testing.T) (path string, env Environment, cfg *Config) {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(p, v string) {
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "cf-token"), showCanaries["file"])
	write(filepath.Join(dir, "cert-pw"), showCanaries["certpw"])
	write(filepath.Join(creds, "slack_security_token"), showCanaries["cred"])
	path = filepath.Join(dir, "config.toml")
	write(path, `
[entra]
tenant_id = "11111111-2222-3333-4444-555555555555"
client_id = "66666666-7777-8888-9999-000000000000"
client_secret = "${DRIFTD_ENTRA_CLIENT_SECRET}"
certificate_password_file = "cert-pw"

[cloudflare]
account_id = "0123456789abcdef0123456789abcdef"
api_token_file = "cf-token"

[[integration]]
name = "corp-sso"
entra_app_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

[integration.baseline]
pkce_enabled = true
claims = ["email"]

[[suppress]]
check = "ENTRA-CRED-003"
reason = "rotated by the vault"
expires = "2099-01-31"

[[notify.slack]]
name = "security"
channel = "#security-alerts"
mention = "<!subteam^S0123>"

[[notify.webhook]]
name = "pager"
url = "`+showCanaries["inline"]+`"
send_resolved = false
headers = { Authorization = "${DRIFTD_PAGER_KEY}", "X-Api.Key" = "`+showCanaries["inlineHead"]+`" }
`)
	env = testEnv(map[string]string{
		"DRIFTD_ENTRA_CLIENT_SECRET": showCanaries["env"],
		"DRIFTD_PAGER_KEY":           showCanaries["header"],
		"CREDENTIALS_DIRECTORY":      creds,
	})
	cfg, err := LoadWith(path, env)
	if err != nil {
		t.Fatal(err)
	}
	return path, env, cfg
}

func TestSecretSource(t *testing.T) {
	path, _, cfg := showFixture(t)
	dir := filepath.Dir(path)
	for _, tc := range []struct {
		name string
		s    Secret
		want string
	}{
		{"env", cfg.Entra.ClientSecret, "from $DRIFTD_ENTRA_CLIENT_SECRET"},
		{"file", cfg.Cloudflare.APIToken, "from file " + filepath.Join(dir, "cf-token")},
		{"cred", cfg.Notify.Slack[0].Token, "from credentials directory"},
		{"inline", cfg.Notify.Webhook[0].URL, "inline"},
		{"absent", cfg.Notify.Webhook[0].Secret, "not set"},
		{"header env", cfg.Notify.Webhook[0].Headers["Authorization"], "from $DRIFTD_PAGER_KEY"},
		{"NewSecret", NewSecret("x"), "inline"},
	} {
		if got := tc.s.Source(); got != tc.want {
			t.Errorf("%s: Source() = %q, want %q", tc.name, got, tc.want)
		}
	}
	// The source changes nothing of the redaction.
	s := cfg.Entra.ClientSecret
	text, _ := s.MarshalText()
	js, _ := json.Marshal(s)
	for _, out := range []string{s.String(), s.GoString(), string(text), string(js)} {
		if strings.Contains(out, showCanaries["env"]) || strings.Contains(out, "DRIFTD_") {
			t.Errorf("redacted form shows more than the marker: %q", out)
		}
	}
}

func TestShowHidesSecretsAndNamesSources(t *testing.T) {
	path, _, cfg := showFixture(t)
	dir := filepath.Dir(path)
	for _, format := range []string{ShowTOML, ShowJSON} {
		out, err := Show(cfg, format)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range showCanaries {
			if strings.Contains(string(out), v) {
				t.Errorf("%s: the %s secret's value is in the output", format, name)
			}
		}
		for _, label := range []string{
			"<from $DRIFTD_ENTRA_CLIENT_SECRET>",
			"<from file " + filepath.Join(dir, "cf-token") + ">",
			"<from file " + filepath.Join(dir, "cert-pw") + ">",
			"<from credentials directory>",
			"<inline>",
			"<not set>",
			"<from $DRIFTD_PAGER_KEY>",
		} {
			if !strings.Contains(string(out), label) {
				t.Errorf("%s: no %q in\n%s", format, label, out)
			}
		}
	}
}

func TestShowDefaults(t *testing.T) {
	_, _, cfg := showFixture(t)
	out, err := Show(cfg, ShowTOML)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\n[daemon]\nschedule = \"@every 1h\"\nrun_timeout = \"10m\"\njitter = \"0s\"\n",
		"lookback = \"2h\"\n",
		"max_in_flight = 4\n",
		"warning = \"30d\"\n",
		"graph_url = \"https://graph.microsoft.com/v1.0\"\n",
		"export_interval = \"1m\"\n",
		"min_severity = \"medium\"\n",
		"\n[[notify.webhook]]\n",
		"\n[notify.webhook.headers]\nAuthorization = \"<from $DRIFTD_PAGER_KEY>\"\n\"X-Api.Key\" = \"<inline>\"\n",
		"\n[integration.baseline]\npkce_enabled = true\n# support_groups: not set\n",
		"claims = [\"email\"]\n",
		"# send_resolved: not set\n",
		"send_resolved = false\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}

	// A transport without routes (one added later too) is still listed.
	for _, tr := range Transports() {
		if tr != TransportSlack && tr != TransportWebhook && !strings.Contains(string(out), "\n# [[notify."+tr+"]]: none\n") {
			t.Errorf("transport %s not listed in\n%s", tr, out)
		}
	}

	js, err := Show(cfg, ShowJSON)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js)
	}
	if got := doc["daemon"].(map[string]any)["schedule"]; got != "@every 1h" {
		t.Errorf("json daemon.schedule = %v", got)
	}
	if got := doc["entra"].(map[string]any)["max_in_flight"]; got != 4.0 {
		t.Errorf("json entra.max_in_flight = %v", got)
	}
	if _, err := Show(cfg, "yaml"); err == nil {
		t.Error("Show accepted format yaml")
	}
}

// TestShowRoundTrip: the TOML shown, with every placeholder replaced by
// the value it stands for, parses back to the same configuration.
func TestShowRoundTrip(t *testing.T) {
	_, _, cfg := showFixture(t)
	out, err := Show(cfg, ShowTOML)
	if err != nil {
		t.Fatal(err)
	}
	// Every placeholder in this fixture is unique to one secret but
	// "<not set>" (empty) and "<inline>" (two): replace by key.
	text := string(out)
	var lines []string
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := revealFor(cfg, line); ok {
			key, _, _ := strings.Cut(line, " = ")
			lines = append(lines, key+" = "+tomlString(v))
			continue
		}
		lines = append(lines, line)
	}
	back, err := Parse([]byte(strings.Join(lines, "\n")), "shown.toml")
	if err != nil {
		t.Fatalf("shown TOML does not parse: %v\n%s", err, text)
	}
	want, got := comparable(reflect.ValueOf(*cfg)), comparable(reflect.ValueOf(*back))
	if !reflect.DeepEqual(want, got) {
		t.Errorf("round trip differs:\nwant %#v\ngot  %#v", want, got)
	}
}

// revealFor is the value a placeholder line of the fixture stands for.
func revealFor(cfg *Config, line string) (string, bool) {
	if !strings.Contains(line, ` = "<`) || strings.Contains(line, "<!") {
		return "", false
	}
	switch {
	case strings.HasPrefix(line, "client_secret = "):
		return cfg.Entra.ClientSecret.Reveal(), true
	case strings.HasPrefix(line, "certificate_password = "):
		return cfg.Entra.CertificatePassword.Reveal(), true
	case strings.HasPrefix(line, "api_token = "):
		return cfg.Cloudflare.APIToken.Reveal(), true
	case strings.HasPrefix(line, "token = "):
		return cfg.Notify.Slack[0].Token.Reveal(), true
	case strings.HasPrefix(line, "url = "):
		return cfg.Notify.Webhook[0].URL.Reveal(), true
	case strings.HasPrefix(line, "Authorization = "):
		return cfg.Notify.Webhook[0].Headers["Authorization"].Reveal(), true
	case strings.HasPrefix(line, `"X-Api.Key" = `):
		return cfg.Notify.Webhook[0].Headers["X-Api.Key"].Reveal(), true
	case strings.HasSuffix(line, `"<not set>"`):
		return "", true
	}
	return "", false
}

// comparable is v as the TOML file says it: toml:"-" fields (what
// Validate derives) dropped, secrets as their values, nil and empty
// slices and maps alike.
func comparable(v reflect.Value) any {
	switch v.Type() {
	case reflect.TypeFor[Secret]():
		return "secret:" + v.Interface().(Secret).Reveal()
	case reflect.TypeFor[Duration](), reflect.TypeFor[time.Time]():
		return v.Interface()
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return []any{comparable(v.Elem())}
	case reflect.Struct:
		m := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Tag.Get("toml") == "-" || !f.IsExported() {
				continue
			}
			m[f.Name] = comparable(v.Field(i))
		}
		return m
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = comparable(v.Index(i))
		}
		return out
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[k.String()] = comparable(v.MapIndex(k))
		}
		return m
	}
	return v.Interface()
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{2 * time.Hour, "2h"},
		{90 * time.Minute, "1h30m"},
		{30 * 24 * time.Hour, "30d"},
		{36 * time.Hour, "1d12h"},
		{60 * time.Second, "1m"},
		{1500 * time.Millisecond, "1.5s"},
		{24*time.Hour + 250*time.Millisecond, "1d250ms"},
		{MaxDuration, "36500d"},
	} {
		got := FormatDuration(tc.d)
		if got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
		if back, err := ParseDuration(got); err != nil || back != tc.d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, tc.d)
		}
	}
}
