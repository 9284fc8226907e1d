package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/textsafe"
)

// WriteMarkdown writes the report as GitHub-flavoured Markdown, e.g. for a
// CI job summary or a ticket.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# driftd audit %s\n\n", r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(&b, "%s\n", summaryLine(r))
	for _, g := range group(r) {
		fmt.Fprintf(&b, "\n## %s (%s)\n\n", mdName(g.Name), mdName(g.Status))
		if len(g.Severities) == 0 {
			b.WriteString("No findings.\n")
		}
		for _, sg := range g.Severities {
			fmt.Fprintf(&b, "### %s\n\n", strings.ToUpper(sg.Severity.String()))
			for _, cg := range sg.Checks {
				fmt.Fprintf(&b, "#### %s — %s\n\n", mdName(cg.CheckID), mdText(cg.Title))
				b.WriteString("| Finding | Expected | Actual |\n|---|---|---|\n")
				for _, f := range cg.Findings {
					fmt.Fprintf(&b, "| %s | %s | %s |\n", mdText(f.Message), mdText(f.Expected), mdText(f.Actual))
				}
				writeChangesMarkdown(&b, cg.Findings)
				fmt.Fprintf(&b, "\n**Fix:** %s\n\n", mdText(cg.Remediation))
			}
		}
		if len(g.Suppressed) > 0 {
			b.WriteString("### Suppressed\n\n")
			for _, f := range g.Suppressed {
				fmt.Fprintf(&b, "- %s: %s — %s\n", mdName(f.CheckID), mdText(f.Message), mdText(suppressionNote(f.Suppression)))
				writeChangeItems(&b, "  ", f.Changes)
			}
			b.WriteString("\n")
		}
		if len(g.CouldNotEvaluate) > 0 {
			b.WriteString("### Could not evaluate\n\n")
			for _, res := range g.CouldNotEvaluate {
				fmt.Fprintf(&b, "- %s: %s\n", mdName(res.CheckID), mdText(res.Reason))
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
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdName(scope), mdName(gap.Side), mdName(gap.What), mdText(gap.Error))
		}
	}
	fmt.Fprintf(&b, "\n_%s_\n", mdEscape(statsLine(r)))
	_, err := io.WriteString(w, b.String())
	return err
}

// writeChangesMarkdown writes, below a check's table, who changed the
// objects of its findings: per finding with changes, a list item naming
// the resource and one per change (newest first, at most
// maxChangesShown), its changed properties nested below.
func writeChangesMarkdown(b *strings.Builder, findings []checks.Finding) {
	started := false
	for _, f := range findings {
		if len(f.Changes) == 0 {
			continue
		}
		if !started {
			b.WriteString("\n**Changes:**\n\n")
			started = true
		}
		name := f.Resource.Name
		if name == "" {
			name = f.Resource.ID
		}
		fmt.Fprintf(b, "- %s\n", mdName(name))
		writeChangeItems(b, "  ", f.Changes)
	}
}

// writeChangeItems writes a finding's changes as list items at indent.
func writeChangeItems(b *strings.Builder, indent string, changes []finding.Change) {
	shown, more := showChanges(changes)
	for _, c := range shown {
		fmt.Fprintf(b, "%s- %s\n", indent, mdEscape(textsafe.Line(c.Summary)))
		for _, m := range c.Modified {
			fmt.Fprintf(b, "%s  - %s\n", indent, mdEscape(textsafe.Line(m)))
		}
		if c.MoreModified > 0 {
			fmt.Fprintf(b, "%s  - %s\n", indent, moreProperties(c.MoreModified))
		}
	}
	if more > 0 {
		fmt.Fprintf(b, "%s- %s\n", indent, moreChanges(more))
	}
}

// mdName and mdText are a value from API data in Markdown: capped,
// control characters escaped (so it stays on its line and in its cell),
// and Markdown syntax shown literally.
func mdName(s string) string { return mdEscape(safeName(s)) }
func mdText(s string) string { return mdEscape(safeText(s)) }

// mdEscape shows Markdown and HTML syntax literally, in running text and
// in table cells ("|"), so data can neither format, link, embed an image
// nor end a cell.
func mdEscape(s string) string {
	return mdReplacer.Replace(s)
}

var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "|", `\|`,
	"~", `\~`, "&", "&amp;", "<", "&lt;", ">", "&gt;",
)
