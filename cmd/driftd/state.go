package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/drift"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/textsafe"
)

// openStore loads the config (for [daemon] state_dir) and opens the store
// read-only: these commands never call an API, never create or migrate the
// database, and work beside a running daemon.
func openStore(ctx context.Context, configPath string) (*config.Config, *store.Store, error) {
	return openStoreWith(ctx, configPath, store.OpenReadOnly)
}

// openStoreWritable is openStore for the one history command that writes
// (baseline approve): SQLite's locking lets it run beside the daemon.
func openStoreWritable(ctx context.Context, configPath string) (*config.Config, *store.Store, error) {
	return openStoreWith(ctx, configPath, store.Open)
}

func openStoreWith(ctx context.Context, configPath string, open func(context.Context, string) (*store.Store, error)) (*config.Config, *store.Store, error) {
	cfg, err := config.LoadForState(configPath)
	if err != nil {
		return nil, nil, err
	}
	st, err := open(ctx, cfg.Daemon.StateDir)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

// findingJSON is the public JSON shape of `driftd findings`.
type findingJSON struct {
	Fingerprint string `json:"fingerprint"`
	CheckID     string `json:"check_id"`
	Severity    string `json:"severity"`
	Integration string `json:"integration"`
	Resource    struct {
		Side string `json:"side"`
		Kind string `json:"kind"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"resource"`
	State      string     `json:"state"`
	FirstSeen  time.Time  `json:"first_seen"`
	LastSeen   time.Time  `json:"last_seen"`
	ResolvedAt *time.Time `json:"resolved_at"`
	Message    string     `json:"message"`
	Expected   string     `json:"expected,omitempty"`
	Actual     string     `json:"actual,omitempty"`
	// Occurrences counts the runs that saw the finding.
	Occurrences int    `json:"occurrences"`
	Suppressed  string `json:"suppression_reason,omitempty"`
}

// displayState is open, resolved or suppressed (an open finding an active
// suppression covers).
func displayState(f store.Finding, cfg *config.Config, now time.Time) (string, string) {
	if f.State != store.StateOpen {
		return f.State, ""
	}
	if s := audit.SuppressionFor(cfg.Suppress, f.Finding, now); s != nil {
		return "suppressed", s.Reason
	}
	return store.StateOpen, ""
}

// findingsFlags defines the flags of `driftd findings`.
func findingsFlags() (fs *flag.FlagSet, configPath *string, all *bool, format *string) {
	fs = newFlagSet("findings")
	configPath = fs.String("config", config.DefaultPath, "configuration `file` (for [daemon] state_dir)")
	all = fs.Bool("all", false, "include resolved findings")
	format = fs.String("format", "table", "output `format`: table or json")
	return fs, configPath, all, format
}

func cmdFindings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, configPath, all, format := findingsFlags()
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("--format: unknown format %q (want table or json)", *format)
	}
	cfg, st, err := openStore(ctx, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	stored, err := st.Findings(ctx, *all)
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]findingJSON, 0, len(stored))
	for _, f := range stored {
		j := findingJSON{Fingerprint: f.Fingerprint, CheckID: f.CheckID, Severity: f.Severity.String(), Integration: f.Integration,
			FirstSeen: f.FirstSeen, LastSeen: f.LastSeen, ResolvedAt: f.ResolvedAt, Message: f.Message, Expected: f.Expected,
			Actual: f.Actual, Occurrences: f.Occurrences}
		j.Resource.Side, j.Resource.Kind, j.Resource.ID, j.Resource.Name = string(f.Resource.Side), f.Resource.Kind, f.Resource.ID, f.Resource.Name
		j.State, j.Suppressed = displayState(f, cfg, now)
		out = append(out, j)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Integration != out[j].Integration {
			return out[i].Integration < out[j].Integration
		}
		return out[i].CheckID < out[j].CheckID
	})
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(map[string]any{"findings": out})
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "No open findings.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tSEVERITY\tCHECK\tINTEGRATION\tFIRST SEEN\tLAST SEEN\tMESSAGE")
	for _, f := range out {
		state := f.State
		if f.ResolvedAt != nil {
			state += " " + f.ResolvedAt.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", state, f.Severity, safeName(f.CheckID), safeName(f.Integration),
			f.FirstSeen.UTC().Format("2006-01-02 15:04"), f.LastSeen.UTC().Format("2006-01-02 15:04"), safeText(f.Message))
	}
	return tw.Flush()
}

// statusFlags defines the flags of `driftd status`.
func statusFlags() (fs *flag.FlagSet, configPath *string, runs *int) {
	fs = newFlagSet("status")
	configPath = fs.String("config", config.DefaultPath, "configuration `file` (for [daemon] state_dir)")
	runs = fs.Int("runs", 10, "show this `number` of recent runs")
	return fs, configPath, runs
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, configPath, limit := statusFlags()
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, st, err := openStore(ctx, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	runs, err := st.Runs(ctx, *limit)
	if err != nil {
		return err
	}
	findings, err := st.Findings(ctx, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "State: %s\n\n", st.Path())
	if len(runs) == 0 {
		fmt.Fprintln(stdout, "No runs recorded yet.")
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tSTARTED\tDURATION\tSTATUS\tTRIGGER\tFINDINGS\tOPENED\tRESOLVED\tGAPS\tAPI REQUESTS")
		for _, r := range runs {
			status := r.Status
			if r.Error != "" {
				status += ": " + r.Error
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.StartedAt.UTC().Format("2006-01-02 15:04:05"),
				r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond), safeText(status), safeName(r.Trigger), r.Findings, r.Opened, r.Resolved, r.Gaps, requestSummary(r.APIRequests))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	open, suppressed := 0, 0
	bySeverity := map[string]int{}
	now := time.Now()
	for _, f := range findings {
		if state, _ := displayState(f, cfg, now); state == "suppressed" {
			suppressed++
			continue
		}
		open++
		bySeverity[f.Severity.String()]++
	}
	var parts []string
	for _, sev := range []string{"critical", "high", "medium", "low"} {
		if bySeverity[sev] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", bySeverity[sev], sev))
		}
	}
	fmt.Fprintf(stdout, "\nOpen findings: %d", open)
	if len(parts) > 0 {
		fmt.Fprintf(stdout, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintf(stdout, "; suppressed: %d\n", suppressed)
	pending, err := st.Pending(ctx)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintln(stdout, "Pending notifications: 0")
	} else {
		routes, byRoute := store.ByRoute(pending)
		fmt.Fprintf(stdout, "Pending notifications: %d\n", len(pending))
		for _, route := range routes {
			items := byRoute[route]
			oldest := items[0]
			line := fmt.Sprintf("  %s: %d pending since %s", safeName(route), len(items), oldest.CreatedAt.UTC().Format("2006-01-02 15:04"))
			if oldest.LastError != "" {
				line += fmt.Sprintf("; last error after %d attempts: %s", oldest.Attempts, safeText(oldest.LastError))
				if oldest.Permanent {
					line += " (fix the route's configuration, then reload)"
				}
			}
			fmt.Fprintln(stdout, line)
		}
	}
	baselines, err := st.Baselines(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(baselines))
	for n := range baselines {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := baselines[n]
		fmt.Fprintf(stdout, "Baseline %s: run %d, approved %s\n", safeName(n), b.RunID, b.ApprovedAt.UTC().Format("2006-01-02 15:04"))
	}
	return nil
}

func requestSummary(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", safeName(k), m[k]))
	}
	return strings.Join(parts, ", ")
}

// safeName and safeText are a stored value from API data as the text
// outputs show it: capped, and with control characters escaped so it
// stays in its line and column and cannot drive the terminal.
func safeName(s string) string { return textsafe.Field(s, textsafe.MaxName) }
func safeText(s string) string { return textsafe.Field(s, textsafe.MaxText) }

// baselineFlags defines the flags of `driftd baseline approve`.
func baselineFlags() (fs *flag.FlagSet, configPath, integration *string, fromRun *int64) {
	fs = newFlagSet("baseline approve")
	configPath = fs.String("config", config.DefaultPath, "configuration `file` (for [daemon] state_dir)")
	integration = fs.String("integration", "", "approve only the integration of this `name` (default: all)")
	fromRun = fs.Int64("from-run", 0, "approve the snapshot of the run with this `id` (default: the latest complete run)")
	return fs, configPath, integration, fromRun
}

func cmdBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "approve" {
		return errors.New("usage: driftd baseline approve [--config FILE] [--integration NAME] [--from-run ID]")
	}
	fs, configPath, integration, fromRun := baselineFlags()
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	_, st, err := openStoreWritable(ctx, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	runID := *fromRun
	if runID == 0 {
		if runID, err = st.LatestCompleteRun(ctx); err != nil {
			return fmt.Errorf("%w; run driftd check --state-dir or driftd run first", err)
		}
	}
	snap, err := st.Snapshot(ctx, runID)
	if err != nil {
		return err
	}
	var names []string
	for _, in := range snap.Integrations {
		if *integration != "" && in.Name != *integration {
			continue
		}
		if gaps := snap.Missing(in.Name, audit.DataKinds()...); len(gaps) > 0 {
			if *integration != "" {
				return fmt.Errorf("run %d could not read everything for %q (%s); approve a complete run", runID, in.Name, gaps[0].What)
			}
			fmt.Fprintf(stderr, "skipping %s: run %d did not read all of its data\n", in.Name, runID)
			continue
		}
		names = append(names, in.Name)
	}
	if len(names) == 0 {
		if *integration != "" {
			return fmt.Errorf("--integration: run %d has no integration %q", runID, *integration)
		}
		return fmt.Errorf("run %d has no completely read integration to approve", runID)
	}
	if err := st.ApproveBaseline(ctx, runID, names, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Approved the snapshot of run %d as the baseline of %s.\n", runID, strings.Join(names, ", "))
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

func cmdDiff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, configPath, baseline, integration, format := diffFlags()
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, st, err := openStore(ctx, *configPath)
	if err != nil {
		return err
	}
	defer st.Close()
	parseRun := func(s string) (int64, error) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return 0, fmt.Errorf("%q is not a run ID (see driftd status)", s)
		}
		return id, nil
	}

	var changes []drift.Change
	switch {
	case *baseline:
		var runID int64
		if fs.NArg() > 1 {
			return errors.New("--baseline takes at most one run ID")
		}
		if fs.NArg() == 1 {
			if runID, err = parseRun(fs.Arg(0)); err != nil {
				return err
			}
		} else if runID, err = latestSnapshotRun(ctx, st); err != nil {
			return err
		}
		current, err := st.Snapshot(ctx, runID)
		if err != nil {
			return err
		}
		baselines, err := st.Baselines(ctx)
		if err != nil {
			return err
		}
		if *integration != "" {
			if _, ok := baselines[*integration]; !ok {
				return fmt.Errorf("integration %q has no approved baseline (driftd baseline approve)", *integration)
			}
		}
		if len(baselines) == 0 {
			return errors.New("no approved baseline yet (driftd baseline approve)")
		}
		for name, b := range baselines {
			if *integration == "" || *integration == name {
				changes = append(changes, drift.Integration(b.Snapshot, current, name)...)
			}
		}
	default:
		if fs.NArg() != 2 {
			return errors.New("usage: driftd diff RUN_A RUN_B, or driftd diff --baseline [RUN]")
		}
		a, err := parseRun(fs.Arg(0))
		if err != nil {
			return err
		}
		b, err := parseRun(fs.Arg(1))
		if err != nil {
			return err
		}
		snapA, err := st.Snapshot(ctx, a)
		if err != nil {
			return err
		}
		snapB, err := st.Snapshot(ctx, b)
		if err != nil {
			return err
		}
		changes = drift.Snapshots(snapA, snapB)
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Integration < changes[j].Integration })
	return writeChanges(stdout, changes, *format)
}

func latestSnapshotRun(ctx context.Context, st *store.Store) (int64, error) {
	runs, err := st.Runs(ctx, 50)
	if err != nil {
		return 0, err
	}
	for _, r := range runs {
		if r.Status != store.RunFailed {
			return r.ID, nil
		}
	}
	return 0, errors.New("no run with a snapshot yet")
}

func writeChanges(w io.Writer, changes []drift.Change, format string) error {
	switch format {
	case "json":
		type change struct {
			Integration string `json:"integration"`
			Side        string `json:"side"`
			Kind        string `json:"resource_kind"`
			ID          string `json:"resource_id"`
			Name        string `json:"resource_name"`
			Field       string `json:"field"`
			Before      string `json:"before"`
			After       string `json:"after"`
		}
		out := []change{}
		for _, c := range changes {
			out = append(out, change{c.Integration, string(c.Side), c.ResourceKind, c.ResourceID, c.ResourceName, c.Field, c.Before, c.After})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(map[string]any{"changes": out})
	case "table":
		if len(changes) == 0 {
			fmt.Fprintln(w, "No differences in the watched fields.")
			return nil
		}
		for _, c := range changes {
			scope := c.Integration
			if scope == "" {
				scope = "account"
			}
			fmt.Fprintf(w, "%s · %s %s %q · %s\n  - %s\n  + %s\n", safeName(scope), safeName(string(c.Side)), safeName(c.ResourceKind),
				textsafe.Clip(c.ResourceName, textsafe.MaxName), safeName(c.Field), safeText(c.Before), safeText(c.After))
		}
		return nil
	}
	return fmt.Errorf("--format: unknown format %q (want table or json)", format)
}
