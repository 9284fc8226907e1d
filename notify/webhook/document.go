// Package webhook delivers notification batches as a signed JSON document
// POSTed to a URL: the public interface through which driftd feeds
// PagerDuty, Opsgenie, a SIEM or an operator's own automation.
//
// The document's schema is versioned (Version); a change that removes or
// changes the meaning of a field raises the version. testdata/*.golden
// pins it.
package webhook

import (
	"encoding/json"
	"time"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/notify"
)

// Version is the version of the document's schema.
const Version = 1

// Document is what one POST carries: what a route is told after a run.
type Document struct {
	Version int `json:"version"`
	// Kind is "findings", "cannot_audit" or "test".
	Kind  string `json:"kind"`
	Route string `json:"route"`
	Run   Run    `json:"run"`
	// Integrations is the audit health of the integrations the route
	// covers.
	Integrations []Integration `json:"integrations"`
	// Findings that opened, were resolved or are reminded, in the order
	// driftd lists them: by integration, severity (highest first) and
	// check, opened and reminded before resolved.
	Findings []Finding `json:"findings"`
	// CannotAudit is set for kind "cannot_audit": an integration that
	// has not been fully audited for longer than the route's repeat
	// interval.
	CannotAudit *CannotAudit `json:"cannot_audit,omitempty"`
}

// Run identifies the run that caused the document (ID 0 for a test).
type Run struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
}

// Integration is one integration's audit health.
type Integration struct {
	Name string `json:"name"`
	// Status is "ok" or "incomplete".
	Status string     `json:"status"`
	Since  *time.Time `json:"since,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

// Finding is one finding and why it is sent.
type Finding struct {
	// Event is "opened", "resolved", "reminder" or "attributed": an
	// update to a finding already sent, now that the audit log says who
	// changed its objects (see Changes); not a new finding.
	Event string `json:"event"`
	// CheckID is the check that failed, e.g. "ENTRA-CRED-001".
	CheckID string `json:"check_id"`
	// Severity is "low", "medium", "high" or "critical".
	Severity    string    `json:"severity"`
	Integration string    `json:"integration"`
	Resource    Resource  `json:"resource"`
	Message     string    `json:"message"`
	Expected    string    `json:"expected"`
	Actual      string    `json:"actual"`
	Remediation string    `json:"remediation"`
	Fingerprint string    `json:"fingerprint"`
	FirstSeen   time.Time `json:"first_seen"`
	// Link opens the resource in the Entra admin center or the
	// Cloudflare dashboard; "" when there is no such page.
	Link string `json:"link"`
	// Changes are the audit-log entries saying who changed the finding's
	// objects before it opened, newest first; [] when attribution is off
	// or found nothing (yet).
	Changes []Change `json:"changes"`
}

// Change is one audit-log entry attributed to a finding.
type Change struct {
	// Source is the log: "entra" (directory audit) or "cloudflare"
	// (account audit log).
	Source string    `json:"source"`
	At     time.Time `json:"at"`
	// Activity is the log's name for what was done, e.g. "Update
	// application".
	Activity string `json:"activity"`
	// Actor is a user principal name or email, or for automation the
	// app's or API token's name.
	Actor string `json:"actor"`
	// ActorType is "user" or "app".
	ActorType string `json:"actor_type"`
	// ActorID is the app's or token's ID, for automation; "" for a user.
	ActorID string `json:"actor_id"`
	// IP is where the change came from; "" when the log does not say.
	IP string `json:"ip"`
	// Target is the ID of the object changed.
	Target string `json:"target"`
	// Modified lists the changed properties when the log carries them
	// (Entra does, Cloudflare does not); [] otherwise.
	Modified []Modified `json:"modified"`
}

// Modified is one changed property, its values clipped to a few hundred
// characters; "" for a value that was absent.
type Modified struct {
	Name string `json:"name"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// Resource is what a finding is about.
type Resource struct {
	// Side is "entra" or "cloudflare".
	Side string `json:"side"`
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CannotAudit is an integration driftd cannot fully audit, since when and
// why.
type CannotAudit struct {
	Integration string    `json:"integration"`
	Since       time.Time `json:"since"`
	Reason      string    `json:"reason"`
}

// NewDocument is the document of a batch.
func NewDocument(b notify.Batch) Document {
	doc := Document{
		Version: Version, Kind: b.Kind, Route: b.Route,
		Run:          Run{ID: b.RunID, At: b.RunAt.UTC()},
		Integrations: []Integration{},
		Findings:     []Finding{},
	}
	for _, st := range b.Integrations {
		in := Integration{Name: st.Name, Status: st.Status, Reason: st.Reason}
		if st.Since != nil {
			since := st.Since.UTC()
			in.Since = &since
		}
		doc.Integrations = append(doc.Integrations, in)
	}
	for _, it := range b.Items {
		f := it.Finding
		doc.Findings = append(doc.Findings, Finding{
			Event: it.Event, CheckID: f.CheckID, Severity: f.Severity.String(), Integration: f.Integration,
			Resource: Resource{Side: string(f.Resource.Side), Kind: f.Resource.Kind, ID: f.Resource.ID, Name: f.Resource.Name},
			Message:  f.Message, Expected: f.Expected, Actual: f.Actual, Remediation: f.Remediation,
			Fingerprint: f.Fingerprint, FirstSeen: it.FirstSeen.UTC(), Link: linkOf(f.Resource, b.AccountID),
			Changes: changes(f.Changes),
		})
	}
	if b.Kind == notify.KindCannotAudit {
		doc.CannotAudit = &CannotAudit{Integration: b.Integration, Since: b.Since.UTC(), Reason: b.Reason}
	}
	return doc
}

// changes is a finding's attribution as the document carries it: every
// list present, every time in UTC.
func changes(in []finding.Change) []Change {
	out := make([]Change, 0, len(in))
	for _, c := range in {
		ch := Change{Source: string(c.Source), At: c.At.UTC(), Activity: c.Activity, Actor: c.Actor, ActorType: c.ActorType,
			ActorID: c.ActorID, IP: c.IP, Target: c.Target, Modified: make([]Modified, 0, len(c.Modified))}
		for _, m := range c.Modified {
			ch.Modified = append(ch.Modified, Modified{Name: m.Name, Old: m.Old, New: m.New})
		}
		out = append(out, ch)
	}
	return out
}

// Render is the body POSTed for a batch: the document as compact JSON.
// It is a pure function of the batch, so a retry sends the same bytes
// (and the same signature).
func Render(b notify.Batch) ([]byte, error) {
	return json.Marshal(NewDocument(b))
}

// linkOf is the deep link of a finding's resource, without its label.
func linkOf(r finding.Resource, accountID string) string {
	url, _ := finding.Link(r, accountID)
	return url
}
