package report

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/driftd/driftd/checks"
)

// CatalogEntry is one check as `driftd checks --format json` lists it.
type CatalogEntry struct {
	ID          string   `json:"id"`
	Severity    string   `json:"severity"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Remediation string   `json:"remediation"`
	Needs       []string `json:"needs"`
}

// WriteCatalog writes the check catalog as a table or as JSON
// ({"checks": [...]}).
func WriteCatalog(w io.Writer, catalog []checks.Check, format string) error {
	switch format {
	case "json":
		out := []CatalogEntry{}
		for _, c := range catalog {
			e := CatalogEntry{ID: c.ID, Severity: c.Severity.String(), Title: c.Title, Description: c.Description, Remediation: c.Remediation}
			for _, n := range c.Needs {
				e.Needs = append(e.Needs, string(n))
			}
			out = append(out, e)
		}
		return writeJSON(w, map[string][]CatalogEntry{"checks": out})
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE")
		for _, c := range catalog {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, c.Severity, c.Title)
		}
		return tw.Flush()
	}
	return formatError(format)
}

// CheckHistoryFormat refuses a --format the history commands and the
// catalog do not have (they write table or json).
func CheckHistoryFormat(format string) error {
	if format != "table" && format != "json" {
		return formatError(format)
	}
	return nil
}
