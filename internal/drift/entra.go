package drift

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/watch"
)

// consentKinds is what the consent fields depend on: the grants, the app's
// service principal (the grants' client) and the Microsoft Graph service
// principal (the grants' resource).
func consentKinds() []snapshot.DataKind {
	return []snapshot.DataKind{snapshot.EntraPermissionGrants, snapshot.EntraServicePrincipal, snapshot.EntraGraphPermissions}
}

// microsoftGraphAppID is the well-known appId of Microsoft Graph.
const microsoftGraphAppID = watch.MicrosoftGraphAppID

// appResource is the app registration; its name prefers the registration's
// display name, then the service principal's.
func (p pair) appResource(kind snapshot.DataKind) resource {
	var idB, idA, nameB, nameA, spB, spA string
	if app := p.ib.Application; app != nil {
		idB, nameB = app.AppID, app.DisplayName
	}
	if app := p.ia.Application; app != nil {
		idA, nameA = app.AppID, app.DisplayName
	}
	if sp := p.ib.ServicePrincipal; sp != nil {
		spB = sp.DisplayName
	}
	if sp := p.ia.ServicePrincipal; sp != nil {
		spA = sp.DisplayName
	}
	return resource{
		integration: p.name(),
		side:        snapshot.SideEntra,
		kind:        kind,
		rkind:       KindAppRegistration,
		id:          firstNonEmpty(idB, idA, p.ib.EntraAppID, p.ia.EntraAppID),
		name:        firstNonEmpty(nameB, nameA, spB, spA),
	}
}

func (p pair) application() []Change {
	if !p.observed(snapshot.EntraApplication) {
		return nil
	}
	fields := []struct {
		name   string
		render func(s, other *snapshot.Snapshot, app *snapshot.Application) value
	}{
		{"displayName", func(_, _ *snapshot.Snapshot, app *snapshot.Application) value { return plain(app.DisplayName) }},
		{"web.redirectUris", func(_, _ *snapshot.Snapshot, app *snapshot.Application) value { return stringSet(app.WebRedirectURIs) }},
		{"spa.redirectUris", func(_, _ *snapshot.Snapshot, app *snapshot.Application) value { return stringSet(app.SPARedirectURIs) }},
		{"publicClient.redirectUris", func(_, _ *snapshot.Snapshot, app *snapshot.Application) value { return stringSet(app.PublicClientURIs) }},
		{"requiredResourceAccess", func(s, other *snapshot.Snapshot, app *snapshot.Application) value {
			return permissions(app.RequiredResourceAccess, s.GraphPermissions, other.GraphPermissions)
		}},
		{"passwordCredentials", func(_, _ *snapshot.Snapshot, app *snapshot.Application) value {
			return credentials(app.PasswordCredentials)
		}},
		{"keyCredentials", func(_, _ *snapshot.Snapshot, app *snapshot.Application) value { return credentials(app.KeyCredentials) }},
	}
	r := p.appResource(snapshot.EntraApplication)
	var out []Change
	for _, f := range fields {
		// A nil registration without a gap does not exist: every field
		// is absent.
		var before, after value
		if app := p.ia.Application; app != nil {
			before = f.render(p.a, p.b, app)
		}
		if app := p.ib.Application; app != nil {
			after = f.render(p.b, p.a, app)
		}
		r.compare(&out, f.name, before, after)
	}
	return out
}

// permissions is the set of requested permissions. Members are compared by
// (API, permission ID, type) so a name that only one snapshot can resolve
// is not a change; names are resolved for display only, from the
// snapshot's own Graph permission table and else from the other one's.
func permissions(rras []snapshot.RequiredResourceAccess, own, other map[string]string) value {
	s := set{}
	for _, rra := range rras {
		for _, ra := range rra.ResourceAccess {
			key := strings.ToLower(rra.ResourceAppID) + "/" + strings.ToLower(ra.ID) + "/" + strings.ToLower(ra.Type)
			s.add(key, renderPermission(rra.ResourceAppID, ra, own, other))
		}
	}
	return s.value(", ")
}

func renderPermission(resourceAppID string, ra snapshot.ResourceAccess, own, other map[string]string) string {
	typ := ra.Type
	switch {
	case strings.EqualFold(ra.Type, "Scope"):
		typ = "delegated"
	case strings.EqualFold(ra.Type, "Role"):
		typ = "application"
	case ra.Type == "":
		typ = "unknown type"
	}
	if !strings.EqualFold(resourceAppID, microsoftGraphAppID) {
		return fmt.Sprintf("%s/%s (%s)", resourceAppID, ra.ID, typ)
	}
	// The table lists delegated permissions only.
	if typ == "delegated" {
		for _, m := range []map[string]string{own, other} {
			if name := lookup(m, ra.ID); name != "" {
				return fmt.Sprintf("%s (%s)", name, typ)
			}
		}
	}
	return fmt.Sprintf("%s (%s)", ra.ID, typ)
}

// lookup finds a permission GUID, which Graph writes in lower case.
func lookup(m map[string]string, id string) string {
	if name, ok := m[id]; ok {
		return name
	}
	return m[strings.ToLower(id)]
}

// credentials is the set of secrets or certificates, keyed by keyId and end
// date: adding, removing or re-dating one changes the set. The end date is
// compared by day, as rendered, so storage round-trips cannot differ.
func credentials(cs []snapshot.Credential) value {
	s := set{}
	for _, c := range cs {
		end := "no end date"
		if c.End != nil {
			end = "ends " + c.End.UTC().Format("2006-01-02")
		}
		name := "(unnamed)"
		if c.DisplayName != "" {
			name = fmt.Sprintf("%q", c.DisplayName)
		}
		var details []string
		if c.Hint != "" {
			details = append(details, "hint "+c.Hint+"…")
		}
		details = append(details, "keyId "+c.KeyID, end)
		s.add(strings.ToLower(c.KeyID)+"|"+end, fmt.Sprintf("%s (%s)", name, strings.Join(details, ", ")))
	}
	// Display names may contain commas.
	return s.value("; ")
}

func (p pair) servicePrincipal() []Change {
	if !p.observed(snapshot.EntraServicePrincipal) {
		return nil
	}
	a, b := p.ia.ServicePrincipal, p.ib.ServicePrincipal
	var idA, idB, nameA, nameB string
	if a != nil {
		idA, nameA = a.AppID, a.DisplayName
	}
	if b != nil {
		idB, nameB = b.AppID, b.DisplayName
	}
	r := resource{
		integration: p.name(),
		side:        snapshot.SideEntra,
		kind:        snapshot.EntraServicePrincipal,
		rkind:       KindServicePrincipal,
		id:          firstNonEmpty(idB, idA, p.ib.EntraAppID, p.ia.EntraAppID),
		name:        firstNonEmpty(nameB, nameA),
	}
	var out []Change
	// Without a gap, a nil service principal does not exist
	// (ServicePrincipalMissing); its other fields are then not compared.
	r.compare(&out, "exists", boolean(a != nil), boolean(b != nil))
	// An unreported accountEnabled was not observed.
	if a != nil && b != nil && a.AccountEnabled != nil && b.AccountEnabled != nil {
		r.compare(&out, "accountEnabled", boolean(*a.AccountEnabled), boolean(*b.AccountEnabled))
	}
	return out
}

func (p pair) consent() []Change {
	if !p.observed(consentKinds()...) {
		return nil
	}
	// Without the Graph service principal's id no grant can be attributed.
	if p.a.GraphServicePrincipalID == "" || p.b.GraphServicePrincipalID == "" {
		return nil
	}
	adminA, userA := consentSets(p.a, p.ia)
	adminB, userB := consentSets(p.b, p.ib)
	r := p.appResource(snapshot.EntraPermissionGrants)
	var out []Change
	r.compare(&out, "adminConsent", adminA.value(", "), adminB.value(", "))
	r.compare(&out, "userConsent", userA.value(", "), userB.value(", "))
	return out
}

// consentSets classifies the grants as the consent checks do.
func consentSets(s *snapshot.Snapshot, in *snapshot.Integration) (admin, user set) {
	a, u := watch.Consent(s, in)
	return set(a), set(u)
}

func (p pair) provisioning() []Change {
	// Without a SCIM app on both sides there is no approved provisioning.
	if p.ia.SCIMAppID == "" || p.ib.SCIMAppID == "" || !p.observed(snapshot.EntraProvisioning) {
		return nil
	}
	a, b := p.ia.Provisioning, p.ib.Provisioning
	var nameA, nameB string
	if a != nil {
		nameA = a.DisplayName
	}
	if b != nil {
		nameB = b.DisplayName
	}
	r := resource{
		integration: p.name(),
		side:        snapshot.SideEntra,
		kind:        snapshot.EntraProvisioning,
		rkind:       KindProvisioningApp,
		id:          p.ib.SCIMAppID,
		name:        firstNonEmpty(nameB, nameA),
	}
	var out []Change
	r.compare(&out, "jobs", jobIDs(a), jobIDs(b))
	if a == nil || b == nil {
		return out
	}
	for i := range b.Jobs {
		jb := &b.Jobs[i]
		if findJob(b, jb.ID) != jb {
			continue // a repeated id: its first job was compared
		}
		if ja := findJob(a, jb.ID); ja != nil {
			compareJob(r, &out, ja, jb)
		}
	}
	return out
}

func jobIDs(p *snapshot.Provisioning) value {
	if p == nil {
		return value{}
	}
	s := set{}
	for _, j := range p.Jobs {
		s.add(j.ID, j.ID)
	}
	return s.value(", ")
}

// findJob returns the first job with id.
func findJob(p *snapshot.Provisioning, id string) *snapshot.SyncJob {
	for i := range p.Jobs {
		if p.Jobs[i].ID == id {
			return &p.Jobs[i]
		}
	}
	return nil
}

// compareJob compares the object mappings of one job present on both
// sides: each mapping's enabled flag and, when the mapping exists on both
// sides, the source of each target attribute.
func compareJob(r resource, out *[]Change, a, b *snapshot.SyncJob) {
	ma, mb := objectMappings(a), objectMappings(b)
	for _, src := range unionKeys(ma, mb) {
		prefix := "provisioning[" + b.ID + "]." + src
		oa, okA := ma[src]
		ob, okB := mb[src]
		var ea, eb value
		if okA {
			ea = boolean(oa.Enabled)
		}
		if okB {
			eb = boolean(ob.Enabled)
		}
		r.compare(out, prefix+".enabled", ea, eb)
		if !okA || !okB {
			continue
		}
		aa, ab := attributeMappings(oa), attributeMappings(ob)
		for _, k := range unionKeys(aa, ab) {
			xa, okA := aa[k]
			xb, okB := ab[k]
			var va, vb value
			name := xa.TargetAttributeName
			if okA {
				va = source(xa)
			}
			if okB {
				vb = source(xb)
				name = xb.TargetAttributeName
			}
			r.compare(out, prefix+"."+name, va, vb)
		}
	}
}

// objectMappings indexes a job's mappings by source object. Entra allows
// one mapping per source object; should there be more, the first in a
// fixed order is kept so the result does not depend on the API's order.
func objectMappings(j *snapshot.SyncJob) map[string]snapshot.ObjectMapping {
	ms := slices.Clone(j.Mappings)
	slices.SortStableFunc(ms, func(x, y snapshot.ObjectMapping) int {
		return cmp.Or(
			strings.Compare(x.SourceObjectName, y.SourceObjectName),
			strings.Compare(x.TargetObjectName, y.TargetObjectName),
			strings.Compare(x.Name, y.Name),
		)
	})
	out := map[string]snapshot.ObjectMapping{}
	for _, m := range ms {
		if _, ok := out[m.SourceObjectName]; !ok {
			out[m.SourceObjectName] = m
		}
	}
	return out
}

// attributeMappings indexes a mapping's attributes by normalised target
// name, keeping the first in a fixed order when a target repeats.
func attributeMappings(m snapshot.ObjectMapping) map[string]snapshot.AttributeMapping {
	as := slices.Clone(m.AttributeMappings)
	slices.SortStableFunc(as, func(x, y snapshot.AttributeMapping) int {
		return cmp.Or(
			strings.Compare(watch.NormAttribute(x.TargetAttributeName), watch.NormAttribute(y.TargetAttributeName)),
			strings.Compare(x.TargetAttributeName, y.TargetAttributeName),
			strings.Compare(watch.DescribeSource(x), watch.DescribeSource(y)),
		)
	})
	out := map[string]snapshot.AttributeMapping{}
	for _, a := range as {
		k := watch.NormAttribute(a.TargetAttributeName)
		if _, ok := out[k]; !ok {
			out[k] = a
		}
	}
	return out
}

// source is where an attribute's value comes from, compared as the SCIM
// mapping checks compare it (attribute names in any case).
func source(am snapshot.AttributeMapping) value {
	v := plain(watch.DescribeSource(am))
	v.key = watch.SourceKey(am)
	return v
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
