package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/dispatch"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/textsafe"
	"github.com/driftd/driftd/report"
)

// checkOptions are the flags of `driftd check`.
type checkOptions struct {
	configPath   string
	format       report.Format
	failOn       checks.Severity
	integrations []string
	timeout      time.Duration
	logLevel     slog.Level
	// stateDir, when set, records the run in that store (and compares
	// against approved baselines there).
	stateDir string
	// notify sends the run's findings to the configured Slack routes.
	notify bool
	// notifyTimeout bounds delivery after the report is written.
	notifyTimeout time.Duration
}

// checkFlags defines the flags of `driftd check` (driftd help lists them
// from here too). Flags used as given go straight into opts; the others
// are returned for parseCheckFlags to check.
func checkFlags(opts *checkOptions) (fs *flag.FlagSet, format, failOn, integration, logLevel *string) {
	fs = newFlagSet("check")
	format = fs.String("format", "table", "output `format`: table, json or markdown")
	failOn = fs.String("fail-on", "low", "lowest `severity` that makes the exit code 1: low, medium, high or critical")
	integration = fs.String("integration", "", "audit only the integration of this `name` (comma-separated names allowed)")
	fs.StringVar(&opts.configPath, "config", config.DefaultPath, "configuration `file`")
	fs.StringVar(&opts.stateDir, "state-dir", "", "record this run in the state store in this `dir`ectory (as driftd run does)")
	fs.BoolVar(&opts.notify, "notify", false, "send the findings to the configured Slack routes (with --state-dir, only what changed)")
	fs.DurationVar(&opts.timeout, "timeout", 5*time.Minute, "give up reading after this long")
	fs.DurationVar(&opts.notifyTimeout, "notify-timeout", 30*time.Second, "with --notify: give up delivering after this long (what is left stays queued with --state-dir)")
	logLevel = fs.String("log-level", "warn", "stderr log `level`: debug, info, warn or error")
	return fs, format, failOn, integration, logLevel
}

func parseCheckFlags(args []string) (checkOptions, error) {
	var opts checkOptions
	fs, format, failOn, integration, logLevel := checkFlags(&opts)
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if opts.format, err = report.ParseFormat(*format); err != nil {
		return opts, fmt.Errorf("--format: %w", err)
	}
	if opts.failOn, err = checks.ParseSeverity(*failOn); err != nil {
		return opts, fmt.Errorf("--fail-on: %w", err)
	}
	if err := opts.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return opts, fmt.Errorf("--log-level: %q is not debug, info, warn or error", *logLevel)
	}
	if opts.timeout <= 0 {
		return opts, fmt.Errorf("--timeout: must be positive")
	}
	if opts.notifyTimeout <= 0 {
		return opts, fmt.Errorf("--notify-timeout: must be positive")
	}
	for _, n := range strings.Split(*integration, ",") {
		if n = strings.TrimSpace(n); n != "" {
			opts.integrations = append(opts.integrations, n)
		}
	}
	return opts, nil
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	opts, err := parseCheckFlags(args)
	if err != nil {
		return exitError, err
	}
	cfg, err := engine.LoadConfig(opts.configPath)
	if err != nil {
		return exitError, err
	}
	return runAudit(ctx, cfg, opts, stdout, stderr)
}

// runAudit runs the audit, prints the report, then (with --notify)
// delivers the notifications, and maps the outcome to an exit code. The
// report is written before any delivery is tried, so an unreachable
// Slack can neither hide it nor hold it back.
func runAudit(parent context.Context, cfg *config.Config, opts checkOptions, stdout, stderr io.Writer) (int, error) {
	ctx, cancel := context.WithTimeout(parent, opts.timeout)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: opts.logLevel}))
	var res *audit.Result
	if opts.notify && len(cfg.Notify.Routes()) == 0 {
		return exitError, errors.New("--notify: no [[notify.slack]] or [[notify.webhook]] route is configured")
	}
	var st *store.Store
	if opts.stateDir != "" || opts.notify {
		dir := opts.stateDir
		if dir == "" {
			// Without a store every finding is new: a throwaway store
			// gives the one-shot check the same outbox and retries.
			tmp, err := os.MkdirTemp("", "driftd-check-")
			if err != nil {
				return exitError, err
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		}
		var err error
		if st, err = store.Open(ctx, dir); err != nil {
			return exitError, err
		}
		defer st.Close()
		eng := &engine.Engine{Store: st, Logger: logger, Notify: opts.notify}
		out, err := eng.RunOnce(ctx, cfg, engine.TriggerCheck, opts.integrations)
		if err != nil {
			return exitError, err
		}
		res = out.Result
	} else {
		var err error
		if res, err = audit.Run(ctx, cfg, audit.Options{Integrations: opts.integrations, Logger: logger}); err != nil {
			return exitError, err
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return exitError, errors.New("interrupted")
	}
	if err := report.Write(stdout, res.Report, opts.format, report.Options{Color: isTerminal(stdout)}); err != nil {
		return exitError, fmt.Errorf("writing the report: %w", err)
	}
	code := exitCode(res.Report, opts.failOn)
	if !opts.notify {
		return code, nil
	}
	// The dispatcher's own log lines would repeat the summary below;
	// they are shown only when asked for (--log-level info or debug).
	dispLogger := slog.New(slog.DiscardHandler)
	if opts.logLevel <= slog.LevelInfo {
		dispLogger = logger
	}
	deliverCtx, cancelDelivery := context.WithTimeout(parent, opts.notifyTimeout)
	defer cancelDelivery()
	failed, err := deliverNow(deliverCtx, cfg, st, dispLogger)
	if err != nil {
		fmt.Fprintf(stderr, "driftd: notifications: %s\n", oneLine(err.Error()))
		return deliveryExitCode(code), nil
	}
	for _, f := range failed {
		fmt.Fprintf(stderr, "driftd: notification to route %s failed: %s\n", textsafe.Field(f.route, textsafe.MaxName), textsafe.Field(f.reason, textsafe.MaxName))
	}
	if len(failed) > 0 {
		return deliveryExitCode(code), nil
	}
	return code, nil
}

// deliveryExitCode is the exit code of a check whose report was written
// but whose notifications were not all delivered: 2 (an error to fix),
// unless findings already make it 1.
func deliveryExitCode(audit int) int {
	if audit == exitFindings {
		return exitFindings
	}
	return exitError
}

// routeFailure is a route whose messages were not all delivered, and the
// last reason (a Slack error code such as invalid_auth, or a fixed phrase
// such as "connection refused"; never a token or webhook URL).
type routeFailure struct{ route, reason string }

// deliverNow sends what the run queued, retrying as the daemon would,
// until nothing is pending, every pending route needs an operator, or ctx
// ends. It returns the routes left with undelivered messages, in route
// order; they stay in the outbox.
func deliverNow(ctx context.Context, cfg *config.Config, st *store.Store, logger *slog.Logger) ([]routeFailure, error) {
	senders, err := routeSenders(nil)(cfg)
	if err != nil {
		return nil, err
	}
	disp := &dispatch.Dispatcher{Store: st, Senders: senders, Logger: logger}
	for {
		next := disp.DeliverDue(ctx)
		pending, err := st.Pending(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		routes, byRoute := store.ByRoute(pending)
		stuck := true // every pending route failed permanently
		for _, route := range routes {
			stuck = stuck && byRoute[route][0].Permanent
		}
		if len(pending) == 0 || stuck || next.IsZero() || ctx.Err() != nil {
			var out []routeFailure
			for _, route := range routes {
				reason := byRoute[route][0].LastError
				if reason == "" {
					reason = "not delivered in time"
				} else if !byRoute[route][0].Permanent && ctx.Err() != nil {
					reason += " (gave up retrying)"
				}
				out = append(out, routeFailure{route: route, reason: reason})
			}
			return out, nil
		}
		timer := time.NewTimer(max(time.Until(next), 10*time.Millisecond))
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
	}
}

func exitCode(r *report.Report, failOn checks.Severity) int {
	switch {
	case r.CountAtOrAbove(failOn) > 0:
		return exitFindings
	case !r.Complete():
		return exitIncomplete
	}
	return exitOK
}

// checksFlags defines the flags of `driftd checks`.
func checksFlags() (fs *flag.FlagSet, format *string) {
	fs = newFlagSet("checks")
	format = fs.String("format", "table", "output `format`: table or json")
	return fs, format
}

func cmdChecks(args []string, stdout, stderr io.Writer) error {
	fs, format := checksFlags()
	if err := fs.Parse(args); err != nil {
		return err
	}
	catalog := checks.All()
	switch *format {
	case "json":
		type entry struct {
			ID          string   `json:"id"`
			Severity    string   `json:"severity"`
			Title       string   `json:"title"`
			Description string   `json:"description"`
			Remediation string   `json:"remediation"`
			Needs       []string `json:"needs"`
		}
		out := []entry{}
		for _, c := range catalog {
			e := entry{ID: c.ID, Severity: c.Severity.String(), Title: c.Title, Description: c.Description, Remediation: c.Remediation}
			for _, n := range c.Needs {
				e.Needs = append(e.Needs, string(n))
			}
			out = append(out, e)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"checks": out})
	case "table":
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE")
		for _, c := range catalog {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, c.Severity, c.Title)
		}
		return tw.Flush()
	}
	return fmt.Errorf("--format: unknown format %q (want table or json)", *format)
}
