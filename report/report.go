// Package report defines the result of an audit run and renders it as a
// terminal table, JSON, Markdown, JUnit XML or a one-file HTML document.
// The JSON form is a public interface.
package report

import (
	"fmt"
	"io"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/textsafe"
)

// Version is the JSON report format version.
const Version = 1

// Integration and check result statuses (the vocabulary's).
const (
	Complete   = finding.Complete
	Incomplete = finding.Incomplete

	StatusPass             = finding.StatusPass
	StatusFail             = finding.StatusFail
	StatusCouldNotEvaluate = finding.StatusCouldNotEvaluate
	StatusNotApplicable    = finding.StatusNotApplicable
)

// Report is the outcome of one audit run.
type Report struct {
	Version      int                 `json:"version"`
	StartedAt    time.Time           `json:"started_at"`
	FinishedAt   time.Time           `json:"finished_at"`
	Integrations []IntegrationStatus `json:"integrations"`
	Findings     []checks.Finding    `json:"findings"`
	Gaps         []Gap               `json:"gaps"`
	Results      []CheckResult       `json:"results"`
	Stats        Stats               `json:"stats"`
}

// IntegrationStatus says whether everything an integration's checks need
// was read.
type IntegrationStatus struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// Gap is data that could not be read; its checks could not be evaluated.
type Gap struct {
	Integration string `json:"integration"`
	Side        string `json:"side"`
	What        string `json:"what"`
	Error       string `json:"error"`
}

// CheckResult is the status of one check for one integration.
type CheckResult struct {
	CheckID     string `json:"check_id"`
	Integration string `json:"integration"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
}

// Stats is what the run cost.
type Stats struct {
	APIRequests map[string]int `json:"api_requests"`
	DurationMS  int64          `json:"duration_ms"`
}

// Complete reports whether every integration was fully observed.
func (r *Report) Complete() bool {
	for _, in := range r.Integrations {
		if in.Status != Complete {
			return false
		}
	}
	return true
}

// CountAtOrAbove counts unsuppressed findings of at least the given
// severity.
func (r *Report) CountAtOrAbove(min checks.Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity >= min && f.Suppression == nil {
			n++
		}
	}
	return n
}

// Format names an output format.
type Format string

const (
	FormatTable    Format = "table"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
	FormatJUnit    Format = "junit"
	FormatHTML     Format = "html"
)

// ParseFormat validates a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatTable, FormatJSON, FormatMarkdown, FormatJUnit, FormatHTML:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown format %q (want table, json, markdown, junit or html)", s)
}

// Options tune rendering.
type Options struct {
	// Color enables ANSI colours in the table format (only on a terminal).
	Color bool
	// Snapshot, when set, gives the HTML format the credential timeline
	// and the Cloudflare deep links.
	Snapshot *snapshot.Snapshot
}

// Write renders r in format f.
func Write(w io.Writer, r *Report, f Format, opts Options) error {
	switch f {
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatMarkdown:
		return WriteMarkdown(w, r)
	case FormatJUnit:
		return WriteJUnit(w, r)
	case FormatHTML:
		return WriteHTML(w, HTMLDocument{Report: r, Snapshot: opts.Snapshot})
	default:
		return WriteTable(w, r, opts)
	}
}

// How much of a finding's attribution the text formats show: the newest
// changes, and of each the first changed properties; the rest is counted
// ("and 2 more changes"). The JSON report carries all of them.
const (
	maxChangesShown  = 3
	maxModifiedShown = 5
)

// shownChange is a change as the table and Markdown show it: its
// summary and changed properties ("name: old → new"), each value capped
// but not yet escaped — that is each writer's job.
type shownChange struct {
	Summary      string
	Modified     []string
	MoreModified int
}

// showChanges returns the changes a text format shows (newest first, as
// the finding holds them) and how many more there are.
func showChanges(changes []finding.Change) ([]shownChange, int) {
	n := min(len(changes), maxChangesShown)
	out := make([]shownChange, 0, n)
	for _, c := range changes[:n] {
		c.Actor = textsafe.Clip(c.Actor, textsafe.MaxName)
		c.ActorID = textsafe.Clip(c.ActorID, textsafe.MaxName)
		c.Activity = textsafe.Clip(c.Activity, textsafe.MaxName)
		c.IP = textsafe.Clip(c.IP, textsafe.MaxName)
		sc := shownChange{Summary: c.Summary()}
		for i, m := range c.Modified {
			if i == maxModifiedShown {
				sc.MoreModified = len(c.Modified) - maxModifiedShown
				break
			}
			sc.Modified = append(sc.Modified, textsafe.Clip(m.Name, textsafe.MaxName)+": "+changeValue(m.Old)+" → "+changeValue(m.New))
		}
		out = append(out, sc)
	}
	return out, len(changes) - n
}

// changeValue is a changed property's old or new value, capped; an
// absent one shows as "(none)".
func changeValue(v string) string {
	if v == "" {
		return "(none)"
	}
	return textsafe.Clip(v, textsafe.MaxText)
}

// moreChanges is "and 1 more change", "and 3 more changes".
func moreChanges(n int) string {
	if n == 1 {
		return "and 1 more change"
	}
	return fmt.Sprintf("and %d more changes", n)
}

// moreProperties is "and 1 more property", "and 3 more properties".
func moreProperties(n int) string {
	if n == 1 {
		return "and 1 more property"
	}
	return fmt.Sprintf("and %d more properties", n)
}
