//go:build unix

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30d", "7d", "1d12h", "90m", "0", "10m", "36500d", "213504d", "1d-5h", "-5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != 0 {
				t.Errorf("ParseDuration(%q) = %v with error %v", s, d, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("ParseDuration(%q): error spans several lines: %q", s, err)
			}
			return
		}
		if d < 0 || d > MaxDuration {
			t.Fatalf("ParseDuration(%q) = %v, outside [0, %v]", s, d, MaxDuration)
		}
		// Every accepted value is written back (MarshalText, as Go shows
		// it) in a form that parses to the same value ...
		text, _ := Duration(d).MarshalText()
		var back Duration
		if err := back.UnmarshalText(text); err != nil || time.Duration(back) != d {
			t.Fatalf("ParseDuration(%q) = %v, but %q parses to %v, %v", s, d, text, time.Duration(back), err)
		}
		// ... and in the day form.
		days, rest := d/(24*time.Hour), d%(24*time.Hour)
		dayForm := fmt.Sprintf("%dd", days)
		if rest != 0 {
			dayForm += rest.String()
		}
		if again, err := ParseDuration(dayForm); err != nil || again != d {
			t.Fatalf("ParseDuration(%q) = %v, but %q parses to %v, %v", s, d, dayForm, again, err)
		}
	})
}

// fuzzCanary is the secret value of every environment variable and
// credential file the loader can reach in FuzzParse.
const fuzzCanary = "CANARY-f7c2-5ecret"

// secretKeys are the configuration keys that hold secrets; a value below
// one of them must never reach an error message.
var secretKeys = []string{
	"entra.client_secret", "entra.certificate_password", "cloudflare.api_token",
	"notify.slack[].token", "notify.slack[].webhook_url", "notify.webhook[].url", "notify.webhook[].secret", "notify.webhook[].headers.",
	"notify.teams[].webhook_url", "telemetry.headers.",
}

func isSecretPath(path string) bool {
	for _, k := range secretKeys {
		if path == k || strings.HasPrefix(path, k+".") || strings.HasPrefix(path, k+"[") ||
			(strings.HasSuffix(k, ".") && strings.HasPrefix(path, k)) {
			return true
		}
	}
	return false
}

// canaryOutsideSecrets reports whether the canary appears in data where
// it may legitimately be shown: in a key, or in a value that is not a
// secret (a tenant ID, a path, a URL). It is false for a document that
// is not valid TOML: a syntax error must not show the canary at all.
func canaryOutsideSecrets(data []byte) bool {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return false
	}
	var walk func(path string, v any) bool
	walk = func(path string, v any) bool {
		if isSecretPath(path) {
			return false
		}
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if strings.Contains(k, fuzzCanary) {
					return true
				}
				p := k
				if path != "" {
					p = path + "." + k
				}
				if walk(p, child) {
					return true
				}
			}
		case []any:
			for _, child := range v {
				if walk(path+"[]", child) {
					return true
				}
			}
		case string:
			return strings.Contains(v, fuzzCanary)
		}
		return false
	}
	return walk("", doc)
}

// fuzzFiles lays out what FuzzParse's inputs may name: secret files
// (private, readable by others, empty, oversized), a certificate file, a
// FIFO, and a $CREDENTIALS_DIRECTORY holding the canary.
func fuzzFiles(f *testing.F) (baseDir string, env Environment) {
	baseDir = f.TempDir()
	credDir := filepath.Join(baseDir, "credentials")
	if err := os.Mkdir(credDir, 0o700); err != nil {
		f.Fatal(err)
	}
	write := func(path, content string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			f.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			f.Fatal(err)
		}
	}
	write(filepath.Join(baseDir, "secret"), fuzzCanary+"\n", 0o600)
	write(filepath.Join(baseDir, "shared-secret"), fuzzCanary, 0o644)
	write(filepath.Join(baseDir, "empty"), "", 0o600)
	write(filepath.Join(baseDir, "big"), strings.Repeat(fuzzCanary, MaxSecretFileSize/len(fuzzCanary)+1), 0o600)
	write(filepath.Join(baseDir, "webhook"), "http://hooks.slack.com/services/T0/B0/"+fuzzCanary, 0o600)
	write(filepath.Join(baseDir, "cert.pem"), "-----BEGIN CERTIFICATE-----\n"+fuzzCanary+"\n-----END CERTIFICATE-----\n", 0o600)
	if err := syscall.Mkfifo(filepath.Join(baseDir, "fifo"), 0o600); err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{CredEntraClientSecret, CredEntraCertificatePassword, CredCloudflareAPIToken, "slack_sec_token"} {
		write(filepath.Join(credDir, name), fuzzCanary, 0o600)
	}
	write(filepath.Join(credDir, "slack_hook_webhook_url"), "https://u:"+fuzzCanary+"@hooks.slack.com/services/T0/B0/X", 0o600)
	return baseDir, Environment{LookupEnv: func(k string) (string, bool) {
		switch {
		case k == "CREDENTIALS_DIRECTORY":
			return credDir, true
		case strings.HasPrefix(k, "UNSET"):
			return "", false
		case strings.HasPrefix(k, "WEBHOOK"):
			return "http://hooks.slack.com/services/T0/B0/" + fuzzCanary, true
		}
		return fuzzCanary, true
	}}
}

// FuzzParse runs the loader (parse, resolve secrets, validate) over
// arbitrary bytes: it never panics, every error is one line, and no
// error or printed configuration shows a secret.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "..", "config.example.toml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(strings.Replace(validConfig, `"${TEST_ENTRA_SECRET}"`, `"`+fuzzCanary+`"`, 1)))
	baseDir, env := fuzzFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := load(data, "config.toml", baseDir, env)
		var shown string
		if err != nil {
			if cfg != nil {
				t.Errorf("a configuration with an error: %v", err)
			}
			shown = err.Error()
			if strings.ContainsAny(shown, "\n\r") {
				t.Errorf("error spans several lines: %q", shown)
			}
			if shown == "" {
				t.Errorf("empty error")
			}
		} else {
			shown = fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)
			for _, d := range []Duration{cfg.Expiry.Warning, cfg.Expiry.Critical, cfg.Daemon.RunTimeout, cfg.Daemon.Jitter, cfg.Telemetry.ExportInterval} {
				if d < 0 || time.Duration(d) > MaxDuration {
					t.Errorf("duration %v accepted", time.Duration(d))
				}
			}
			if cfg.Daemon.RunTimeout <= 0 || cfg.Daemon.RetainSnapshots < 1 {
				t.Errorf("daemon accepted: %+v", cfg.Daemon)
			}
		}
		if strings.Contains(shown, fuzzCanary) && !canaryOutsideSecrets(data) {
			t.Errorf("a secret is shown: %q", shown)
		}
	})
}
