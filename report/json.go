package report

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report as indented JSON (format version 1). A
// finding's attribution is its "changes" list (absent when there is
// none), every entry in full: the text formats show at most three.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Remediation texts contain ">" breadcrumbs; keep them readable.
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
