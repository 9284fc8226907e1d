package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/cli"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/textsafe"
	"github.com/driftd/driftd/report"
)

// checkOptions are the flags of `driftd check`, checked.
type checkOptions struct {
	engine.CheckOptions
	format        report.Format
	failOn        checks.Severity
	timeout       time.Duration
	logLevel      slog.Level
	notifyTimeout time.Duration
}

func defineCheck(fs *flag.FlagSet) action {
	format := fs.String("format", "table", "output `format`: table, json, markdown, junit or html")
	failOn := fs.String("fail-on", "low", "lowest `severity` that makes the exit code 1: low, medium, high or critical")
	integration := fs.String("integration", "", "audit only the integration of this `name` (comma-separated names allowed)")
	configPath := fs.String("config", config.DefaultPath, "configuration `file`")
	stateDir := fs.String("state-dir", "", "record this run in the state store in this `dir`ectory (as driftd run does)")
	notify := fs.Bool("notify", false, "send the findings to the configured notification routes (with --state-dir, only what changed)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up reading after this long")
	notifyTimeout := fs.Duration("notify-timeout", 30*time.Second, "with --notify: give up delivering after this long (what is left stays queued with --state-dir)")
	logLevel := fs.String("log-level", "warn", "stderr log `level`: debug, info, warn or error")
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
		opts := checkOptions{timeout: *timeout, notifyTimeout: *notifyTimeout}
		opts.StateDir, opts.Notify = *stateDir, *notify
		if err := noArguments(args); err != nil {
			return exitError, err
		}
		var err error
		if opts.format, err = report.ParseFormat(*format); err != nil {
			return exitError, fmt.Errorf("--format: %w", err)
		}
		if opts.failOn, err = checks.ParseSeverity(*failOn); err != nil {
			return exitError, fmt.Errorf("--fail-on: %w", err)
		}
		if err := opts.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
			return exitError, fmt.Errorf("--log-level: %q is not debug, info, warn or error", *logLevel)
		}
		if opts.timeout <= 0 {
			return exitError, errors.New("--timeout: must be positive")
		}
		if opts.notifyTimeout <= 0 {
			return exitError, errors.New("--notify-timeout: must be positive")
		}
		for _, n := range strings.Split(*integration, ",") {
			if n = strings.TrimSpace(n); n != "" {
				opts.Integrations = append(opts.Integrations, n)
			}
		}
		cfg, err := engine.LoadConfig(*configPath)
		if err != nil {
			return exitError, err
		}
		return runAudit(ctx, cfg, opts, stdout, stderr)
	}
}

// runAudit runs the audit, prints the report, then (with --notify)
// delivers the notifications, and maps the outcome to an exit code. The
// report is written before any delivery is tried, so an unreachable
// receiver can neither hide it nor hold it back.
func runAudit(parent context.Context, cfg *config.Config, opts checkOptions, stdout, stderr io.Writer) (int, error) {
	ctx, cancel := context.WithTimeout(parent, opts.timeout)
	defer cancel()
	if opts.Notify && len(cfg.Notify.Routes()) == 0 {
		return exitError, errors.New("--notify: no [[notify.slack]], [[notify.webhook]] or [[notify.teams]] route is configured")
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: opts.logLevel}))
	opts.Logger = logger
	checked, err := engine.Check(ctx, cfg, opts.CheckOptions)
	if err != nil {
		return exitError, err
	}
	defer checked.Close()
	if errors.Is(ctx.Err(), context.Canceled) {
		return exitError, errors.New("interrupted")
	}
	rep := checked.Result.Report
	if err := report.Write(stdout, rep, opts.format, report.Options{Color: cli.IsTerminal(stdout), Snapshot: checked.Result.Snapshot}); err != nil {
		return exitError, fmt.Errorf("writing the report: %w", err)
	}
	code := exitOK
	switch {
	case rep.CountAtOrAbove(opts.failOn) > 0:
		code = exitFindings
	case !rep.Complete():
		code = exitIncomplete
	}
	if !opts.Notify {
		return code, nil
	}
	// The dispatcher's own log lines would repeat the summary below;
	// they are shown only when asked for (--log-level info or debug).
	if opts.logLevel > slog.LevelInfo {
		logger = slog.New(slog.DiscardHandler)
	}
	deliverCtx, cancelDelivery := context.WithTimeout(parent, opts.notifyTimeout)
	defer cancelDelivery()
	failed, err := checked.Deliver(deliverCtx, logger)
	if err != nil {
		fmt.Fprintf(stderr, "driftd: notifications: %s\n", cli.OneLine(err.Error()))
	}
	for _, f := range failed {
		fmt.Fprintf(stderr, "driftd: notification to route %s failed: %s\n", textsafe.Field(f.Route, textsafe.MaxName), textsafe.Field(f.Reason, textsafe.MaxName))
	}
	// Undelivered notifications are an error to fix (2), unless findings
	// already make the exit code 1.
	if (err != nil || len(failed) > 0) && code != exitFindings {
		return exitError, nil
	}
	return code, nil
}

func defineChecks(fs *flag.FlagSet) action {
	format := fs.String("format", "table", "output `format`: table or json")
	return func(_ context.Context, args []string, stdout, _ io.Writer) (int, error) {
		if err := noArguments(args); err != nil {
			return exitError, err
		}
		return exitOK, report.WriteCatalog(stdout, checks.All(), *format)
	}
}
