// Package drift computes the field-level difference between two snapshots:
// the approved baseline and a later run, or any two runs.
//
// It must never report noise. Only watched fields are compared, set-like
// arrays are compared as sets, volatile data (read time, gaps, masked
// secrets) is ignored, and a field is compared only when the data it comes
// from was observed in both snapshots.
package drift

import (
	"cmp"
	"slices"
	"strings"

	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/watch"
)

// Resource kinds of a Change.
const (
	KindAppRegistration  = "app_registration"
	KindServicePrincipal = "service_principal"
	KindProvisioningApp  = "provisioning_app"
	KindIdentityProvider = "identity_provider"
	KindOrganization     = "organization"
)

// Rendered placeholders.
const (
	absent = "(absent)"
	none   = "(none)"
)

// Change is one watched field whose value differs.
type Change struct {
	Integration  string            // "" for tenant/account-wide fields
	Side         snapshot.Side     // entra | cloudflare
	Kind         snapshot.DataKind // the snapshot data the field comes from
	ResourceKind string            // "app_registration", "service_principal", "provisioning_app", "identity_provider", "organization"
	ResourceID   string            // appId / IdP id / ...
	ResourceName string            // display name (from the current snapshot when present, else the approved one)
	// Field is a stable path naming the field; it never holds values, so
	// it can be part of a fingerprint.
	Field  string
	Before string // rendered value in the approved/older snapshot ("(absent)" when missing)
	After  string // rendered value in the current/newer snapshot ("(absent)" when missing)
}

// Needs is every kind of data the comparison of c depended on. It is Kind,
// except for consent, which also needs the service principal (whose grants)
// and the Microsoft Graph service principal (which resource).
func (c Change) Needs() []snapshot.DataKind {
	if c.Kind == snapshot.EntraPermissionGrants {
		return consentKinds()
	}
	return []snapshot.DataKind{c.Kind}
}

// High reports whether c alters who can sign in or what the app may read:
// DRIFT-001 reports those changes high, the rest medium. Identity-provider
// settings say so in the watch table.
func (c Change) High() bool {
	if c.ResourceKind == KindIdentityProvider {
		if s, ok := watch.ByName(c.Field); ok {
			return s.High
		}
		return c.Field == "exists"
	}
	return highEntraFields[c.Field]
}

// highEntraFields are the sign-in-relevant Entra fields.
var highEntraFields = map[string]bool{
	"web.redirectUris": true, "spa.redirectUris": true, "publicClient.redirectUris": true,
	"requiredResourceAccess": true, "adminConsent": true, "passwordCredentials": true, "keyCredentials": true,
	"exists": true, "accountEnabled": true,
}

// Integration compares one integration's watched fields between approved
// and current. Only fields whose data kind was observed in current (no
// gap for it in current.Missing(name, kind)) are compared; a gap in
// approved suppresses the field too, since there is nothing to compare it
// against. It returns nil when either snapshot lacks the integration.
func Integration(approved, current *snapshot.Snapshot, name string) []Change {
	if approved == nil || current == nil {
		return nil
	}
	ia, ib := findIntegration(approved, name), findIntegration(current, name)
	if ia == nil || ib == nil {
		return nil
	}
	p := pair{a: approved, b: current, ia: ia, ib: ib}
	out := p.integration()
	sortChanges(out)
	return out
}

// Snapshots compares two whole snapshots: every integration present in
// both (by name), plus account-level fields (AuthDomain). A field is
// skipped when either snapshot has a gap for its kind.
func Snapshots(a, b *snapshot.Snapshot) []Change {
	if a == nil || b == nil {
		return nil
	}
	var out []Change
	seen := map[string]bool{}
	for i := range b.Integrations {
		name := b.Integrations[i].Name
		if seen[name] {
			continue
		}
		seen[name] = true
		ia := findIntegration(a, name)
		if ia == nil {
			continue
		}
		p := pair{a: a, b: b, ia: ia, ib: &b.Integrations[i]}
		out = append(out, p.integration()...)
	}
	out = append(out, organization(a, b)...)
	sortChanges(out)
	return out
}

// pair is one integration as seen by the older (a) and newer (b) snapshot.
type pair struct {
	a, b   *snapshot.Snapshot
	ia, ib *snapshot.Integration
}

func (p pair) name() string { return p.ib.Name }

// observed reports whether all kinds were read for the integration in both
// snapshots.
func (p pair) observed(kinds ...snapshot.DataKind) bool {
	return len(p.a.Missing(p.name(), kinds...)) == 0 && len(p.b.Missing(p.name(), kinds...)) == 0
}

func (p pair) integration() []Change {
	var out []Change
	out = append(out, p.application()...)
	out = append(out, p.servicePrincipal()...)
	out = append(out, p.consent()...)
	out = append(out, p.provisioning()...)
	out = append(out, p.identityProvider()...)
	return out
}

func findIntegration(s *snapshot.Snapshot, name string) *snapshot.Integration {
	for i := range s.Integrations {
		if s.Integrations[i].Name == name {
			return &s.Integrations[i]
		}
	}
	return nil
}

func sortChanges(cs []Change) {
	slices.SortFunc(cs, func(x, y Change) int {
		return cmp.Or(
			strings.Compare(x.Integration, y.Integration),
			strings.Compare(string(x.Side), string(y.Side)),
			strings.Compare(x.ResourceKind, y.ResourceKind),
			strings.Compare(x.ResourceID, y.ResourceID),
			strings.Compare(x.Field, y.Field),
		)
	})
}

// resource is the template of every Change about one resource.
type resource struct {
	integration string
	side        snapshot.Side
	kind        snapshot.DataKind
	rkind       string
	id, name    string
}

// compare appends a Change for field when before and after differ.
func (r resource) compare(out *[]Change, field string, before, after value) {
	if before.equal(after) {
		return
	}
	*out = append(*out, Change{
		Integration:  r.integration,
		Side:         r.side,
		Kind:         r.kind,
		ResourceKind: r.rkind,
		ResourceID:   r.id,
		ResourceName: r.name,
		Field:        field,
		Before:       before.String(),
		After:        after.String(),
	})
}

// firstNonEmpty returns the first non-empty string: the current snapshot's
// naming wins, the approved one fills in.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
