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
					if f.Integration == in.Name && f.Severity == sev && f.CheckID == c.ID {
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
		for _, res := range r.Results {
			if res.Integration == in.Name && res.Status == StatusCouldNotEvaluate {
				g.CouldNotEvaluate = append(g.CouldNotEvaluate, res)
			}
		}
		out = append(out, g)
	}
	return out
}

// countBySeverity returns how many findings each severity has.
func countBySeverity(findings []checks.Finding) map[checks.Severity]int {
	out := map[checks.Severity]int{}
	for _, f := range findings {
		out[f.Severity]++
	}
	return out
}
