package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/driftd/driftd/checks"
	vocab "github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
)

// Finding events passed to FindingEvent.
const (
	EventOpened   = vocab.EventOpened
	EventResolved = vocab.EventResolved
	EventReopened = vocab.EventReopened
)

// Notification outcomes passed to NotificationResult.
const (
	OutcomeSent   = "sent"
	OutcomeFailed = "failed"
)

// Credential types in driftd.credential.expiry.
const (
	CredentialClientSecret = "client_secret"
	CredentialCertificate  = "certificate"
)

// runDurationBuckets suit audit runs: seconds to an hour, not the SDK's
// millisecond-oriented defaults.
func runDurationBuckets() []float64 {
	return []float64{0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600}
}

// RunStats is what RunFinished records about one audit run.
type RunStats struct {
	// Status is "complete", "incomplete" or "failed".
	Status string
	// Trigger says what started the run (e.g. "schedule", "manual").
	Trigger  string
	Duration time.Duration
	// APIRequests and Throttled are counts per service (graph, cloudflare,
	// token), as apicount.Counter reports them.
	APIRequests map[string]int
	Throttled   map[string]int
}

type instruments struct {
	findingsOpened   metric.Int64Counter
	findingsResolved metric.Int64Counter
	runDuration      metric.Float64Histogram
	runs             metric.Int64Counter
	runsSkipped      metric.Int64Counter
	apiRequests      metric.Int64Counter
	apiThrottled     metric.Int64Counter
	notifySent       metric.Int64Counter
	notifyFailed     metric.Int64Counter
}

// gaugePoint is one series of an observable gauge.
type gaugePoint struct {
	attrs attribute.Set
	value int64
}

type expiryKey struct {
	integration, appID, keyID, credType string
}

type expiryPoint struct {
	attrs attribute.Set
	end   time.Time
	days  float64
}

func (in *instruments) init(m metric.Meter, t *Telemetry) error {
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	in.findingsOpened = counter("driftd.findings.opened", "{finding}", "Findings opened; reopened ones carry reopened=true.")
	in.findingsResolved = counter("driftd.findings.resolved", "{finding}", "Findings resolved.")
	in.runs = counter("driftd.runs", "{run}", "Audit runs finished, by status.")
	in.runsSkipped = counter("driftd.runs.skipped", "{run}", "Scheduled audit runs skipped because one was still running.")
	in.apiRequests = counter("driftd.api.requests", "{request}", "HTTP requests sent, retries included, by service.")
	in.apiThrottled = counter("driftd.api.throttled", "{request}", "HTTP 429 responses received, by service.")
	in.notifySent = counter("driftd.notifications.sent", "{notification}", "Notifications delivered, by route.")
	in.notifyFailed = counter("driftd.notifications.failed", "{notification}", "Notifications that could not be delivered, by route.")

	var err error
	in.runDuration, err = m.Float64Histogram("driftd.run.duration",
		metric.WithUnit("s"), metric.WithDescription("Audit run duration."),
		metric.WithExplicitBucketBoundaries(runDurationBuckets()...))
	errs = append(errs, err)

	_, err = m.Int64ObservableGauge("driftd.findings.open",
		metric.WithUnit("{finding}"),
		metric.WithDescription("Open findings by check, severity and integration; suppressed ones carry suppressed=true."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			t.mu.Lock()
			defer t.mu.Unlock()
			for _, p := range t.open {
				o.Observe(p.value, metric.WithAttributeSet(p.attrs))
			}
			return nil
		}))
	errs = append(errs, err)

	_, err = m.Float64ObservableGauge("driftd.credential.expiry",
		metric.WithUnit("d"),
		metric.WithDescription("Days until a client secret or certificate of an integration's app registration expires; negative once expired."),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			t.mu.Lock()
			defer t.mu.Unlock()
			for _, p := range t.expiry {
				o.Observe(p.days, metric.WithAttributeSet(p.attrs))
			}
			return nil
		}))
	errs = append(errs, err)

	_, err = m.Int64ObservableGauge("driftd.notifications.pending",
		metric.WithUnit("{notification}"),
		metric.WithDescription("Notifications waiting to be delivered, by route."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			t.mu.Lock()
			defer t.mu.Unlock()
			for route, n := range t.pending {
				o.Observe(n, metric.WithAttributes(attribute.String("route", route)))
			}
			return nil
		}))
	errs = append(errs, err)

	_, err = m.Int64ObservableCounter("driftd.telemetry.export_errors",
		metric.WithUnit("{error}"),
		metric.WithDescription("Failed OTLP exports by signal. Best effort: it is itself exported over OTLP."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			for _, sig := range []string{sigTraces, sigMetrics, sigLogs} {
				o.Observe(t.errs.counter(sig).Load(), metric.WithAttributes(attribute.String("signal", sig)))
			}
			return nil
		}))
	errs = append(errs, err, t.initHealth(m))
	return errors.Join(errs...)
}

// RunFinished records a finished audit run: its duration, status and the
// API requests it made.
func (t *Telemetry) RunFinished(ctx context.Context, r RunStats) {
	if !t.Enabled() {
		return
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(
		attribute.String("status", r.Status),
		attribute.String("trigger", r.Trigger),
	))
	t.inst.runDuration.Record(ctx, r.Duration.Seconds(), attrs)
	t.inst.runs.Add(ctx, 1, attrs)
	for svc, n := range r.APIRequests {
		if n > 0 {
			t.inst.apiRequests.Add(ctx, int64(n), metric.WithAttributes(attribute.String("service", svc)))
		}
	}
	for svc, n := range r.Throttled {
		if n > 0 {
			t.inst.apiThrottled.Add(ctx, int64(n), metric.WithAttributes(attribute.String("service", svc)))
		}
	}
}

// RunSkipped records a scheduled run that did not start.
func (t *Telemetry) RunSkipped(ctx context.Context) {
	if !t.Enabled() {
		return
	}
	t.inst.runsSkipped.Add(ctx, 1)
}

// SetOpenFindings replaces what driftd.findings.open reports with the
// counts of open, grouped by check, severity, integration and whether a
// suppression covers them. Series that drop to zero disappear.
func (t *Telemetry) SetOpenFindings(open []checks.Finding) {
	if !t.Enabled() {
		return
	}
	next := make(map[attribute.Distinct]gaugePoint)
	for _, f := range open {
		set := attribute.NewSet(
			attribute.String("check_id", f.CheckID),
			attribute.String("severity", f.Severity.String()),
			attribute.String("integration", f.Integration),
			attribute.Bool("suppressed", f.Suppression != nil),
		)
		p := next[set.Equivalent()]
		p.attrs = set
		p.value++
		next[set.Equivalent()] = p
	}
	t.mu.Lock()
	t.open = next
	t.mu.Unlock()
}

// FindingEvent counts a finding's transition (opened, resolved or
// reopened) and emits it as an OTLP log record carrying the finding's
// fields. ctx links the record to the current span.
func (t *Telemetry) FindingEvent(ctx context.Context, event string, f checks.Finding) {
	if !t.Enabled() {
		return
	}
	base := []attribute.KeyValue{
		attribute.String("check_id", f.CheckID),
		attribute.String("severity", f.Severity.String()),
		attribute.String("integration", f.Integration),
	}
	level := slog.LevelWarn
	switch event {
	case EventOpened, EventReopened:
		t.inst.findingsOpened.Add(ctx, 1, metric.WithAttributes(append(base, attribute.Bool("reopened", event == EventReopened))...))
	case EventResolved:
		t.inst.findingsResolved.Add(ctx, 1, metric.WithAttributes(base...))
		level = slog.LevelInfo
	case EventAttributed:
		// Not a transition: who changed an already reported finding.
		level = slog.LevelInfo
	}
	attrs := []slog.Attr{
		slog.String("event", event),
		slog.String("check_id", f.CheckID),
		slog.String("severity", f.Severity.String()),
		slog.String("integration", f.Integration),
		// Dotted keys rather than a slog group: the bridge would turn a
		// group into one map-valued attribute.
		slog.String("resource.side", string(f.Resource.Side)),
		slog.String("resource.kind", f.Resource.Kind),
		slog.String("resource.id", f.Resource.ID),
		slog.String("resource.name", f.Resource.Name),
		slog.String("fingerprint", f.Fingerprint),
		slog.String("message", f.Message),
		slog.String("expected", f.Expected),
		slog.String("actual", f.Actual),
		slog.Bool("suppressed", f.Suppression != nil),
	}
	if f.Suppression != nil {
		attrs = append(attrs, slog.String("suppression.reason", f.Suppression.Reason))
	}
	attrs = append(attrs, changeAttrs(f.Changes)...)
	t.findings.LogAttrs(ctx, level, "finding "+event, attrs...)
}

// SetCredentialExpiry replaces what driftd.credential.expiry reports with
// the client secrets and certificates of each integration's app
// registration in snap, in days from snap.TakenAt. An integration whose
// application could not be read (a gap in snap) keeps its previous
// credentials, recomputed against snap.TakenAt, so an outage of Graph does
// not silence expiry alerts. Credentials without an end date are skipped.
func (t *Telemetry) SetCredentialExpiry(snap *snapshot.Snapshot) {
	if !t.Enabled() || snap == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	next := make(map[expiryKey]expiryPoint)
	for i := range snap.Integrations {
		in := &snap.Integrations[i]
		app := in.Application
		if app == nil {
			if len(snap.Missing(in.Name, snapshot.EntraApplication)) == 0 {
				continue // read, and there is no such application
			}
			for k, p := range t.expiry {
				if k.integration == in.Name {
					p.days = daysUntil(p.end, snap.TakenAt)
					next[k] = p
				}
			}
			continue
		}
		add := func(creds []snapshot.Credential, credType string) {
			for _, c := range creds {
				if c.End == nil {
					continue
				}
				k := expiryKey{integration: in.Name, appID: app.AppID, keyID: c.KeyID, credType: credType}
				next[k] = expiryPoint{
					attrs: attribute.NewSet(
						attribute.String("app_id", app.AppID),
						attribute.String("app_name", app.DisplayName),
						attribute.String("key_id", c.KeyID),
						attribute.String("credential_type", credType),
						attribute.String("integration", in.Name),
					),
					end:  *c.End,
					days: daysUntil(*c.End, snap.TakenAt),
				}
			}
		}
		add(app.PasswordCredentials, CredentialClientSecret)
		add(app.KeyCredentials, CredentialCertificate)
	}
	t.expiry = next
}

func daysUntil(end, at time.Time) float64 { return end.Sub(at).Hours() / 24 }

// NotificationResult counts one notification delivery attempt on route.
// Any outcome other than "sent" counts as failed.
func (t *Telemetry) NotificationResult(ctx context.Context, route, outcome string) {
	if !t.Enabled() {
		return
	}
	attrs := metric.WithAttributes(attribute.String("route", route))
	if outcome == OutcomeSent {
		t.inst.notifySent.Add(ctx, 1, attrs)
		return
	}
	t.inst.notifyFailed.Add(ctx, 1, attrs)
}

// SetPendingNotifications sets how many notifications wait on route. A
// route keeps reporting (0 included) once set, so a drained queue shows.
func (t *Telemetry) SetPendingNotifications(route string, n int) {
	if !t.Enabled() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = make(map[string]int64)
	}
	t.pending[route] = int64(n)
}
