package report_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/report"
)

const chromium = "/usr/bin/chromium"

// demoHTML records three audits of the drifted demo tenant in a fresh
// store and renders `driftd report --html` from it, as the command does.
func demoHTML(t *testing.T) ([]byte, *demo.Environment) {
	t.Helper()
	env := simtest.Start(t, demo.ScenarioDrifted, sim.Options{})
	cfg := simtest.Config(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for range 3 {
		if _, err := (&engine.Engine{Store: st}).RunOnce(ctx, cfg, engine.TriggerCheck, nil); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := engine.HTMLReport(ctx, st, cfg, 30, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, doc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), env
}

// The secrets driftd authenticates with never reach the page (the report
// never carries them; this guards that it never starts to).
func TestHTMLNeverHoldsSecrets(t *testing.T) {
	page, env := demoHTML(t)
	for _, secret := range []string{env.Tenant.AuditorClientSecret, env.Tenant.CloudflareAPIToken} {
		if secret == "" || bytes.Contains(page, []byte(secret)) {
			t.Errorf("the page holds a secret (or the demo has none: %q)", secret)
		}
	}
	report.NoFetch(t, page)
}

// TestHTMLInBrowser renders the demo's report in headless Chromium: the
// DOM it builds has the summary, the findings, the credential timeline
// and the attribution, and a screenshot is a PNG.
//
// That the page fetches nothing is asserted three ways: report.NoFetch
// parses it and finds no element, attribute or CSS that loads anything;
// its Content-Security-Policy (default-src 'none') forbids any fetch in
// the browser; and Chromium runs with every host name mapped to
// NOTFOUND and all networking features off, so even a fetch that slipped
// past both could reach no one. (Watching Chromium's verbose log for
// requests proved brittle across versions; the static check is exact.)
func TestHTMLInBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("DRIFTD_REQUIRE_BROWSER") != "" {
			t.Fatalf("DRIFTD_REQUIRE_BROWSER is set but %s is missing: %v", chromium, err)
		}
		t.Skipf("%s is not installed (set DRIFTD_REQUIRE_BROWSER=1 to make this a failure)", chromium)
	}
	page, _ := demoHTML(t)
	report.NoFetch(t, page)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page, 0o600); err != nil {
		t.Fatal(err)
	}
	browse := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
			"--disable-default-apps", "--metrics-recording-only", "--no-default-browser-check",
			"--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=" + filepath.Join(dir, "profile")}
		cmd := exec.CommandContext(ctx, chromium, append(append(base, args...), "file://"+file)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}

	dom := string(browse("--dump-dom"))
	for _, want := range []string{`id="tiles"`, "integrations", "critical", `data-check="ENTRA-APP-001"`, "ENTRA-CRED-001",
		`<svg id="credential-timeline"`, `class="bar `, "today ", `id="history-chart"`, `id="runs"`, `class="changed-by">changed by `} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM Chromium built lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script") {
		t.Error("a script in the DOM")
	}

	shot := filepath.Join(dir, "report.png")
	browse("--screenshot="+shot, "--window-size=1280,2400", "--hide-scrollbars")
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2400 {
		t.Errorf("screenshot is %v, want 1280×2400", b)
	}
	if os.Getenv("DRIFTD_UPDATE_SCREENSHOT") == "1" {
		if err := os.WriteFile(filepath.Join("..", "docs", "report.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
