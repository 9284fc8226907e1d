package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/textsafe"
)

// ANSI colours, used only when Options.Color is set.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiMag    = "\x1b[35m"
	ansiGreen  = "\x1b[32m"
)

type painter bool

func (p painter) paint(code, s string) string {
	if !p {
		return s
	}
	return code + s + ansiReset
}

func severityColor(s checks.Severity) string {
	switch s {
	case checks.Critical:
		return ansiMag + ansiBold
	case checks.High:
		return ansiRed + ansiBold
	case checks.Medium:
		return ansiYellow
	}
	return ansiBlue
}

// WriteTable writes a report for a terminal, grouped by integration and
// severity.
func WriteTable(w io.Writer, r *Report, opts Options) error {
	p := painter(opts.Color)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", p.paint(ansiBold, fmt.Sprintf("driftd audit %s", r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))))
	fmt.Fprintf(&b, "%s\n", summaryLine(r))

	for _, g := range group(r) {
		status := p.paint(ansiGreen, safeName(g.Status))
		if g.Status != Complete {
			status = p.paint(ansiYellow, safeName(g.Status))
		}
		fmt.Fprintf(&b, "\n%s  (%s)\n", p.paint(ansiBold, "▸ "+safeName(g.Name)), status)
		if len(g.Severities) == 0 {
			if g.Status == Complete {
				fmt.Fprintf(&b, "  %s\n", p.paint(ansiGreen, "no findings"))
			} else {
				fmt.Fprintf(&b, "  no findings among the checks that could be evaluated\n")
			}
		}
		for _, sg := range g.Severities {
			fmt.Fprintf(&b, "  %s\n", p.paint(severityColor(sg.Severity), strings.ToUpper(sg.Severity.String())))
			for _, cg := range sg.Checks {
				fmt.Fprintf(&b, "    %s  %s\n", p.paint(ansiBold, safeName(cg.CheckID)), safeText(cg.Title))
				for _, f := range cg.Findings {
					fmt.Fprintf(&b, "      • %s\n", safeText(f.Message))
					fmt.Fprintf(&b, "        %s %s\n", p.paint(ansiDim, "expected:"), safeText(f.Expected))
					fmt.Fprintf(&b, "        %s %s\n", p.paint(ansiDim, "actual:  "), safeText(f.Actual))
					writeChangesTable(&b, p, "        ", f.Changes)
				}
				fmt.Fprintf(&b, "      %s %s\n", p.paint(ansiDim, "fix:"), safeText(cg.Remediation))
			}
		}
		if len(g.Suppressed) > 0 {
			fmt.Fprintf(&b, "  %s\n", p.paint(ansiDim, "SUPPRESSED"))
			for _, f := range g.Suppressed {
				fmt.Fprintf(&b, "    %s  %s %s\n", safeName(f.CheckID), safeText(f.Message), p.paint(ansiDim, "— "+safeText(suppressionNote(f.Suppression))))
				writeChangesTable(&b, p, "      ", f.Changes)
			}
		}
		if len(g.CouldNotEvaluate) > 0 {
			fmt.Fprintf(&b, "  %s\n", p.paint(ansiYellow, "COULD NOT EVALUATE"))
			for _, res := range g.CouldNotEvaluate {
				fmt.Fprintf(&b, "    %s  %s\n", safeName(res.CheckID), safeText(res.Reason))
			}
		}
	}

	if len(r.Gaps) > 0 {
		fmt.Fprintf(&b, "\n%s\n", p.paint(ansiYellow+ansiBold, "Could not read"))
		for _, gap := range r.Gaps {
			scope := gap.Integration
			if scope == "" {
				scope = "all integrations"
			}
			fmt.Fprintf(&b, "  %s · %s · %s: %s\n", safeName(scope), safeName(gap.Side), safeName(gap.What), safeText(gap.Error))
		}
	}
	fmt.Fprintf(&b, "\n%s\n", p.paint(ansiDim, statsLine(r)))
	_, err := io.WriteString(w, b.String())
	return err
}

// writeChangesTable writes who changed a finding's objects, one line per
// change (newest first, at most maxChangesShown) with its changed
// properties below it:
//
//	changed by adele@contoso.com at 2026-12-07 14:02 UTC — Update application (from 203.0.113.7)
//	  · web.redirectUris: ["https://a"] → ["https://b"]
//	and 1 more change
func writeChangesTable(b *strings.Builder, p painter, indent string, changes []finding.Change) {
	shown, more := showChanges(changes)
	for _, c := range shown {
		fmt.Fprintf(b, "%s%s\n", indent, textsafe.Line(c.Summary))
		for _, m := range c.Modified {
			fmt.Fprintf(b, "%s  %s %s\n", indent, p.paint(ansiDim, "·"), textsafe.Line(m))
		}
		if c.MoreModified > 0 {
			fmt.Fprintf(b, "%s  %s\n", indent, p.paint(ansiDim, "· "+moreProperties(c.MoreModified)))
		}
	}
	if more > 0 {
		fmt.Fprintf(b, "%s%s\n", indent, p.paint(ansiDim, moreChanges(more)))
	}
}

// summaryLine is e.g. "2 integrations · 14 findings (3 critical, 5 high) · audit complete".
func summaryLine(r *Report) string {
	counts, suppressed := countBySeverity(r.Findings)
	var parts []string
	for sev := checks.Critical; sev >= checks.Low; sev-- {
		if counts[sev] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[sev], sev))
		}
	}
	if suppressed > 0 {
		parts = append(parts, fmt.Sprintf("%d suppressed", suppressed))
	}
	findings := plural(len(r.Findings), "finding")
	if len(parts) > 0 {
		findings += " (" + strings.Join(parts, ", ") + ")"
	}
	state := "audit complete"
	if !r.Complete() {
		state = "audit INCOMPLETE: some data could not be read"
	}
	return fmt.Sprintf("%s · %s · %s", plural(len(r.Integrations), "integration"), findings, state)
}

func statsLine(r *Report) string {
	services := make([]string, 0, len(r.Stats.APIRequests))
	for s := range r.Stats.APIRequests {
		services = append(services, s)
	}
	sort.Strings(services)
	var parts []string
	total := 0
	for _, s := range services {
		parts = append(parts, fmt.Sprintf("%s %d", safeName(s), r.Stats.APIRequests[s]))
		total += r.Stats.APIRequests[s]
	}
	return fmt.Sprintf("%d API requests (%s) in %d ms", total, strings.Join(parts, ", "), r.Stats.DurationMS)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
