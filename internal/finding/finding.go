// Package finding is driftd's vocabulary: severities, findings and the
// resources they are about, check-result, integration and run statuses,
// and the lifecycle events of a finding. It is a leaf: the catalog, the
// report, the store, notifications, telemetry and the configuration all
// speak it, and it imports nothing of driftd's but the snapshot's data
// kinds and sides.
package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/snapshot"
)

// MicrosoftGraphAppID is the well-known appId of the Microsoft Graph API in
// every tenant.
const MicrosoftGraphAppID = "00000003-0000-0000-c000-000000000000"

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
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Resource kinds.
const (
	KindAppRegistration  = "app_registration"
	KindProvisioningApp  = "provisioning_app"
	KindIdentityProvider = "identity_provider"
	KindAccessPolicy     = "access_policy"
	KindAccessGroup      = "access_group"
	KindGatewayRule      = "gateway_rule"
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
	// Causes are further objects whose change would explain the finding,
	// besides its resource (a policy's finding about a deleted Entra group
	// names the group): attribution looks them up in the audit logs too.
	Causes []ObjectRef `json:"-"`
	// AuditHints, when set, replace the check's attribution hints for
	// this finding (see checks.AttributionOf).
	AuditHints []string `json:"-"`
	// Changes are the audit-log entries that say who changed the
	// finding's objects, and when, before it opened (newest first); empty
	// when attribution is off, unavailable or found nothing (yet).
	Changes []Change `json:"changes,omitempty"`
}

// ObjectRef names a directory or account object by its ID on one side.
type ObjectRef struct {
	Side snapshot.Side
	ID   string
}

// Change is one audit-log entry attributed to a finding: who changed which
// object, when and from where. Only these fields are kept — never the
// request body, never other users' activity.
type Change struct {
	// Source is the log: "entra" (directory audit) or "cloudflare"
	// (account audit log).
	Source snapshot.Side `json:"source"`
	At     time.Time     `json:"at"`
	// Activity is the log's name for what was done: "Update application",
	// "Delete group", "update".
	Activity string `json:"activity"`
	// Actor is who did it: a user principal name or email; for automation
	// the app's or API token's name.
	Actor string `json:"actor"`
	// ActorType is "user" or "app" (a service principal, an API token).
	ActorType string `json:"actor_type"`
	// ActorID is the app's appId / service principal ID or the token ID,
	// for automation; empty for a user.
	ActorID string `json:"actor_id,omitempty"`
	IP      string `json:"ip,omitempty"`
	// Target is the ID of the object the entry is about.
	Target string `json:"target"`
	// Modified lists the changed properties with their old and new values
	// when the log carries them (Entra does; Cloudflare does not).
	Modified []ModifiedProperty `json:"modified,omitempty"`
}

// ModifiedProperty is one changed property of a Change, its values
// clipped to a few hundred characters.
type ModifiedProperty struct {
	Name string `json:"name"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// Actor types of a Change.
const (
	ActorUser = "user"
	ActorApp  = "app"
)

// Summary is the one-line form the reports and messages show:
// "changed by adele@contoso.com at 2026-12-07 14:02 UTC — Update application (from 203.0.113.7)".
func (c Change) Summary() string {
	s := "changed by " + c.Actor
	switch {
	case c.ActorType == ActorApp && c.ActorID != "" && strings.HasPrefix(c.Actor, "API token "):
		s += " (token " + c.ActorID + ")"
	case c.ActorType == ActorApp && c.ActorID != "":
		s += " (app " + c.ActorID + ")"
	}
	s += " at " + c.At.UTC().Format("2006-01-02 15:04 UTC")
	if c.Activity != "" {
		s += " — " + c.Activity
	}
	if c.IP != "" {
		s += " (from " + c.IP + ")"
	}
	return s
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

// Check result statuses: every check × integration of a run has one.
const (
	StatusPass             = "pass"
	StatusFail             = "fail"
	StatusCouldNotEvaluate = "could_not_evaluate"
	StatusNotApplicable    = "not_applicable"
)

// Integration statuses: complete when everything the catalog needs was
// read, else incomplete.
const (
	Complete   = "complete"
	Incomplete = "incomplete"
)

// Run statuses: a failed run produced no report.
const (
	RunComplete   = "complete"
	RunIncomplete = "incomplete"
	RunFailed     = "failed"
)

// Lifecycle states and events of a finding.
const (
	StateOpen     = "open"
	StateResolved = "resolved"

	EventOpened   = "opened"
	EventReopened = "reopened"
	EventResolved = "resolved"
)
