package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/logtest"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/internal/telemetry"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

// scrapeAfterRuns runs the daemon with [daemon] listen against the drifted
// simulator (one Graph 429 on the way, a Slack route that works and a
// webhook route that cannot connect) until a run is recorded and the
// routes were tried, and returns what /metrics served, in the
// Prometheus text format and in OpenMetrics.
func scrapeAfterRuns(t *testing.T) (text, openMetrics string, secrets []string) {
	t.Helper()
	env := simtest.Start(t, demo.ScenarioDrifted, sim.Options{})
	env.Server.InjectFault(sim.Fault{Service: sim.ServiceGraph, PathContains: "$batch", Status: 429, RetryAfter: "1", Times: 1})
	srv := slacktest.NewServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := closed.Addr().String()
	ln.Close()
	closed.Close()
	stateDir := t.TempDir()
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, daemonSection("@every 1h", stateDir, addr)+
		fmt.Sprintf("\n[[notify.slack]]\nname = \"security\"\ntoken = %q\nchannel = %q\napi_url = %q\n", slacktest.DefaultToken, slacktest.DefaultChannel, srv.URL())+
		fmt.Sprintf("\n[[notify.webhook]]\nname = \"automation\"\nurl = \"http://%s/driftd\"\nsecret = \"whsec-prometheus-canary-7c1d\"\n", unreachable))
	f.Close()
	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	buf := &logtest.Buffer{}
	tel, err := telemetry.Setup(context.Background(), cfg.Telemetry, "test", NewLogger(buf, cfg.Daemon), telemetry.WithPrometheus())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := New(ctx, Options{ConfigPath: env.ConfigPath, Config: cfg, LogOutput: buf, Telemetry: tel, Senders: engine.Senders(tel)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		_ = tel.Shutdown(context.Background())
	}()
	fx := &fixture{t: t, stateDir: stateDir}
	waitFor(t, "a recorded run", 30*time.Second, func() bool { return len(fx.runs()) == 1 })
	get := func(accept string) string {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics: HTTP %d", resp.StatusCode)
		}
		return string(body)
	}
	// The routes are tried after the run; the webhook's failure is
	// counted once the dispatcher gave up on an attempt.
	waitFor(t, "the notification counters", 20*time.Second, func() bool {
		m := get("")
		return strings.Contains(m, "driftd_notifications_sent_total") && strings.Contains(m, "driftd_notifications_failed_total")
	})
	secrets = []string{env.Tenant.AuditorClientSecret, env.Tenant.CloudflareAPIToken, slacktest.DefaultToken, "whsec-prometheus-canary-7c1d"}
	return get(""), get("application/openmetrics-text; version=1.0.0"), secrets
}

// metricNames lists the sample names of a text exposition.
func metricNames(body string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		out[name] = true
	}
	return out
}

// referenced lists the driftd metric names a PromQL text names.
func referenced(exprs ...string) []string {
	re := regexp.MustCompile(`\bdriftd_[a-z_]+`)
	seen := map[string]bool{}
	var out []string
	for _, e := range exprs {
		for _, n := range re.FindAllString(e, -1) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// /metrics serves every driftd instrument through the OpenTelemetry
// Prometheus exporter; the alerting rules and the Grafana dashboard use
// only metrics it serves; promtool accepts the rules and their unit
// tests; no secret is ever in the scrape.
func TestPrometheusMetricsRulesAndDashboard(t *testing.T) {
	text, om, secrets := scrapeAfterRuns(t)
	served := metricNames(text)
	for _, want := range []string{"driftd_runs_total", "driftd_run_duration_seconds_bucket", "driftd_findings_open", "driftd_findings_opened_total",
		"driftd_credential_expiry_days", "driftd_api_requests_total", "driftd_api_throttled_total", "driftd_notifications_sent_total",
		"driftd_notifications_failed_total", "driftd_notifications_pending", "driftd_integration_complete", "driftd_run_last_finished_seconds",
		"driftd_schedule_interval_seconds"} {
		if !served[want] {
			t.Errorf("/metrics does not serve %s", want)
		}
	}
	if !strings.Contains(om, "# EOF") {
		t.Error("no OpenMetrics exposition when the scraper asks for it")
	}
	for _, s := range secrets {
		if s != "" && (strings.Contains(text, s) || strings.Contains(om, s)) {
			t.Errorf("a secret (%d characters) is in /metrics", len(s))
		}
	}

	root := filepath.Join("..", "..", "deploy")
	rules, err := os.ReadFile(filepath.Join(root, "prometheus", "driftd.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, line := range strings.Split(string(rules), "\n") {
		if e, ok := strings.CutPrefix(strings.TrimSpace(line), "expr:"); ok {
			exprs = append(exprs, e)
		}
	}
	if len(exprs) != 6 {
		t.Errorf("%d alerting rules, want 6", len(exprs))
	}
	for _, n := range referenced(exprs...) {
		if !served[n] {
			t.Errorf("driftd.rules.yml uses %s, which /metrics does not serve", n)
		}
	}

	checkDashboard(t, filepath.Join(root, "grafana", "driftd.json"), served)

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("DRIFTD_REQUIRE_PROMTOOL") != "" {
			t.Fatal("promtool is not installed (Debian package prometheus); DRIFTD_REQUIRE_PROMTOOL is set")
		}
		t.Skip("promtool not installed (apt-get install prometheus): the rules were not run through it")
	}
	for _, args := range [][]string{{"check", "rules", "driftd.rules.yml"}, {"test", "rules", "driftd.rules.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Join(root, "prometheus")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// checkDashboard holds deploy/grafana/driftd.json to Grafana's dashboard
// model (what an import needs) and every query to metrics /metrics serves.
func checkDashboard(t *testing.T, path string, served map[string]bool) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID           string `json:"uid"`
		Title         string `json:"title"`
		SchemaVersion int    `json:"schemaVersion"`
		Panels        []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource struct {
				Type, UID string
			} `json:"datasource"`
			GridPos *struct{ X, Y, W, H int } `json:"gridPos"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 || len(d.Panels) == 0 || !strings.Contains(string(raw), `"${DS_PROMETHEUS}"`) {
		t.Errorf("dashboard uid %q title %q schemaVersion %d, %d panels: not an importable dashboard with a Prometheus data source input", d.UID, d.Title, d.SchemaVersion, len(d.Panels))
	}
	ids := map[int]bool{}
	var exprs []string
	kinds := map[string]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
		}
		ids[p.ID] = true
		switch p.Type {
		case "bargauge", "timeseries", "stat", "table", "gauge":
		default:
			t.Errorf("panel %q: unknown type %q", p.Title, p.Type)
		}
		kinds[p.Type] = true
		if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if p.Datasource.Type != "prometheus" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %+v, %d targets", p.Title, p.Datasource, len(p.Targets))
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || tg.Expr == "" {
				t.Errorf("panel %q: a target without refId or expr", p.Title)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	if !kinds["bargauge"] {
		t.Error("no bar gauge for the credentials' days to expiry")
	}
	for _, n := range referenced(exprs...) {
		if !served[n] {
			t.Errorf("the dashboard queries %s, which /metrics does not serve", n)
		}
	}
}
