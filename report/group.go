package report

import (
	"github.com/driftd/driftd/checks"
)

// checkGroup is the findings of one check within one severity.
type checkGroup struct {
	CheckID     string
	Title       string
	Remediation string
	Findings    []checks.Finding
}

// severityGroup is the findings of one severity within one integration.
type severityGroup struct {
	Severity checks.Severity
	Checks   []checkGroup
}

// integrationGroup is everything the text formats show per integration.
type integrationGroup struct {
	Name             string
	Status           string
	Severities       []severityGroup
	Suppressed       []checks.Finding
	CouldNotEvaluate []CheckResult
}

// group arranges findings by integration (in report order), severity
// (highest first) and check (catalog order).
func group(r *Report) []integrationGroup {
	var out []integrationGroup
	for _, in := range r.Integrations {
		g := integrationGroup{Name: in.Name, Status: in.Status}
		for sev := checks.Critical; sev >= checks.Low; sev-- {
			sg := severityGroup{Severity: sev}
			for _, c := range checks.All() {
				cg := checkGroup{CheckID: c.ID, Title: c.Title, Remediation: c.Remediation}
				for _, f := range r.Findings {
					if f.Integration == in.Name && f.Severity == sev && f.CheckID == c.ID && f.Suppression == nil {
						cg.Findings = append(cg.Findings, f)
						if f.Remediation != "" {
							cg.Remediation = f.Remediation
						}
					}
				}
				if len(cg.Findings) > 0 {
					sg.Checks = append(sg.Checks, cg)
				}
			}
			if len(sg.Checks) > 0 {
				g.Severities = append(g.Severities, sg)
			}
		}
		for _, f := range r.Findings {
			if f.Integration == in.Name && f.Suppression != nil {
				g.Suppressed = append(g.Suppressed, f)
			}
		}
		for _, res := range r.Results {
			if res.Integration == in.Name && res.Status == StatusCouldNotEvaluate {
				g.CouldNotEvaluate = append(g.CouldNotEvaluate, res)
			}
		}
		out = append(out, g)
	}
	return out
}

// countBySeverity returns how many unsuppressed findings each severity
// has, and how many are suppressed.
func countBySeverity(findings []checks.Finding) (map[checks.Severity]int, int) {
	out, suppressed := map[checks.Severity]int{}, 0
	for _, f := range findings {
		if f.Suppression != nil {
			suppressed++
			continue
		}
		out[f.Severity]++
	}
	return out, suppressed
}

// suppressionNote renders why and until when a finding is suppressed.
func suppressionNote(s *checks.Suppression) string {
	note := s.Reason
	if s.Expires != nil {
		note += " (until " + s.Expires.UTC().Format("2006-01-02") + ")"
	}
	return note
}
