package store

import (
	"sort"
	"time"

	"github.com/driftd/driftd/checks"
	vocab "github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/report"
)

// Finding states as stored, and transition kinds of a finding in one run
// (the vocabulary's).
const (
	StateOpen     = vocab.StateOpen
	StateResolved = vocab.StateResolved

	EventOpened   = vocab.EventOpened
	EventReopened = vocab.EventReopened
	EventResolved = vocab.EventResolved
)

// Finding is a finding's stored lifecycle.
type Finding struct {
	checks.Finding
	State       string
	FirstSeen   time.Time
	LastSeen    time.Time
	ResolvedAt  *time.Time
	Occurrences int
	Reopened    int
	LastRunID   int64
	// OpenedAt is when the current episode opened (the last opened or
	// reopened event); AttributeSince where its attribution window
	// starts. Both are zero for findings stored before attribution.
	OpenedAt       time.Time
	AttributeSince time.Time
}

// Transition is one lifecycle change decided for a run.
type Transition struct {
	Event   string
	Finding Finding
}

// Evaluation is what a run observed, as the lifecycle needs it.
type Evaluation struct {
	At       time.Time
	Findings []checks.Finding
	Results  []report.CheckResult
	Snapshot *snapshot.Snapshot
	// AttributeSince is the attribution window start of the findings the
	// run opens or reopens.
	AttributeSince time.Time
}

// observed reports whether the run fully observed what f was derived
// from: its check was evaluated for its integration (passed or failed)
// and none of the data the finding needs had a gap. Only then may the
// finding's absence resolve it.
func (e Evaluation) observed(f checks.Finding) bool {
	evaluated := false
	for _, r := range e.Results {
		if r.CheckID == f.CheckID && r.Integration == f.Integration {
			evaluated = r.Status == report.StatusPass || r.Status == report.StatusFail
			break
		}
	}
	if !evaluated {
		return false
	}
	if e.Snapshot == nil {
		return false
	}
	return len(e.Snapshot.Missing(f.Integration, f.Needs...)) == 0
}

// decide is the lifecycle as a pure function: given the stored findings
// (by fingerprint) and a run's evaluation, it returns the new state of
// every finding that changes or is seen again, and the transitions.
// Findings seen again are returned with updated fields but no transition.
func decide(stored map[string]Finding, e Evaluation, runID int64) (updated []Finding, transitions []Transition) {
	seen := map[string]bool{}
	for _, f := range e.Findings {
		if seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		prev, known := stored[f.Fingerprint]
		next := Finding{Finding: f, State: StateOpen, FirstSeen: e.At, LastSeen: e.At, Occurrences: 1, LastRunID: runID,
			OpenedAt: e.At, AttributeSince: e.AttributeSince}
		switch {
		case !known:
			transitions = append(transitions, Transition{Event: EventOpened, Finding: next})
		case prev.State == StateResolved:
			next.FirstSeen, next.Occurrences, next.Reopened = prev.FirstSeen, prev.Occurrences+1, prev.Reopened+1
			transitions = append(transitions, Transition{Event: EventReopened, Finding: next})
		default:
			next.FirstSeen, next.Occurrences, next.Reopened = prev.FirstSeen, prev.Occurrences+1, prev.Reopened
			// Still the same episode: its window and what was
			// attributed to it stay, unless this run attributed it.
			next.OpenedAt, next.AttributeSince = prev.OpenedAt, prev.AttributeSince
			if next.OpenedAt.IsZero() {
				next.OpenedAt = prev.FirstSeen
			}
			if len(next.Changes) == 0 {
				next.Changes = prev.Changes
			}
		}
		updated = append(updated, next)
	}
	for fp, prev := range stored {
		if seen[fp] || prev.State != StateOpen || !e.observed(prev.Finding) {
			continue
		}
		resolved := prev
		at := e.At
		resolved.State, resolved.ResolvedAt, resolved.LastRunID = StateResolved, &at, runID
		updated = append(updated, resolved)
		transitions = append(transitions, Transition{Event: EventResolved, Finding: resolved})
	}
	// Map iteration order must not leak into what is stored or sent.
	sort.Slice(updated, func(i, j int) bool { return updated[i].Fingerprint < updated[j].Fingerprint })
	sort.SliceStable(transitions, func(i, j int) bool { return transitions[i].Finding.Fingerprint < transitions[j].Finding.Fingerprint })
	return updated, transitions
}
