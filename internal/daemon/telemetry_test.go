package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/dispatch"
	"github.com/driftd/driftd/internal/logtest"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/telemetry"
	"github.com/driftd/driftd/internal/telemetry/otlptest"
	"github.com/driftd/driftd/notify/slack"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

// runWithTelemetry runs the daemon against the drifted simulator with the
// extra config text, until one run is recorded and the outbox is drained
// (or a few seconds passed), then stops it and flushes telemetry.
func runWithTelemetry(t *testing.T, extra string) (logs string, stateDir string) {
	t.Helper()
	env := simtest.Start(t, demo.ScenarioDrifted, sim.Options{})
	stateDir = t.TempDir()
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, daemonSection("@every 1h", stateDir, "")+extra)
	f.Close()
	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	buf := &logtest.Buffer{}
	tel, err := telemetry.Setup(context.Background(), cfg.Telemetry, "test", NewLogger(buf, cfg.Daemon))
	if err != nil {
		t.Fatal(err)
	}
	senders := func(c *config.Config) (map[string]dispatch.Sender, error) {
		out := map[string]dispatch.Sender{}
		for _, r := range c.Notify.Slack {
			out[r.Name] = slack.New(r, nil)
		}
		return out, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := New(ctx, Options{ConfigPath: env.ConfigPath, Config: cfg, LogOutput: buf, Telemetry: tel, Senders: senders})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	fx := &fixture{t: t, stateDir: stateDir}
	waitFor(t, "a recorded run", 30*time.Second, func() bool { return len(fx.runs()) == 1 })
	time.Sleep(2 * time.Second) // let the dispatcher try the routes
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = tel.Shutdown(shutdownCtx)
	return buf.String(), stateDir
}

func TestOTLPExportOfARun(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			recv := otlptest.Start(t)
			endpoint := recv.GRPCAddr()
			if protocol != "grpc" {
				endpoint = recv.HTTPURL()
			}
			srv := slacktest.NewServer(t)
			_, stateDir := runWithTelemetry(t, fmt.Sprintf("\n[telemetry]\nendpoint = %q\nprotocol = %q\ninsecure = true\nexport_interval = \"200ms\"\n", endpoint, protocol)+
				fmt.Sprintf("\n[[notify.slack]]\nname = \"security\"\ntoken = %q\nchannel = %q\napi_url = %q\n", slacktest.DefaultToken, slacktest.DefaultChannel, srv.URL()))
			if len(srv.Messages()) == 0 {
				t.Errorf("no Slack message was delivered")
			}

			names := strings.Join(recv.MetricNames(), " ")
			for _, want := range []string{"driftd.runs", "driftd.run.duration", "driftd.findings.open", "driftd.findings.opened",
				"driftd.credential.expiry", "driftd.api.requests", "driftd.notifications.sent", "driftd.notifications.pending"} {
				if !strings.Contains(names, want) {
					t.Errorf("metric %s not received (got %s)", want, names)
				}
			}
			spans := map[string]bool{}
			for _, s := range recv.Spans() {
				spans[s.GetName()] = true
			}
			for _, want := range []string{"driftd.run", "read entra", "read cloudflare", "integration corp-sso", "check ENTRA-APP-001", "notify security"} {
				if !spans[want] {
					t.Errorf("span %q not received", want)
				}
			}
			graphSpan := false
			for name := range spans {
				if strings.HasPrefix(name, "graph POST /v1.0/$batch") {
					graphSpan = true
				}
			}
			if !graphSpan {
				t.Errorf("no Graph client span among %v", spans)
			}
			opened, attributed := 0, 0
			for _, rec := range recv.LogRecords() {
				attrs := otlptest.Attrs(rec.GetAttributes())
				if otlptest.ValueString(rec.GetBody()) == "finding opened" && attrs["check_id"] != "" {
					opened++
					if attrs["driftd.changed_by"] != "" {
						attributed++
						if attrs["driftd.changed_at"] == "" || attrs["driftd.change_activity"] == "" {
							t.Errorf("%s: changed_by %q without time or activity: %v", attrs["check_id"], attrs["driftd.changed_by"], attrs)
						}
					}
				}
			}
			if attributed == 0 {
				t.Error("no opened finding's log record says who changed it")
			}
			st, err := store.OpenReadOnly(context.Background(), stateDir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			findings, err := st.Findings(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			if opened != len(findings) || opened == 0 {
				t.Errorf("want a log record per opened finding (%d), got %d", len(findings), opened)
			}
		})
	}
}

func TestCollectorDownNeverBlocksAnAudit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	_, stateDir := runWithTelemetry(t, fmt.Sprintf("\n[telemetry]\nendpoint = %q\ninsecure = true\nexport_interval = \"200ms\"\n", addr))
	fx := &fixture{t: t, stateDir: stateDir}
	if runs := fx.runs(); len(runs) != 1 || runs[0].Status != store.RunComplete {
		t.Errorf("audit with the collector down: %+v", runs)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %s", took)
	}
}

// Canary secrets must not appear in logs, Slack payloads, OTLP exports or
// the stored state.
func TestCanarySecretsNeverLeak(t *testing.T) {
	const (
		tokenCanary   = "xoxb-CANARY-9f8e7d6c5b4a"
		webhookCanary = "CANARYWEBHOOK0123456789"
		headerCanary  = "CANARY-otlp-api-key-55aa"
	)
	srv := slacktest.NewServer(t)
	srv.SetToken(tokenCanary)
	recv := otlptest.Start(t)
	extra := fmt.Sprintf(`
[telemetry]
endpoint = %q
insecure = true
export_interval = "200ms"
headers = { "x-api-key" = %q }

[[notify.slack]]
name = "bot"
token = %q
channel = %q
api_url = %q

[[notify.slack]]
name = "unknown-webhook"
webhook_url = %q

[[notify.slack]]
name = "unreachable-webhook"
webhook_url = "https://127.0.0.1:1/services/T0/B0/%s"
`, recv.GRPCAddr(), headerCanary, tokenCanary, slacktest.DefaultChannel, srv.URL(),
		strings.TrimSuffix(srv.URL(), "/api/")+"/services/T0/B0/"+webhookCanary, webhookCanary)
	logs, stateDir := runWithTelemetry(t, extra)

	if len(srv.Messages()) == 0 {
		t.Fatal("the bot route delivered nothing; the test would prove little")
	}
	var exported strings.Builder
	for _, rs := range recv.ResourceSpans() {
		b, _ := protojson.Marshal(rs)
		exported.Write(b)
	}
	for _, rl := range recv.ResourceLogs() {
		b, _ := protojson.Marshal(rl)
		exported.Write(b)
	}
	for _, rm := range recv.ResourceMetrics() {
		b, _ := protojson.Marshal(rm)
		exported.Write(b)
	}
	var payloads strings.Builder
	for _, m := range srv.Messages() {
		payloads.WriteString(m.Text)
		payloads.WriteString(fmt.Sprint(m.Blocks))
	}
	st, err := store.Open(context.Background(), stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	outbox, _ := st.Outbox(context.Background())
	var stored strings.Builder
	failed := map[string]string{}
	for _, it := range outbox {
		stored.Write(it.Payload)
		stored.WriteString(it.LastError)
		if it.LastError != "" {
			failed[it.Route] = it.LastError
		}
	}
	// Both failing routes went through their error paths.
	if failed["unknown-webhook"] == "" || failed["unreachable-webhook"] == "" {
		t.Errorf("error paths not exercised: %v", failed)
	}
	for _, canary := range []string{tokenCanary, webhookCanary, headerCanary} {
		for what, text := range map[string]string{"logs": logs, "OTLP export": exported.String(), "Slack payloads": payloads.String(), "outbox": stored.String()} {
			if strings.Contains(text, canary) {
				t.Errorf("%s contain the canary %s", what, canary)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(recv.Headers()), headerCanary) {
		t.Errorf("the configured OTLP header did not reach the collector")
	}
}
