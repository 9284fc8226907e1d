package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/driftd/driftd/internal/drift"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/textsafe"
)

// The documents of the history commands (`driftd findings`, `status`,
// `diff`): what they show, filled from the store by the engine, and one
// writer per command and format. The JSON field names are a public
// interface.

// FindingsDocument is `driftd findings --format json`.
type FindingsDocument struct {
	Findings []StoredFinding `json:"findings"`
}

// StoredFinding is one finding with its lifecycle.
type StoredFinding struct {
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
	// State is open, resolved or suppressed (open, and covered by an
	// active suppression).
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
	// Changes are who changed the finding's objects, newest first
	// (absent when attribution found nothing).
	Changes []finding.Change `json:"changes,omitempty"`
}

// WriteFindings writes `driftd findings` as a table or JSON.
func WriteFindings(w io.Writer, doc FindingsDocument, format string) error {
	switch format {
	case "json":
		if doc.Findings == nil {
			doc.Findings = []StoredFinding{}
		}
		return writeJSON(w, doc)
	case "table":
	default:
		return formatError(format)
	}
	if len(doc.Findings) == 0 {
		_, err := fmt.Fprintln(w, "No open findings.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tSEVERITY\tCHECK\tINTEGRATION\tFIRST SEEN\tLAST SEEN\tMESSAGE")
	for _, f := range doc.Findings {
		state := f.State
		if f.ResolvedAt != nil {
			state += " " + f.ResolvedAt.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", state, f.Severity, safeName(f.CheckID), safeName(f.Integration),
			f.FirstSeen.UTC().Format("2006-01-02 15:04"), f.LastSeen.UTC().Format("2006-01-02 15:04"), safeText(f.Message))
		// Who last changed it, under the message: empty cells keep the
		// columns of the rows around it aligned.
		if shown, more := showChanges(f.Changes); len(shown) > 0 {
			line := "↳ " + textsafe.Line(shown[0].Summary)
			if more += len(shown) - 1; more > 0 {
				line += fmt.Sprintf(" (+%d more)", more)
			}
			fmt.Fprintf(tw, "\t\t\t\t\t\t%s\n", line)
		}
	}
	return tw.Flush()
}

// Status is `driftd status`: recent runs, open findings, what waits to be
// delivered, and the approved baselines.
type Status struct {
	StatePath    string         `json:"state_path"`
	Runs         []RunSummary   `json:"runs"`
	OpenFindings int            `json:"open_findings"`
	OpenBy       map[string]int `json:"open_by_severity"`
	Suppressed   int            `json:"suppressed_findings"`
	Pending      []PendingRoute `json:"pending_notifications"`
	Baselines    []BaselineInfo `json:"baselines"`
}

// RunSummary is one recorded run.
type RunSummary struct {
	ID          int64          `json:"id"`
	StartedAt   time.Time      `json:"started_at"`
	FinishedAt  time.Time      `json:"finished_at"`
	Status      string         `json:"status"`
	Error       string         `json:"error,omitempty"`
	Trigger     string         `json:"trigger"`
	Findings    int            `json:"findings"`
	Opened      int            `json:"opened"`
	Resolved    int            `json:"resolved"`
	Gaps        int            `json:"gaps"`
	APIRequests map[string]int `json:"api_requests"`
}

// PendingRoute is what waits to be delivered to one route.
type PendingRoute struct {
	Route    string    `json:"route"`
	Count    int       `json:"count"`
	Since    time.Time `json:"since"`
	Attempts int       `json:"attempts"`
	// LastError is the oldest pending message's last delivery error.
	LastError string `json:"last_error,omitempty"`
	// Permanent: the error needs an operator (a revoked token, a deleted
	// channel); it is retried hourly and after a reload.
	Permanent bool `json:"permanent,omitempty"`
}

// BaselineInfo is one integration's approved baseline.
type BaselineInfo struct {
	Integration string    `json:"integration"`
	RunID       int64     `json:"run_id"`
	ApprovedAt  time.Time `json:"approved_at"`
}

// WriteStatus writes `driftd status` as text or JSON.
func WriteStatus(w io.Writer, s Status, format string) error {
	switch format {
	case "json":
		// Empty lists are [] and {}, never null.
		if s.Runs == nil {
			s.Runs = []RunSummary{}
		}
		if s.Pending == nil {
			s.Pending = []PendingRoute{}
		}
		if s.Baselines == nil {
			s.Baselines = []BaselineInfo{}
		}
		if s.OpenBy == nil {
			s.OpenBy = map[string]int{}
		}
		return writeJSON(w, s)
	case "table":
	default:
		return formatError(format)
	}
	fmt.Fprintf(w, "State: %s\n\n", s.StatePath)
	if len(s.Runs) == 0 {
		fmt.Fprintln(w, "No runs recorded yet.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tSTARTED\tDURATION\tSTATUS\tTRIGGER\tFINDINGS\tOPENED\tRESOLVED\tGAPS\tAPI REQUESTS")
		for _, r := range s.Runs {
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
	var parts []string
	for _, sev := range []string{"critical", "high", "medium", "low"} {
		if n := s.OpenBy[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	fmt.Fprintf(w, "\nOpen findings: %d", s.OpenFindings)
	if len(parts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "; suppressed: %d\n", s.Suppressed)
	total := 0
	for _, p := range s.Pending {
		total += p.Count
	}
	fmt.Fprintf(w, "Pending notifications: %d\n", total)
	for _, p := range s.Pending {
		line := fmt.Sprintf("  %s: %d pending since %s", safeName(p.Route), p.Count, p.Since.UTC().Format("2006-01-02 15:04"))
		if p.LastError != "" {
			line += fmt.Sprintf("; last error after %d attempts: %s", p.Attempts, safeText(p.LastError))
			if p.Permanent {
				line += " (fix the route's configuration, then reload)"
			}
		}
		fmt.Fprintln(w, line)
	}
	for _, b := range s.Baselines {
		fmt.Fprintf(w, "Baseline %s: run %d, approved %s\n", safeName(b.Integration), b.RunID, b.ApprovedAt.UTC().Format("2006-01-02 15:04"))
	}
	return nil
}

// requestSummary renders API request counts as "graph 3, token 2".
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

// ChangesDocument is `driftd diff --format json`.
type ChangesDocument struct {
	Changes []Change `json:"changes"`
}

// Change is one watched field that differs.
type Change struct {
	Integration string `json:"integration"`
	Side        string `json:"side"`
	Kind        string `json:"resource_kind"`
	ID          string `json:"resource_id"`
	Name        string `json:"resource_name"`
	Field       string `json:"field"`
	Before      string `json:"before"`
	After       string `json:"after"`
}

// WriteChanges writes `driftd diff` as text or JSON.
func WriteChanges(w io.Writer, changes []drift.Change, format string) error {
	switch format {
	case "json":
		doc := ChangesDocument{Changes: []Change{}}
		for _, c := range changes {
			doc.Changes = append(doc.Changes, Change{c.Integration, string(c.Side), c.ResourceKind, c.ResourceID, c.ResourceName, c.Field, c.Before, c.After})
		}
		return writeJSON(w, doc)
	case "table":
	default:
		return formatError(format)
	}
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "No differences in the watched fields.")
		return err
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

// writeJSON writes v indented, without HTML escaping: the documents carry
// URLs and "<" in messages, not markup.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func formatError(format string) error {
	return fmt.Errorf("--format: unknown format %q (want table or json)", format)
}
