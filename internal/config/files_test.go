//go:build unix

package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadPromptly runs LoadWith and fails the test if it does not return
// within a few seconds: reading a secret must never block.
func loadPromptly(t *testing.T, path string, env Environment) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := LoadWith(path, env)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("LoadWith(%s) blocked for 5 s", path)
		return nil
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

func checkErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got none", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans several lines: %q", err)
	}
	if strings.Contains(err.Error(), canary) {
		t.Errorf("error leaks the secret: %q", err)
	}
}

func TestSecretFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	mkfifo(t, fifo)
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	secretLine := `client_secret = "${TEST_ENTRA_SECRET}"`
	cases := []struct {
		name, from, to string
		want           []string
	}{
		{"fifo as client_secret_file", secretLine, `client_secret_file = "` + fifo + `"`,
			[]string{"entra.client_secret_file: " + fifo + " is a named pipe, not a regular file"}},
		{"relative fifo", secretLine, `client_secret_file = "fifo"`,
			[]string{"entra.client_secret_file: " + fifo + " is a named pipe, not a regular file"}},
		{"dev zero as client_secret_file", secretLine, `client_secret_file = "/dev/zero"`,
			[]string{"entra.client_secret_file: /dev/zero is a character device, not a regular file"}},
		{"dev urandom as api_token_file", `api_token = "${TEST_CF_TOKEN}"`, `api_token_file = "/dev/urandom"`,
			[]string{"cloudflare.api_token_file: /dev/urandom is a character device, not a regular file"}},
		{"directory as client_secret_file", secretLine, `client_secret_file = "` + dir + `"`,
			[]string{"entra.client_secret_file: " + dir + " is a directory, not a regular file"}},
		{"fifo as certificate_file", secretLine, `certificate_file = "fifo"`,
			[]string{"entra.certificate_file: " + fifo + " is a named pipe, not a regular file"}},
		{"fifo as certificate_password_file", secretLine, secretLine + "\ncertificate_password_file = \"fifo\"",
			[]string{"entra.certificate_password_file: " + fifo + " is a named pipe"}},
		{"fifo as slack token_file", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\nchannel = \"#a\"\ntoken_file = \"fifo\"",
			[]string{"notify.slack[0].token_file: " + fifo + " is a named pipe"}},
		{"fifo as slack webhook_url_file", `claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\nwebhook_url_file = \"fifo\"",
			[]string{"notify.slack[0].webhook_url_file: " + fifo + " is a named pipe"}},
		{"dev zero as entra ca_file", `[cloudflare]`, "ca_file = \"/dev/zero\"\n[cloudflare]",
			[]string{"entra.ca_file: /dev/zero is a character device, not a regular file"}},
		{"fifo as cloudflare ca_file", `api_token = "${TEST_CF_TOKEN}"`, "api_token = \"${TEST_CF_TOKEN}\"\nca_file = \"" + fifo + "\"",
			[]string{"cloudflare.ca_file: " + fifo + " is a named pipe, not a regular file"}},
		{"fifo as telemetry ca_file", `claims = []`, "claims = []\n[telemetry]\nca_file = \"" + fifo + "\"",
			[]string{"telemetry.ca_file: " + fifo + " is a named pipe"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(validConfig, tc.from) {
				t.Fatalf("test bug: %q not in the base config", tc.from)
			}
			cfgPath := filepath.Join(dir, "config.toml")
			if err := os.WriteFile(cfgPath, []byte(strings.Replace(validConfig, tc.from, tc.to, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			checkErr(t, loadPromptly(t, cfgPath, testEnv(canaryEnv)), tc.want...)
		})
	}
}

// A systemd credential is trusted whatever its mode, but it must still be
// a regular file: a link to /dev/zero or a FIFO in the directory is refused.
func TestCredentialsDirectoryNotRegular(t *testing.T) {
	credDir := t.TempDir()
	mkfifo(t, filepath.Join(credDir, CredEntraClientSecret))
	if err := os.Symlink("/dev/zero", filepath.Join(credDir, CredCloudflareAPIToken)); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(validConfig, `client_secret = "${TEST_ENTRA_SECRET}"`, ``, 1)
	env := testEnv(map[string]string{"TEST_CF_TOKEN": "x", "CREDENTIALS_DIRECTORY": credDir})
	checkErr(t, loadPromptly(t, writeConfig(t, text), env), "$CREDENTIALS_DIRECTORY/"+CredEntraClientSecret+": ", "is a named pipe, not a regular file")

	text = strings.Replace(validConfig, `api_token = "${TEST_CF_TOKEN}"`, ``, 1)
	env = testEnv(map[string]string{"TEST_ENTRA_SECRET": "x", "CREDENTIALS_DIRECTORY": credDir})
	checkErr(t, loadPromptly(t, writeConfig(t, text), env), "$CREDENTIALS_DIRECTORY/"+CredCloudflareAPIToken+": ", "is a character device, not a regular file")
}

// The configuration file itself: a FIFO or a device is refused at once,
// by Load and by LoadForState (driftd status, findings …).
func TestConfigFileNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "config.toml")
	mkfifo(t, fifo)
	checkErr(t, loadPromptly(t, fifo, testEnv(canaryEnv)), fifo+" is a named pipe, not a regular file")
	checkErr(t, loadPromptly(t, "/dev/zero", testEnv(canaryEnv)), "/dev/zero is a character device, not a regular file")

	done := make(chan error, 1)
	go func() { _, err := LoadForState(fifo); done <- err }()
	select {
	case err := <-done:
		checkErr(t, err, "is a named pipe")
	case <-time.After(5 * time.Second):
		t.Fatal("LoadForState blocked on a FIFO")
	}
}

func TestFileSizeLimits(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("A", size)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfgWith := func(from, to string) string {
		p := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(p, []byte(strings.Replace(validConfig, from, to, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secretLine := `client_secret = "${TEST_ENTRA_SECRET}"`

	write("big-secret", 100<<10)
	checkErr(t, loadPromptly(t, cfgWith(secretLine, `client_secret_file = "big-secret"`), testEnv(canaryEnv)),
		"entra.client_secret_file: "+filepath.Join(dir, "big-secret")+" is larger than 64 KiB")

	// Exactly at the limit is fine.
	write("max-secret", MaxSecretFileSize)
	cfg, err := LoadWith(cfgWith(secretLine, `client_secret_file = "max-secret"`), testEnv(canaryEnv))
	if err != nil {
		t.Fatalf("a secret of exactly %d bytes: %v", MaxSecretFileSize, err)
	}
	if n := len(cfg.Entra.ClientSecret.Reveal()); n != MaxSecretFileSize {
		t.Errorf("secret read as %d bytes", n)
	}
	write("over-secret", MaxSecretFileSize+1)
	checkErr(t, loadPromptly(t, cfgWith(secretLine, `client_secret_file = "over-secret"`), testEnv(canaryEnv)), "is larger than 64 KiB")

	// A certificate may be bigger than a secret, but not without bound.
	write("cert.pem", 100<<10)
	cfg, err = LoadWith(cfgWith(secretLine, `certificate_file = "cert.pem"`), testEnv(canaryEnv))
	if err != nil {
		t.Fatalf("a 100 KiB certificate file: %v", err)
	}
	if len(cfg.Entra.Certificate.Reveal()) != 100<<10 {
		t.Errorf("certificate not read whole")
	}
	write("huge-cert.pem", MaxCertificateFileSize+1)
	checkErr(t, loadPromptly(t, cfgWith(secretLine, `certificate_file = "huge-cert.pem"`), testEnv(canaryEnv)),
		"entra.certificate_file: "+filepath.Join(dir, "huge-cert.pem")+" is larger than 1 MiB")
	huge := filepath.Join(dir, "huge-cert.pem")
	checkErr(t, loadPromptly(t, cfgWith(`[cloudflare]`, "ca_file = \""+huge+"\"\n[cloudflare]"), testEnv(canaryEnv)),
		"entra.ca_file: "+huge+" is larger than 1 MiB")

	// The configuration file itself.
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte(validConfig+strings.Repeat("# padding\n", MaxConfigFileSize/10+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	checkErr(t, loadPromptly(t, big, testEnv(canaryEnv)), big+" is larger than 1 MiB")
}

// The mode rule applies to the descriptor that is read (not to a path
// looked at before), and still refuses group- or world-readable secrets.
func TestSecretFileModeStillChecked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s")
	if err := os.WriteFile(p, []byte(canary), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	text := strings.Replace(validConfig, `client_secret = "${TEST_ENTRA_SECRET}"`, `client_secret_file = "s"`, 1)
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	checkErr(t, loadPromptly(t, cfgPath, testEnv(canaryEnv)), "entra.client_secret_file: "+p+" is readable by group or others (mode 0640); run chmod 600 on it")
}
