package main

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/driftd/driftd/notify/slack"
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
}

func parseCheckFlags(args []string, stderr io.Writer) (checkOptions, error) {
	fs := newFlagSet("check", stderr)
	var (
		opts        checkOptions
		format      = fs.String("format", "table", "output format: table, json or markdown")
		failOn      = fs.String("fail-on", "low", "lowest severity that makes the exit code 1: low, medium, high or critical")
		integration = fs.String("integration", "", "audit only this integration (comma-separated names allowed)")
	)
	fs.StringVar(&opts.configPath, "config", config.DefaultPath, "configuration file")
	fs.StringVar(&opts.stateDir, "state-dir", "", "record this run in the state store in DIR (as driftd run does)")
	fs.BoolVar(&opts.notify, "notify", false, "send the findings to the configured Slack routes (with --state-dir, only what changed)")
	fs.DurationVar(&opts.timeout, "timeout", 5*time.Minute, "give up reading after this long")
	logLevel := fs.String("log-level", "warn", "stderr log level: debug, info, warn or error")
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
	for _, n := range strings.Split(*integration, ",") {
		if n = strings.TrimSpace(n); n != "" {
			opts.integrations = append(opts.integrations, n)
		}
	}
	return opts, nil
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	opts, err := parseCheckFlags(args, stderr)
	if err != nil {
		return exitError, err
	}
	cfg, err := config.Load(opts.configPath)
	if err != nil {
		return exitError, err
	}
	return runAudit(ctx, cfg, opts, stdout, stderr)
}

// runAudit runs the audit, prints the report and maps it to an exit code.
func runAudit(ctx context.Context, cfg *config.Config, opts checkOptions, stdout, stderr io.Writer) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: opts.logLevel}))
	var res *audit.Result
	if opts.notify && len(cfg.Notify.Slack) == 0 {
		return exitError, errors.New("--notify: no [[notify.slack]] route is configured")
	}
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
		st, err := store.Open(ctx, dir)
		if err != nil {
			return exitError, err
		}
		defer st.Close()
		eng := &engine.Engine{Store: st, Logger: logger}
		if opts.notify {
			eng.Render = slack.Render
		}
		out, err := eng.RunOnce(ctx, cfg, engine.TriggerCheck, opts.integrations)
		if err != nil {
			return exitError, err
		}
		res = out.Result
		if opts.notify {
			if err := deliverNow(ctx, cfg, st, logger); err != nil {
				return exitError, err
			}
		}
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
	return exitCode(res.Report, opts.failOn), nil
}

// deliverNow sends what the run queued, retrying as the daemon would,
// until nothing is pending or a route needs an operator.
func deliverNow(ctx context.Context, cfg *config.Config, st *store.Store, logger *slog.Logger) error {
	senders, err := slackSenders(nil)(cfg)
	if err != nil {
		return err
	}
	disp := &dispatch.Dispatcher{Store: st, Senders: senders, Logger: logger}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		next := disp.DeliverDue(ctx)
		pending, err := st.Pending(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		if pending[0].Permanent || next.IsZero() {
			return fmt.Errorf("--notify: %d message(s) not delivered: %s", len(pending), pending[0].LastError)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("--notify: %d message(s) not delivered in time (last error: %s)", len(pending), pending[0].LastError)
		case <-time.After(time.Until(next)):
		}
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

func cmdChecks(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("checks", stderr)
	format := fs.String("format", "table", "output format: table or json")
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
