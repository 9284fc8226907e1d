package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/cli"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func simConfig(t *testing.T, scenario string) *demo.Environment {
	t.Helper()
	env := simtest.Start(t, scenario, sim.Options{})
	return env
}

func TestCheckExitCodes(t *testing.T) {
	healthy := simConfig(t, demo.ScenarioHealthy)
	drifted := simConfig(t, demo.ScenarioDrifted)

	if code, out, errOut := runCLI(t, "check", "--config", healthy.ConfigPath); code != exitOK {
		t.Errorf("healthy: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "check", "--config", drifted.ConfigPath); code != exitFindings {
		t.Errorf("drifted: exit %d, want 1", code)
	}
	// The drifted tenant has critical findings, so even --fail-on critical fails.
	if code, _, _ := runCLI(t, "check", "--config", drifted.ConfigPath, "--fail-on", "critical"); code != exitFindings {
		t.Errorf("drifted --fail-on critical: exit %d, want 1", code)
	}

	healthy.Server.InjectFault(sim.Fault{Service: "graph", PathContains: "/synchronization", Status: 403})
	code, out, _ := runCLI(t, "check", "--config", healthy.ConfigPath, "--format", "json")
	if code != exitIncomplete {
		t.Errorf("403 on synchronization: exit %d, want 3", code)
	}
	var doc struct {
		Integrations []struct{ Name, Status string }
		Gaps         []struct{ Integration, Side, What, Error string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--format json output is not JSON: %v\n%s", err, out)
	}
	if len(doc.Gaps) != 1 || doc.Gaps[0].What != "entra.provisioning" {
		t.Errorf("gaps %+v", doc.Gaps)
	}
	healthy.Server.ClearFaults()

	// --integration narrows the audit.
	code, out, _ = runCLI(t, "check", "--config", drifted.ConfigPath, "--integration", "contractors-sso", "--format", "json")
	if code != exitFindings || strings.Contains(out, `"corp-sso"`) || !strings.Contains(out, "CF-IDP-001") {
		t.Errorf("--integration contractors-sso: exit %d\n%s", code, out)
	}
}

func TestCheckErrorsAreOneLine(t *testing.T) {
	env := simConfig(t, demo.ScenarioHealthy)
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[entra]\ntenant = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--config", "/nonexistent/driftd.toml"}, "no such file"},
		{[]string{"check", "--config", bad}, `unknown key "entra.tenant"`},
		{[]string{"check", "--config", env.ConfigPath, "--format", "yaml"}, "--format"},
		{[]string{"check", "--config", env.ConfigPath, "--fail-on", "severe"}, "--fail-on"},
		{[]string{"check", "--config", env.ConfigPath, "--integration", "nope"}, `no integration named "nope"`},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != exitError {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: stderr %q, want one line containing %q", tc.args, errOut, tc.want)
		}
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	env := simConfig(t, demo.ScenarioDrifted)
	for _, format := range []string{"table", "json", "markdown"} {
		_, out, errOut := runCLI(t, "check", "--config", env.ConfigPath, "--format", format)
		for _, secret := range []string{env.Tenant.AuditorClientSecret, env.Tenant.CloudflareAPIToken} {
			if strings.Contains(out+errOut, secret) {
				t.Errorf("%s output leaks a secret", format)
			}
		}
	}
}

func TestDemo(t *testing.T) {
	t.Setenv("CLOUDFLARE_BASE_URL", "https://cloudflare-env.invalid/")
	code, out, errOut := runCLI(t, "demo")
	if code != exitOK {
		t.Fatalf("demo: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"ENTRA-APP-001", "CF-IDP-001", "driftd check --config"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

func TestChecksAndVersion(t *testing.T) {
	code, out, _ := runCLI(t, "checks")
	if code != exitOK || !strings.Contains(out, "ENTRA-PERM-001") || !strings.Contains(out, "CF-SCIM-001") {
		t.Errorf("checks: %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "checks", "--format", "json")
	var doc struct {
		Checks []struct{ ID, Severity, Title string }
	}
	if code != exitOK || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Checks) != len(checks.All()) {
		t.Errorf("checks --format json: %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "driftd ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestOneLineEscapes(t *testing.T) {
	if got, want := cli.OneLine("read failed:\r\n\x1b]0;pwned\x07\x1b[2J\u202eok"), `read failed: \x1b]0;pwned\x07\x1b[2J\u202eok`; got != want {
		t.Errorf("oneLine = %q, want %q", got, want)
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	for _, c := range program().Commands {
		fs := program().FlagSet(c)
		flags := 0
		fs.VisitAll(func(*flag.Flag) { flags++ })
		if flags == 0 {
			continue // version
		}
		words := strings.Fields(c.Name)
		invocations := [][]string{
			append(append([]string{}, words...), "-h"),
			append(append([]string{}, words...), "--help"),
			append([]string{"help"}, words...),
		}
		if len(words) > 1 {
			// driftd baseline -h, driftd help baseline
			invocations = append(invocations, []string{words[0], "-h"}, []string{"help", words[0]})
		}
		for i, args := range invocations {
			code, out, errOut := runCLI(t, args...)
			if code != exitOK || errOut != "" {
				t.Errorf("driftd %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
			}
			// The group's help (driftd config -h) lists each of its
			// commands; a command's own starts with its usage.
			usage := "Usage: driftd " + c.Name + " [flags]"
			if i < 3 && !strings.HasPrefix(out, usage) || i >= 3 && !strings.Contains(out, usage) {
				t.Errorf("driftd %s: output does not show its usage:\n%s", strings.Join(args, " "), out)
			}
			fs.VisitAll(func(f *flag.Flag) {
				line := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(f.Name) + `( .*)?$`).FindString(out)
				_, text := flag.UnquoteUsage(f)
				if line == "" || !strings.Contains(line, text) {
					t.Errorf("driftd %s: --%s is not listed with %q:\n%s", strings.Join(args, " "), f.Name, text, out)
				}
				if def := cli.FlagDefault(f); def != "" && !strings.Contains(line, "(default "+def+")") {
					t.Errorf("driftd %s: --%s lacks its default %s: %q", strings.Join(args, " "), f.Name, def, line)
				}
			})
		}
	}
}

func TestHelpFlagDefaults(t *testing.T) {
	fs := program().FlagSet(program().Commands[0])
	for name, want := range map[string]string{"timeout": "5m", "notify-timeout": "30s", "fail-on": "low", "notify": "", "state-dir": ""} {
		if got := cli.FlagDefault(fs.Lookup(name)); got != want {
			t.Errorf("default of --%s shown as %q, want %q", name, got, want)
		}
	}
}

func TestUsageListsEveryCommand(t *testing.T) {
	code, help, errOut := runCLI(t, "help")
	if code != exitOK || errOut != "" {
		t.Fatalf("driftd help: exit %d, stderr %q", code, errOut)
	}
	// Without a command driftd shows the same text on stderr and exits 2.
	code, out, bare := runCLI(t)
	if code != exitError || out != "" || bare != help {
		t.Errorf("driftd: exit %d, stdout %q, stderr differs from driftd help:\n%s", code, out, bare)
	}
	for _, c := range program().Commands {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(c.Name) + `( |$)`).MatchString(help) {
			t.Errorf("driftd help does not list %q:\n%s", c.Name, help)
		}
		// Every command listed is one driftd runs.
		args := append(strings.Fields(c.Name), "-h")
		if _, _, errOut := runCLI(t, args...); strings.Contains(errOut, "unknown command") {
			t.Errorf("driftd %s: %s", strings.Join(args, " "), errOut)
		}
	}
	for _, want := range []string{"Exit codes of check", "driftd COMMAND -h"} {
		if !strings.Contains(help, want) {
			t.Errorf("driftd help lacks %q", want)
		}
	}
}

func TestUsageErrorsAreOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--bogus"}, "driftd check: flag provided but not defined: -bogus"},
		{[]string{"status", "--runs", "many"}, `driftd status: invalid value "many" for flag -runs`},
		{[]string{"baseline"}, "driftd baseline: usage: driftd baseline approve [flags]"},
		{[]string{"notify", "send"}, "driftd notify: usage: driftd notify test [flags]"},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != exitError || out != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, out)
		}
		if !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: stderr %q, want one line containing %q", tc.args, errOut, tc.want)
		}
	}
}
