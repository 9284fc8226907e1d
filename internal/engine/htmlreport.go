package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/report"
)

// HTMLReport assembles `driftd report --html` from the store: the report
// of the latest run with a snapshot, and the last runs. The store keeps
// no full report, so it is rebuilt: the integrations and stats from the
// run, the findings from the open ones (suppressions as of now), the
// gaps and the checks that could not be evaluated from the snapshot.
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
	rep := &report.Report{Version: report.Version, StartedAt: run.StartedAt, FinishedAt: run.FinishedAt, Findings: []checks.Finding{},
		Gaps: []report.Gap{}, Results: []report.CheckResult{},
		Stats: report.Stats{APIRequests: run.APIRequests, DurationMS: run.FinishedAt.Sub(run.StartedAt).Milliseconds()}}
	audited := map[string]bool{}
	for _, in := range snap.Integrations {
		status := report.Complete
		if len(snap.Missing(in.Name, audit.DataKinds()...)) > 0 {
			status = report.Incomplete
		}
		rep.Integrations = append(rep.Integrations, report.IntegrationStatus{Name: in.Name, Status: status})
		audited[in.Name] = true
		for _, c := range checks.All() {
			if gaps := snap.Missing(in.Name, c.Needs...); len(gaps) > 0 {
				rep.Results = append(rep.Results, report.CheckResult{CheckID: c.ID, Integration: in.Name, Status: report.StatusCouldNotEvaluate,
					Reason: "could not read " + gapKindsOf(gaps)})
			}
		}
	}
	if found && len(run.Integrations) > 0 {
		rep.Integrations = run.Integrations
	}
	for _, g := range snap.Gaps {
		rep.Gaps = append(rep.Gaps, report.ClipGap(report.Gap{Integration: g.Integration, Side: string(g.Side), What: string(g.What), Error: g.Error}))
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

// gapKindsOf names the data kinds of gaps once each, as the audit's
// "could not read …" reason does.
func gapKindsOf(gaps []snapshot.Gap) string {
	var kinds []string
	seen := map[snapshot.DataKind]bool{}
	for _, g := range gaps {
		if !seen[g.What] {
			seen[g.What] = true
			kinds = append(kinds, string(g.What))
		}
	}
	return strings.Join(kinds, ", ")
}
