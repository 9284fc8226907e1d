// Package daemon is `driftd run`: it audits on a schedule, never two runs
// at once, records every run in the store, reloads its configuration on
// request and tells systemd how it is doing.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/dispatch"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/statelock"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/telemetry"
)

// Options configure a daemon.
type Options struct {
	// ConfigPath is re-read on every reload.
	ConfigPath string
	// Config is the already loaded configuration from ConfigPath.
	Config *config.Config
	// Reload receives one value per reload request (SIGHUP).
	Reload <-chan struct{}
	// LogOutput receives the structured log (stderr in production).
	LogOutput io.Writer
	// Systemd receives sd_notify states; nil means the real socket from
	// $NOTIFY_SOCKET (a no-op outside systemd).
	Systemd Notifier
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Telemetry receives spans, metrics and finding events; nil: none.
	Telemetry *telemetry.Telemetry
	// Senders turns on notifications: each run queues what each
	// configured route must be told, and Senders builds the transport of
	// every route (notify/transports) that renders and sends it.
	Senders func(*config.Config) (map[string]dispatch.Sender, error)
}

// Daemon is a running scheduler. Its state is owned by the Run loop.
type Daemon struct {
	opts    Options
	cfg     *config.Config
	sched   cron.Schedule
	logger  *slog.Logger
	lock    *statelock.Lock // this daemon's claim on the state directory
	store   *store.Store
	systemd Notifier
	// readers are the API clients, kept across runs (only the Run loop
	// touches them, and runs never overlap).
	readers *audit.Readers
	now     func() time.Time

	// The next scheduled run, owned by the Run loop: due is on the
	// schedule's grid, fireAt is due plus the jitter drawn once for it.
	// lastDue is the previous due time (start-up before the first).
	due, fireAt, lastDue time.Time

	wake           chan struct{} // nudges the dispatcher after a run
	stopDispatcher func()
	// pacer outlives the dispatchers (one per reload): a reload must not
	// forget when a channel was last sent a message.
	pacer *dispatch.Pacer
	// expiriesLoggedUntil is when expired suppressions were last logged.
	expiriesLoggedUntil time.Time

	mu           sync.Mutex // guards the fields below, read by the health server
	lastFinished time.Time
	lastStatus   string
	interval     time.Duration
	skipped      int
}

// New validates the options, locks the state directory against a second
// daemon and opens the store.
func New(ctx context.Context, opts Options) (*Daemon, error) {
	if opts.Config == nil {
		return nil, errors.New("daemon: no configuration")
	}
	if opts.LogOutput == nil {
		opts.LogOutput = os.Stderr
	}
	d := &Daemon{opts: opts, systemd: opts.Systemd, now: opts.Now, wake: make(chan struct{}, 1), stopDispatcher: func() {}, pacer: &dispatch.Pacer{}}
	if d.now == nil {
		d.now = time.Now
	}
	if d.systemd == nil {
		d.systemd = SystemdNotifier{}
	}
	if err := d.apply(opts.Config); err != nil {
		return nil, err
	}
	// Two daemons on one state directory would both audit and both
	// notify. driftd check --state-dir and the history commands do not
	// take this lock: SQLite's own locking keeps their access safe.
	lock, err := statelock.Acquire(opts.Config.Daemon.StateDir)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, opts.Config.Daemon.StateDir)
	if err != nil {
		_ = lock.Release()
		return nil, err
	}
	d.lock, d.store = lock, st
	return d, nil
}

// apply makes cfg the running configuration.
func (d *Daemon) apply(cfg *config.Config) error {
	sched, err := config.ParseSchedule(cfg.Daemon.Schedule)
	if err != nil {
		return fmt.Errorf("daemon.schedule: %w", err)
	}
	d.cfg, d.sched = cfg, sched
	d.logger = NewLogger(d.opts.LogOutput, cfg.Daemon)
	now := d.now()
	// A loaded configuration reports every suppression already expired.
	d.expiriesLoggedUntil = time.Time{}
	d.logExpiredSuppressions(now)
	first := sched.Next(now)
	d.mu.Lock()
	d.interval = sched.Next(first).Sub(first)
	d.mu.Unlock()
	d.opts.Telemetry.SetScheduleInterval(d.interval)
	return nil
}

// NewLogger builds the daemon's structured logger from [daemon] settings.
func NewLogger(w io.Writer, c config.Daemon) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel)) // validated with the config
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runResult is what a finished run reports to the loop.
type runResult struct {
	outcome engine.Outcome
	err     error
}

// Run schedules audits until ctx is cancelled. On cancellation it cancels
// the current run, waits for it to be recorded and returns nil.
func (d *Daemon) Run(ctx context.Context) error {
	defer func() { _ = d.lock.Release() }()
	defer d.store.Close()
	stopHealth, err := d.serveHealth()
	if err != nil {
		return err
	}
	defer stopHealth()

	if err := d.startDispatcher(ctx); err != nil {
		return err
	}
	defer func() { d.stopDispatcher() }()

	d.systemd.Notify(StateReady)
	d.logger.Info("driftd started", "schedule", d.cfg.Daemon.Schedule, "state_dir", d.cfg.Daemon.StateDir,
		"integrations", len(d.cfg.Integrations), "store", d.store.Path())

	var (
		done       = make(chan runResult, 1)
		running    bool
		runStarted time.Time
		cancelRun  context.CancelFunc = func() {}
	)
	start := func(trigger string) {
		running, runStarted = true, d.now()
		cfg := d.cfg
		runCtx, cancel := context.WithTimeout(ctx, time.Duration(cfg.Daemon.RunTimeout))
		cancelRun = cancel
		// The API clients outlive runs, so the token and the connections
		// are reused; a reload that changed [entra], [cloudflare] or the
		// telemetry gets new ones.
		if !d.readers.Fits(cfg, d.opts.Telemetry) {
			readers, err := audit.NewReaders(cfg, d.opts.Telemetry)
			if err != nil {
				readers = nil // the run builds its own and fails with the reason
			}
			d.readers = readers
		}
		eng := &engine.Engine{Store: d.store, Logger: d.logger, Now: d.now, Telemetry: d.opts.Telemetry, Notify: d.opts.Senders != nil, Readers: d.readers}
		go func() {
			defer cancel()
			out, err := eng.RunOnce(runCtx, cfg, trigger, nil)
			done <- runResult{outcome: out, err: err}
		}()
	}

	d.lastDue = d.now()
	d.scheduleAt(d.sched.Next(d.lastDue))
	timer := time.NewTimer(d.untilNext())
	defer timer.Stop()
	var watchdog <-chan time.Time
	if interval, ok := d.systemd.WatchdogInterval(); ok {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		watchdog = t.C
	}

	start(engine.TriggerStartup)
	for {
		select {
		case <-ctx.Done():
			d.systemd.Notify(StateStopping)
			if running {
				d.logger.Info("shutting down: cancelling the current run")
				cancelRun()
				d.finished(<-done)
			}
			d.logger.Info("driftd stopped")
			return nil

		case <-timer.C:
			if running {
				d.mu.Lock()
				d.skipped++
				skipped := d.skipped
				d.mu.Unlock()
				d.logger.Warn("skipping a scheduled run: the previous run is still going", "running_since", runStarted.UTC().Format(time.RFC3339), "skipped_total", skipped)
				d.opts.Telemetry.RunSkipped(ctx)
			} else {
				start(engine.TriggerSchedule)
			}
			d.advance()
			timer.Reset(d.untilNext())

		case res := <-done:
			running = false
			d.finished(res)
			select {
			case d.wake <- struct{}{}:
			default:
			}

		case <-d.opts.Reload:
			d.systemd.Notify(StateReloading)
			oldSchedule := d.cfg.Daemon.Schedule
			if d.reload() {
				d.stopDispatcher()
				if err := d.startDispatcher(ctx); err != nil {
					d.logger.Error("notifications stopped: building the routes failed", "error", err)
				}
				// A reload keeps the next run where it was: counting from
				// the reload would let frequent reloads postpone audits
				// for ever. A new schedule counts from the last due time.
				if d.cfg.Daemon.Schedule != oldSchedule {
					d.scheduleAt(d.sched.Next(d.lastDue))
				}
			}
			d.systemd.Notify(StateReady)
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(d.untilNext())

		case <-watchdog:
			// Ping only while healthy: a run stuck past its own timeout
			// means something is wedged, and systemd should restart us.
			if !running || d.now().Sub(runStarted) < time.Duration(d.cfg.Daemon.RunTimeout)+time.Minute {
				d.systemd.Notify(StateWatchdog)
			}
		}
	}
}

// scheduleAt makes due the next scheduled run and draws its jitter, once.
func (d *Daemon) scheduleAt(due time.Time) {
	d.due, d.fireAt = due, due
	if j := time.Duration(d.cfg.Daemon.Jitter); j > 0 {
		d.fireAt = due.Add(rand.N(j))
	}
}

// advance moves to the due time after the one that just fired. Slots
// missed while the machine slept are not caught up one by one.
func (d *Daemon) advance() {
	d.lastDue = d.due
	next := d.sched.Next(d.due)
	if now := d.now(); next.Before(now) {
		next = d.sched.Next(now)
	}
	d.scheduleAt(next)
}

// untilNext is the wait until the next scheduled run fires.
func (d *Daemon) untilNext() time.Duration {
	return max(d.fireAt.Sub(d.now()), 0)
}

// finished logs a run's outcome, one line, and updates readiness.
func (d *Daemon) finished(res runResult) {
	run := res.outcome.Recorded.Run
	d.mu.Lock()
	d.lastFinished, d.lastStatus = d.now(), run.Status
	d.mu.Unlock()
	if res.err != nil && run.ID == 0 {
		d.logger.Error("run failed and could not be recorded", "error", res.err)
		return
	}
	attrs := []any{"run_id", run.ID, "status", run.Status, "trigger", run.Trigger, "findings", run.Findings,
		"opened", run.Opened, "resolved", run.Resolved, "gaps", run.Gaps, "api_requests", run.APIRequests,
		"duration_ms", run.FinishedAt.Sub(run.StartedAt).Milliseconds()}
	switch {
	case res.err != nil:
		d.logger.Error("run failed", append(attrs, "error", res.err)...)
	case run.Status == store.RunIncomplete:
		d.logger.Warn("run incomplete", attrs...)
	default:
		d.logger.Info("run finished", attrs...)
	}
	d.logExpiredSuppressions(d.now())
}

// logExpiredSuppressions logs, once each, the suppressions that expired
// since the last call (all expired ones after a configuration load).
func (d *Daemon) logExpiredSuppressions(now time.Time) {
	for _, s := range d.cfg.Suppress {
		if !s.ExpiresAt.IsZero() && s.ExpiresAt.After(d.expiriesLoggedUntil) && !now.Before(s.ExpiresAt) {
			d.logger.Warn("suppression expired and no longer applies", "check", s.Check, "integration", s.Integration,
				"resource", s.Resource, "expired", s.ExpiresAt.Format(time.RFC3339))
		}
	}
	d.expiriesLoggedUntil = now
}

// startDispatcher starts delivering the outbox with the running
// configuration's routes. Messages held back by a configuration error
// are retried at once: a reload is how an operator says a route's problem
// was fixed. Those waiting out a Retry-After or a backoff keep waiting.
func (d *Daemon) startDispatcher(ctx context.Context) error {
	if d.opts.Senders == nil || len(d.cfg.Notify.Routes()) == 0 {
		d.stopDispatcher = func() {}
		return nil
	}
	senders, err := d.opts.Senders(d.cfg)
	if err != nil {
		return err
	}
	for route := range senders {
		if err := d.store.RetryNow(ctx, route, d.now()); err != nil {
			return err
		}
	}
	disp := &dispatch.Dispatcher{Store: d.store, Senders: senders, Logger: d.logger, Observer: d.opts.Telemetry, Tracer: d.opts.Telemetry.Tracer(), Now: d.now, Pacer: d.pacer}
	dctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		disp.Run(dctx, d.wake)
	}()
	d.stopDispatcher = func() {
		cancel()
		<-stopped
	}
	return nil
}

// reload re-reads the configuration; an invalid one is rejected with one
// log line and the running configuration stays. It reports whether the
// new configuration was applied.
func (d *Daemon) reload() bool {
	cfg, err := engine.LoadConfig(d.opts.ConfigPath)
	if err != nil {
		d.logger.Error("reload rejected, keeping the running configuration", "error", err.Error())
		return false
	}
	if cfg.Daemon.StateDir != d.cfg.Daemon.StateDir {
		d.logger.Warn("daemon.state_dir changed; it takes effect after a restart", "running", d.cfg.Daemon.StateDir, "configured", cfg.Daemon.StateDir)
		cfg.Daemon.StateDir = d.cfg.Daemon.StateDir
	}
	if cfg.Daemon.Listen != d.cfg.Daemon.Listen {
		d.logger.Warn("daemon.listen changed; it takes effect after a restart", "running", d.cfg.Daemon.Listen, "configured", cfg.Daemon.Listen)
		cfg.Daemon.Listen = d.cfg.Daemon.Listen
	}
	if err := d.apply(cfg); err != nil {
		d.logger.Error("reload rejected, keeping the running configuration", "error", err.Error())
		return false
	}
	d.logger.Info("configuration reloaded", "schedule", cfg.Daemon.Schedule, "integrations", len(cfg.Integrations), "slack_routes", len(cfg.Notify.Slack), "webhook_routes", len(cfg.Notify.Webhook), "teams_routes", len(cfg.Notify.Teams))
	return true
}

// serveHealth starts the optional /healthz, /readyz and /metrics listener.
func (d *Daemon) serveHealth() (stop func(), err error) {
	addr := d.cfg.Daemon.Listen
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("daemon.listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		d.mu.Lock()
		last, status, interval := d.lastFinished, d.lastStatus, d.interval
		d.mu.Unlock()
		switch {
		case last.IsZero():
			http.Error(w, "no run has finished yet", http.StatusServiceUnavailable)
		case d.now().Sub(last) > 2*interval:
			http.Error(w, fmt.Sprintf("last run finished %s ago, more than twice the schedule interval", d.now().Sub(last).Round(time.Second)), http.StatusServiceUnavailable)
		default:
			fmt.Fprintf(w, "ok: last run %s at %s\n", status, last.UTC().Format(time.RFC3339))
		}
	})
	if h := d.opts.Telemetry.MetricsHandler(); h != nil {
		mux.Handle("/metrics", h)
	}
	srv := newHealthServer(mux)
	go func() { _ = srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// newHealthServer bounds every phase of a health connection: probes are
// tiny, and a client that connects and stalls, or keeps an idle
// keep-alive connection open, must not hold a descriptor for ever.
func newHealthServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
}
