package drift

import (
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/watch"
)

// identityProvider compares the integration's Cloudflare identity
// provider (found the same way the checks find it): whether it exists and,
// if it does on both sides, every setting of the watch table.
func (p pair) identityProvider() []Change {
	if !p.observed(snapshot.CloudflareIdPs) {
		return nil
	}
	a, b := p.a.IdentityProviderOf(p.ia), p.b.IdentityProviderOf(p.ib)
	var idA, idB, nameA, nameB string
	if a != nil {
		idA, nameA = a.ID, a.Name
	}
	if b != nil {
		idB, nameB = b.ID, b.Name
	}
	r := resource{
		integration: p.name(),
		side:        snapshot.SideCloudflare,
		kind:        snapshot.CloudflareIdPs,
		rkind:       KindIdentityProvider,
		id:          firstNonEmpty(idB, idA, p.ib.CloudflareIdPID, p.ia.CloudflareIdPID),
		name:        firstNonEmpty(nameB, nameA),
	}
	var out []Change
	// A provider that exists on one side only is one change, not one per
	// setting.
	r.compare(&out, "exists", boolean(a != nil), boolean(b != nil))
	if a == nil || b == nil {
		return out
	}
	for _, s := range watch.Settings() {
		r.compare(&out, s.Name, watched(s.Read(a)), watched(s.Read(b)))
	}
	return out
}

// organization compares the account-wide fields. An empty auth domain was
// not read (Cloudflare requires one), so it is not compared.
func organization(a, b *snapshot.Snapshot) []Change {
	if len(a.Missing("", snapshot.CloudflareOrg)) > 0 || len(b.Missing("", snapshot.CloudflareOrg)) > 0 {
		return nil
	}
	if a.AuthDomain == "" || b.AuthDomain == "" {
		return nil
	}
	r := resource{
		side:  snapshot.SideCloudflare,
		kind:  snapshot.CloudflareOrg,
		rkind: KindOrganization,
		id:    firstNonEmpty(b.AccountID, a.AccountID),
	}
	var out []Change
	r.compare(&out, "auth_domain", folded(a.AuthDomain), folded(b.AuthDomain))
	return out
}
