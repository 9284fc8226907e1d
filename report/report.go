// Package report defines the result of an audit run and renders it as a
// terminal table, JSON or Markdown. The JSON form is a public interface.
package report

import (
	"fmt"
	"io"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/finding"
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
)

// ParseFormat validates a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatTable, FormatJSON, FormatMarkdown:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown format %q (want table, json or markdown)", s)
}

// Options tune rendering.
type Options struct {
	// Color enables ANSI colours in the table format (only on a terminal).
	Color bool
}

// Write renders r in format f.
func Write(w io.Writer, r *Report, f Format, opts Options) error {
	switch f {
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatMarkdown:
		return WriteMarkdown(w, r)
	default:
		return WriteTable(w, r, opts)
	}
}
