package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/snapshot"
)

// The JUnit XML the CI systems read (Azure DevOps PublishTestResults,
// GitLab artifacts:reports:junit, the GitHub test reporters): one suite
// per integration, one test case per check.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Time      string      `xml:"time,attr"`
	Cases     []junitCase `xml:"testcase"`
	SystemErr *junitText  `xml:"system-err"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure"`
	Error     *junitMessage `xml:"error"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut *junitText    `xml:"system-out"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// junitText is element text, as CDATA so a multi-line text stays
// readable (encoding/xml splits a "]]>" in it).
type junitText struct {
	Text string `xml:",cdata"`
}

func optionalText(lines []string) *junitText {
	if len(lines) == 0 {
		return nil
	}
	return &junitText{Text: xmlText(strings.Join(lines, "\n"))}
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",cdata"`
}

// WriteJUnit writes the report as JUnit XML. A check whose findings are
// all suppressed passes (the suppression is noted in its system-out), so
// the test counts agree with check's exit code.
func WriteJUnit(w io.Writer, r *Report) error {
	doc := junitSuites{Name: "driftd", Time: junitSeconds(r.Stats.DurationMS)}
	for _, in := range r.Integrations {
		s := junitSuiteOf(r, in.Name)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitSuiteOf is one integration's suite: its check results in catalog
// order (a check with findings but no result still gets a case).
func junitSuiteOf(r *Report, integration string) junitSuite {
	s := junitSuite{Name: xmlText(safeName(integration)), Timestamp: r.StartedAt.UTC().Format("2006-01-02T15:04:05"),
		Time: junitSeconds(r.Stats.DurationMS)}
	results := map[string]CheckResult{}
	var order []string
	for _, res := range r.Results {
		if res.Integration != integration {
			continue
		}
		if _, seen := results[res.CheckID]; !seen {
			order = append(order, res.CheckID)
		}
		results[res.CheckID] = res
	}
	findings := map[string][]checks.Finding{}
	for _, f := range r.Findings {
		if f.Integration == integration {
			if _, seen := results[f.CheckID]; !seen && findings[f.CheckID] == nil {
				order = append(order, f.CheckID)
			}
			findings[f.CheckID] = append(findings[f.CheckID], f)
		}
	}
	titles := map[string]string{}
	rank := map[string]int{}
	for i, c := range checks.All() {
		titles[c.ID], rank[c.ID] = c.Title, i
	}
	// Catalog order; unknown check IDs after the known ones, as found.
	sorted := make([]string, 0, len(order))
	for _, c := range checks.All() {
		if _, ok := results[c.ID]; ok || findings[c.ID] != nil {
			sorted = append(sorted, c.ID)
		}
	}
	for _, id := range order {
		if _, known := rank[id]; !known {
			sorted = append(sorted, id)
		}
	}
	for _, id := range sorted {
		c := junitCaseOf(r, integration, id, titles[id], results[id], findings[id])
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	var untied []string
	for _, g := range r.Gaps {
		if (g.Integration == integration || g.Integration == "") && !neededByACheck(g.What) {
			untied = append(untied, "could not read "+safeName(g.What)+" ("+safeName(g.Side)+"): "+safeText(g.Error))
		}
	}
	s.SystemErr = optionalText(untied)
	return s
}

// junitCaseOf is one check's test case.
func junitCaseOf(r *Report, integration, id, title string, res CheckResult, findings []checks.Finding) junitCase {
	name := safeName(id)
	if title != "" {
		name += " " + title
	}
	c := junitCase{Name: xmlText(name), Classname: xmlText(safeName(integration))}
	var open, suppressed []checks.Finding
	for _, f := range findings {
		if f.Suppression != nil {
			suppressed = append(suppressed, f)
		} else {
			open = append(open, f)
		}
	}
	var out []string
	for _, f := range suppressed {
		out = append(out, "suppressed: "+safeText(f.Message)+" — "+safeText(suppressionNote(f.Suppression)))
	}
	c.SystemOut = optionalText(out)
	switch {
	case res.Status == StatusCouldNotEvaluate:
		c.Error = &junitMessage{Message: xmlText("could not evaluate: " + safeText(res.Reason)), Text: xmlText(gapDetail(r, integration, id))}
	case res.Status == StatusNotApplicable:
		c.Skipped = &junitMessage{Message: xmlText(safeText(res.Reason))}
	case len(open) > 0 || (res.Status == StatusFail && len(suppressed) == 0):
		var b strings.Builder
		for i, f := range open {
			if i > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "[%s] %s\n", f.Severity, safeText(f.Message))
			fmt.Fprintf(&b, "  resource: %s %s (%s)\n", safeName(f.Resource.Kind), safeName(f.Resource.Name), safeName(f.Resource.ID))
			fmt.Fprintf(&b, "  expected: %s\n", safeText(f.Expected))
			fmt.Fprintf(&b, "  actual:   %s\n", safeText(f.Actual))
			shown, more := showChanges(f.Changes)
			for _, ch := range shown {
				fmt.Fprintf(&b, "  %s\n", safeText(ch.Summary))
				for _, m := range ch.Modified {
					fmt.Fprintf(&b, "    · %s\n", safeText(m))
				}
			}
			if more > 0 {
				fmt.Fprintf(&b, "  %s\n", moreChanges(more))
			}
			if f.Remediation != "" {
				fmt.Fprintf(&b, "  fix: %s\n", safeText(f.Remediation))
			}
		}
		c.Failure = &junitFailure{Message: fmt.Sprintf("%d finding(s)", len(open)), Type: xmlText(safeName(id)), Text: xmlText(b.String())}
	}
	return c
}

// gapDetail is the errors behind a check that could not be evaluated:
// the gaps of its integration on the data it needs.
func gapDetail(r *Report, integration, id string) string {
	c, ok := checks.ByID(id)
	if !ok {
		return ""
	}
	var lines []string
	for _, g := range r.Gaps {
		if g.Integration != integration && g.Integration != "" {
			continue
		}
		for _, k := range c.Needs {
			if string(k) == g.What {
				lines = append(lines, safeName(g.What)+" ("+safeName(g.Side)+"): "+safeText(g.Error))
				break
			}
		}
	}
	return strings.Join(lines, "\n")
}

// neededByACheck reports whether some check reads the data kind (an
// attribution gap, for one, makes no check unevaluable).
func neededByACheck(what string) bool {
	for _, c := range checks.All() {
		for _, k := range c.Needs {
			if k == snapshot.DataKind(what) {
				return true
			}
		}
	}
	return false
}

func junitSeconds(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }

// xmlText drops what XML 1.0 cannot carry at all, even escaped (C0
// controls but tab, newline and return; U+FFFE, U+FFFF; invalid UTF-8),
// as a last line behind the visible escaping of safeName and safeText.
// encoding/xml escapes the rest.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t', r == '\n', r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
