package checks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
)

// accessKinds is the Access data the policy → group checks read.
var accessKinds = []snapshot.DataKind{snapshot.CloudflareAccessPolicies, snapshot.CloudflareAccessApps, snapshot.CloudflareAccessGroups}

// policyRef is one Entra group reference with where it sits.
type policyRef struct {
	snapshot.GroupRef
	// Holder is the policy, Access group or Gateway rule holding the rule.
	Holder Resource
	// Location says it in words, e.g. `Access policy "Engineering" (include
	// rule 1), protecting "Grafana" (grafana.acme.example)`.
	Location string
}

// groupRefs lists every Entra group reference of the account, in a
// fixed order: reusable policies, policies applications embed, Access
// groups, Gateway rules. A reusable policy listed inside an application
// is the reusable policy itself and is not counted twice.
func groupRefs(p *snapshot.Policies) []policyRef {
	if p == nil {
		return nil
	}
	protects := map[string][]string{} // reusable policy ID → applications
	for _, app := range p.AccessApplications {
		for _, pol := range app.Policies {
			if pol.Reusable {
				protects[strings.ToLower(pol.ID)] = append(protects[strings.ToLower(pol.ID)], appLabel(app))
			}
		}
	}
	rule := func(r snapshot.GroupRef) string {
		if r.Where == "identity" {
			return "identity expression"
		}
		return fmt.Sprintf("%s rule %d", r.Where, r.Index+1)
	}
	var out []policyRef
	for _, pol := range p.AccessPolicies {
		apps := "no application"
		if a := protects[strings.ToLower(pol.ID)]; len(a) > 0 {
			apps = strings.Join(a, ", ")
		}
		for _, r := range pol.Refs {
			out = append(out, policyRef{r, Resource{Side: snapshot.SideCloudflare, Kind: finding.KindAccessPolicy, ID: pol.ID, Name: pol.Name},
				fmt.Sprintf("reusable Access policy %q (%s), protecting %s", pol.Name, rule(r), apps)})
		}
	}
	for _, app := range p.AccessApplications {
		for _, pol := range app.Policies {
			if pol.Reusable {
				continue
			}
			for _, r := range pol.Refs {
				out = append(out, policyRef{r, Resource{Side: snapshot.SideCloudflare, Kind: finding.KindAccessPolicy, ID: pol.ID, Name: pol.Name},
					fmt.Sprintf("Access policy %q of application %s (%s)", pol.Name, appLabel(app), rule(r))})
			}
		}
	}
	for _, g := range p.AccessGroups {
		for _, r := range g.Refs {
			out = append(out, policyRef{r, Resource{Side: snapshot.SideCloudflare, Kind: finding.KindAccessGroup, ID: g.ID, Name: g.Name},
				fmt.Sprintf("Access group %q (%s), in every policy that uses the group", g.Name, rule(r))})
		}
	}
	for _, gw := range p.GatewayRules {
		for _, r := range gw.Refs {
			out = append(out, policyRef{r, Resource{Side: snapshot.SideCloudflare, Kind: finding.KindGatewayRule, ID: gw.ID, Name: gw.Name},
				fmt.Sprintf("Gateway rule %q (%s)", gw.Name, rule(r))})
		}
	}
	return out
}

func appLabel(app snapshot.AccessApplication) string {
	if app.Domain != "" {
		return fmt.Sprintf("%q (%s)", app.Name, app.Domain)
	}
	return fmt.Sprintf("%q", app.Name)
}

// integrationIdP is the ID of the identity provider an integration signs
// in through: the configured one, or the azureAD provider found by
// client_id. Empty when there is none.
func integrationIdP(snap *snapshot.Snapshot, in *snapshot.Integration) string {
	if in.CloudflareIdPID != "" {
		return strings.ToLower(in.CloudflareIdPID)
	}
	if idp := snap.IdentityProviderOf(in); idp != nil {
		return strings.ToLower(idp.ID)
	}
	return ""
}

// refsOf returns the references that belong to in: those naming its
// identity provider. References naming no integration's provider (and
// Gateway references, which name none) are account-wide and belong to
// the first integration of the run, so each is reported once.
func refsOf(snap *snapshot.Snapshot, in *snapshot.Integration, refs []policyRef) []policyRef {
	mine := integrationIdP(snap, in)
	claimed := map[string]bool{}
	for i := range snap.Integrations {
		if id := integrationIdP(snap, &snap.Integrations[i]); id != "" {
			claimed[id] = true
		}
	}
	first := len(snap.Integrations) > 0 && snap.Integrations[0].Name == in.Name
	var out []policyRef
	for _, r := range refs {
		idp := strings.ToLower(r.IdPID)
		switch {
		case idp != "" && idp == mine:
			out = append(out, r)
		case first && (idp == "" || !claimed[idp]):
			out = append(out, r)
		}
	}
	return out
}

func policyUnknownIdP() Check {
	c := Check{
		ID:       "CF-POL-004",
		Title:    "Access rule names an identity provider that is not an Azure AD login method of the account",
		Severity: Medium,
		Description: "An Azure AD group rule ({\"azureAD\":{\"id\",\"identity_provider_id\"}}) in an Access policy, an application's own " +
			"policy or an Access group names an identity_provider_id that is no Azure AD login method of this account — it was deleted " +
			"or replaced. Users never sign in through it, so the rule never matches.",
		Remediation: "Zero Trust > Access > Policies (or Access > Applications > the application > Policies, or Access > Access groups): " +
			"edit the rule, remove the Azure groups selector that names the old login method and add it again under the current Azure AD " +
			"login method (Settings > Authentication > Login methods), then Save.",
		Needs: append([]snapshot.DataKind{snapshot.CloudflareIdPs}, accessKinds...),
	}
	c.Evaluate = func(in Input) Outcome {
		azure := map[string]bool{}
		for _, idp := range in.Snapshot.IdentityProviders {
			if idp.Type == "azureAD" {
				azure[strings.ToLower(idp.ID)] = true
			}
		}
		var out []Finding
		for _, r := range refsOf(in.Snapshot, in.Integration, groupRefs(in.Snapshot.Policies)) {
			if r.GroupRef.Where == "identity" || azure[strings.ToLower(r.IdPID)] {
				continue
			}
			why := "no identity provider of the account has this id"
			for _, idp := range in.Snapshot.IdentityProviders {
				if strings.EqualFold(idp.ID, r.IdPID) {
					why = fmt.Sprintf("identity provider %q is of type %s", idp.Name, idp.Type)
				}
			}
			out = append(out, withRefCauses(c.finding(in, Medium, r.Holder, fmt.Sprintf("%s/%d/%s/%s", r.GroupRef.Where, r.Index, strings.ToLower(r.GroupID), strings.ToLower(r.IdPID)),
				fmt.Sprintf("The Azure AD group rule for group %s in %s names identity provider %s, which is not an Azure AD login method of the account", r.GroupID, r.Location, r.IdPID),
				"an Azure AD identity provider of the account", why), r))
		}
		return Outcome{Findings: out}
	}
	return c
}

func policyGroupsNotSent() Check {
	c := Check{
		ID:       "CF-POL-002",
		Title:    "Access rules use Entra groups but the identity provider does not send groups",
		Severity: High,
		Description: "Access policies, application policies or Access groups match Azure AD groups through an Azure AD login method " +
			"whose support_groups is off: Cloudflare never receives the user's groups from it, so these rules never match.",
		Remediation: "Zero Trust > Settings > Authentication > Login methods > (the Azure AD login method) > Edit: turn on Support groups, " +
			"Save and Test (the Entra app needs the GroupMember.Read.All delegated permission with admin consent).",
		Needs: append([]snapshot.DataKind{snapshot.CloudflareIdPs}, accessKinds...),
	}
	c.Evaluate = func(in Input) Outcome {
		byIdP := map[string][]policyRef{}
		for _, r := range refsOf(in.Snapshot, in.Integration, groupRefs(in.Snapshot.Policies)) {
			if r.IdPID != "" {
				byIdP[strings.ToLower(r.IdPID)] = append(byIdP[strings.ToLower(r.IdPID)], r)
			}
		}
		var out []Finding
		for i := range in.Snapshot.IdentityProviders {
			idp := &in.Snapshot.IdentityProviders[i]
			refs := byIdP[strings.ToLower(idp.ID)]
			if idp.Type != "azureAD" || len(refs) == 0 || idp.SupportGroups != nil && *idp.SupportGroups {
				continue
			}
			var where []string
			for _, r := range refs {
				where = append(where, r.Location)
			}
			sort.Strings(where)
			shown := where
			if len(shown) > 5 {
				shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(where)-5))
			}
			out = append(out, c.finding(in, High, idpResource(idp), "support_groups",
				fmt.Sprintf("Identity provider %q does not send groups, yet %d rule(s) match Entra groups through it: %s", idp.Name, len(refs), strings.Join(shown, "; ")),
				"support_groups = true", "support_groups = false"))
		}
		return Outcome{Findings: out}
	}
	return c
}

// allPolicyKinds is every list CF-POL-001 and CF-POL-003 read
// references from, plus the group lookup.
var allPolicyKinds = append(append([]snapshot.DataKind{}, accessKinds...), snapshot.CloudflareGatewayRules, snapshot.EntraGroups)

func groupResource(r policyRef) Resource { return r.Holder }

// withRefCauses names, for attribution, the objects whose change would
// explain a rule's finding besides the rule's holder: the Entra group it
// references and the identity provider it names.
func withRefCauses(f Finding, r policyRef) Finding {
	if r.GroupID != "" {
		f.Causes = append(f.Causes, finding.ObjectRef{Side: snapshot.SideEntra, ID: r.GroupID})
	}
	if r.IdPID != "" {
		f.Causes = append(f.Causes, finding.ObjectRef{Side: snapshot.SideCloudflare, ID: r.IdPID})
	}
	return f
}

func policyGroupMissing() Check {
	c := Check{
		ID:       "CF-POL-001",
		Title:    "Access or Gateway rule references an Entra group that does not exist",
		Severity: High,
		Description: "A reusable Access policy, an application's own policy, an Access group or a Gateway rule matches an Entra group " +
			"object ID that is not in the tenant (the group was deleted, or the ID was mistyped). The rule silently never matches: " +
			"users lose access an allow rule should give, or a block or exclude rule stops applying.",
		Remediation: "In the Entra admin center (Groups > All groups, or Groups > Deleted groups to restore it within 30 days) find the " +
			"group that should be used; then in Zero Trust edit the rule named in the finding (Access > Policies, Access > Applications > " +
			"the application > Policies, Access > Access groups, or Gateway > Firewall policies) and select the existing group, then Save.",
		Needs: allPolicyKinds,
	}
	c.Evaluate = func(in Input) Outcome {
		groups := groupsOf(in.Snapshot.Policies)
		var out []Finding
		for _, r := range refsOf(in.Snapshot, in.Integration, groupRefs(in.Snapshot.Policies)) {
			g, ok := groups[strings.ToLower(r.GroupID)]
			if !ok || g.Exists {
				continue
			}
			actual := "no group with this object ID in the tenant"
			if g.NotGUID {
				actual = "not a group object ID (not a GUID)"
			}
			out = append(out, withRefCauses(c.finding(in, High, groupResource(r), fmt.Sprintf("%s/%d/%s", r.GroupRef.Where, r.Index, strings.ToLower(r.GroupID)),
				fmt.Sprintf("%s references Entra group %s, which does not exist: the rule never matches", r.Location, r.GroupID),
				"an existing Entra group", actual), r))
		}
		return Outcome{Findings: out}
	}
	return c
}

func policyGroupEmpty() Check {
	c := Check{
		ID:       "CF-POL-003",
		Title:    "Access or Gateway rule references an Entra group without user members",
		Severity: Low,
		Description: "A rule matches an Entra group that exists but has no users among its members, nested groups counted (Cloudflare " +
			"evaluates nested membership). The rule matches nobody; often a group that was emptied or replaced.",
		Remediation: "In the Entra admin center (Groups > All groups > the group > Members) add the users, or in Zero Trust edit the rule " +
			"named in the finding to match the group that holds them, then Save.",
		Needs: allPolicyKinds,
	}
	c.Evaluate = func(in Input) Outcome {
		groups := groupsOf(in.Snapshot.Policies)
		var out []Finding
		for _, r := range refsOf(in.Snapshot, in.Integration, groupRefs(in.Snapshot.Policies)) {
			g, ok := groups[strings.ToLower(r.GroupID)]
			if !ok || !g.Exists || g.UserMembers > 0 {
				continue
			}
			out = append(out, withRefCauses(c.finding(in, Low, groupResource(r), fmt.Sprintf("%s/%d/%s", r.GroupRef.Where, r.Index, strings.ToLower(r.GroupID)),
				fmt.Sprintf("%s references Entra group %s, which has no user members (nested groups counted)", r.Location, r.GroupID),
				"at least one user member", "0 users"), r))
		}
		return Outcome{Findings: out}
	}
	return c
}

func groupsOf(p *snapshot.Policies) map[string]snapshot.EntraGroup {
	if p == nil {
		return nil
	}
	return p.Groups
}
