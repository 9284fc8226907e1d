package engine

import (
	"context"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/attribution"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/report"
)

// attributionPlan decides, from the store, which of a run's findings the
// audit logs are asked about: those the run opens or reopens (their
// window starts with the run before; on a first run, the look-back before
// it), and those opened within the look-back whose entry has not been
// found yet (Entra's log lags by minutes), on a back-off (dueAgain). A
// finding already attributed
// shows what was found, without asking again. since is the window start
// of the findings this run opens. Without a store every finding is new.
func (e *Engine) attributionPlan(ctx context.Context, cfg *config.Config, started time.Time) (plan func(*report.Report) []attribution.Item, since time.Time, err error) {
	lookback := time.Duration(cfg.Attribution.Lookback)
	since = started.Add(-lookback)
	var previous time.Time // the start of the run before this one
	open := map[string]store.Finding{}
	if e.Store != nil {
		runs, err := e.Store.Runs(ctx, 1)
		if err != nil {
			return nil, time.Time{}, err
		}
		// The window reaches back to the run before, however long ago,
		// within the longest look-back accepted.
		if len(runs) > 0 {
			previous = runs[0].StartedAt
			if previous.After(started.Add(-time.Duration(config.MaxAttributionLookback))) {
				since = previous
			}
		}
		stored, err := e.Store.Findings(ctx, false)
		if err != nil {
			return nil, time.Time{}, err
		}
		for _, f := range stored {
			open[f.Fingerprint] = f
		}
	}
	if !cfg.Attribution.Enabled {
		return nil, since, nil
	}
	plan = func(rep *report.Report) []attribution.Item {
		var items []attribution.Item
		for i := range rep.Findings {
			f := &rep.Findings[i]
			hints, attributable := checks.AttributionOf(*f)
			if !attributable {
				continue
			}
			prev, known := open[f.Fingerprint]
			switch {
			case !known:
				items = append(items, attribution.Item{Finding: f, Since: since, Hints: hints})
			case len(prev.Changes) > 0:
				f.Changes = prev.Changes
			case !prev.AttributeSince.IsZero() && started.Sub(prev.OpenedAt) <= lookback && dueAgain(prev.OpenedAt, previous, started, lookback):
				items = append(items, attribution.Item{Finding: f, Since: prev.AttributeSince, Hints: hints})
			}
		}
		return items
	}
	return plan, since, nil
}

// dueAgain says whether a finding still awaiting its audit-log entry is
// looked up in a run that starts at now, the run before having started
// at previous: in the first run after the one that opened it, then
// whenever a point of a doubling back-off (1, 2, 4 … minutes after it
// opened, and the look-back itself) has passed since the run before. So
// a late entry is found within about twice its lag, and a finding whose
// entry never comes costs about nine lookups in two hours, whatever the
// schedule.
func dueAgain(openedAt, previous, now time.Time, lookback time.Duration) bool {
	if !previous.After(openedAt) {
		return true
	}
	passed := func(p time.Time) bool { return p.After(previous) && !p.After(now) }
	for d := time.Minute; d < lookback; d *= 2 {
		if passed(openedAt.Add(d)) {
			return true
		}
	}
	return passed(openedAt.Add(lookback))
}
