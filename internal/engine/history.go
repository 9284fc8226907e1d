package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/drift"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/report"
)

// The use cases of the history commands, beside the engine: each reads
// (or, for a baseline, writes) the store and returns what the command
// shows. None calls an API.

// Findings lists the stored findings (open ones, or all with all) as
// `driftd findings` shows them, sorted by integration and check. An open
// finding that an active suppression covers is "suppressed".
func Findings(ctx context.Context, st *store.Store, cfg *config.Config, all bool, now time.Time) (report.FindingsDocument, error) {
	stored, err := st.Findings(ctx, all)
	if err != nil {
		return report.FindingsDocument{}, err
	}
	doc := report.FindingsDocument{Findings: make([]report.StoredFinding, 0, len(stored))}
	for _, f := range stored {
		j := report.StoredFinding{Fingerprint: f.Fingerprint, CheckID: f.CheckID, Severity: f.Severity.String(), Integration: f.Integration,
			FirstSeen: f.FirstSeen, LastSeen: f.LastSeen, ResolvedAt: f.ResolvedAt, Message: f.Message, Expected: f.Expected,
			Actual: f.Actual, Occurrences: f.Occurrences, Changes: f.Changes}
		j.Resource.Side, j.Resource.Kind, j.Resource.ID, j.Resource.Name = string(f.Resource.Side), f.Resource.Kind, f.Resource.ID, f.Resource.Name
		j.State, j.Suppressed = displayState(f, cfg, now)
		doc.Findings = append(doc.Findings, j)
	}
	sort.SliceStable(doc.Findings, func(i, j int) bool {
		a, b := doc.Findings[i], doc.Findings[j]
		if a.Integration != b.Integration {
			return a.Integration < b.Integration
		}
		return a.CheckID < b.CheckID
	})
	return doc, nil
}

// displayState is open, resolved or suppressed, and the suppression's
// reason.
func displayState(f store.Finding, cfg *config.Config, now time.Time) (string, string) {
	if f.State != store.StateOpen {
		return f.State, ""
	}
	if s := audit.SuppressionFor(cfg.Suppress, f.Finding, now); s != nil {
		return "suppressed", s.Reason
	}
	return store.StateOpen, ""
}

// Status gathers `driftd status`: the last runs, the open findings by
// severity, pending notifications by route and the approved baselines.
func Status(ctx context.Context, st *store.Store, cfg *config.Config, runs int, now time.Time) (report.Status, error) {
	out := report.Status{StatePath: st.Path(), OpenBy: map[string]int{}}
	recent, err := st.Runs(ctx, runs)
	if err != nil {
		return out, err
	}
	for _, r := range recent {
		out.Runs = append(out.Runs, report.RunSummary{ID: r.ID, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Status: r.Status, Error: r.Error,
			Trigger: r.Trigger, Findings: r.Findings, Opened: r.Opened, Resolved: r.Resolved, Gaps: r.Gaps, APIRequests: r.APIRequests})
	}
	findings, err := st.Findings(ctx, false)
	if err != nil {
		return out, err
	}
	for _, f := range findings {
		if state, _ := displayState(f, cfg, now); state == "suppressed" {
			out.Suppressed++
			continue
		}
		out.OpenFindings++
		out.OpenBy[f.Severity.String()]++
	}
	pending, err := st.Pending(ctx)
	if err != nil {
		return out, err
	}
	routes, byRoute := store.ByRoute(pending)
	for _, route := range routes {
		items := byRoute[route]
		oldest := items[0]
		out.Pending = append(out.Pending, report.PendingRoute{Route: route, Count: len(items), Since: oldest.CreatedAt,
			Attempts: oldest.Attempts, LastError: oldest.LastError, Permanent: oldest.Permanent})
	}
	baselines, err := st.Baselines(ctx)
	if err != nil {
		return out, err
	}
	for name, b := range baselines {
		out.Baselines = append(out.Baselines, report.BaselineInfo{Integration: name, RunID: b.RunID, ApprovedAt: b.ApprovedAt})
	}
	sort.Slice(out.Baselines, func(i, j int) bool { return out.Baselines[i].Integration < out.Baselines[j].Integration })
	return out, nil
}

// DiffRuns is the field-level difference between two stored runs.
func DiffRuns(ctx context.Context, st *store.Store, a, b int64) ([]drift.Change, error) {
	snapA, err := st.Snapshot(ctx, a)
	if err != nil {
		return nil, err
	}
	snapB, err := st.Snapshot(ctx, b)
	if err != nil {
		return nil, err
	}
	return sortedChanges(drift.Snapshots(snapA, snapB)), nil
}

// DiffBaseline compares the approved baselines (of one integration, or
// all when integration is "") with a run (0: the latest with a snapshot).
func DiffBaseline(ctx context.Context, st *store.Store, run int64, integration string) ([]drift.Change, error) {
	var err error
	if run == 0 {
		if run, err = st.LatestSnapshotRun(ctx); err != nil {
			return nil, err
		}
	}
	current, err := st.Snapshot(ctx, run)
	if err != nil {
		return nil, err
	}
	baselines, err := st.Baselines(ctx)
	if err != nil {
		return nil, err
	}
	if len(baselines) == 0 {
		return nil, errors.New("no approved baseline yet (driftd baseline approve)")
	}
	if _, ok := baselines[integration]; integration != "" && !ok {
		return nil, fmt.Errorf("integration %q has no approved baseline (driftd baseline approve)", integration)
	}
	var changes []drift.Change
	for name, b := range baselines {
		if integration == "" || integration == name {
			changes = append(changes, drift.Integration(b.Snapshot, current, name)...)
		}
	}
	return sortedChanges(changes), nil
}

func sortedChanges(changes []drift.Change) []drift.Change {
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Integration < changes[j].Integration })
	return changes
}

// Approval is what ApproveBaseline did.
type Approval struct {
	RunID    int64
	Approved []string
	// Skipped are the integrations the run did not read completely.
	Skipped []string
}

// ApproveBaseline approves a run's snapshot (0: the latest complete run)
// as the baseline of one integration, or of every integration the run
// read completely. A snapshot with a gap is never approved: DRIFT-001
// would compare against data that was not there.
func ApproveBaseline(ctx context.Context, st *store.Store, run int64, integration string, now time.Time) (Approval, error) {
	var err error
	if run == 0 {
		if run, err = st.LatestCompleteRun(ctx); err != nil {
			return Approval{}, fmt.Errorf("%w; run driftd check --state-dir or driftd run first", err)
		}
	}
	snap, err := st.Snapshot(ctx, run)
	if err != nil {
		return Approval{}, err
	}
	out := Approval{RunID: run}
	for _, in := range snap.Integrations {
		if integration != "" && in.Name != integration {
			continue
		}
		if gaps := snap.Missing(in.Name, audit.DataKinds()...); len(gaps) > 0 {
			if integration != "" {
				return Approval{}, fmt.Errorf("run %d could not read everything for %q (%s); approve a complete run", run, in.Name, gaps[0].What)
			}
			out.Skipped = append(out.Skipped, in.Name)
			continue
		}
		out.Approved = append(out.Approved, in.Name)
	}
	if len(out.Approved) == 0 {
		if integration != "" {
			return Approval{}, fmt.Errorf("--integration: run %d has no integration %q", run, integration)
		}
		return Approval{}, fmt.Errorf("run %d has no completely read integration to approve", run)
	}
	if err := st.ApproveBaseline(ctx, run, out.Approved, now); err != nil {
		return Approval{}, err
	}
	return out, nil
}
