package report

import (
	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/textsafe"
)

// ClipFinding returns f with the text it carries from API data capped at
// textsafe.MaxName (resource id, kind and name) and textsafe.MaxText
// (message, expected, actual, remediation) characters, each cut value
// ending in "…(truncated, N characters)". Identity fields (check,
// integration, setting, fingerprint) are left alone, so the fingerprint
// stays the same. Nothing is escaped: that is each writer's job.
func ClipFinding(f checks.Finding) checks.Finding {
	f.Resource.ID = textsafe.Clip(f.Resource.ID, textsafe.MaxName)
	f.Resource.Kind = textsafe.Clip(f.Resource.Kind, textsafe.MaxName)
	f.Resource.Name = textsafe.Clip(f.Resource.Name, textsafe.MaxName)
	f.Message = textsafe.Clip(f.Message, textsafe.MaxText)
	f.Expected = textsafe.Clip(f.Expected, textsafe.MaxText)
	f.Actual = textsafe.Clip(f.Actual, textsafe.MaxText)
	f.Remediation = textsafe.Clip(f.Remediation, textsafe.MaxText)
	return f
}

// ClipGap returns g with its error capped at textsafe.MaxText characters.
func ClipGap(g Gap) Gap {
	g.What = textsafe.Clip(g.What, textsafe.MaxName)
	g.Error = textsafe.Clip(g.Error, textsafe.MaxText)
	return g
}

// safeName and safeText are a value from API data as the text formats
// show it: capped, and with control characters escaped.
func safeName(s string) string { return textsafe.Field(s, textsafe.MaxName) }
func safeText(s string) string { return textsafe.Field(s, textsafe.MaxText) }
