package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/demo"
)

// --format junit changes the output, never the exit code.
func TestCheckJUnitExitCode(t *testing.T) {
	env := simConfig(t, demo.ScenarioDrifted)
	table, _, _ := runCLI(t, "check", "--config", env.ConfigPath)
	code, out, errOut := runCLI(t, "check", "--config", env.ConfigPath, "--format", "junit")
	if code != table || code != exitFindings {
		t.Errorf("--format junit: exit %d, table exit %d, want both %d\n%s", code, table, exitFindings, errOut)
	}
	var doc struct {
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil || doc.Failures == 0 {
		t.Errorf("junit output: %v, failures %d\n%s", err, doc.Failures, out)
	}
	html := ""
	if code, out, _ := runCLI(t, "check", "--config", env.ConfigPath, "--format", "html"); code != exitFindings || !strings.HasPrefix(out, "<!DOCTYPE html>") {
		t.Errorf("--format html: exit %d\n%.200s", code, out)
	} else {
		html = out
	}
	// Neither file ever holds a credential driftd used.
	for _, secret := range []string{env.Tenant.AuditorClientSecret, env.Tenant.CloudflareAPIToken} {
		if strings.Contains(out, secret) || strings.Contains(html, secret) {
			t.Errorf("a credential (%d characters) is in the JUnit or HTML report", len(secret))
		}
	}
}

func TestReportCommand(t *testing.T) {
	env, stateDir := daemonConfig(t, "@every 1h")
	// Without --html: a one-line usage error.
	code, out, errOut := runCLI(t, "report", "--config", env.ConfigPath)
	if code != exitError || out != "" || !strings.Contains(errOut, "usage: driftd report --html FILE") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Errorf("report without --html: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	file := filepath.Join(t.TempDir(), "report.html")
	// Before any run there is nothing to report.
	if code, _, errOut := runCLI(t, "report", "--config", env.ConfigPath, "--html", file); code != exitError || !strings.Contains(errOut, "has not recorded a run") {
		t.Errorf("report on an empty store: exit %d, %s", code, errOut)
	}
	for range 2 {
		if code, _, errOut := runCLI(t, "check", "--config", env.ConfigPath, "--state-dir", stateDir); code != exitFindings {
			t.Fatalf("check --state-dir: exit %d\n%s", code, errOut)
		}
	}
	code, out, errOut = runCLI(t, "report", "--config", env.ConfigPath, "--html", file, "--runs", "5")
	if code != exitOK || out != "" || !strings.Contains(errOut, "wrote "+file) {
		t.Fatalf("report --html: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	page, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="credential-timeline"`, `id="history-chart"`, "Findings over the last 2 runs", "ENTRA-APP-001", "changed by ", "run 2 from the state store"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The canary: the credentials driftd reads with never reach the page.
	for _, secret := range []string{env.Tenant.AuditorClientSecret, env.Tenant.CloudflareAPIToken} {
		if strings.Contains(string(page), secret) {
			t.Error("the HTML report holds a secret")
		}
	}
	if code, out, _ := runCLI(t, "report", "--config", env.ConfigPath, "--html", "-"); code != exitOK || !strings.HasPrefix(out, "<!DOCTYPE html>") {
		t.Errorf("report --html -: exit %d", code)
	}
}
