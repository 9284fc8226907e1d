package drift

import (
	"github.com/driftd/driftd/internal/snapshot"
)

// identityProvider compares the integration's Cloudflare identity
// provider (found the same way the checks find it).
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
	sa, sb := scimOf(a), scimOf(b)
	r.compare(&out, "name", plain(a.Name), plain(b.Name))
	r.compare(&out, "client_id", folded(a.ClientID), folded(b.ClientID))
	r.compare(&out, "directory_id", folded(a.DirectoryID), folded(b.DirectoryID))
	r.compare(&out, "pkce_enabled", optBool(a.PKCEEnabled), optBool(b.PKCEEnabled))
	r.compare(&out, "support_groups", optBool(a.SupportGroups), optBool(b.SupportGroups))
	r.compare(&out, "conditional_access_enabled", optBool(a.ConditionalAccessEnabled), optBool(b.ConditionalAccessEnabled))
	r.compare(&out, "email_claim_name", optString(a.EmailClaimName), optString(b.EmailClaimName))
	r.compare(&out, "claims", stringSet(a.Claims), stringSet(b.Claims))
	r.compare(&out, "prompt", optString(a.Prompt), optString(b.Prompt))
	r.compare(&out, "scim_config.enabled", optBool(sa.Enabled), optBool(sb.Enabled))
	r.compare(&out, "scim_config.user_deprovision", optBool(sa.UserDeprovision), optBool(sb.UserDeprovision))
	r.compare(&out, "scim_config.seat_deprovision", optBool(sa.SeatDeprovision), optBool(sb.SeatDeprovision))
	r.compare(&out, "scim_config.identity_update_behavior", optString(sa.IdentityUpdateBehavior), optString(sb.IdentityUpdateBehavior))
	return out
}

// scimOf returns the provider's SCIM settings; the API omits an all-default
// scim_config, which reads as every setting unset.
func scimOf(idp *snapshot.IdentityProvider) snapshot.IdPSCIM {
	if idp.SCIM == nil {
		return snapshot.IdPSCIM{}
	}
	return *idp.SCIM
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
