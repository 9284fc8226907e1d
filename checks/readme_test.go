package checks_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/report"
)

// readmePath is the README whose "What is checked" table lists the catalog.
const readmePath = "../README.md"

// catalogHeader is the header row that marks the check catalog table.
var catalogHeader = []string{"ID", "Severity", "What"}

// catalogRow is one row of the README's check catalog table.
type catalogRow struct {
	line     int // 1-based line in README.md
	id       string
	severity string
	what     string
}

// readmeCatalog finds the check catalog table in README.md by its header
// row and returns its rows.
func readmeCatalog(t *testing.T) []catalogRow {
	t.Helper()
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatalf("reading %s: %v", readmePath, err)
	}
	lines := strings.Split(string(raw), "\n")
	start := -1
	for i, l := range lines {
		if cells, ok := tableCells(l); ok && equalCells(cells, catalogHeader) {
			if start >= 0 {
				t.Fatalf("%s has two tables with the header | %s | (lines %d and %d): keep one check catalog", readmePath, strings.Join(catalogHeader, " | "), start+1, i+1)
			}
			start = i
		}
	}
	if start < 0 {
		t.Fatalf("%s has no check catalog table: no row | %s | (the test finds the table by that header row)", readmePath, strings.Join(catalogHeader, " | "))
	}
	if start+1 >= len(lines) || !regexp.MustCompile(`^\|(\s*:?-+:?\s*\|)+\s*$`).MatchString(lines[start+1]) {
		t.Fatalf("%s:%d: the check catalog header is not followed by a |---| separator row", readmePath, start+2)
	}
	var rows []catalogRow
	for i := start + 2; i < len(lines); i++ {
		cells, ok := tableCells(lines[i])
		if !ok {
			break
		}
		if len(cells) != len(catalogHeader) {
			t.Errorf("%s:%d: catalog row has %d cells, want %d (%s): %q", readmePath, i+1, len(cells), len(catalogHeader), strings.Join(catalogHeader, ", "), lines[i])
			continue
		}
		rows = append(rows, catalogRow{line: i + 1, id: strings.Trim(cells[0], "` "), severity: cells[1], what: cells[2]})
	}
	if len(rows) == 0 {
		t.Fatalf("%s:%d: the check catalog table has no rows", readmePath, start+1)
	}
	return rows
}

// tableCells splits a Markdown table row into trimmed cells. A `|`
// inside backticks does not split.
func tableCells(line string) ([]string, bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
		return nil, false
	}
	var cells []string
	var cur strings.Builder
	code := false
	for _, r := range line[1 : len(line)-1] {
		switch {
		case r == '`':
			code = !code
			cur.WriteRune(r)
		case r == '|' && !code:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(cells, strings.TrimSpace(cur.String())), true
}

func equalCells(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// severityWords are the severities a Severity cell names, in order, e.g.
// "high / medium / low" or "medium; high for …".
func severityWords(cell string) []checks.Severity {
	var out []checks.Severity
	for _, w := range strings.FieldsFunc(cell, func(r rune) bool { return r < 'a' || r > 'z' }) {
		if s, err := checks.ParseSeverity(w); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// TestReadmeCatalogMatchesRegistry fails when the "What is checked"
// table in README.md and the check registry (checks.All) drift: every
// registered check has exactly one row, no row names a check the
// registry lacks, and the Severity column agrees with the check's
// declared severity. The table has no title column (its "What" column
// is prose written for the README); the titles are compared against
// `driftd checks` in TestCatalogCommandListsEveryCheck.
func TestReadmeCatalogMatchesRegistry(t *testing.T) {
	rows := readmeCatalog(t)
	registered := map[string]checks.Check{}
	for _, c := range checks.All() {
		registered[c.ID] = c
	}
	seen := map[string]int{} // ID → line of its first row
	for _, row := range rows {
		c, ok := registered[row.id]
		if !ok {
			t.Errorf("%s:%d: the catalog table lists %s, which checks.All() does not register: remove the row, or register the check in checks/checks.go", readmePath, row.line, row.id)
			continue
		}
		if first, dup := seen[row.id]; dup {
			t.Errorf("%s:%d: %s has a second row (the first is on line %d): keep one row per check", readmePath, row.line, row.id, first)
			continue
		}
		seen[row.id] = row.line
		if row.what == "" {
			t.Errorf("%s:%d: %s: the What column is empty: say what the check finds", readmePath, row.line, row.id)
		}
		checkSeverityCell(t, row, c)
	}
	for _, c := range checks.All() {
		if _, ok := seen[c.ID]; !ok {
			t.Errorf("%s: the catalog table has no row for %s (%s, %q): add | %s | %s | … | to the table in \"What is checked\"", readmePath, c.ID, c.Severity, c.Title, c.ID, c.Severity)
		}
	}
}

// checkSeverityCell compares a row's Severity column with the check's
// declared severity (the highest it can report): the cell names only
// severities, its first is the declared one, and the rest (the lower
// severities the check also reports, e.g. "high / medium / low") are
// below it, highest first. A cell like "medium; high for …" names the
// declared severity somewhere and nothing above it.
func checkSeverityCell(t *testing.T, row catalogRow, c checks.Check) {
	t.Helper()
	want := c.Severity.String()
	words := severityWords(row.severity)
	if len(words) == 0 {
		t.Errorf("%s:%d: %s: Severity column %q names no severity: the registry declares %q (checks/*.go Severity field); write %q", readmePath, row.line, row.id, row.severity, want, want)
		return
	}
	if strings.Contains(row.severity, ";") || strings.Contains(row.severity, " for ") {
		// Free form: "medium; high for …".
		top := words[0]
		for _, w := range words {
			top = max(top, w)
		}
		if top != c.Severity {
			t.Errorf("%s:%d: %s: Severity column %q goes up to %q, the registry declares %q as the highest: make them agree (the table, or the Severity field in checks/*.go)", readmePath, row.line, row.id, row.severity, top, want)
		}
		return
	}
	// A list: "high", "high / medium / low".
	parts := strings.Split(row.severity, "/")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		s, err := checks.ParseSeverity(p)
		if err != nil {
			t.Errorf("%s:%d: %s: Severity column %q: %q is not a severity (low, medium, high, critical; separate several with \" / \")", readmePath, row.line, row.id, row.severity, p)
			return
		}
		switch {
		case i == 0 && s != c.Severity:
			t.Errorf("%s:%d: %s: Severity column %q starts with %q, the registry declares %q (the highest the check reports): write %q first, or change the Severity field in checks/*.go", readmePath, row.line, row.id, row.severity, p, want, want)
		case i > 0 && s >= words[i-1]:
			t.Errorf("%s:%d: %s: Severity column %q: list the severities highest first, each once (%q after %q)", readmePath, row.line, row.id, row.severity, p, words[i-1])
		}
	}
}

// TestCatalogCommandListsEveryCheck holds `driftd checks` (which is
// report.WriteCatalog over checks.All) to the registry and to the
// README: its table has one "ID SEVERITY TITLE" line per check, its JSON
// one entry per check with the same fields, and the README lists the
// same IDs.
func TestCatalogCommandListsEveryCheck(t *testing.T) {
	all := checks.All()
	var table bytes.Buffer
	if err := report.WriteCatalog(&table, all, "table"); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{} // ID → the rest of its line
	for _, l := range strings.Split(table.String(), "\n")[1:] {
		id, rest, _ := strings.Cut(strings.TrimSpace(l), " ")
		if id != "" {
			lines[id] = strings.TrimSpace(rest)
		}
	}
	for _, c := range all {
		rest, ok := lines[c.ID]
		if !ok {
			t.Errorf("`driftd checks` has no line for %s", c.ID)
			continue
		}
		sev, title, _ := strings.Cut(rest, " ")
		if sev != c.Severity.String() || strings.TrimSpace(title) != c.Title {
			t.Errorf("`driftd checks` line for %s is %q, want severity %q and title %q", c.ID, rest, c.Severity, c.Title)
		}
	}
	if len(lines) != len(all) {
		t.Errorf("`driftd checks` lists %d checks, the registry %d", len(lines), len(all))
	}

	var js bytes.Buffer
	if err := report.WriteCatalog(&js, all, "json"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Checks []report.CatalogEntry `json:"checks"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("`driftd checks --format json`: %v", err)
	}
	if len(doc.Checks) != len(all) {
		t.Fatalf("`driftd checks --format json` lists %d checks, the registry %d", len(doc.Checks), len(all))
	}
	for i, c := range all {
		e := doc.Checks[i]
		if e.ID != c.ID || e.Severity != c.Severity.String() || e.Title != c.Title || e.Description != c.Description || e.Remediation != c.Remediation || len(e.Needs) != len(c.Needs) {
			t.Errorf("`driftd checks --format json` entry %d is %s %s %q, want %s %s %q with the registry's description, remediation and %d needs", i, e.ID, e.Severity, e.Title, c.ID, c.Severity, c.Title, len(c.Needs))
		}
	}

	inReadme := map[string]bool{}
	for _, row := range readmeCatalog(t) {
		inReadme[row.id] = true
	}
	for id := range lines {
		if !inReadme[id] {
			t.Errorf("`driftd checks` prints %s, which the README's catalog table lacks: add its row", id)
		}
	}
}
