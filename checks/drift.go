package checks

import (
	"fmt"

	"github.com/driftd/driftd/internal/drift"
)

// securityFields are watched fields whose change alters who can sign in or
// what the app may read: they are reported as high, the rest as medium.
func securityFields() map[string]bool {
	return map[string]bool{
		"web.redirectUris": true, "spa.redirectUris": true, "publicClient.redirectUris": true,
		"requiredResourceAccess": true, "adminConsent": true, "passwordCredentials": true, "keyCredentials": true,
		"exists": true, "client_id": true, "directory_id": true, "accountEnabled": true,
		"scim_config.enabled": true, "scim_config.user_deprovision": true,
	}
}

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
		security := securityFields()
		var out Outcome
		for _, ch := range drift.Integration(in.Approved, in.Snapshot, in.Integration.Name) {
			sev := Medium
			if security[ch.Field] {
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
