package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// configCanaries are one distinctive value per way of giving a secret.
var configCanaries = map[string]string{
	"env":    "CANARY-cfgcmd-env-6d0f",
	"file":   "CANARY-cfgcmd-file-a7b3",
	"cred":   "xoxb-CANARY-cfgcmd-cred-19c4",
	"inline": "CANARY-cfgcmd-inline-e55d",
	"header": "CANARY-cfgcmd-header-2f80",
}

// configCmdFixture writes a configuration whose every endpoint is a TLS
// server that fails the test on any request, trusted through ca_file,
// with a secret given each way. extra is appended to the file.
func configCmdFixture(t *testing.T, extra string) (dir, path string) {
	t.Helper()
	tripwire := httptest.NewTLSServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		t.Errorf("config command sent a request: %s %s", r.Method, r.URL)
	}))
	t.Cleanup(tripwire.Close)
	dir = t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := write("ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tripwire.Certificate().Raw})))
	write("cf-token", configCanaries["file"]+"\n")
	creds := filepath.Join(dir, "creds")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	write("creds/slack_security_token", configCanaries["cred"])
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	t.Setenv("DRIFTD_TEST_ENTRA_SECRET", configCanaries["env"])
	t.Setenv("DRIFTD_TEST_HEADER", configCanaries["header"])
	u := tripwire.URL
	path = write("config.toml", `
[entra]
tenant_id = "11111111-2222-3333-4444-555555555555"
client_id = "66666666-7777-8888-9999-000000000000"
authority_host = "`+u+`/"
graph_url = "`+u+`/v1.0"
ca_file = "`+ca+`"
`+extra+`

[cloudflare]
account_id = "0123456789abcdef0123456789abcdef"
api_token_file = "cf-token"
api_url = "`+u+`/client/v4/"
ca_file = "`+ca+`"

[[integration]]
name = "corp-sso"
entra_app_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

[[integration]]
name = "contractors"
entra_app_id = "aaaaaaaa-bbbb-cccc-dddd-ffffffffffff"

[[notify.slack]]
name = "security"
channel = "#security-alerts"
api_url = "`+u+`/api/"

[[notify.webhook]]
name = "pager"
url = "`+u+`/hook"
secret = "`+configCanaries["inline"]+`"
headers = { Authorization = "${DRIFTD_TEST_HEADER}" }

[telemetry]
endpoint = "`+strings.TrimPrefix(u, "https://")+`"
ca_file = "`+ca+`"
`)
	return dir, path
}

const secretByEnv = `client_secret = "${DRIFTD_TEST_ENTRA_SECRET}"`

func TestConfigCheckOffline(t *testing.T) {
	_, path := configCmdFixture(t, secretByEnv)
	start := time.Now()
	code, out, errOut := runCLI(t, "config", "check", "--config", path)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("config check took %v", took)
	}
	want := "config OK: " + path + " (entra auth client_secret, 2 integrations, 1 Slack route, 1 webhook route, "
	if !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
		t.Errorf("output %q, want one line starting %q", out, want)
	}
	assertNoCanary(t, "config check", out)
}

// TestConfigCheckCertificate: the certificate is parsed as check would
// parse it, before any request.
func TestConfigCheckCertificate(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "driftd.pem")
	if err := os.WriteFile(cert, selfSignedPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	_, path := configCmdFixture(t, `certificate_file = "`+cert+`"`)
	if code, out, errOut := runCLI(t, "config", "check", "--config", path); code != exitOK || !strings.Contains(out, "entra auth certificate") {
		t.Fatalf("valid certificate: exit %d %q %q", code, out, errOut)
	}
	if err := os.WriteFile(cert, []byte("-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "config", "check", "--config", path)
	if code != exitError || !strings.Contains(errOut, "entra.certificate_file: cannot parse") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("bad certificate: exit %d, stderr %q", code, errOut)
	}
}

// TestConfigErrorsMatchCheck: config check and config show fail (2) with
// the one-line error driftd check prints.
func TestConfigErrorsMatchCheck(t *testing.T) {
	dir, good := configCmdFixture(t, secretByEnv)
	text, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(name, from, to string) string {
		p := filepath.Join(dir, name)
		if !strings.Contains(string(text), from) {
			t.Fatalf("fixture lacks %q", from)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(text), from, to, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badCA := filepath.Join(dir, "bad-ca.pem")
	if err := os.WriteFile(badCA, []byte("no certificate here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"bad key", variant("badkey.toml", "[cloudflare]\n", "[cloudflare]\ntoken = 1\n"), `unknown key "cloudflare.token"`},
		{"bad value", variant("badvalue.toml", "[entra]\n", "[entra]\nmax_in_flight = 99\n"), "entra.max_in_flight: must be between 1 and 16"},
		{"missing file", filepath.Join(dir, "absent.toml"), "cannot read"},
		{"missing secret file", variant("nosecret.toml", `api_token_file = "cf-token"`, `api_token_file = "nope"`), "cloudflare.api_token_file: cannot read"},
		{"bad CA", variant("badca.toml", filepath.Join(dir, "ca.pem"), badCA), "entra.ca_file: " + badCA + " contains no PEM certificate"},
		{"unset variable", variant("unset.toml", "DRIFTD_TEST_ENTRA_SECRET", "DRIFTD_TEST_UNSET"), "environment variable DRIFTD_TEST_UNSET is not set"},
	} {
		_, _, checkErr := runCLI(t, "check", "--config", tc.path)
		for _, cmd := range []string{"check", "show"} {
			code, out, errOut := runCLI(t, "config", cmd, "--config", tc.path)
			if code != exitError || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("%s: config %s: exit %d, stdout %q, stderr %q (want one line with %q)", tc.name, cmd, code, out, errOut, tc.want)
			}
			if got, want := strings.TrimPrefix(errOut, "driftd config: "), strings.TrimPrefix(checkErr, "driftd check: "); got != want {
				t.Errorf("%s: config %s says %q, check says %q", tc.name, cmd, got, want)
			}
			assertNoCanary(t, tc.name, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "config", "show", "--config", good, "--format", "yaml"); code != exitError || !strings.Contains(errOut, "--format") {
		t.Errorf("--format yaml: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "config", "check", "--config", good, "extra"); code != exitError {
		t.Errorf("extra argument: exit %d", code)
	}
}

func TestConfigShowCanaries(t *testing.T) {
	dir, path := configCmdFixture(t, secretByEnv)
	for _, format := range []string{"toml", "json"} {
		code, out, errOut := runCLI(t, "config", "show", "--config", path, "--format", format)
		if code != exitOK || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", format, code, errOut)
		}
		assertNoCanary(t, "config show --format "+format, out)
		for _, label := range []string{
			"<from $DRIFTD_TEST_ENTRA_SECRET>",
			"<from file " + filepath.Join(dir, "cf-token") + ">",
			"<from credentials directory>",
			"<inline>",
			"<not set>",
			"<from $DRIFTD_TEST_HEADER>",
			`"@every 1h"`,
		} {
			if !strings.Contains(out, label) {
				t.Errorf("%s: no %q in\n%s", format, label, out)
			}
		}
		if format == "json" && !json.Valid([]byte(out)) {
			t.Errorf("--format json is not JSON:\n%s", out)
		}
	}
	// toml is the default.
	_, def, _ := runCLI(t, "config", "show", "--config", path)
	if !strings.Contains(def, "\n[daemon]\nschedule = \"@every 1h\"\n") {
		t.Errorf("default format is not TOML with defaults:\n%s", def)
	}
}

func assertNoCanary(t *testing.T, what, out string) {
	t.Helper()
	for name, v := range configCanaries {
		if strings.Contains(out, v) {
			t.Errorf("%s: the %s secret's value is in the output", what, name)
		}
	}
}

// selfSignedPEM is a certificate and its private key, as
// entra.certificate_file holds them.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "driftd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
}
