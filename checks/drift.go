package checks

import (
	"fmt"

	"github.com/driftd/driftd/internal/drift"
)

func driftFromBaseline() Check {
	c := Check{
		ID:       "DRIFT-001",
		Title:    "Watched setting changed since the approved baseline",
		Severity: High,
		Description: "A watched field of either side (redirect URIs, permissions and consent, credentials, SCIM mappings, " +
			"identity-provider and SCIM settings) differs from the snapshot the security team approved with " +
			"`driftd baseline approve`. One finding per changed field, with the approved and the current value.",
		Remediation: "If the change was not intended, set the field back in the Entra admin center or the Zero Trust dashboard. " +
			"If it was approved, record the new state as the baseline: driftd baseline approve --integration <name>.",
		// Each change carries the data it needs; the check itself runs
		// whenever a baseline exists and skips fields it could not read.
		Needs: nil,
	}
	c.Evaluate = func(in Input) Outcome {
		if in.Approved == nil {
			return Outcome{NotApplicable: "no approved baseline (driftd baseline approve)"}
		}
		var out Outcome
		for _, ch := range drift.Integration(in.Approved, in.Snapshot, in.Integration.Name) {
			sev := Medium
			if ch.High() {
				sev = High
			}
			r := Resource{Side: ch.Side, Kind: ch.ResourceKind, ID: ch.ResourceID, Name: ch.ResourceName}
			f := c.finding(in, sev, r, ch.Field,
				fmt.Sprintf("%s of %s %q changed since the baseline approved from the run of %s", ch.Field, ch.ResourceKind, ch.ResourceName, in.Approved.TakenAt.UTC().Format("2006-01-02 15:04 UTC")),
				ch.Before, ch.After)
			f.Needs = ch.Needs()
			out.Findings = append(out.Findings, f)
		}
		return out
	}
	return c
}
