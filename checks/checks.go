// Package checks holds driftd's check catalog. Each check is metadata plus
// a pure function of the snapshot: no I/O and no clock (the run's time is
// in the snapshot), so the same snapshot always gives the same findings.
package checks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/snapshot"
)

// Severity orders findings; the zero value is invalid.
type Severity int

const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

var severityNames = [...]string{Low: "low", Medium: "medium", High: "high", Critical: "critical"}

func (s Severity) String() string {
	if s < Low || s > Critical {
		return "unknown"
	}
	return severityNames[s]
}

// ParseSeverity reads "low", "medium", "high" or "critical".
func ParseSeverity(name string) (Severity, error) {
	for s := Low; s <= Critical; s++ {
		if strings.EqualFold(name, severityNames[s]) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want low, medium, high or critical)", name)
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Resource identifies what a finding is about.
type Resource struct {
	Side snapshot.Side `json:"side"`
	// Kind is e.g. "app_registration", "provisioning_app", "identity_provider".
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Resource kinds.
const (
	KindAppRegistration  = "app_registration"
	KindProvisioningApp  = "provisioning_app"
	KindIdentityProvider = "identity_provider"
)

// Finding is one failed expectation.
type Finding struct {
	CheckID     string   `json:"check_id"`
	Severity    Severity `json:"severity"`
	Integration string   `json:"integration"`
	Resource    Resource `json:"resource"`
	// Setting names what within the resource is wrong (a permission, a
	// credential's keyId, an IdP setting); it feeds the fingerprint.
	Setting     string `json:"-"`
	Message     string `json:"message"`
	Expected    string `json:"expected"`
	Actual      string `json:"actual"`
	Remediation string `json:"remediation"`
	Fingerprint string `json:"fingerprint"`
	// Suppression is set when a configured suppression covers the finding.
	Suppression *Suppression `json:"suppression,omitempty"`
	// Needs is the data the finding was derived from: it resolves only in
	// a run that read all of it.
	Needs []snapshot.DataKind `json:"-"`
}

// Suppression records why a finding is accepted and until when.
type Suppression struct {
	Reason  string     `json:"reason"`
	Expires *time.Time `json:"expires,omitempty"`
}

// Fingerprint derives a finding's identity from what it is about, never
// from its text or the time, so it is stable across runs.
func Fingerprint(checkID, integration string, r Resource, setting string) string {
	h := sha256.New()
	for _, part := range []string{checkID, integration, string(r.Side), r.Kind, strings.ToLower(r.ID), setting} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
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
		secretExpiry(),
		certificateExpiry(),
		redirectURI(),
		servicePrincipalEnabled(),
		scimRequiredMapping(),
		scimRecommendedMappings(),
		idpExists(),
		idpMatchesEntra(),
		idpBaseline(),
		scimBaseline(),
		driftFromBaseline(),
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
