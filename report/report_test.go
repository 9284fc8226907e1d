package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sample() *Report {
	start := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	app := checks.Resource{Side: snapshot.SideEntra, Kind: checks.KindAppRegistration, ID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", Name: "Cloudflare Access"}
	idp := checks.Resource{Side: snapshot.SideCloudflare, Kind: checks.KindIdentityProvider, ID: "f1a2b3c4-0000-4000-8000-000000000001", Name: "Entra ID"}
	newFinding := func(id string, sev checks.Severity, r checks.Resource, setting, msg, exp, act string) checks.Finding {
		c, _ := checks.ByID(id)
		return checks.Finding{CheckID: id, Severity: sev, Integration: "corp-sso", Resource: r, Setting: setting, Message: msg,
			Expected: exp, Actual: act, Remediation: c.Remediation, Fingerprint: checks.Fingerprint(id, "corp-sso", r, setting)}
	}
	r := &Report{
		Version:    Version,
		StartedAt:  start,
		FinishedAt: start.Add(1200 * time.Millisecond),
		Integrations: []IntegrationStatus{
			{Name: "corp-sso", Status: Incomplete},
			{Name: "contractors-sso", Status: Complete},
		},
		Findings: []checks.Finding{
			newFinding("ENTRA-APP-001", checks.Critical, app, "web.redirectUris", `App registration "Cloudflare Access" lacks the Web redirect URI https://acme.cloudflareaccess.com/cdn-cgi/access/callback`,
				"https://acme.cloudflareaccess.com/cdn-cgi/access/callback", "Web redirect URIs: none; the URL is registered on the Single-page application platform instead"),
			newFinding("ENTRA-CRED-001", checks.High, app, "k1", `Client secret "cloudflare", hint AbC…, keyId k1 of app registration "Cloudflare Access" expires in 5 days (2026-12-01)`,
				"valid for more than 30 days", "ends 2026-12-01T09:30:00Z (expires in 5 days)"),
			newFinding("CF-IDP-003", checks.Medium, idp, "prompt", `Identity provider "Entra ID" has prompt = "select_account"; the baseline is "login"`, `"login"`, `"select_account"`),
			suppressed(newFinding("ENTRA-CRED-002", checks.Medium, app, "c1", `Certificate "CN=legacy", keyId c1 of app registration "Cloudflare Access" expires in 20 days (2026-12-16)`,
				"valid for more than 30 days", "ends 2026-12-16T09:30:00Z (expires in 20 days)"), "legacy certificate, unused since the move to client secrets", start.Add(60*24*time.Hour)),
		},
		Gaps: []Gap{{Integration: "corp-sso", Side: "entra", What: "entra.provisioning", Error: "reading synchronization jobs: HTTP 403 Authorization_RequestDenied: Insufficient privileges to complete the operation."}},
		Results: []CheckResult{
			{CheckID: "ENTRA-SCIM-001", Integration: "corp-sso", Status: StatusCouldNotEvaluate, Reason: "could not read entra.provisioning"},
			{CheckID: "ENTRA-SCIM-002", Integration: "corp-sso", Status: StatusCouldNotEvaluate, Reason: "could not read entra.provisioning"},
		},
		Stats: Stats{APIRequests: map[string]int{"graph": 9, "cloudflare": 2, "token": 1}, DurationMS: 1200},
	}
	// Who changed the app registration: four entries, newest first, so
	// the text formats show three and count the fourth.
	r.Findings[0].Changes = sampleChanges(start)
	r.Findings[3].Changes = []finding.Change{{Source: snapshot.SideEntra, At: start.Add(-30 * 24 * time.Hour), Activity: "Update application – Certificates and secrets management",
		Actor: "adele@contoso.com", ActorType: finding.ActorUser, Target: app.ID}}
	return r
}

func sampleChanges(start time.Time) []finding.Change {
	app := "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	return []finding.Change{
		{Source: snapshot.SideEntra, At: start.Add(-2 * time.Hour), Activity: "Update application", Actor: "adele@contoso.com", ActorType: finding.ActorUser,
			IP: "203.0.113.7", Target: app, Modified: []finding.ModifiedProperty{
				{Name: "AppAddress", Old: `["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]`, New: `[]`},
				{Name: "SpaRedirectUris", New: `["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]`},
			}},
		{Source: snapshot.SideEntra, At: start.Add(-26 * time.Hour), Activity: "Update application", Actor: "Terraform CI", ActorType: finding.ActorApp,
			ActorID: "99999999-8888-7777-6666-555555555555", Target: app, Modified: []finding.ModifiedProperty{
				{Name: "p1", Old: "a", New: "b"}, {Name: "p2", Old: "a", New: "b"}, {Name: "p3", Old: "a", New: "b"},
				{Name: "p4", Old: "a", New: "b"}, {Name: "p5", Old: "a", New: "b"}, {Name: "p6", Old: "a", New: "b"}, {Name: "p7", Old: "a", New: "b"},
			}},
		{Source: snapshot.SideEntra, At: start.Add(-50 * time.Hour), Activity: "Update application", Actor: "megan@contoso.com", ActorType: finding.ActorUser, Target: app},
		{Source: snapshot.SideEntra, At: start.Add(-74 * time.Hour), Activity: "Add application", Actor: "megan@contoso.com", ActorType: finding.ActorUser, Target: app},
	}
}

func suppressed(f checks.Finding, reason string, until time.Time) checks.Finding {
	f.Suppression = &checks.Suppression{Reason: reason, Expires: &until}
	return f
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update to accept):\n%s", name, got)
	}
}

func TestGoldenFormats(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format Format
		color  bool
	}{
		{"report.txt", FormatTable, false},
		{"report.color.txt", FormatTable, true},
		{"report.json", FormatJSON, false},
		{"report.md", FormatMarkdown, false},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, sample(), tc.format, Options{Color: tc.color}); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.file, buf.Bytes())
		if !tc.color && strings.Contains(buf.String(), "\x1b[") {
			t.Errorf("%s: colour codes without Color", tc.file)
		}
	}
}

// The JSON field names are a public interface.
func TestJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"version", "started_at", "finished_at", "integrations", "findings", "gaps", "stats"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("missing top-level key %q", key)
		}
	}
	f := doc["findings"].([]any)[0].(map[string]any)
	for _, key := range []string{"check_id", "severity", "integration", "resource", "message", "expected", "actual", "remediation", "fingerprint"} {
		if _, ok := f[key]; !ok {
			t.Errorf("finding lacks %q", key)
		}
	}
	r := f["resource"].(map[string]any)
	for _, key := range []string{"side", "kind", "id", "name"} {
		if _, ok := r[key]; !ok {
			t.Errorf("resource lacks %q", key)
		}
	}
	if f["severity"] != "critical" {
		t.Errorf("severity = %v", f["severity"])
	}
	// Attribution: every change, with all its fields, newest first.
	changes, ok := f["changes"].([]any)
	if !ok || len(changes) != 4 {
		t.Fatalf("finding changes = %v, want 4 entries", f["changes"])
	}
	c := changes[0].(map[string]any)
	for key, want := range map[string]any{"source": "entra", "at": "2026-11-26T07:30:00Z", "activity": "Update application",
		"actor": "adele@contoso.com", "actor_type": "user", "ip": "203.0.113.7", "target": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"} {
		if c[key] != want {
			t.Errorf("change %s = %v, want %v", key, c[key], want)
		}
	}
	if m := c["modified"].([]any); len(m) != 2 || m[0].(map[string]any)["name"] != "AppAddress" || m[0].(map[string]any)["new"] != "[]" ||
		m[1].(map[string]any)["old"] != nil {
		t.Errorf("change modified = %v", c["modified"])
	}
	if c := changes[1].(map[string]any); c["actor_type"] != "app" || c["actor_id"] != "99999999-8888-7777-6666-555555555555" || len(c["modified"].([]any)) != 7 {
		t.Errorf("app change = %v", c)
	}
	if _, ok := doc["findings"].([]any)[1].(map[string]any)["changes"]; ok {
		t.Error("a finding without changes has a changes key")
	}
	g := doc["gaps"].([]any)[0].(map[string]any)
	for _, key := range []string{"integration", "side", "what", "error"} {
		if _, ok := g[key]; !ok {
			t.Errorf("gap lacks %q", key)
		}
	}
	stats := doc["stats"].(map[string]any)
	if stats["api_requests"].(map[string]any)["graph"] != float64(9) || stats["duration_ms"] != float64(1200) {
		t.Errorf("stats = %v", stats)
	}
}

func TestEmptyReport(t *testing.T) {
	r := &Report{Version: Version, Integrations: []IntegrationStatus{{Name: "corp-sso", Status: Complete}}, Findings: []checks.Finding{}, Gaps: []Gap{}}
	var buf bytes.Buffer
	if err := WriteTable(&buf, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "no findings") || !strings.Contains(buf.String(), "audit complete") {
		t.Errorf("empty report:\n%s", buf.String())
	}
	buf.Reset()
	_ = WriteJSON(&buf, r)
	if !strings.Contains(buf.String(), `"findings": []`) || !strings.Contains(buf.String(), `"gaps": []`) {
		t.Errorf("empty lists must be [] not null:\n%s", buf.String())
	}
}
