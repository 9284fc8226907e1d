package report

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the report as GitHub-flavoured Markdown, e.g. for a
// CI job summary or a ticket.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# driftd audit %s\n\n", r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(&b, "%s\n", summaryLine(r))
	for _, g := range group(r) {
		fmt.Fprintf(&b, "\n## %s (%s)\n\n", mdEscape(g.Name), g.Status)
		if len(g.Severities) == 0 {
			b.WriteString("No findings.\n")
		}
		for _, sg := range g.Severities {
			fmt.Fprintf(&b, "### %s\n\n", strings.ToUpper(sg.Severity.String()))
			for _, cg := range sg.Checks {
				fmt.Fprintf(&b, "#### %s — %s\n\n", cg.CheckID, mdEscape(cg.Title))
				b.WriteString("| Finding | Expected | Actual |\n|---|---|---|\n")
				for _, f := range cg.Findings {
					fmt.Fprintf(&b, "| %s | %s | %s |\n", mdCell(f.Message), mdCell(f.Expected), mdCell(f.Actual))
				}
				fmt.Fprintf(&b, "\n**Fix:** %s\n\n", mdEscape(cg.Remediation))
			}
		}
		if len(g.Suppressed) > 0 {
			b.WriteString("### Suppressed\n\n")
			for _, f := range g.Suppressed {
				fmt.Fprintf(&b, "- %s: %s — %s\n", f.CheckID, mdEscape(f.Message), mdEscape(suppressionNote(f.Suppression)))
			}
			b.WriteString("\n")
		}
		if len(g.CouldNotEvaluate) > 0 {
			b.WriteString("### Could not evaluate\n\n")
			for _, res := range g.CouldNotEvaluate {
				fmt.Fprintf(&b, "- %s: %s\n", res.CheckID, mdEscape(res.Reason))
			}
		}
	}
	if len(r.Gaps) > 0 {
		b.WriteString("\n## Could not read\n\n| Integration | Side | What | Error |\n|---|---|---|---|\n")
		for _, gap := range r.Gaps {
			scope := gap.Integration
			if scope == "" {
				scope = "all"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(scope), gap.Side, gap.What, mdCell(gap.Error))
		}
	}
	fmt.Fprintf(&b, "\n_%s_\n", statsLine(r))
	_, err := io.WriteString(w, b.String())
	return err
}

// mdCell makes text safe inside a table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(mdEscape(s), "|", `\|`)
}

func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}
