package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/driftd/driftd/internal/snapshot"
)

func sampleSnapshot(start time.Time) *snapshot.Snapshot {
	at := func(y int, m time.Month, d int) *time.Time { t := time.Date(y, m, d, 9, 30, 0, 0, time.UTC); return &t }
	exp := snapshot.Expiry{Warning: 30 * 24 * time.Hour, Critical: 7 * 24 * time.Hour}
	return &snapshot.Snapshot{TakenAt: start, AccountID: "0123456789abcdef0123456789abcdef", Integrations: []snapshot.Integration{
		{Name: "corp-sso", Expiry: exp, Application: &snapshot.Application{ID: "app-object", DisplayName: "Cloudflare Access",
			PasswordCredentials: []snapshot.Credential{
				{KeyID: "k1", DisplayName: "cloudflare", Hint: "AbC", Start: at(2025, 12, 1), End: at(2026, 12, 1)},
				{KeyID: "k0", DisplayName: "old", Hint: "XyZ", Start: at(2025, 4, 1), End: at(2026, 10, 1)},
				{KeyID: "k2", DisplayName: "terraform", Start: at(2026, 6, 1), End: at(2027, 12, 1)},
			},
			KeyCredentials: []snapshot.Credential{{KeyID: "c1", DisplayName: "CN=legacy", Start: at(2024, 12, 16), End: at(2026, 12, 16)}}}},
		{Name: "contractors-sso", Expiry: exp, Application: &snapshot.Application{ID: "app-2", DisplayName: "Contractors",
			PasswordCredentials: []snapshot.Credential{{KeyID: "k9", Hint: "Q1w", End: at(2027, 5, 1)}}}},
	}}
}

func sampleRuns(start time.Time) []RunSummary {
	var runs []RunSummary
	for i := 12; i >= 1; i-- {
		at := start.Add(-time.Duration(12-i) * 6 * time.Hour)
		r := RunSummary{ID: int64(i), StartedAt: at, FinishedAt: at.Add(1200 * time.Millisecond), Status: Complete, Trigger: "schedule", Findings: 1 + i/3}
		switch i {
		case 12:
			r.Status, r.Findings, r.Opened, r.Gaps = Incomplete, 4, 1, 1
		case 7:
			r.Status, r.Error, r.Findings = "failed", "reading the token: context deadline exceeded", 0
		case 1:
			r.Opened = 1
		}
		runs = append(runs, r)
	}
	return runs
}

func sampleHTML() HTMLDocument {
	r := sample()
	return HTMLDocument{Report: r, Snapshot: sampleSnapshot(r.StartedAt), Runs: sampleRuns(r.StartedAt), Source: "run 12 from the state store"}
}

func TestHTMLGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sampleHTML()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.html", buf.Bytes())
	out := buf.String()
	for _, want := range []string{`id="tiles"`, `<code>ENTRA-APP-001</code>`, `id="credential-timeline"`, `id="history-chart"`,
		"changed by adele@contoso.com at 2026-11-26 07:30 UTC", "today 2026-11-26", "@media print",
		`href="https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"`,
		`href="https://one.dash.cloudflare.com/0123456789abcdef0123456789abcdef/settings/authentication"`,
		`data-state="expired"`, `data-state="critical"`, `data-state="warning"`, `data-state="ok"`} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	NoFetch(t, buf.Bytes())
}

// Without a snapshot or runs (driftd check --format html) the page has
// no timeline and no history, and still renders.
func TestHTMLFromReportOnly(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample(), FormatHTML, Options{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "<svg") || !strings.Contains(out, "ENTRA-CRED-001") {
		t.Errorf("report-only HTML:\n%s", out)
	}
	NoFetch(t, buf.Bytes())
}

// Markup, script and CSS from API data are text, never elements,
// attributes or styles; and nothing is fetched.
func TestHTMLHostile(t *testing.T) {
	r := hostile()
	inject := `"><script>alert(1)</script><img src="https://evil.example/x.png"><style>@import url(https://evil.example/a.css)</style>`
	r.Integrations[0].Name = "corp" + inject
	for i := range r.Findings {
		r.Findings[i].Integration = r.Integrations[0].Name
		r.Findings[i].Expected += inject
		r.Findings[i].Resource.ID = "javascript:alert(1)"
	}
	for i := range r.Results {
		r.Results[i].Integration = r.Integrations[0].Name
	}
	snap := sampleSnapshot(r.StartedAt)
	snap.AccountID = `x" onmouseover="alert(1)`
	snap.Integrations[0].Name = r.Integrations[0].Name
	snap.Integrations[0].Application.PasswordCredentials[0].DisplayName = inject
	runs := sampleRuns(r.StartedAt)
	runs[0].Error, runs[0].Trigger = inject, inject
	var buf bytes.Buffer
	if err := WriteHTML(&buf, HTMLDocument{Report: r, Snapshot: snap, Runs: runs, Source: inject}); err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	NoFetch(t, out)
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	styles := 0
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "script", "img", "iframe", "object", "embed":
			t.Errorf("<%s> from data in the page", n.Data)
		case "style":
			styles++
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q> from data", n.Data, a.Key, a.Val)
			}
			if a.Key == "href" && !strings.HasPrefix(a.Val, "https://") {
				t.Errorf("link to %q", a.Val)
			}
		}
	}
	if styles != 1 {
		t.Errorf("%d <style> elements, want the page's own", styles)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `\x1b]0;pwned\x07`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("page lacks the escaped %q", want)
		}
	}
	if bytes.Contains(out, []byte("\x1b")) {
		t.Error("raw ESC in the page")
	}
}
