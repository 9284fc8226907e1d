package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/drift"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/report"
)

// The history commands: status, findings, baseline approve and diff. They
// read the store only (baseline approve writes one row), never call an
// API and need only [daemon] state_dir and [[suppress]] from the config.

// openStore loads the config and opens the store read-only: these
// commands never create or migrate the database, and work beside a
// running daemon.
func openStore(ctx context.Context, configPath string) (*config.Config, *store.Store, error) {
	return openStoreWith(ctx, configPath, store.OpenReadOnly)
}

// openStoreWritable is openStore for the one history command that writes
// (baseline approve): SQLite's locking lets it run beside the daemon.
func openStoreWritable(ctx context.Context, configPath string) (*config.Config, *store.Store, error) {
	return openStoreWith(ctx, configPath, store.Open)
}

func openStoreWith(ctx context.Context, configPath string, open func(context.Context, string) (*store.Store, error)) (*config.Config, *store.Store, error) {
	cfg, err := engine.LoadConfigForState(configPath)
	if err != nil {
		return nil, nil, err
	}
	st, err := open(ctx, cfg.Daemon.StateDir)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

// findingsFlags defines the flags of `driftd findings`.
func findingsFlags() (fs *flag.FlagSet, configPath *string, all *bool, format *string) {
	fs = newFlagSet("findings")
	configPath = fs.String("config", config.DefaultPath, "configuration `file` (for [daemon] state_dir)")
	all = fs.Bool("all", false, "include resolved findings")
	format = fs.String("format", "table", "output `format`: table or json")
	return fs, configPath, all, format
}

func cmdFindings(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs, configPath, all, format := findingsFlags()
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkHistoryFormat(*format); err != nil {
		return err
	}
	cfg, st, err := openStore(ctx, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	doc, err := engine.Findings(ctx, st, cfg, *all, time.Now())
	if err != nil {
		return err
	}
	return report.WriteFindings(stdout, doc, *format)
}

// statusFlags defines the flags of `driftd status`.
func statusFlags() (fs *flag.FlagSet, configPath *string, runs *int, format *string) {
	fs = newFlagSet("status")
	configPath = fs.String("config", config.DefaultPath, "configuration `file` (for [daemon] state_dir)")
	runs = fs.Int("runs", 10, "show this `number` of recent runs")
	format = fs.String("format", "table", "output `format`: table or json")
	return fs, configPath, runs, format
}

func cmdStatus(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs, configPath, runs, format := statusFlags()
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkHistoryFormat(*format); err != nil {
		return err
	}
	cfg, st, err := openStore(ctx, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	status, err := engine.Status(ctx, st, cfg, *runs, time.Now())
	if err != nil {
		return err
	}
	return report.WriteStatus(stdout, status, *format)
}

// baselineFlags defines the flags of `driftd baseline approve`.
func baselineFlags() (fs *flag.FlagSet, configPath, integration *string, fromRun *int64) {
	fs = newFlagSet("baseline approve")
	configPath = fs.String("config", config.DefaultPath, "configuration `file` (for [daemon] state_dir)")
	integration = fs.String("integration", "", "approve only the integration of this `name` (default: all)")
	fromRun = fs.Int64("from-run", 0, "approve the snapshot of the run with this `id` (default: the latest complete run)")
	return fs, configPath, integration, fromRun
}

func cmdBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, configPath, integration, fromRun := baselineFlags()
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	_, st, err := openStoreWritable(ctx, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	approval, err := engine.ApproveBaseline(ctx, st, *fromRun, *integration, time.Now())
	if err != nil {
		return err
	}
	for _, name := range approval.Skipped {
		fmt.Fprintf(stderr, "skipping %s: run %d did not read all of its data\n", name, approval.RunID)
	}
	fmt.Fprintf(stdout, "Approved the snapshot of run %d as the baseline of %s.\n", approval.RunID, strings.Join(approval.Approved, ", "))
	return nil
}

// diffFlags defines the flags of `driftd diff`.
func diffFlags() (fs *flag.FlagSet, configPath *string, baseline *bool, integration, format *string) {
	fs = newFlagSet("diff")
	configPath = fs.String("config", config.DefaultPath, "configuration `file` (for [daemon] state_dir)")
	baseline = fs.Bool("baseline", false, "compare the approved baseline with RUN (default: the latest run with a snapshot)")
	integration = fs.String("integration", "", "with --baseline: the integration of this `name` (default: every one with a baseline)")
	format = fs.String("format", "table", "output `format`: table or json")
	return fs, configPath, baseline, integration, format
}

func cmdDiff(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs, configPath, baseline, integration, format := diffFlags()
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkHistoryFormat(*format); err != nil {
		return err
	}
	_, st, err := openStore(ctx, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	var changes []drift.Change
	switch {
	case *baseline:
		if fs.NArg() > 1 {
			return errors.New("--baseline takes at most one run ID")
		}
		var run int64
		if fs.NArg() == 1 {
			if run, err = parseRunID(fs.Arg(0)); err != nil {
				return err
			}
		}
		changes, err = engine.DiffBaseline(ctx, st, run, *integration)
	case fs.NArg() != 2:
		return errors.New("usage: driftd diff RUN_A RUN_B, or driftd diff --baseline [RUN]")
	default:
		a, err := parseRunID(fs.Arg(0))
		if err != nil {
			return err
		}
		b, err := parseRunID(fs.Arg(1))
		if err != nil {
			return err
		}
		changes, err = engine.DiffRuns(ctx, st, a, b)
		if err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	return report.WriteChanges(stdout, changes, *format)
}

func parseRunID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not a run ID (see driftd status)", s)
	}
	return id, nil
}

// checkHistoryFormat refuses an unknown --format before the store is
// opened.
func checkHistoryFormat(format string) error {
	if format != "table" && format != "json" {
		return fmt.Errorf("--format: unknown format %q (want table or json)", format)
	}
	return nil
}
