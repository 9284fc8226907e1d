// Package engine runs one audit and, with a store, records it: approved
// baselines in, audit, finding lifecycle out. `driftd run` calls it on a
// schedule, `driftd check` and `driftd demo` once (check records only with
// --state-dir).
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/notifyplan"
	"github.com/driftd/driftd/internal/redact"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/telemetry"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/report"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Triggers say why a run happened.
const (
	TriggerStartup  = "startup"
	TriggerSchedule = "schedule"
	TriggerCheck    = "check"
)

// persistTimeout bounds recording a run, which happens even when the run
// itself was cancelled (shutdown): what was observed is never dropped.
const persistTimeout = 30 * time.Second

// Engine runs audits. Everything but the audit itself is optional.
type Engine struct {
	// Store, when set, records every run and supplies the approved
	// baselines; nil: nothing is recorded, and there is no DRIFT-001.
	Store  *store.Store
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Notify turns on notifications: the run queues what each
	// configured route must be told, in the run's transaction, as a
	// transport-neutral batch its transport renders when it sends it.
	Notify bool
	// Telemetry receives the run's spans, metrics and finding events;
	// nil means none.
	Telemetry *telemetry.Telemetry
	// Readers are API clients kept from an earlier run (the daemon's);
	// nil, or built for another configuration: the run builds its own.
	Readers *audit.Readers

	// auditFunc replaces audit.Run in tests that need a run to panic.
	auditFunc func(context.Context, *config.Config, audit.Options) (*audit.Result, error)
}

// Outcome is one recorded run.
type Outcome struct {
	// Result is nil when the run failed before producing a report.
	Result   *audit.Result
	Recorded store.Recorded
}

// RunOnce audits cfg's integrations (all, or the named ones) and records
// the run. A panic inside the audit is recovered and recorded as a failed
// run. The returned error is about recording, or a run that could not
// start; both are also recorded when possible.
func (e *Engine) RunOnce(ctx context.Context, cfg *config.Config, trigger string, integrations []string) (Outcome, error) {
	now := e.Now
	if now == nil {
		now = time.Now
	}
	logger := e.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// A usage error (an unknown --integration) is not a run to record.
	selected, err := audit.SelectIntegrations(cfg, integrations)
	if err != nil {
		return Outcome{}, err
	}
	names := make([]string, len(selected))
	for i, in := range selected {
		names[i] = in.Name
	}
	started := now().UTC()
	ctx, span := e.Telemetry.Tracer().Start(ctx, "driftd.run", trace.WithAttributes(attribute.String("driftd.trigger", trigger)))
	defer span.End()

	approved := map[string]*snapshot.Snapshot{}
	if e.Store != nil {
		if approved, err = approvedBaselines(ctx, e.Store); err != nil {
			return Outcome{}, err
		}
	}

	plan, since, err := e.attributionPlan(ctx, cfg, started)
	if err != nil {
		return Outcome{}, err
	}
	res, runErr := e.audit(ctx, cfg, audit.Options{Integrations: integrations, Now: now, Logger: logger, Baselines: approved, Telemetry: e.Telemetry, Readers: e.Readers,
		Attribute: plan})
	if e.Store == nil {
		if runErr != nil {
			span.SetStatus(codes.Error, "run failed")
		}
		return Outcome{Result: res}, runErr
	}
	rec := store.RunRecord{StartedAt: started, FinishedAt: now().UTC(), Trigger: trigger, Integrations: names, AttributeSince: since}
	if routes := cfg.Notify.Common(); e.Notify && len(routes) > 0 {
		rec.Plan = notifyplan.New(notifyplan.Options{
			Routes:    routes,
			AccountID: cfg.Cloudflare.AccountID,
			Suppressed: func(f checks.Finding, at time.Time) bool {
				return audit.SuppressionFor(cfg.Suppress, f, at) != nil
			},
		})
	}
	if runErr != nil {
		rec.Error = runErr.Error()
	} else {
		rec.Report, rec.Snapshot = res.Report, res.Snapshot
		rec.StartedAt, rec.FinishedAt = res.Report.StartedAt, res.Report.FinishedAt
	}

	persistCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
	defer cancel()
	recorded, err := e.Store.RecordRun(persistCtx, rec, cfg.Daemon.RetainSnapshots)
	if err != nil {
		span.SetStatus(codes.Error, "recording the run failed")
		return Outcome{Result: res}, fmt.Errorf("recording the run: %w", err)
	}
	span.SetAttributes(attribute.Int64("driftd.run_id", recorded.Run.ID), attribute.String("driftd.status", recorded.Run.Status))
	e.observe(persistCtx, cfg, res, recorded)
	if runErr != nil {
		span.SetStatus(codes.Error, "run failed")
		return Outcome{Recorded: recorded}, runErr
	}
	return Outcome{Result: res, Recorded: recorded}, nil
}

// observe reports a recorded run to telemetry: run metrics, one event per
// finding transition, the open findings and credential expiry gauges.
func (e *Engine) observe(ctx context.Context, cfg *config.Config, res *audit.Result, rec store.Recorded) {
	if !e.Telemetry.Enabled() {
		return
	}
	stats := telemetry.RunStats{Status: rec.Run.Status, Trigger: rec.Run.Trigger, Duration: rec.Run.FinishedAt.Sub(rec.Run.StartedAt), APIRequests: rec.Run.APIRequests}
	if res != nil {
		stats.Throttled = res.Throttled
	}
	e.Telemetry.RunFinished(ctx, stats)
	e.Telemetry.SetLastRun(rec.Run.FinishedAt)
	complete := map[string]bool{}
	for _, in := range rec.Run.Integrations {
		complete[in.Name] = in.Status == report.Complete
	}
	if res == nil { // a failed run audited nothing
		for _, in := range cfg.Integrations {
			complete[in.Name] = false
		}
	}
	e.Telemetry.SetIntegrations(complete)
	opened := map[string]bool{}
	for _, t := range rec.Transitions {
		e.Telemetry.FindingEvent(ctx, t.Event, t.Finding.Finding)
		opened[t.Finding.Fingerprint] = t.Event != store.EventResolved
	}
	// A finding attributed after it opened (its audit-log entry was
	// late) gets a record of its own.
	if res != nil {
		for _, f := range rec.Open {
			if res.Attributed[f.Fingerprint] && !opened[f.Fingerprint] {
				e.Telemetry.FindingEvent(ctx, notify.EventAttributed, f.Finding)
			}
		}
	}
	open := make([]checks.Finding, 0, len(rec.Open))
	for _, f := range rec.Open {
		ff := f.Finding
		ff.Suppression = audit.SuppressionFor(cfg.Suppress, ff, rec.Run.FinishedAt)
		open = append(open, ff)
	}
	e.Telemetry.SetOpenFindings(open)
	if res != nil {
		e.Telemetry.SetCredentialExpiry(res.Snapshot)
	}
}

// audit runs the audit, turning a panic into an error so one bad run
// never takes the daemon down.
func (e *Engine) audit(ctx context.Context, cfg *config.Config, opts audit.Options) (res *audit.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			text := redact.ForConfig(cfg).String(fmt.Sprint(r))
			if e.Logger != nil {
				e.Logger.Error("audit panicked", "panic", text, "stack", string(debug.Stack()))
			}
			res, err = nil, fmt.Errorf("audit panicked: %s", text)
		}
	}()
	if e.auditFunc != nil {
		return e.auditFunc(ctx, cfg, opts)
	}
	return audit.Run(ctx, cfg, opts)
}

// approvedBaselines are the approved baseline snapshots, by integration.
func approvedBaselines(ctx context.Context, st *store.Store) (map[string]*snapshot.Snapshot, error) {
	baselines, err := st.Baselines(ctx)
	if err != nil {
		return nil, err
	}
	approved := make(map[string]*snapshot.Snapshot, len(baselines))
	for name, b := range baselines {
		approved[name] = b.Snapshot
	}
	return approved, nil
}
