package telemetry

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	vocab "github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/logtest"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/telemetry/otlptest"
)

// canary is a header value that must reach the collector and never a log.
const canary = "canary-7d1f0c2e-secret-header-value"

const version = "1.2.3-test"

func newLogger() (*slog.Logger, *logtest.Buffer) { return logtest.Logger() }

// clearEnv removes every OTEL_* variable that could steer the exporters,
// restoring them when the test ends.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "OTEL_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// snapTime is the fixture snapshot's clock.
func snapTime() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

func at(d time.Duration) *time.Time { v := snapTime().Add(d); return &v }

const day = 24 * time.Hour

func fixtureSnapshot() *snapshot.Snapshot {
	return &snapshot.Snapshot{
		TakenAt: snapTime(),
		Integrations: []snapshot.Integration{{
			Name:       "corp",
			EntraAppID: "0b5c3f8e-1111-2222-3333-444455556666",
			Application: &snapshot.Application{
				AppID:       "0b5c3f8e-1111-2222-3333-444455556666",
				DisplayName: "Cloudflare Access",
				PasswordCredentials: []snapshot.Credential{
					{KeyID: "expired-secret", End: at(-10 * day)},
					{KeyID: "valid-secret", End: at(45 * day)},
					{KeyID: "no-end"},
				},
				KeyCredentials: []snapshot.Credential{
					{KeyID: "cert-1", End: at(100*day + 12*time.Hour)},
				},
			},
		}},
	}
}

func finding(check string, sev checks.Severity, fp string) checks.Finding {
	return checks.Finding{
		CheckID:     check,
		Severity:    sev,
		Integration: "corp",
		Resource: checks.Resource{
			Side: snapshot.SideEntra, Kind: checks.KindAppRegistration,
			ID: "0b5c3f8e-1111-2222-3333-444455556666", Name: "Cloudflare Access",
		},
		Message:     "client secret expired",
		Expected:    "a valid client secret",
		Actual:      "expired 10 days ago",
		Fingerprint: fp,
	}
}

// exercise calls every API once (some concurrently) and makes one
// instrumented HTTP request; it returns the trace ID of the run span.
func exercise(t *testing.T, rcv *otlptest.Receiver, tel *Telemetry) (traceID []byte, api *apiServer) {
	t.Helper()
	ctx := context.Background()
	api = startAPIServer(t)

	ctx, span := tel.Tracer().Start(ctx, "audit.run")
	sc := span.SpanContext()
	tid := sc.TraceID()
	traceID = tid[:]

	client := &http.Client{Transport: tel.WrapTransport("graph", http.DefaultTransport)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		api.URL+"/v1.0/applications(appId='secret-app-id')?$filter=displayName%20eq%20'x'", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	// A first findings state, which the final one must replace.
	tel.SetOpenFindings([]checks.Finding{finding("STALE-001", checks.Low, "fp-stale")})
	rcv.WaitFor(t, func() bool {
		_, ok := findPoint(rcv.Metric("driftd.findings.open"), map[string]string{"check_id": "STALE-001"})
		return ok
	}, 10*time.Second)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			tel.RunSkipped(ctx)
			tel.NotificationResult(ctx, "secops", OutcomeSent)
			tel.SetPendingNotifications("secops", 3)
		})
	}
	wg.Go(func() {
		tel.RunFinished(ctx, RunStats{
			Status: "complete", Trigger: "schedule", Duration: 2500 * time.Millisecond,
			APIRequests: map[string]int{"graph": 7, "cloudflare": 3, "token": 1},
			Throttled:   map[string]int{"graph": 2, "cloudflare": 0},
		})
	})
	wg.Go(func() { tel.SetCredentialExpiry(fixtureSnapshot()) })
	wg.Wait()
	tel.NotificationResult(ctx, "secops", OutcomeFailed)

	crit := finding("ENTRA-CRED-001", checks.Critical, "fp-1")
	supp := finding("ENTRA-APP-001", checks.Medium, "fp-3")
	supp.Suppression = &checks.Suppression{Reason: "accepted by security"}
	tel.SetOpenFindings([]checks.Finding{crit, finding("ENTRA-CRED-001", checks.Critical, "fp-2"), supp})
	// Who changed it: the newest of two changes, by an automation, from
	// a zone that is not UTC.
	crit.Changes = []vocab.Change{
		{Source: snapshot.SideEntra, At: time.Date(2026, 3, 1, 12, 50, 0, 0, time.FixedZone("CET", 3600)), Activity: "Update application – Certificates and secrets management",
			Actor: "Terraform CI <!channel>\x1b[2J", ActorType: vocab.ActorApp, ActorID: "99999999-8888-7777-6666-555555555555", IP: "203.0.113.7",
			Target: "0b5c3f8e-1111-2222-3333-444455556666"},
		{Source: snapshot.SideEntra, At: time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC), Activity: "Add application", Actor: "adele@contoso.com", ActorType: vocab.ActorUser},
	}
	tel.FindingEvent(ctx, EventOpened, crit)
	tel.FindingEvent(ctx, EventReopened, finding("ENTRA-CRED-001", checks.Critical, "fp-2"))
	// Later, the audit log names who changed an already reported finding.
	late := finding("ENTRA-APP-002", checks.High, "fp-4")
	late.Changes = []vocab.Change{{Source: snapshot.SideEntra, At: time.Date(2026, 3, 1, 11, 58, 0, 0, time.UTC), Activity: "Update application",
		Actor: "adele@contoso.com", ActorType: vocab.ActorUser}}
	tel.FindingEvent(ctx, EventAttributed, late)
	tel.FindingEvent(ctx, EventResolved, finding("CF-IDP-002", checks.High, "fp-9"))
	span.End()
	return traceID, api
}

type apiServer struct {
	*httptest.Server
	mu        sync.Mutex
	paths     []string
	queries   []string
	propagate []string
}

func startAPIServer(t *testing.T) *apiServer {
	s := &apiServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.URL.Path)
		s.queries = append(s.queries, r.URL.RawQuery)
		s.propagate = append(s.propagate, r.Header.Get("Traceparent"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"value":[]}`)
	}))
	t.Cleanup(s.Close)
	return s
}

type point struct {
	attrs map[string]string
	value float64
	count uint64
	sum   float64
}

func points(m *metricspb.Metric) []point {
	var out []point
	number := func(dps []*metricspb.NumberDataPoint) {
		for _, dp := range dps {
			v := dp.GetAsDouble()
			if _, ok := dp.GetValue().(*metricspb.NumberDataPoint_AsInt); ok {
				v = float64(dp.GetAsInt())
			}
			out = append(out, point{attrs: otlptest.Attrs(dp.GetAttributes()), value: v})
		}
	}
	switch d := m.GetData().(type) {
	case *metricspb.Metric_Sum:
		number(d.Sum.GetDataPoints())
	case *metricspb.Metric_Gauge:
		number(d.Gauge.GetDataPoints())
	case *metricspb.Metric_Histogram:
		for _, dp := range d.Histogram.GetDataPoints() {
			out = append(out, point{attrs: otlptest.Attrs(dp.GetAttributes()), count: dp.GetCount(), sum: dp.GetSum()})
		}
	}
	return out
}

// findPoint returns the data point whose attributes include want.
func findPoint(m *metricspb.Metric, want map[string]string) (point, bool) {
next:
	for _, p := range points(m) {
		for k, v := range want {
			if p.attrs[k] != v {
				continue next
			}
		}
		return p, true
	}
	return point{}, false
}

func requirePoint(t *testing.T, rcv *otlptest.Receiver, name string, want map[string]string, value float64) point {
	t.Helper()
	m := rcv.Metric(name)
	if m == nil {
		t.Errorf("metric %s not received", name)
		return point{}
	}
	p, ok := findPoint(m, want)
	if !ok {
		t.Errorf("%s: no point with %v; have %v", name, want, points(m))
		return point{}
	}
	if !math.IsNaN(value) && math.Abs(p.value-value) > 1e-6 {
		t.Errorf("%s%v = %v, want %v", name, want, p.value, value)
	}
	return p
}

func requireResource(t *testing.T, what string, r *resourcepb.Resource) {
	t.Helper()
	attrs := otlptest.Attrs(r.GetAttributes())
	if attrs["service.name"] != "driftd" || attrs["service.version"] != version || attrs["host.name"] == "" {
		t.Errorf("%s resource = %v, want service.name=driftd, service.version=%s and host.name", what, attrs, version)
	}
}

func documentedMetrics() []string {
	return []string{
		"driftd.findings.open", "driftd.findings.opened", "driftd.findings.resolved",
		"driftd.credential.expiry", "driftd.run.duration", "driftd.runs", "driftd.runs.skipped",
		"driftd.api.requests", "driftd.api.throttled",
		"driftd.notifications.sent", "driftd.notifications.failed", "driftd.notifications.pending",
		"driftd.telemetry.export_errors",
	}
}

func TestExportEndToEnd(t *testing.T) {
	for _, protocol := range []string{protoGRPC, protoHTTP} {
		t.Run(protocol, func(t *testing.T) {
			clearEnv(t)
			// Configured values must win over the environment.
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+closedAddr(t))
			t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=from-environment")

			rcv := otlptest.Start(t)
			endpoint := rcv.GRPCAddr()
			if protocol == protoHTTP {
				endpoint = rcv.HTTPURL()
			}
			logger, logs := newLogger()
			cfg := config.Telemetry{
				Endpoint:       endpoint,
				Protocol:       protocol,
				Insecure:       true,
				Headers:        map[string]config.Secret{"x-api-key": config.NewSecret(canary)},
				ExportInterval: config.Duration(200 * time.Millisecond),
			}
			tel, err := Setup(context.Background(), cfg, version, logger)
			if err != nil {
				t.Fatal(err)
			}
			if !tel.Enabled() {
				t.Fatal("Setup with an endpoint returned a disabled instance")
			}
			if tel.SlogHandler() == nil {
				t.Error("SlogHandler is nil with logs enabled")
			}

			traceID, api := exercise(t, rcv, tel)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tel.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if err := tel.Shutdown(ctx); err != nil {
				t.Errorf("second Shutdown: %v", err)
			}

			// Metrics: every documented name, with attributes and values.
			names := map[string]bool{}
			for _, n := range rcv.MetricNames() {
				names[n] = true
			}
			for _, n := range documentedMetrics() {
				if !names[n] {
					t.Errorf("metric %s not received; got %v", n, rcv.MetricNames())
				}
			}
			requirePoint(t, rcv, "driftd.findings.open", map[string]string{"check_id": "ENTRA-CRED-001", "severity": "critical", "integration": "corp", "suppressed": "false"}, 2)
			requirePoint(t, rcv, "driftd.findings.open", map[string]string{"check_id": "ENTRA-APP-001", "severity": "medium", "integration": "corp", "suppressed": "true"}, 1)
			if p, ok := findPoint(rcv.Metric("driftd.findings.open"), map[string]string{"check_id": "STALE-001"}); ok {
				t.Errorf("replaced findings state still reported: %v", p)
			}
			requirePoint(t, rcv, "driftd.findings.opened", map[string]string{"check_id": "ENTRA-CRED-001", "severity": "critical", "integration": "corp", "reopened": "false"}, 1)
			requirePoint(t, rcv, "driftd.findings.opened", map[string]string{"check_id": "ENTRA-CRED-001", "reopened": "true"}, 1)
			for _, name := range []string{"driftd.findings.opened", "driftd.findings.resolved"} {
				if p, ok := findPoint(rcv.Metric(name), map[string]string{"check_id": "ENTRA-APP-002"}); ok {
					t.Errorf("an attribution update counted in %s: %v", name, p)
				}
			}
			requirePoint(t, rcv, "driftd.findings.resolved", map[string]string{"check_id": "CF-IDP-002", "severity": "high", "integration": "corp"}, 1)

			expiry := map[string]string{"app_id": "0b5c3f8e-1111-2222-3333-444455556666", "app_name": "Cloudflare Access", "integration": "corp"}
			with := func(extra ...string) map[string]string {
				m := map[string]string{}
				for k, v := range expiry {
					m[k] = v
				}
				for i := 0; i < len(extra); i += 2 {
					m[extra[i]] = extra[i+1]
				}
				return m
			}
			requirePoint(t, rcv, "driftd.credential.expiry", with("key_id", "expired-secret", "credential_type", "client_secret"), -10)
			requirePoint(t, rcv, "driftd.credential.expiry", with("key_id", "valid-secret", "credential_type", "client_secret"), 45)
			requirePoint(t, rcv, "driftd.credential.expiry", with("key_id", "cert-1", "credential_type", "certificate"), 100.5)
			if _, ok := findPoint(rcv.Metric("driftd.credential.expiry"), map[string]string{"key_id": "no-end"}); ok {
				t.Error("credential without an end date reported")
			}
			if u := rcv.Metric("driftd.credential.expiry").GetUnit(); u != "d" {
				t.Errorf("credential.expiry unit = %q, want d", u)
			}

			run := requirePoint(t, rcv, "driftd.run.duration", map[string]string{"status": "complete", "trigger": "schedule"}, math.NaN())
			if run.count != 1 || math.Abs(run.sum-2.5) > 1e-9 {
				t.Errorf("run.duration count=%d sum=%v, want 1 and 2.5", run.count, run.sum)
			}
			if u := rcv.Metric("driftd.run.duration").GetUnit(); u != "s" {
				t.Errorf("run.duration unit = %q, want s", u)
			}
			requirePoint(t, rcv, "driftd.runs", map[string]string{"status": "complete", "trigger": "schedule"}, 1)
			requirePoint(t, rcv, "driftd.runs.skipped", nil, 4)
			requirePoint(t, rcv, "driftd.api.requests", map[string]string{"service": "graph"}, 7)
			requirePoint(t, rcv, "driftd.api.requests", map[string]string{"service": "cloudflare"}, 3)
			requirePoint(t, rcv, "driftd.api.requests", map[string]string{"service": "token"}, 1)
			requirePoint(t, rcv, "driftd.api.throttled", map[string]string{"service": "graph"}, 2)
			if _, ok := findPoint(rcv.Metric("driftd.api.throttled"), map[string]string{"service": "cloudflare"}); ok {
				t.Error("zero throttled count recorded as a series")
			}
			requirePoint(t, rcv, "driftd.notifications.sent", map[string]string{"route": "secops"}, 4)
			requirePoint(t, rcv, "driftd.notifications.failed", map[string]string{"route": "secops"}, 1)
			requirePoint(t, rcv, "driftd.notifications.pending", map[string]string{"route": "secops"}, 3)
			for _, sig := range []string{"traces", "metrics", "logs"} {
				requirePoint(t, rcv, "driftd.telemetry.export_errors", map[string]string{"signal": sig}, 0)
			}
			requirePoint(t, rcv, "http.client.request.duration", map[string]string{"driftd.service": "graph"}, math.NaN())

			// Traces: the run span and otelhttp's client span below it.
			var runSpan, clientSpan *tracepb.Span
			for _, s := range rcv.Spans() {
				switch {
				case s.GetName() == "audit.run":
					runSpan = s
				case strings.HasPrefix(s.GetName(), "graph "):
					clientSpan = s
				}
			}
			if runSpan == nil || clientSpan == nil {
				var got []string
				for _, s := range rcv.Spans() {
					got = append(got, s.GetName())
				}
				t.Fatalf("spans = %q, want audit.run and a graph client span", got)
			}
			if want := "graph GET /v1.0/applications(...)"; clientSpan.GetName() != want {
				t.Errorf("client span name = %q, want %q", clientSpan.GetName(), want)
			}
			if clientSpan.GetKind() != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("client span kind = %v", clientSpan.GetKind())
			}
			if !bytes.Equal(clientSpan.GetParentSpanId(), runSpan.GetSpanId()) || !bytes.Equal(clientSpan.GetTraceId(), traceID) {
				t.Error("client span is not a child of the run span")
			}
			cattrs := otlptest.Attrs(clientSpan.GetAttributes())
			if cattrs["driftd.service"] != "graph" {
				t.Errorf("client span attributes = %v, want driftd.service=graph", cattrs)
			}
			for k, v := range cattrs {
				if strings.Contains(v, "secret-app-id") || strings.Contains(v, "filter") {
					t.Errorf("client span attribute %s=%q leaks the URL's key or query", k, v)
				}
			}
			api.mu.Lock()
			if len(api.paths) != 1 || api.paths[0] != "/v1.0/applications(appId='secret-app-id')" || !strings.Contains(api.queries[0], "filter") {
				t.Errorf("API server saw paths %q queries %q: the real URL must be sent", api.paths, api.queries)
			}
			if api.propagate[0] != "" {
				t.Errorf("trace context sent to the API: %q", api.propagate[0])
			}
			api.mu.Unlock()

			// Logs: the finding events, correlated with the run span.
			bodies := map[string]map[string]string{}
			for _, lr := range rcv.LogRecords() {
				body := otlptest.ValueString(lr.GetBody())
				bodies[body] = otlptest.Attrs(lr.GetAttributes())
				if body == "finding opened" && !bytes.Equal(lr.GetTraceId(), traceID) {
					t.Error("finding log record not linked to the run's trace")
				}
			}
			opened := bodies["finding opened"]
			want := map[string]string{
				"check_id": "ENTRA-CRED-001", "severity": "critical", "integration": "corp",
				"resource.side": "entra", "resource.kind": "app_registration",
				"resource.id": "0b5c3f8e-1111-2222-3333-444455556666", "resource.name": "Cloudflare Access",
				"fingerprint": "fp-1", "message": "client secret expired",
				"expected": "a valid client secret", "actual": "expired 10 days ago",
			}
			for k, v := range want {
				if opened[k] != v {
					t.Errorf("finding opened log attribute %s = %q, want %q (all: %v)", k, opened[k], v, opened)
				}
			}
			// Attribution: the newest change, as received.
			for k, v := range map[string]string{
				"driftd.changed_by": "Terraform CI <!channel>\x1b[2J", "driftd.changed_by_type": "app", "driftd.changed_at": "2026-03-01T11:50:00Z",
				"driftd.change_activity": "Update application – Certificates and secrets management", "driftd.change_ip": "203.0.113.7",
				"driftd.changed_by_id": "99999999-8888-7777-6666-555555555555",
			} {
				if opened[k] != v {
					t.Errorf("finding opened log attribute %s = %q, want %q (all: %v)", k, opened[k], v, opened)
				}
			}
			for _, body := range []string{"finding reopened", "finding resolved"} {
				for k := range bodies[body] {
					if strings.HasPrefix(k, "driftd.change") {
						t.Errorf("%s without changes has %s", body, k)
					}
				}
			}
			attributed := bodies["finding attributed"]
			for k, v := range map[string]string{
				"event": "attributed", "check_id": "ENTRA-APP-002", "fingerprint": "fp-4", "driftd.changed_by": "adele@contoso.com",
				"driftd.changed_by_type": "user", "driftd.changed_at": "2026-03-01T11:58:00Z", "driftd.change_activity": "Update application",
			} {
				if attributed[k] != v {
					t.Errorf("finding attributed log attribute %s = %q, want %q (all: %v)", k, attributed[k], v, attributed)
				}
			}
			for _, k := range []string{"driftd.change_ip", "driftd.changed_by_id"} {
				if _, ok := attributed[k]; ok {
					t.Errorf("finding attributed has %s, which the change lacks", k)
				}
			}
			if bodies["finding resolved"]["check_id"] != "CF-IDP-002" {
				t.Errorf("finding resolved log record missing or wrong: %v", bodies)
			}
			if bodies["finding reopened"]["fingerprint"] != "fp-2" {
				t.Errorf("finding reopened log record missing or wrong: %v", bodies)
			}

			// Resource on every signal.
			for _, rs := range rcv.ResourceSpans() {
				requireResource(t, "span", rs.GetResource())
			}
			for _, rm := range rcv.ResourceMetrics() {
				requireResource(t, "metric", rm.GetResource())
			}
			for _, rl := range rcv.ResourceLogs() {
				requireResource(t, "log", rl.GetResource())
			}

			// Headers: the configured value arrives, the environment's
			// does not, and the value is never logged.
			if got := rcv.Headers().Values("X-Api-Key"); len(got) != 1 || got[0] != canary {
				t.Errorf("collector saw x-api-key %q, want only the configured value", got)
			}
			out := logs.String()
			if strings.Contains(out, canary) {
				t.Errorf("header value logged:\n%s", out)
			}
			if !strings.Contains(out, "telemetry export enabled") || !strings.Contains(out, "x-api-key") {
				t.Errorf("startup line missing or without header names:\n%s", out)
			}
		})
	}
}

func TestEnvironmentOnly(t *testing.T) {
	for _, protocol := range []string{protoGRPC, protoHTTP} {
		t.Run(protocol, func(t *testing.T) {
			clearEnv(t)
			rcv := otlptest.Start(t)
			endpoint := "http://" + rcv.GRPCAddr() // http:// means plaintext for gRPC
			if protocol == protoHTTP {
				endpoint = rcv.HTTPURL()
			}
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
			t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-env-key="+canary)
			t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")

			logger, logs := newLogger()
			tel, err := Setup(context.Background(), config.Telemetry{ExportInterval: config.Duration(time.Minute)}, version, logger)
			if err != nil {
				t.Fatal(err)
			}
			if !tel.Enabled() {
				t.Fatal("OTEL_EXPORTER_OTLP_ENDPOINT did not enable telemetry")
			}
			ctx := context.Background()
			tel.RunSkipped(ctx)
			_, span := tel.Tracer().Start(ctx, "env.span")
			span.End()
			tel.FindingEvent(ctx, EventOpened, finding("CF-IDP-001", checks.High, "fp-env"))
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := tel.Shutdown(sctx); err != nil {
				t.Fatal(err)
			}

			requirePoint(t, rcv, "driftd.runs.skipped", nil, 1)
			if len(rcv.Spans()) != 1 || len(rcv.LogRecords()) != 1 {
				t.Errorf("got %d spans and %d log records, want 1 and 1", len(rcv.Spans()), len(rcv.LogRecords()))
			}
			for _, rm := range rcv.ResourceMetrics() {
				attrs := otlptest.Attrs(rm.GetResource().GetAttributes())
				if attrs["deployment.environment.name"] != "test" || attrs["service.name"] != "driftd" {
					t.Errorf("resource = %v, want OTEL_RESOURCE_ATTRIBUTES merged in", attrs)
				}
			}
			if got := rcv.Headers().Get("X-Env-Key"); got != canary {
				t.Errorf("collector saw x-env-key %q", got)
			}
			// gRPC hides grpc-encoding from handlers; that its gzip exports
			// arrived at all shows the receiver decoded them.
			if got := rcv.Headers().Get("Content-Encoding"); protocol == protoHTTP && got != "gzip" {
				t.Errorf("Content-Encoding = %q: OTEL_EXPORTER_OTLP_COMPRESSION not honoured", got)
			}
			if strings.Contains(logs.String(), canary) {
				t.Errorf("header value logged:\n%s", logs.String())
			}
		})
	}
}

func TestCollectorDown(t *testing.T) {
	for _, protocol := range []string{protoGRPC, protoHTTP} {
		t.Run(protocol, func(t *testing.T) {
			clearEnv(t)
			endpoint := closedAddr(t)
			if protocol == protoHTTP {
				endpoint = "http://" + endpoint
			}
			logger, logs := newLogger()
			cfg := config.Telemetry{
				Endpoint:       endpoint,
				Protocol:       protocol,
				Insecure:       true,
				Headers:        map[string]config.Secret{"authorization": config.NewSecret("Bearer " + canary)},
				ExportInterval: config.Duration(100 * time.Millisecond),
			}
			s := settings{exportTimeout: 300 * time.Millisecond, errorLogEvery: time.Minute}
			tel, err := setup(context.Background(), cfg, version, logger, s)
			if err != nil {
				t.Fatalf("Setup with the collector down: %v", err)
			}
			api := startAPIServer(t)
			client := &http.Client{Transport: tel.WrapTransport("cloudflare", nil)}

			var slowest time.Duration
			timed := func(f func()) {
				start := time.Now()
				f()
				slowest = max(slowest, time.Since(start))
			}
			ctx := context.Background()
			deadline := time.Now().Add(1500 * time.Millisecond)
			for time.Now().Before(deadline) {
				timed(func() {
					ctx, span := tel.Tracer().Start(ctx, "audit.run")
					tel.RunFinished(ctx, RunStats{Status: "failed", Trigger: "schedule", Duration: time.Second})
					tel.SetOpenFindings([]checks.Finding{finding("ENTRA-CRED-001", checks.High, "fp")})
					tel.FindingEvent(ctx, EventOpened, finding("ENTRA-CRED-001", checks.High, "fp"))
					tel.SetCredentialExpiry(fixtureSnapshot())
					tel.RunSkipped(ctx)
					tel.NotificationResult(ctx, "secops", OutcomeFailed)
					tel.SetPendingNotifications("secops", 1)
					span.End()
				})
				resp, err := client.Get(api.URL + "/client/v4/accounts/0123456789abcdef0123456789abcdef/access/identity_providers")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				time.Sleep(20 * time.Millisecond)
			}
			if slowest > 50*time.Millisecond {
				t.Errorf("slowest API call took %s with the collector down, want < 50ms", slowest)
			}

			if !waitUntil(10*time.Second, func() bool { return tel.errs.total() >= 3 }) {
				t.Fatalf("export errors counted: %d, want several", tel.errs.total())
			}
			if n := strings.Count(logs.String(), "telemetry export failed"); n != 1 {
				t.Errorf("%d export-failure log lines, want 1 (rate limited):\n%s", n, logs.String())
			}

			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			start := time.Now()
			err = tel.Shutdown(sctx)
			if took := time.Since(start); took > 2500*time.Millisecond {
				t.Errorf("Shutdown took %s with a 2s deadline", took)
			}
			if err == nil {
				t.Error("Shutdown reported success although nothing could be exported")
			} else if strings.Contains(err.Error(), canary) {
				t.Errorf("Shutdown error leaks a header value: %v", err)
			}
			if strings.Contains(logs.String(), canary) {
				t.Errorf("header value logged:\n%s", logs.String())
			}
		})
	}
}

func TestSlowCollector(t *testing.T) {
	clearEnv(t)
	rcv := otlptest.Start(t)
	rcv.SetDelay(time.Minute)
	logger, _ := newLogger()
	cfg := config.Telemetry{
		Endpoint: rcv.GRPCAddr(), Protocol: protoGRPC, Insecure: true,
		ExportInterval: config.Duration(50 * time.Millisecond),
	}
	tel, err := Setup(context.Background(), cfg, version, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	time.Sleep(200 * time.Millisecond) // let an export get stuck
	for range 100 {
		start := time.Now()
		_, span := tel.Tracer().Start(ctx, "audit.run")
		tel.FindingEvent(ctx, EventOpened, finding("ENTRA-CRED-001", checks.High, "fp"))
		tel.RunSkipped(ctx)
		span.End()
		if took := time.Since(start); took > 50*time.Millisecond {
			t.Fatalf("API call took %s with a slow collector", took)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	_ = tel.Shutdown(sctx)
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("Shutdown took %s with a 1s deadline", took)
	}
}

func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func TestDisabled(t *testing.T) {
	clearEnv(t)
	fromSetup, err := Setup(context.Background(), config.Telemetry{ExportInterval: config.Duration(time.Minute)}, version, nil)
	if err != nil {
		t.Fatal(err)
	}
	var nilTel *Telemetry
	for name, tel := range map[string]*Telemetry{"Disabled": Disabled(), "Setup without endpoint": fromSetup, "nil": nilTel} {
		t.Run(name, func(t *testing.T) {
			if tel.Enabled() {
				t.Fatal("enabled")
			}
			ctx := context.Background()
			tel.RunFinished(ctx, RunStats{Status: "complete", APIRequests: map[string]int{"graph": 1}})
			tel.SetOpenFindings([]checks.Finding{finding("X", checks.Low, "fp")})
			tel.FindingEvent(ctx, EventOpened, finding("X", checks.Low, "fp"))
			tel.SetCredentialExpiry(fixtureSnapshot())
			tel.RunSkipped(ctx)
			tel.NotificationResult(ctx, "r", OutcomeSent)
			tel.SetPendingNotifications("r", 1)
			_, span := tel.Tracer().Start(ctx, "x")
			if span.IsRecording() || span.SpanContext().IsValid() {
				t.Error("disabled tracer records spans")
			}
			span.End()
			rt := http.DefaultTransport
			if got := tel.WrapTransport("graph", rt); got != rt {
				t.Error("WrapTransport changed the transport while disabled")
			}
			if tel.SlogHandler() != nil {
				t.Error("SlogHandler is not nil while disabled")
			}
			if err := tel.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		cfg     config.Telemetry
		want    map[string]string // nil: disabled
		wantErr bool
	}{
		{name: "nothing", want: nil},
		{name: "config endpoint", cfg: config.Telemetry{Endpoint: "otel:4317"},
			want: map[string]string{"traces": "grpc", "metrics": "grpc", "logs": "grpc"}},
		{name: "env endpoint and protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
			want: map[string]string{"traces": "http/protobuf", "metrics": "http/protobuf", "logs": "http/protobuf"}},
		{name: "config protocol wins", cfg: config.Telemetry{Endpoint: "http://otel:4318", Protocol: "http/protobuf"}, env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			want: map[string]string{"traces": "http/protobuf", "metrics": "http/protobuf", "logs": "http/protobuf"}},
		{name: "per-signal endpoint enables only that signal", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://otel:4318/v1/traces", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			want: map[string]string{"traces": "http/protobuf"}},
		{name: "exporter none", cfg: config.Telemetry{Endpoint: "otel:4317"}, env: map[string]string{"OTEL_LOGS_EXPORTER": "none"},
			want: map[string]string{"traces": "grpc", "metrics": "grpc"}},
		{name: "sdk disabled", cfg: config.Telemetry{Endpoint: "otel:4317"}, env: map[string]string{"OTEL_SDK_DISABLED": "true"}, want: nil},
		{name: "unsupported protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, wantErr: true},
		{name: "missing CA file", cfg: config.Telemetry{Endpoint: "otel:4317", CAFile: "/nonexistent/ca.pem"}, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			p, err := resolve(c.cfg)
			if c.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				if p != nil {
					t.Fatalf("enabled with %v", p.protocols)
				}
				return
			}
			if p == nil {
				t.Fatal("disabled")
			}
			if len(p.protocols) != len(c.want) {
				t.Fatalf("protocols = %v, want %v", p.protocols, c.want)
			}
			for k, v := range c.want {
				if p.protocols[k] != v {
					t.Errorf("protocols = %v, want %v", p.protocols, c.want)
				}
			}
		})
	}
}

func TestCAFile(t *testing.T) {
	clearEnv(t)
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	path := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(path, block, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := resolve(config.Telemetry{Endpoint: "https://otel.example:4318", CAFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if p.tls == nil || p.tls.RootCAs == nil {
		t.Fatal("CA file not turned into a TLS configuration")
	}
	if err := os.WriteFile(path, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := resolve(config.Telemetry{Endpoint: "otel:4317", CAFile: path}); err == nil {
		t.Error("a CA file without certificates was accepted")
	}
	// Insecure means plaintext: the CA file is not even read.
	if _, err := resolve(config.Telemetry{Endpoint: "otel:4317", CAFile: path, Insecure: true}); err != nil {
		t.Errorf("insecure with an unusable CA file: %v", err)
	}
}

func TestHTTPURL(t *testing.T) {
	cases := map[string]string{
		"https://otel.example:4318":   "https://otel.example:4318/v1/logs",
		"https://otel.example/otlp/":  "https://otel.example/otlp/v1/logs",
		"http://127.0.0.1:4318":       "http://127.0.0.1:4318/v1/logs",
		"otel.example:4318":           "https://otel.example:4318/v1/logs",
		"https://otel.example/otlp//": "https://otel.example/otlp/v1/logs",
	}
	for in, want := range cases {
		p := &plan{endpoint: in}
		if got := p.httpURL(sigLogs); got != want {
			t.Errorf("httpURL(%q) = %q, want %q", in, got, want)
		}
	}
	p := &plan{endpoint: "otel.example:4318", insecure: true}
	if got := p.httpURL(sigTraces); got != "http://otel.example:4318/v1/traces" {
		t.Errorf("insecure bare host: %q", got)
	}
}

func TestExportErrorsRateLimited(t *testing.T) {
	logger, logs := newLogger()
	p := &plan{secrets: []string{canary}}
	e := &exportErrors{logger: logger, every: 200 * time.Millisecond, scrub: p.scrub}
	for range 50 {
		e.report(sigMetrics, io.ErrUnexpectedEOF)
	}
	e.report(sigTraces, &net.OpError{Op: "dial", Net: "tcp", Err: io.EOF, Source: nil, Addr: nil})
	if n := strings.Count(logs.String(), "telemetry export failed"); n != 1 {
		t.Fatalf("%d log lines for a burst, want 1:\n%s", n, logs.String())
	}
	time.Sleep(250 * time.Millisecond)
	e.report(sigLogs, errorString("rejected: Authorization: "+canary))
	out := logs.String()
	if n := strings.Count(out, "telemetry export failed"); n != 2 {
		t.Fatalf("%d log lines after the interval, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "failures_not_logged=50") {
		t.Errorf("second line does not say how many failures were not logged:\n%s", out)
	}
	if strings.Contains(out, canary) || !strings.Contains(out, redactedMark) {
		t.Errorf("secret not redacted:\n%s", out)
	}
	if e.metrics.Load() != 50 || e.traces.Load() != 1 || e.logs.Load() != 1 {
		t.Errorf("counts traces=%d metrics=%d logs=%d", e.traces.Load(), e.metrics.Load(), e.logs.Load())
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestCredentialExpiryState(t *testing.T) {
	tel := &Telemetry{enabled: true}
	tel.SetCredentialExpiry(fixtureSnapshot())
	if len(tel.expiry) != 3 {
		t.Fatalf("%d credentials, want 3", len(tel.expiry))
	}

	// Graph unreadable: the previous credentials stay, one day closer.
	later := fixtureSnapshot()
	later.TakenAt = snapTime().Add(day)
	later.Integrations[0].Application = nil
	later.Gaps = []snapshot.Gap{{Integration: "corp", Side: snapshot.SideEntra, What: snapshot.EntraApplication, Error: "503"}}
	tel.SetCredentialExpiry(later)
	if len(tel.expiry) != 3 {
		t.Fatalf("%d credentials after a gap, want 3 kept", len(tel.expiry))
	}
	for k, p := range tel.expiry {
		if k.keyID == "valid-secret" && math.Abs(p.days-44) > 1e-9 {
			t.Errorf("carried-over valid-secret = %v days, want 44", p.days)
		}
	}

	// Read, and the application is gone: nothing to report.
	gone := fixtureSnapshot()
	gone.Integrations[0].Application = nil
	tel.SetCredentialExpiry(gone)
	if len(tel.expiry) != 0 {
		t.Errorf("%d credentials for a missing application, want 0", len(tel.expiry))
	}

	// An integration dropped from the snapshot drops its credentials.
	tel.SetCredentialExpiry(fixtureSnapshot())
	tel.SetCredentialExpiry(&snapshot.Snapshot{TakenAt: snapTime()})
	if len(tel.expiry) != 0 {
		t.Errorf("%d credentials for no integrations, want 0", len(tel.expiry))
	}
	tel.SetCredentialExpiry(nil) // no-op, no panic
}
