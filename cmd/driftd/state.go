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
	"github.com/driftd/driftd/report"
)

// The history commands: status, findings, baseline approve and diff. They
// read the store only (baseline approve writes one row), never call an
// API and need only [daemon] state_dir and [[suppress]] from the config.

// stateConfigFlag defines --config for a history command.
func stateConfigFlag(fs *flag.FlagSet) *string {
	return fs.String("config", config.DefaultPath, "configuration `file` (for [daemon] state_dir)")
}

func historyFormatFlag(fs *flag.FlagSet) *string {
	return fs.String("format", "table", "output `format`: table or json")
}

func defineFindings(fs *flag.FlagSet) action {
	configPath := stateConfigFlag(fs)
	all := fs.Bool("all", false, "include resolved findings")
	format := historyFormatFlag(fs)
	return func(ctx context.Context, args []string, stdout, _ io.Writer) (int, error) {
		if err := errors.Join(noArguments(args), report.CheckHistoryFormat(*format)); err != nil {
			return exitError, err
		}
		cfg, st, err := engine.OpenState(ctx, *configPath, false)
		if err != nil {
			return exitError, err
		}
		defer st.Close()
		doc, err := engine.Findings(ctx, st, cfg, *all, time.Now())
		if err != nil {
			return exitError, err
		}
		return exitOK, report.WriteFindings(stdout, doc, *format)
	}
}

func defineStatus(fs *flag.FlagSet) action {
	configPath := stateConfigFlag(fs)
	runs := fs.Int("runs", 10, "show this `number` of recent runs")
	format := historyFormatFlag(fs)
	return func(ctx context.Context, args []string, stdout, _ io.Writer) (int, error) {
		if err := errors.Join(noArguments(args), report.CheckHistoryFormat(*format)); err != nil {
			return exitError, err
		}
		cfg, st, err := engine.OpenState(ctx, *configPath, false)
		if err != nil {
			return exitError, err
		}
		defer st.Close()
		status, err := engine.Status(ctx, st, cfg, *runs, time.Now())
		if err != nil {
			return exitError, err
		}
		return exitOK, report.WriteStatus(stdout, status, *format)
	}
}

func defineBaseline(fs *flag.FlagSet) action {
	configPath := stateConfigFlag(fs)
	integration := fs.String("integration", "", "approve only the integration of this `name` (default: all)")
	fromRun := fs.Int64("from-run", 0, "approve the snapshot of the run with this `id` (default: the latest complete run)")
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
		if err := noArguments(args); err != nil {
			return exitError, err
		}
		_, st, err := engine.OpenState(ctx, *configPath, true)
		if err != nil {
			return exitError, err
		}
		defer st.Close()
		approval, err := engine.ApproveBaseline(ctx, st, *fromRun, *integration, time.Now())
		if err != nil {
			return exitError, err
		}
		for _, name := range approval.Skipped {
			fmt.Fprintf(stderr, "skipping %s: run %d did not read all of its data\n", name, approval.RunID)
		}
		fmt.Fprintf(stdout, "Approved the snapshot of run %d as the baseline of %s.\n", approval.RunID, strings.Join(approval.Approved, ", "))
		return exitOK, nil
	}
}

func defineDiff(fs *flag.FlagSet) action {
	configPath := stateConfigFlag(fs)
	baseline := fs.Bool("baseline", false, "compare the approved baseline with RUN (default: the latest run with a snapshot)")
	integration := fs.String("integration", "", "with --baseline: the integration of this `name` (default: every one with a baseline)")
	format := historyFormatFlag(fs)
	return func(ctx context.Context, args []string, stdout, _ io.Writer) (int, error) {
		if err := report.CheckHistoryFormat(*format); err != nil {
			return exitError, err
		}
		runs, err := diffRuns(args, *baseline)
		if err != nil {
			return exitError, err
		}
		_, st, err := engine.OpenState(ctx, *configPath, false)
		if err != nil {
			return exitError, err
		}
		defer st.Close()
		var changes []drift.Change
		if *baseline {
			changes, err = engine.DiffBaseline(ctx, st, runs[0], *integration)
		} else {
			changes, err = engine.DiffRuns(ctx, st, runs[0], runs[1])
		}
		if err != nil {
			return exitError, err
		}
		return exitOK, report.WriteChanges(stdout, changes, *format)
	}
}

// diffRuns reads diff's arguments: two run IDs, or with --baseline at
// most one (0: the latest run with a snapshot).
func diffRuns(args []string, baseline bool) ([]int64, error) {
	switch {
	case baseline && len(args) > 1:
		return nil, errors.New("--baseline takes at most one run ID")
	case !baseline && len(args) != 2:
		return nil, errors.New("usage: driftd diff RUN_A RUN_B, or driftd diff --baseline [RUN]")
	}
	runs := []int64{0}
	for i, arg := range args {
		id, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("%q is not a run ID (see driftd status)", arg)
		}
		if i == 0 {
			runs[0] = id
		} else {
			runs = append(runs, id)
		}
	}
	return runs, nil
}
