package checks

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/driftd/driftd/internal/snapshot"
)

// extraPermission is one permission the sign-in app holds or asks for
// beyond the seven it needs, with every way it holds it.
type extraPermission struct {
	api, name string
	role      bool // an application permission
	how       []string
}

func permissionExtra() Check {
	c := Check{
		ID:       "ENTRA-PERM-003",
		Title:    "Sign-in app requests or holds permissions beyond the seven it needs",
		Severity: High,
		Description: "Cloudflare's Azure AD login needs exactly seven delegated Microsoft Graph permissions. Any other permission the " +
			"app requests (API permissions) or has been granted — delegated grants, or application permissions (app roles) " +
			"that work without any user — widens what a leaked client secret can do. Extra delegated permissions are medium, " +
			"application permissions high.",
		Remediation: "Entra admin center > App registrations > (the app) > API permissions: remove every permission other than email, " +
			"offline_access, openid, profile, User.Read, Directory.Read.All and GroupMember.Read.All, then Enterprise applications > " +
			"(the app) > Permissions: revoke the extra admin consent (application permissions: Graph DELETE " +
			"/servicePrincipals/{id}/appRoleAssignments/{assignment id}).",
		Needs: []snapshot.DataKind{snapshot.EntraApplication, snapshot.EntraGraphPermissions, snapshot.EntraServicePrincipal,
			snapshot.EntraPermissionGrants, snapshot.EntraAppRoleAssignments},
	}
	c.Evaluate = func(in Input) Outcome {
		snap, app := in.Snapshot, in.Integration
		needed := map[string]bool{}
		for _, name := range RequiredDelegatedPermissions() {
			needed[strings.ToLower(name)] = true
		}
		found := map[string]*extraPermission{}
		add := func(api, name string, role bool, how string) {
			if api == "Microsoft Graph" && !role && needed[strings.ToLower(name)] {
				return
			}
			key := strings.ToLower(api + "/" + name)
			p := found[key]
			if p == nil {
				p = &extraPermission{api: api, name: name}
				found[key] = p
			}
			p.role = p.role || role
			if !slices.Contains(p.how, how) {
				p.how = append(p.how, how)
			}
		}

		for _, rra := range app.Application.RequiredResourceAccess {
			graph := strings.EqualFold(rra.ResourceAppID, MicrosoftGraphAppID)
			for _, ra := range rra.ResourceAccess {
				role := ra.Type == "Role"
				if !graph {
					add("API "+rra.ResourceAppID, "permission "+ra.ID, role, "requested")
					continue
				}
				add("Microsoft Graph", graphPermissionName(snap, ra.ID, role), role, "requested")
			}
		}
		for _, g := range app.PermissionGrants {
			how := "consented for all users"
			if g.ConsentType != "AllPrincipals" {
				how = "consented by a user"
			}
			api := "Microsoft Graph"
			if !strings.EqualFold(g.ResourceID, snap.GraphServicePrincipalID) {
				api = "API with service principal " + g.ResourceID
			}
			for _, scope := range strings.Fields(g.Scope) {
				add(api, scope, false, how)
			}
		}
		for _, a := range app.AppRoleAssignments {
			if strings.EqualFold(a.ResourceID, snap.GraphServicePrincipalID) {
				add("Microsoft Graph", graphPermissionName(snap, a.AppRoleID, true), true, "granted")
				continue
			}
			api := a.ResourceName
			if api == "" {
				api = "API with service principal " + a.ResourceID
			}
			add(api, "app role "+a.AppRoleID, true, "granted")
		}

		keys := make([]string, 0, len(found))
		for k := range found {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out Outcome
		for _, k := range keys {
			p := found[k]
			sev, kind := Medium, "delegated"
			if p.role {
				sev, kind = High, "application"
			}
			how := strings.Join(p.how, ", ")
			f := c.finding(in, sev, appResource(in), "extra/"+p.api+"/"+p.name,
				fmt.Sprintf("App registration %q has the %s permission %s on %s (%s), which Cloudflare's login does not need",
					app.Application.DisplayName, kind, p.name, p.api, how),
				"only the seven delegated Microsoft Graph permissions Cloudflare needs",
				fmt.Sprintf("%s %s (%s) on %s", kind, p.name, how, p.api))
			// Who requested or granted it: an application permission is
			// an app role assignment, a delegated one a consent.
			f.AuditHints = []string{"requiredresourceaccess", "delegated permission grant", "consent"}
			if p.role {
				f.AuditHints = []string{"requiredresourceaccess", "app role assignment"}
			}
			out.Findings = append(out.Findings, f)
		}
		return out
	}
	return c
}

// graphPermissionName names a Microsoft Graph permission ID by its value,
// or says it is unknown to this tenant's Graph service principal.
func graphPermissionName(snap *snapshot.Snapshot, id string, role bool) string {
	byID := snap.GraphPermissions
	if role {
		byID = snap.GraphRoles
	}
	if name := byID[strings.ToLower(id)]; name != "" {
		return name
	}
	return "unknown permission " + strings.ToLower(id)
}
