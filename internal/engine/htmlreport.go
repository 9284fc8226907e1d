package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/report"
)

// HTMLReport assembles `driftd report --html` from the store: the report
// of the latest run with a snapshot, and the last runs. The store keeps
// no full report, so it is rebuilt: the integrations and stats from the
// run, the findings from the open ones (suppressions as of now), the
// results and gaps by evaluating the run's snapshot again.
func HTMLReport(ctx context.Context, st *store.Store, cfg *config.Config, runs int, now time.Time) (report.HTMLDocument, error) {
	recent, err := st.Runs(ctx, runs)
	if err != nil {
		return report.HTMLDocument{}, err
	}
	if len(recent) == 0 {
		return report.HTMLDocument{}, errors.New("no runs recorded yet; run driftd check --state-dir or driftd run first")
	}
	id, err := st.LatestSnapshotRun(ctx)
	if err != nil {
		return report.HTMLDocument{}, err
	}
	snap, err := st.Snapshot(ctx, id)
	if err != nil {
		return report.HTMLDocument{}, err
	}
	run := store.Run{ID: id, StartedAt: snap.TakenAt, FinishedAt: snap.TakenAt}
	found := false
	for _, r := range recent {
		if r.ID == id {
			run, found = r, true
			break
		}
	}
	approved, err := approvedBaselines(ctx, st)
	if err != nil {
		return report.HTMLDocument{}, err
	}
	rep := audit.Evaluate(ctx, snap, approved)
	rep.StartedAt, rep.FinishedAt = run.StartedAt, run.FinishedAt
	rep.Stats = report.Stats{APIRequests: run.APIRequests, DurationMS: run.FinishedAt.Sub(run.StartedAt).Milliseconds()}
	// The findings are the store's open ones: their lifecycle (a
	// finding stays open until a run fully observes it gone) and who
	// changed them.
	rep.Findings = []checks.Finding{}
	audited := map[string]bool{}
	for _, in := range snap.Integrations {
		audited[in.Name] = true
	}
	if found && len(run.Integrations) > 0 {
		rep.Integrations = run.Integrations
	}
	open, err := st.Findings(ctx, false)
	if err != nil {
		return report.HTMLDocument{}, err
	}
	for _, f := range open {
		// A finding of an integration no longer audited stays open in
		// the store; the page shows the integrations of the run.
		if !audited[f.Integration] {
			continue
		}
		cf := f.Finding
		cf.Suppression = audit.SuppressionFor(cfg.Suppress, cf, now)
		rep.Findings = append(rep.Findings, cf)
	}
	doc := report.HTMLDocument{Report: rep, Snapshot: snap, Source: fmt.Sprintf("run %d from the state store", id)}
	if recent[0].ID != id {
		doc.Source += fmt.Sprintf(" (the %s run %d after it has no snapshot)", recent[0].Status, recent[0].ID)
	}
	for _, r := range recent {
		doc.Runs = append(doc.Runs, report.RunSummary{ID: r.ID, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Status: r.Status, Error: r.Error,
			Trigger: r.Trigger, Findings: r.Findings, Opened: r.Opened, Resolved: r.Resolved, Gaps: r.Gaps, APIRequests: r.APIRequests})
	}
	return doc, nil
}
