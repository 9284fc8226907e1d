// Package checks holds driftd's check catalog. Each check is metadata plus
// a pure function of the snapshot: no I/O and no clock (the run's time is
// in the snapshot), so the same snapshot always gives the same findings.
package checks

import (
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
)

// The vocabulary lives in internal/finding; these names keep the
// catalog's code short.
type (
	Severity    = finding.Severity
	Resource    = finding.Resource
	Finding     = finding.Finding
	Suppression = finding.Suppression
)

const (
	Low      = finding.Low
	Medium   = finding.Medium
	High     = finding.High
	Critical = finding.Critical

	KindAppRegistration  = finding.KindAppRegistration
	KindProvisioningApp  = finding.KindProvisioningApp
	KindIdentityProvider = finding.KindIdentityProvider
)

// ParseSeverity reads "low", "medium", "high" or "critical".
func ParseSeverity(name string) (Severity, error) { return finding.ParseSeverity(name) }

// Fingerprint derives a finding's identity from what it is about (see
// finding.Fingerprint).
func Fingerprint(checkID, integration string, r Resource, setting string) string {
	return finding.Fingerprint(checkID, integration, r, setting)
}

// Input is what a check evaluates: the whole snapshot and one integration.
type Input struct {
	Snapshot    *snapshot.Snapshot
	Integration *snapshot.Integration
	// Approved is the integration's approved baseline snapshot, or nil.
	Approved *snapshot.Snapshot
}

// Outcome is what a check returns for one integration. NotApplicable, when
// set, says why the check does not apply (and Findings is empty).
type Outcome struct {
	Findings      []Finding
	NotApplicable string
}

// Check is one entry of the catalog.
type Check struct {
	ID          string
	Title       string
	Severity    Severity // the highest severity it can report
	Description string
	Remediation string
	// Needs lists the data the check reads; if any of it could not be
	// read, the check is not run and reports "could not evaluate".
	Needs    []snapshot.DataKind
	Evaluate func(Input) Outcome
}

// finding fills the fields every finding of c shares.
func (c Check) finding(in Input, sev Severity, r Resource, setting, message, expected, actual string) Finding {
	return Finding{
		CheckID:     c.ID,
		Severity:    sev,
		Integration: in.Integration.Name,
		Resource:    r,
		Setting:     setting,
		Message:     message,
		Expected:    expected,
		Actual:      actual,
		Remediation: c.Remediation,
		Fingerprint: Fingerprint(c.ID, in.Integration.Name, r, setting),
		Needs:       c.Needs,
	}
}

// All returns the catalog in a fixed order.
func All() []Check {
	return []Check{
		permissionConfigured(),
		permissionConsented(),
		permissionExtra(),
		secretExpiry(),
		certificateExpiry(),
		secretLifetime(),
		secretValid(),
		redirectURI(),
		servicePrincipalEnabled(),
		signInAudience(),
		implicitGrant(),
		appOwners(),
		emailClaim(),
		customClaims(),
		scimRequiredMapping(),
		scimRecommendedMappings(),
		scimJobRunning(),
		scimJobFailing(),
		scimNobodyAssigned(),
		scimNotReachingCloudflare(),
		premiumLicense(),
		idpExists(),
		idpMatchesEntra(),
		idpBaseline(),
		scimBaseline(),
		scimGroups(),
		driftFromBaseline(),
		policyGroupMissing(),
		policyGroupsNotSent(),
		policyGroupEmpty(),
		policyUnknownIdP(),
	}
}

// ByID returns the check with the given ID.
func ByID(id string) (Check, bool) {
	for _, c := range All() {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}
