package checks

import (
	"fmt"
	"strings"

	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/watch"
)

// FindIdentityProvider returns the Cloudflare identity provider of the
// integration: the configured cloudflare_idp_id, or else the azureAD
// provider whose client_id is the integration's app. The second result
// explains a miss.
func FindIdentityProvider(snap *snapshot.Snapshot, in *snapshot.Integration) (*snapshot.IdentityProvider, string) {
	if idp := snap.IdentityProviderOf(in); idp != nil {
		if idp.Type != "azureAD" {
			return nil, fmt.Sprintf("identity provider %s (%q) is of type %s, not azureAD", idp.ID, idp.Name, idp.Type)
		}
		return idp, ""
	}
	if in.CloudflareIdPID != "" {
		return nil, fmt.Sprintf("no identity provider with id %s", in.CloudflareIdPID)
	}
	var azure []string
	for _, idp := range snap.IdentityProviders {
		if idp.Type == "azureAD" {
			azure = append(azure, fmt.Sprintf("%q (client_id %s)", idp.Name, idp.ClientID))
		}
	}
	if len(azure) == 0 {
		return nil, "the account has no azureAD identity provider"
	}
	return nil, "azureAD identity providers: " + strings.Join(azure, ", ")
}

func idpResource(idp *snapshot.IdentityProvider) Resource {
	return Resource{Side: snapshot.SideCloudflare, Kind: KindIdentityProvider, ID: idp.ID, Name: idp.Name}
}

func idpExists() Check {
	c := Check{
		ID:       "CF-IDP-001",
		Title:    "No Cloudflare Azure AD identity provider for the integration",
		Severity: Critical,
		Description: "Zero Trust has no Azure AD login method for the Entra app (none with its client_id, or the configured " +
			"cloudflare_idp_id is gone or of another type). Users cannot sign in to Access, Gateway or WARP with Entra ID.",
		Remediation: "Zero Trust > Settings > Authentication > Login methods > Add new > Azure AD: enter the app's Application (client) ID, " +
			"a client secret and the Directory (tenant) ID, then Save and Test. If it exists under another id, fix cloudflare_idp_id in driftd's config.",
		Needs: []snapshot.DataKind{snapshot.CloudflareIdPs},
	}
	c.Evaluate = func(in Input) Outcome {
		idp, why := FindIdentityProvider(in.Snapshot, in.Integration)
		if idp != nil {
			return Outcome{}
		}
		id := in.Integration.CloudflareIdPID
		if id == "" {
			id = "client_id=" + in.Integration.EntraAppID
		}
		r := Resource{Side: snapshot.SideCloudflare, Kind: KindIdentityProvider, ID: id, Name: in.Integration.Name}
		expected := "an azureAD identity provider with client_id " + in.Integration.EntraAppID
		if in.Integration.CloudflareIdPID != "" {
			expected = "azureAD identity provider " + in.Integration.CloudflareIdPID
		}
		return Outcome{Findings: []Finding{c.finding(in, Critical, r, "exists",
			fmt.Sprintf("Cloudflare has no Azure AD identity provider for integration %q", in.Integration.Name), expected, why)}}
	}
	return c
}

func idpMatchesEntra() Check {
	c := Check{
		ID:       "CF-IDP-002",
		Title:    "Cloudflare identity provider points at another Entra app or tenant",
		Severity: Critical,
		Description: "The identity provider's client_id must be the integration's Application (client) ID and its directory_id the " +
			"tenant ID; otherwise Cloudflare signs users in against another app or directory, or not at all.",
		Remediation: "Zero Trust > Settings > Authentication > (the Azure AD login method) > Edit: set Application (client) ID and " +
			"Directory (tenant) ID to the values shown on the app registration's Overview page in the Entra admin center, then Save and Test.",
		Needs: []snapshot.DataKind{snapshot.CloudflareIdPs},
	}
	c.Evaluate = func(in Input) Outcome {
		idp, _ := FindIdentityProvider(in.Snapshot, in.Integration)
		if idp == nil {
			return Outcome{NotApplicable: "no identity provider (see CF-IDP-001)"}
		}
		var out Outcome
		if !strings.EqualFold(idp.ClientID, in.Integration.EntraAppID) {
			out.Findings = append(out.Findings, c.finding(in, Critical, idpResource(idp), "client_id",
				fmt.Sprintf("Identity provider %q uses client_id %s, not the integration's app %s", idp.Name, orNone(idp.ClientID), in.Integration.EntraAppID),
				in.Integration.EntraAppID, orNone(idp.ClientID)))
		}
		if !strings.EqualFold(idp.DirectoryID, in.Snapshot.TenantID) {
			out.Findings = append(out.Findings, c.finding(in, Critical, idpResource(idp), "directory_id",
				fmt.Sprintf("Identity provider %q uses directory_id %s, not the tenant %s", idp.Name, orNone(idp.DirectoryID), in.Snapshot.TenantID),
				in.Snapshot.TenantID, orNone(idp.DirectoryID)))
		}
		return out
	}
	return c
}

// baselineDescription lists the settings of g that a baseline can pin,
// from the table, so the catalog never lags behind what is checked.
func baselineDescription(g watch.Group) string {
	var names []string
	for _, s := range watch.InGroup(g) {
		if s.BaselineKey != "" {
			names = append(names, fmt.Sprintf("%s (%s)", s.Label, s.BaselineKey))
		}
	}
	return strings.Join(names, ", ")
}

func idpBaseline() Check {
	c := Check{
		ID:       "CF-IDP-003",
		Title:    "Identity provider setting differs from the baseline",
		Severity: Medium,
		Description: "A setting of the Azure AD login method differs from the value pinned in driftd's [integration.baseline]: " +
			baselineDescription(watch.IdP) + ". One finding per setting.",
		Remediation: "Zero Trust > Settings > Authentication > (the Azure AD login method) > Edit: set the value back to the baseline " +
			"(prompt is only settable through the API: PUT /accounts/{account_id}/access/identity_providers/{id} with the full " +
			"configuration) — or, if the change was approved, update [integration.baseline] in driftd's config.",
		Needs: []snapshot.DataKind{snapshot.CloudflareIdPs},
	}
	c.Evaluate = func(in Input) Outcome { return baselineOutcome(c, in, watch.IdP) }
	return c
}

func scimBaseline() Check {
	c := Check{
		ID:       "CF-SCIM-001",
		Title:    "SCIM setting differs from the baseline",
		Severity: Medium,
		Description: "A SCIM setting of the Azure AD login method differs from the baseline: " + baselineDescription(watch.SCIM) +
			". Turning deprovisioning off means users removed in Entra ID keep their Cloudflare sessions.",
		Remediation: "Zero Trust > Settings > Authentication > (the Azure AD login method) > Edit > SCIM: set Enable SCIM, Enable user " +
			"deprovisioning, Remove user seat on deprovision and SCIM identity update behavior to the baseline and Save — or, if the change " +
			"was approved, update [integration.baseline] in driftd's config.",
		Needs: []snapshot.DataKind{snapshot.CloudflareIdPs},
	}
	c.Evaluate = func(in Input) Outcome { return baselineOutcome(c, in, watch.SCIM) }
	return c
}

func scimGroups() Check {
	c := Check{
		ID:       "CF-SCIM-002",
		Title:    "SCIM is on but the identity provider does not support groups",
		Severity: Medium,
		Description: "With SCIM enabled on the Azure AD login method, Entra ID provisions users and groups to Cloudflare, but with " +
			"support_groups off Cloudflare neither takes group membership from sign-ins nor offers the synchronised groups to " +
			"policies: group-based Access and Gateway rules never match.",
		Remediation: "Zero Trust > Settings > Authentication > (the Azure AD login method) > Edit > Optional configurations: turn on " +
			"Support groups and Save (API: PUT /accounts/{account_id}/access/identity_providers/{id} with config.support_groups true " +
			"and the rest of the configuration unchanged).",
		Needs: []snapshot.DataKind{snapshot.CloudflareIdPs},
	}
	c.Evaluate = func(in Input) Outcome {
		idp, _ := FindIdentityProvider(in.Snapshot, in.Integration)
		if idp == nil {
			return Outcome{NotApplicable: "no identity provider (see CF-IDP-001)"}
		}
		if idp.SCIM == nil || idp.SCIM.Enabled == nil || !*idp.SCIM.Enabled {
			return Outcome{NotApplicable: "SCIM is not enabled on the identity provider"}
		}
		if idp.SupportGroups != nil && *idp.SupportGroups {
			return Outcome{}
		}
		return Outcome{Findings: []Finding{c.finding(in, Medium, idpResource(idp), "support_groups",
			fmt.Sprintf("Identity provider %q has SCIM enabled but support_groups off, so its groups never reach Cloudflare's policies", idp.Name),
			"support_groups true while scim_config.enabled is true", "support_groups false")}}
	}
	return c
}

// baselineOutcome compares every setting of g the baseline pins with the
// identity provider's value: one finding per difference.
func baselineOutcome(c Check, in Input, g watch.Group) Outcome {
	idp, _ := FindIdentityProvider(in.Snapshot, in.Integration)
	if idp == nil {
		return Outcome{NotApplicable: "no identity provider (see CF-IDP-001)"}
	}
	var out Outcome
	for _, s := range watch.InGroup(g) {
		want, pinned := s.Pinned(&in.Integration.Baseline)
		if !pinned {
			continue
		}
		got := s.Read(idp)
		if got.Equal(want) {
			continue
		}
		expected, actual := baselineText(want), baselineText(got)
		out.Findings = append(out.Findings, c.finding(in, Medium, idpResource(idp), s.Name,
			fmt.Sprintf("Identity provider %q has %s = %s; the baseline is %s", idp.Name, s.Name, actual, expected),
			expected, actual))
	}
	return out
}

// baselineText renders a value for a baseline finding; sets are shown in
// brackets so that an empty one reads as [].
func baselineText(v watch.Value) string {
	if v.Kind() == watch.StringSet {
		return "[" + strings.Join(v.Items(), ", ") + "]"
	}
	return v.String()
}

func orNone(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}
