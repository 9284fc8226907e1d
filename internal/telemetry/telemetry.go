package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	otellog "go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/driftd/driftd/internal/config"
	vocab "github.com/driftd/driftd/internal/finding"
)

// scope is the instrumentation scope of everything driftd records itself.
const scope = "github.com/driftd/driftd"

// Telemetry exports driftd's traces, metrics and finding events over
// OTLP. It is safe for concurrent use. A disabled instance (Disabled, or
// Setup without an endpoint) and a nil *Telemetry turn every method into a
// cheap no-op.
type Telemetry struct {
	enabled bool
	logger  *slog.Logger

	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	loggerProvider otellog.LoggerProvider
	tracer         trace.Tracer
	// logsOn is false when the logs signal is off (SlogHandler is nil).
	logsOn bool
	// findings emits finding events as OTLP log records.
	findings *slog.Logger

	inst instruments
	errs *exportErrors
	// metricsHandler serves the Prometheus scrape; nil when off.
	metricsHandler http.Handler
	plan           *plan

	// shutdowns flush and stop the SDK providers, in parallel.
	shutdowns    []func(context.Context) error
	shutdownOnce sync.Once

	// mu guards the state the observable gauges report.
	mu      sync.Mutex
	open    map[attribute.Distinct]gaugePoint
	expiry  map[expiryKey]expiryPoint
	pending map[string]int64
	health  health
}

// Disabled returns an instance that records and exports nothing.
func Disabled() *Telemetry { return &Telemetry{} }

// Enabled reports whether anything is exported.
func (t *Telemetry) Enabled() bool { return t != nil && t.enabled }

// Setup starts OTLP export as configured. Without an endpoint in cfg or
// in OTEL_EXPORTER_OTLP_ENDPOINT (or a per-signal variant) it returns a
// disabled instance. An unreachable collector never fails Setup: exporters
// connect lazily, and failed exports are counted and logged (see
// driftd.telemetry.export_errors).
//
// Configured values win over the standard OTEL_EXPORTER_OTLP_* variables;
// what is not configured (endpoint, protocol, headers, insecure,
// compression, certificate, metrics temporality, and their per-signal
// variants) is left to the exporters, which read those variables
// themselves. Configured headers replace OTEL_EXPORTER_OTLP_HEADERS rather
// than merging with it. The export timeout is fixed at 10s, whatever
// OTEL_EXPORTER_OTLP_TIMEOUT says, so that shutdown stays bounded.
//
// On error the returned instance is disabled (never nil), so a caller may
// log the error and carry on without telemetry.
//
// WithPrometheus also serves every instrument, from the same meter
// provider, in the Prometheus exposition format (MetricsHandler), with or
// without OTLP.
func Setup(ctx context.Context, cfg config.Telemetry, version string, logger *slog.Logger, opts ...Option) (*Telemetry, error) {
	s := defaultSettings()
	for _, o := range opts {
		o(&s)
	}
	return setup(ctx, cfg, version, logger, s)
}

// Option changes what Setup starts.
type Option func(*settings)

// WithPrometheus makes Setup serve the metrics for Prometheus to scrape.
func WithPrometheus() Option { return func(s *settings) { s.prometheus = true } }

// MetricsHandler serves /metrics (text format, or OpenMetrics when the
// scraper asks for it); nil unless Setup was given WithPrometheus.
func (t *Telemetry) MetricsHandler() http.Handler {
	if t == nil {
		return nil
	}
	return t.metricsHandler
}

func setup(ctx context.Context, cfg config.Telemetry, version string, logger *slog.Logger, s settings) (*Telemetry, error) {
	if logger == nil {
		logger = slog.Default()
	}
	p, err := resolve(cfg)
	if err != nil {
		return Disabled(), err
	}
	if p == nil {
		if !s.prometheus {
			return Disabled(), nil
		}
		p = &plan{protocols: map[string]string{}} // Prometheus only: no OTLP signal
	}

	t := &Telemetry{
		enabled: true,
		logger:  logger,
		plan:    p,
		errs:    &exportErrors{logger: logger, every: s.errorLogEvery, scrub: p.scrub},
	}
	res := newResource(ctx, version, logger, p)

	// Every exporter is created before any provider so that an error
	// leaves nothing running.
	var (
		spanExp   sdktrace.SpanExporter
		metricExp sdkmetric.Exporter
		logExp    sdklog.Exporter
	)
	closeAll := func() {
		for _, c := range []interface{ Shutdown(context.Context) error }{spanExp, metricExp, logExp} {
			if c != nil {
				_ = c.Shutdown(ctx)
			}
		}
	}
	if _, ok := p.protocols[sigTraces]; ok {
		if spanExp, err = p.traceExporter(ctx, s); err != nil {
			return Disabled(), fmt.Errorf("telemetry: traces exporter: %s", p.scrub(err.Error()))
		}
	}
	if _, ok := p.protocols[sigMetrics]; ok {
		if metricExp, err = p.metricExporter(ctx, s); err != nil {
			closeAll()
			return Disabled(), fmt.Errorf("telemetry: metrics exporter: %s", p.scrub(err.Error()))
		}
	}
	if _, ok := p.protocols[sigLogs]; ok {
		if logExp, err = p.logExporter(ctx, s); err != nil {
			closeAll()
			return Disabled(), fmt.Errorf("telemetry: logs exporter: %s", p.scrub(err.Error()))
		}
	}

	t.tracerProvider = tracenoop.NewTracerProvider()
	if spanExp != nil {
		tp := sdktrace.NewTracerProvider(
			sdktrace.WithResource(res),
			// The batcher never blocks span.End: a full queue drops spans.
			sdktrace.WithBatcher(spanExporter{SpanExporter: spanExp, errs: t.errs},
				sdktrace.WithExportTimeout(s.exportTimeout)),
		)
		t.tracerProvider = tp
		t.shutdowns = append(t.shutdowns, tp.Shutdown)
	}
	t.meterProvider = metricnoop.NewMeterProvider()
	var readers []sdkmetric.Option
	if metricExp != nil {
		readerOpts := []sdkmetric.PeriodicReaderOption{sdkmetric.WithTimeout(s.exportTimeout)}
		if cfg.ExportInterval > 0 {
			readerOpts = append(readerOpts, sdkmetric.WithInterval(time.Duration(cfg.ExportInterval)))
		}
		readers = append(readers, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExporter{Exporter: metricExp, errs: t.errs}, readerOpts...)))
	}
	if s.prometheus {
		// A registry of driftd's own: nothing else registered in the
		// process (no Go runtime collectors) leaks into /metrics.
		registry := prometheus.NewRegistry()
		exp, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo())
		if err != nil {
			closeAll()
			_ = t.shutdown(ctx)
			return Disabled(), fmt.Errorf("telemetry: prometheus exporter: %w", err)
		}
		readers = append(readers, sdkmetric.WithReader(exp))
		t.metricsHandler = promhttp.HandlerFor(registry, promhttp.HandlerOpts{EnableOpenMetrics: true})
	}
	if len(readers) > 0 {
		mp := sdkmetric.NewMeterProvider(append([]sdkmetric.Option{sdkmetric.WithResource(res)}, readers...)...)
		t.meterProvider = mp
		t.shutdowns = append(t.shutdowns, mp.Shutdown)
	}
	t.loggerProvider = lognoop.NewLoggerProvider()
	if logExp != nil {
		lp := sdklog.NewLoggerProvider(
			sdklog.WithResource(res),
			// OnEmit only enqueues; a full queue drops the oldest records.
			sdklog.WithProcessor(sdklog.NewBatchProcessor(logExporter{Exporter: logExp, errs: t.errs},
				sdklog.WithExportTimeout(s.exportTimeout))),
		)
		t.loggerProvider = lp
		t.logsOn = true
		t.shutdowns = append(t.shutdowns, lp.Shutdown)
	}

	t.tracer = t.tracerProvider.Tracer(scope, trace.WithInstrumentationVersion(version))
	t.findings = slog.New(otelslog.NewHandler(scope,
		otelslog.WithLoggerProvider(t.loggerProvider), otelslog.WithVersion(version)))
	if err := t.inst.init(t.meterProvider.Meter(scope, metric.WithInstrumentationVersion(version)), t); err != nil {
		_ = t.shutdown(ctx)
		return Disabled(), fmt.Errorf("telemetry: instruments: %w", err)
	}

	logger.Info("telemetry export enabled", append(p.describe(), "prometheus", s.prometheus)...)
	return t, nil
}

// newResource describes this process. Detection problems (such as a
// malformed OTEL_RESOURCE_ATTRIBUTES) are logged, not fatal: whatever was
// detected is still used.
func newResource(ctx context.Context, version string, logger *slog.Logger, p *plan) *resource.Resource {
	attrs := []attribute.KeyValue{attribute.String("service.name", "driftd")}
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	// Later options win: the environment (OTEL_SERVICE_NAME,
	// OTEL_RESOURCE_ATTRIBUTES) may override what driftd says about itself.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithAttributes(attrs...),
		resource.WithFromEnv(),
	)
	if err != nil {
		logger.Warn("telemetry resource detection incomplete", "error", p.scrub(err.Error()))
	}
	if res == nil {
		res = resource.NewSchemaless(attrs...)
	}
	return res
}

// Shutdown flushes what is buffered and stops exporting. It returns when
// done or when ctx ends, whichever is first; an export still in flight at
// that point is abandoned in the background (bounded by the export
// timeout). Later calls return nil.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	var err error
	t.shutdownOnce.Do(func() { err = t.shutdown(ctx) })
	return err
}

func (t *Telemetry) shutdown(ctx context.Context) error {
	failedBefore := t.errs.total()
	results := make(chan error, len(t.shutdowns))
	for _, fn := range t.shutdowns {
		go func() { results <- fn(ctx) }()
	}
	var errs []error
	for range t.shutdowns {
		select {
		case err := <-results:
			if err != nil {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			// The SDK honours ctx too; this guards the deadline regardless.
			return fmt.Errorf("telemetry: shutdown: %w", ctx.Err())
		}
	}
	// The exporter wrappers swallow errors (see exportErrors), so report
	// the final flush's failures here.
	if n := t.errs.total() - failedBefore; n > 0 {
		errs = append(errs, fmt.Errorf("telemetry: %d export(s) failed while flushing: %s", n, t.errs.lastError()))
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New(t.plan.scrub(errors.Join(errs...).Error()))
}

// Tracer returns driftd's tracer; a no-op tracer when disabled.
func (t *Telemetry) Tracer() trace.Tracer {
	if !t.Enabled() {
		return tracenoop.NewTracerProvider().Tracer(scope)
	}
	return t.tracer
}

// SlogHandler returns a handler that sends log records to OTLP, for
// teeing the daemon's own log lines; nil when logs are not exported.
// Export failures are logged through the logger given to Setup: if that
// logger tees into this handler, those lines go to OTLP too (they are rate
// limited, so this cannot loop).
func (t *Telemetry) SlogHandler() slog.Handler {
	if !t.Enabled() || !t.logsOn {
		return nil
	}
	return otelslog.NewHandler(scope+"/log", otelslog.WithLoggerProvider(t.loggerProvider))
}

// EventAttributed is the FindingEvent of a finding already reported whose
// objects' change a later run found in the audit log (Entra's lags by
// minutes): an update, logged at info level, that counts as no
// transition.
const EventAttributed = "attributed"

// changeAttrs are the log-record attributes saying who made the newest
// of a finding's changes: driftd.changed_by, driftd.changed_by_type,
// driftd.changed_at (RFC 3339, UTC) and driftd.change_activity, with
// driftd.change_ip and driftd.changed_by_id when the log has them;
// nothing without changes.
func changeAttrs(changes []vocab.Change) []slog.Attr {
	if len(changes) == 0 {
		return nil
	}
	c := changes[0]
	attrs := []slog.Attr{
		slog.String("driftd.changed_by", c.Actor),
		slog.String("driftd.changed_by_type", c.ActorType),
		slog.String("driftd.changed_at", c.At.UTC().Format(time.RFC3339)),
		slog.String("driftd.change_activity", c.Activity),
	}
	if c.IP != "" {
		attrs = append(attrs, slog.String("driftd.change_ip", c.IP))
	}
	if c.ActorID != "" {
		attrs = append(attrs, slog.String("driftd.changed_by_id", c.ActorID))
	}
	return attrs
}
