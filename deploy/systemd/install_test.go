package systemd_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/config"
)

// installEnv is the environment for deploy/install.sh: the test's own,
// minus the variables the script reads, plus extra.
func installEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "BIN", "PREFIX", "DESTDIR", "UNITDIR":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func needInstallTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"sh", "install", "sed", "dirname", "chmod", "mv", "rm", "cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found on PATH: %v", tool, err)
		}
	}
}

// fakeBinary writes an executable stand-in for driftd.
func fakeBinary(t *testing.T) (string, []byte) {
	t.Helper()
	content := []byte("#!/bin/sh\necho fake driftd\n")
	path := filepath.Join(t.TempDir(), "driftd")
	if err := os.WriteFile(path, content, 0o755); err != nil {
		t.Fatal(err)
	}
	return path, content
}

func runInstall(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{filepath.Join("..", "install.sh")}, args...)...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// checkMode asserts that path is a regular file (or a directory) with
// permissions perm.
func checkMode(t *testing.T, path string, dir bool, perm fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if info.IsDir() != dir || (!dir && !info.Mode().IsRegular()) {
		t.Errorf("%s: mode %v, want a %s", path, info.Mode(), map[bool]string{true: "directory", false: "regular file"}[dir])
	}
	if got := info.Mode().Perm(); got != perm {
		t.Errorf("%s: mode %04o, want %04o", path, got, perm)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var activeSecretKey = regexp.MustCompile(`(?m)^\s*(client_secret|api_token)\s*=`)

func TestInstallScript(t *testing.T) {
	needInstallTools(t)
	bin, binContent := fakeBinary(t)
	dest := t.TempDir()

	out, err := runInstall(t, installEnv("DESTDIR="+dest), bin)
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}

	at := func(p string) string { return filepath.Join(dest, filepath.FromSlash(p)) }
	checkMode(t, at("usr/local/bin/driftd"), false, 0o755)
	checkMode(t, at("usr/local/lib/systemd/system/driftd.service"), false, 0o644)
	checkMode(t, at("usr/local/share/driftd/config.example.toml"), false, 0o644)
	checkMode(t, at("usr/local/share/driftd/driftd.env.example"), false, 0o644)
	checkMode(t, at("etc/driftd"), true, 0o755)
	checkMode(t, at("etc/driftd/credentials"), true, 0o700)
	// Readable by the service's dynamic user; holds no secrets.
	checkMode(t, at("etc/driftd/config.toml"), false, 0o644)

	if got := readFile(t, at("usr/local/bin/driftd")); !bytes.Equal(got, binContent) {
		t.Errorf("installed binary differs from %s", bin)
	}
	// With the default PREFIX the unit is installed unchanged.
	if got, want := readFile(t, at("usr/local/lib/systemd/system/driftd.service")), readFile(t, unitFile); !bytes.Equal(got, want) {
		t.Errorf("installed unit differs from %s", unitFile)
	}
	if entries, err := os.ReadDir(at("etc/driftd/credentials")); err != nil || len(entries) != 0 {
		t.Errorf("credentials directory: %v, %d entries; want it created empty", err, len(entries))
	}
	// Nothing lands outside the standard places (no stray temporary files).
	var files []string
	_ = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dest, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	wantFiles := "etc/driftd/config.toml usr/local/bin/driftd usr/local/lib/systemd/system/driftd.service " +
		"usr/local/share/driftd/config.example.toml usr/local/share/driftd/driftd.env.example"
	if got := strings.Join(files, " "); got != wantFiles {
		t.Errorf("installed files:\n  %s\nwant:\n  %s", got, wantFiles)
	}

	// The installed config leaves the secrets to $CREDENTIALS_DIRECTORY and
	// still parses.
	cfg := readFile(t, at("etc/driftd/config.toml"))
	if m := activeSecretKey.Find(cfg); m != nil {
		t.Errorf("installed config.toml still sets %q; it would override the systemd credentials", m)
	}
	if _, err := config.Parse(cfg, "config.toml"); err != nil {
		t.Errorf("installed config.toml does not parse: %v", err)
	}

	for _, s := range []string{
		"/etc/driftd/credentials/entra_client_secret",
		"/etc/driftd/credentials/cloudflare_api_token",
		"systemctl daemon-reload && systemctl enable --now driftd",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("install.sh output does not mention %q:\n%s", s, out)
		}
	}

	// A second run keeps the edited config and re-tightens the credentials
	// directory.
	edited := []byte("# edited by the operator\n")
	if err := os.WriteFile(at("etc/driftd/config.toml"), edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(at("etc/driftd/config.toml"), 0o604); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(at("etc/driftd/credentials"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := runInstall(t, installEnv("DESTDIR="+dest, "BIN="+bin)); err != nil {
		t.Fatalf("second install.sh run: %v\n%s", err, out)
	}
	if got := readFile(t, at("etc/driftd/config.toml")); !bytes.Equal(got, edited) {
		t.Errorf("second run overwrote config.toml:\n%s", got)
	}
	checkMode(t, at("etc/driftd/config.toml"), false, 0o604)
	checkMode(t, at("etc/driftd/credentials"), true, 0o700)
}

func TestInstallScriptPrefix(t *testing.T) {
	needInstallTools(t)
	bin, _ := fakeBinary(t)
	dest := t.TempDir()

	out, err := runInstall(t, installEnv("DESTDIR="+dest, "PREFIX=/opt/driftd", "BIN="+bin))
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	checkMode(t, filepath.Join(dest, "opt/driftd/bin/driftd"), false, 0o755)
	// /opt/driftd/lib/systemd/system is not on systemd's search path.
	unitPath := filepath.Join(dest, "etc/systemd/system/driftd.service")
	checkMode(t, unitPath, false, 0o644)
	u := parseUnit(t, readFile(t, unitPath))
	if got, want := u.one(t, "Service", "ExecStart"), "/opt/driftd/bin/driftd run --config "+config.DefaultPath; got != want {
		t.Errorf("ExecStart=%s, want %s", got, want)
	}
}

func TestInstallScriptRefusals(t *testing.T) {
	needInstallTools(t)
	bin, _ := fakeBinary(t)
	for name, env := range map[string][]string{
		"missing binary":  {"BIN=" + filepath.Join(t.TempDir(), "nope")},
		"relative PREFIX": {"BIN=" + bin, "PREFIX=usr/local"},
		"odd PREFIX":      {"BIN=" + bin, "PREFIX=/opt/drift d"},
	} {
		t.Run(name, func(t *testing.T) {
			dest := t.TempDir()
			out, err := runInstall(t, installEnv(append(env, "DESTDIR="+dest)...))
			if err == nil {
				t.Fatalf("install.sh succeeded:\n%s", out)
			}
			if !strings.Contains(out, "install.sh:") {
				t.Errorf("no error message:\n%s", out)
			}
			if entries, _ := os.ReadDir(dest); len(entries) != 0 {
				t.Errorf("install.sh wrote into DESTDIR before failing")
			}
		})
	}
}
