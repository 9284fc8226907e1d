package telemetry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/transport"
)

// Protocols.
const (
	protoGRPC = "grpc"
	protoHTTP = "http/protobuf"
)

// Signals, as named in OTLP paths and in the export_errors attribute.
const (
	sigTraces  = "traces"
	sigMetrics = "metrics"
	sigLogs    = "logs"
)

// envName is the per-signal spelling used by OTEL_EXPORTER_OTLP_<SIG>_*.
func envName(signal string) string { return strings.ToUpper(signal) }

// redactedMark replaces secret header values wherever text is logged.
const redactedMark = "[REDACTED]"

// settings are the knobs tests shorten; Setup uses defaultSettings.
type settings struct {
	// exportTimeout bounds one export, retries included, so a slow or
	// unreachable collector holds an export goroutine for at most this.
	exportTimeout time.Duration
	// errorLogEvery rate-limits export-failure log lines.
	errorLogEvery time.Duration
	// prometheus serves the metrics for scraping too.
	prometheus bool
}

func defaultSettings() settings {
	return settings{exportTimeout: 10 * time.Second, errorLogEvery: time.Minute}
}

// plan is the resolved export configuration.
type plan struct {
	// protocols holds the protocol of each enabled signal.
	protocols map[string]string
	endpoint  string // from config; empty: the exporters read the environment
	insecure  bool
	tls       *tls.Config
	headers   map[string]string
	// secrets are header values (configured or from the environment) that
	// must never appear in a log line or an error.
	secrets []string
}

func envSet(name string) bool { return strings.TrimSpace(os.Getenv(name)) != "" }

// resolve decides which signals are exported and how. A nil plan with a
// nil error means telemetry is off.
func resolve(cfg config.Telemetry) (*plan, error) {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return nil, nil
	}
	p := &plan{protocols: map[string]string{}, endpoint: strings.TrimSpace(cfg.Endpoint), insecure: cfg.Insecure}
	for _, sig := range []string{sigTraces, sigMetrics, sigLogs} {
		if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_"+envName(sig)+"_EXPORTER")), "none") {
			continue
		}
		// A per-signal endpoint alone enables only that signal: the others
		// would otherwise go to localhost, which is rarely intended.
		if p.endpoint == "" && !envSet("OTEL_EXPORTER_OTLP_ENDPOINT") && !envSet("OTEL_EXPORTER_OTLP_"+envName(sig)+"_ENDPOINT") {
			continue
		}
		proto, err := protocolFor(cfg.Protocol, sig)
		if err != nil {
			return nil, err
		}
		p.protocols[sig] = proto
	}
	if len(p.protocols) == 0 {
		return nil, nil
	}

	if len(cfg.Headers) > 0 {
		p.headers = make(map[string]string, len(cfg.Headers))
		for k, v := range cfg.Headers {
			p.headers[k] = v.Reveal()
			p.secrets = append(p.secrets, v.Reveal())
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_LOGS_HEADERS"} {
		p.secrets = append(p.secrets, envHeaderValues(os.Getenv(name))...)
	}

	if cfg.CAFile != "" && !p.insecure {
		tlsConfig, err := transport.TLSConfig(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("telemetry.ca_file: %w", err)
		}
		p.tls = tlsConfig
	}
	return p, nil
}

// protocolFor applies the precedence config > per-signal env > env > grpc.
func protocolFor(configured, sig string) (string, error) {
	p := strings.TrimSpace(configured)
	if p == "" {
		p = strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_" + envName(sig) + "_PROTOCOL"))
	}
	if p == "" {
		p = strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	switch p {
	case "":
		return protoGRPC, nil
	case protoGRPC, protoHTTP:
		return p, nil
	default:
		return "", fmt.Errorf("telemetry: OTLP protocol %q for %s is not supported (use grpc or http/protobuf)", p, sig)
	}
}

// envHeaderValues extracts the values of an OTEL_EXPORTER_OTLP_HEADERS
// style list ("k1=v1,k2=v2", values URL-encoded) so they can be redacted.
func envHeaderValues(s string) []string {
	var out []string
	for _, pair := range strings.Split(s, ",") {
		_, v, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if dec, err := url.PathUnescape(v); err == nil {
			v = dec
		}
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// scrub removes secret header values from text that is about to be
// logged or returned. Values shorter than four characters are left alone:
// replacing them would mangle messages without protecting anything.
func (p *plan) scrub(s string) string {
	for _, v := range p.secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, redactedMark)
		}
	}
	return s
}

// describe summarises the plan for the startup log line: where to, how,
// and which header names, never their values.
func (p *plan) describe() []any {
	endpoint := "from environment"
	if p.endpoint != "" {
		endpoint = p.endpoint
		if u, err := url.Parse(p.endpoint); err == nil && u.User != nil {
			endpoint = u.Redacted()
		}
	}
	attrs := []any{"endpoint", endpoint}
	for _, sig := range []string{sigTraces, sigMetrics, sigLogs} {
		proto := p.protocols[sig]
		if proto == "" {
			proto = "off"
		}
		attrs = append(attrs, sig, proto)
	}
	if len(p.headers) > 0 {
		names := make([]string, 0, len(p.headers))
		for k := range p.headers {
			names = append(names, k)
		}
		sort.Strings(names)
		attrs = append(attrs, "headers", strings.Join(names, ","))
	}
	return attrs
}

// httpURL is the full URL of a signal for http/protobuf: the configured
// base URL (a bare host:port gets a scheme) plus /v1/<signal>.
func (p *plan) httpURL(sig string) string {
	base := strings.TrimRight(p.endpoint, "/")
	if !strings.Contains(base, "://") {
		scheme := "https://"
		if p.insecure {
			scheme = "http://"
		}
		base = scheme + base
	}
	return base + "/v1/" + sig
}

// httpClient is the OTLP/http exporters' client: the configured trust,
// the proxy from the environment, the export timeout and driftd's
// outbound policy, so a collector's redirect never carries the headers
// (often an API key) to another host or over plain http.
func (p *plan) httpClient(s settings) *http.Client {
	tr := transport.NewWithPool(nil)
	if p.tls != nil {
		tr.TLSClientConfig = p.tls.Clone()
	} else {
		tr.TLSClientConfig = nil
	}
	client := transport.Client(transport.GuardRedirects(tr))
	client.Timeout = s.exportTimeout
	return client
}

func (p *plan) grpcUsesURL() bool { return strings.Contains(p.endpoint, "://") }

// The option lists below are written out per exporter because every
// exporter package has its own Option type.

func (p *plan) traceExporter(ctx context.Context, s settings) (sdktrace.SpanExporter, error) {
	if p.protocols[sigTraces] == protoHTTP {
		opts := []otlptracehttp.Option{
			otlptracehttp.WithTimeout(s.exportTimeout),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig(retryFor(s))),
		}
		if p.endpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(p.httpURL(sigTraces)))
		}
		if p.insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		opts = append(opts, otlptracehttp.WithHTTPClient(p.httpClient(s)))
		if p.headers != nil {
			opts = append(opts, otlptracehttp.WithHeaders(p.headers))
		}
		return otlptracehttp.New(ctx, opts...)
	}
	opts := []otlptracegrpc.Option{
		otlptracegrpc.WithTimeout(s.exportTimeout),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig(retryFor(s))),
	}
	switch {
	case p.endpoint == "":
	case p.grpcUsesURL():
		opts = append(opts, otlptracegrpc.WithEndpointURL(p.endpoint))
	default:
		opts = append(opts, otlptracegrpc.WithEndpoint(p.endpoint))
	}
	if p.insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	} else if p.tls != nil {
		opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(p.tls)))
	}
	if p.headers != nil {
		opts = append(opts, otlptracegrpc.WithHeaders(p.headers))
	}
	return otlptracegrpc.New(ctx, opts...)
}

func (p *plan) metricExporter(ctx context.Context, s settings) (sdkmetric.Exporter, error) {
	if p.protocols[sigMetrics] == protoHTTP {
		opts := []otlpmetrichttp.Option{
			otlpmetrichttp.WithTimeout(s.exportTimeout),
			otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig(retryFor(s))),
		}
		if p.endpoint != "" {
			opts = append(opts, otlpmetrichttp.WithEndpointURL(p.httpURL(sigMetrics)))
		}
		if p.insecure {
			opts = append(opts, otlpmetrichttp.WithInsecure())
		}
		opts = append(opts, otlpmetrichttp.WithHTTPClient(p.httpClient(s)))
		if p.headers != nil {
			opts = append(opts, otlpmetrichttp.WithHeaders(p.headers))
		}
		return otlpmetrichttp.New(ctx, opts...)
	}
	opts := []otlpmetricgrpc.Option{
		otlpmetricgrpc.WithTimeout(s.exportTimeout),
		otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig(retryFor(s))),
	}
	switch {
	case p.endpoint == "":
	case p.grpcUsesURL():
		opts = append(opts, otlpmetricgrpc.WithEndpointURL(p.endpoint))
	default:
		opts = append(opts, otlpmetricgrpc.WithEndpoint(p.endpoint))
	}
	if p.insecure {
		opts = append(opts, otlpmetricgrpc.WithInsecure())
	} else if p.tls != nil {
		opts = append(opts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(p.tls)))
	}
	if p.headers != nil {
		opts = append(opts, otlpmetricgrpc.WithHeaders(p.headers))
	}
	return otlpmetricgrpc.New(ctx, opts...)
}

func (p *plan) logExporter(ctx context.Context, s settings) (sdklog.Exporter, error) {
	if p.protocols[sigLogs] == protoHTTP {
		opts := []otlploghttp.Option{
			otlploghttp.WithTimeout(s.exportTimeout),
			otlploghttp.WithRetry(otlploghttp.RetryConfig(retryFor(s))),
		}
		if p.endpoint != "" {
			opts = append(opts, otlploghttp.WithEndpointURL(p.httpURL(sigLogs)))
		}
		if p.insecure {
			opts = append(opts, otlploghttp.WithInsecure())
		}
		opts = append(opts, otlploghttp.WithHTTPClient(p.httpClient(s)))
		if p.headers != nil {
			opts = append(opts, otlploghttp.WithHeaders(p.headers))
		}
		return otlploghttp.New(ctx, opts...)
	}
	opts := []otlploggrpc.Option{
		otlploggrpc.WithTimeout(s.exportTimeout),
		otlploggrpc.WithRetry(otlploggrpc.RetryConfig(retryFor(s))),
	}
	switch {
	case p.endpoint == "":
	case p.grpcUsesURL():
		opts = append(opts, otlploggrpc.WithEndpointURL(p.endpoint))
	default:
		opts = append(opts, otlploggrpc.WithEndpoint(p.endpoint))
	}
	if p.insecure {
		opts = append(opts, otlploggrpc.WithInsecure())
	} else if p.tls != nil {
		opts = append(opts, otlploggrpc.WithTLSCredentials(credentials.NewTLS(p.tls)))
	}
	if p.headers != nil {
		opts = append(opts, otlploggrpc.WithHeaders(p.headers))
	}
	return otlploggrpc.New(ctx, opts...)
}

// retryPolicy mirrors the exporters' RetryConfig fields; each exporter
// package declares its own named type with this shape.
type retryPolicy struct {
	Enabled         bool
	InitialInterval time.Duration
	MaxInterval     time.Duration
	MaxElapsedTime  time.Duration
}

// retryFor retries transient failures within the export timeout, which
// bounds the whole attempt anyway.
func retryFor(s settings) retryPolicy {
	return retryPolicy{
		Enabled:         true,
		InitialInterval: min(time.Second, s.exportTimeout/4),
		MaxInterval:     s.exportTimeout / 2,
		MaxElapsedTime:  s.exportTimeout,
	}
}

// exportErrors counts failed exports per signal and logs them, at most
// once per interval. The exporter wrappers below report here instead of
// returning the error: the SDK's batchers hand export errors to otel's
// process-global error handler, which by default prints every one to
// stderr, and replacing it would affect every OTel user in the process.
type exportErrors struct {
	logger *slog.Logger
	every  time.Duration
	scrub  func(string) string

	traces, metrics, logs atomic.Int64

	mu         sync.Mutex
	lastLogged time.Time
	suppressed int
	last       string // the latest error, scrubbed
}

func (e *exportErrors) counter(sig string) *atomic.Int64 {
	switch sig {
	case sigTraces:
		return &e.traces
	case sigMetrics:
		return &e.metrics
	default:
		return &e.logs
	}
}

func (e *exportErrors) total() int64 { return e.traces.Load() + e.metrics.Load() + e.logs.Load() }

func (e *exportErrors) lastError() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

func (e *exportErrors) report(sig string, err error) {
	e.counter(sig).Add(1)
	msg := e.scrub(err.Error())
	now := time.Now()
	e.mu.Lock()
	e.last = msg
	if !e.lastLogged.IsZero() && now.Sub(e.lastLogged) < e.every {
		e.suppressed++
		e.mu.Unlock()
		return
	}
	suppressed := e.suppressed
	e.suppressed = 0
	e.lastLogged = now
	e.mu.Unlock()
	// Logged outside the lock: the handler may itself feed OTLP.
	e.logger.Warn("telemetry export failed; the data is dropped, audits are unaffected",
		"signal", sig, "error", msg,
		"failures_not_logged", suppressed, "log_interval", e.every.String())
}

type spanExporter struct {
	sdktrace.SpanExporter
	errs *exportErrors
}

func (x spanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := x.SpanExporter.ExportSpans(ctx, spans); err != nil {
		x.errs.report(sigTraces, err)
	}
	return nil
}

type metricExporter struct {
	sdkmetric.Exporter
	errs *exportErrors
}

func (x metricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	err := x.Exporter.Export(ctx, rm)
	// Shutdown cancels the reader's in-flight periodic export; nothing is
	// lost, as the final flush sends the same cumulative state.
	if err != nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
		x.errs.report(sigMetrics, err)
	}
	return nil
}

type logExporter struct {
	sdklog.Exporter
	errs *exportErrors
}

func (x logExporter) Export(ctx context.Context, records []sdklog.Record) error {
	if err := x.Exporter.Export(ctx, records); err != nil {
		x.errs.report(sigLogs, err)
	}
	return nil
}
