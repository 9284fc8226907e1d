package drift

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/snapshot"
)

func appChange(field, before, after string) Change {
	return Change{Integration: "corp", Side: snapshot.SideEntra, Kind: snapshot.EntraApplication, ResourceKind: KindAppRegistration,
		ResourceID: corpAppID, ResourceName: "Cloudflare Access", Field: field, Before: before, After: after}
}

func spChange(field, before, after string) Change {
	return Change{Integration: "corp", Side: snapshot.SideEntra, Kind: snapshot.EntraServicePrincipal, ResourceKind: KindServicePrincipal,
		ResourceID: corpAppID, ResourceName: "Cloudflare Access", Field: field, Before: before, After: after}
}

func consentChange(field, before, after string) Change {
	return Change{Integration: "corp", Side: snapshot.SideEntra, Kind: snapshot.EntraPermissionGrants, ResourceKind: KindAppRegistration,
		ResourceID: corpAppID, ResourceName: "Cloudflare Access", Field: field, Before: before, After: after}
}

func scimChange(field, before, after string) Change {
	return Change{Integration: "corp", Side: snapshot.SideEntra, Kind: snapshot.EntraProvisioning, ResourceKind: KindProvisioningApp,
		ResourceID: scimAppID, ResourceName: "Cloudflare SCIM", Field: "provisioning[" + jobID + "]." + field, Before: before, After: after}
}

func idpChange(field, before, after string) Change {
	return Change{Integration: "corp", Side: snapshot.SideCloudflare, Kind: snapshot.CloudflareIdPs, ResourceKind: KindIdentityProvider,
		ResourceID: corpIdPID, ResourceName: "Entra ID", Field: field, Before: before, After: after}
}

// clone deep-copies a snapshot through JSON, as a stored baseline is
// loaded; that the copy compares equal is itself part of the contract.
func clone(t *testing.T, s *snapshot.Snapshot) *snapshot.Snapshot {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out snapshot.Snapshot
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func formatChanges(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "\n  %+v", c)
	}
	if b.Len() == 0 {
		return " none"
	}
	return b.String()
}

func assertChanges(t *testing.T, got, want []Change) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("changes:%s\nwant:%s", formatChanges(got), formatChanges(want))
	}
}

func TestEachWatchedFieldAlone(t *testing.T) {
	tests := []struct {
		name        string
		integration string // "corp" unless set
		mutate      func(s *snapshot.Snapshot)
		want        []Change
	}{
		// App registration.
		{
			name:   "display name",
			mutate: func(s *snapshot.Snapshot) { corp(s).Application.DisplayName = "Cloudflare Access (old)" },
			want: []Change{func() Change {
				c := appChange("displayName", "Cloudflare Access", "Cloudflare Access (old)")
				c.ResourceName = "Cloudflare Access (old)" // the current name
				return c
			}()},
		},
		{
			name: "web redirect URI added",
			mutate: func(s *snapshot.Snapshot) {
				app := corp(s).Application
				app.WebRedirectURIs = append(app.WebRedirectURIs, "https://attacker.example/callback")
			},
			want: []Change{appChange("web.redirectUris",
				callbackURI+", "+loginURI,
				callbackURI+", https://attacker.example/callback, "+loginURI)},
		},
		{
			name:   "web redirect URIs emptied",
			mutate: func(s *snapshot.Snapshot) { corp(s).Application.WebRedirectURIs = []string{} },
			want:   []Change{appChange("web.redirectUris", callbackURI+", "+loginURI, "(none)")},
		},
		{
			name:   "SPA redirect URI added",
			mutate: func(s *snapshot.Snapshot) { corp(s).Application.SPARedirectURIs = []string{"https://spa.acme.example"} },
			want:   []Change{appChange("spa.redirectUris", "(none)", "https://spa.acme.example")},
		},
		{
			name:   "public client redirect URI added",
			mutate: func(s *snapshot.Snapshot) { corp(s).Application.PublicClientURIs = []string{"http://localhost"} },
			want:   []Change{appChange("publicClient.redirectUris", "(none)", "http://localhost")},
		},
		{
			name: "delegated Graph permission added, resolved by name",
			mutate: func(s *snapshot.Snapshot) {
				rra := &corp(s).Application.RequiredResourceAccess[0]
				rra.ResourceAccess = append(rra.ResourceAccess, snapshot.ResourceAccess{ID: scopeDirRead, Type: "Scope"})
			},
			want: []Change{appChange("requiredResourceAccess", permsRendered,
				aadGraphAppID+"/"+aadSignIn+" (delegated), "+roleDirRead+" (application), Directory.Read.All (delegated), "+
					"User.Read (delegated), email (delegated), openid (delegated)")},
		},
		{
			name: "unresolvable Graph permission renders as GUID and type",
			mutate: func(s *snapshot.Snapshot) {
				rra := &corp(s).Application.RequiredResourceAccess[0]
				rra.ResourceAccess = append(rra.ResourceAccess, snapshot.ResourceAccess{ID: "0e263e50-5827-48a4-b97c-d940288653c7", Type: "Scope"})
			},
			want: []Change{appChange("requiredResourceAccess", permsRendered,
				aadGraphAppID+"/"+aadSignIn+" (delegated), 0e263e50-5827-48a4-b97c-d940288653c7 (delegated), "+
					roleDirRead+" (application), User.Read (delegated), email (delegated), openid (delegated)")},
		},
		{
			name: "same permission ID changed from delegated to application",
			mutate: func(s *snapshot.Snapshot) {
				corp(s).Application.RequiredResourceAccess[1].ResourceAccess[0].Type = "Role"
			},
			want: []Change{appChange("requiredResourceAccess", permsRendered,
				aadGraphAppID+"/"+aadSignIn+" (application), "+roleDirRead+" (application), User.Read (delegated), email (delegated), openid (delegated)")},
		},
		{
			name: "new client secret",
			mutate: func(s *snapshot.Snapshot) {
				app := corp(s).Application
				app.PasswordCredentials = append(app.PasswordCredentials, snapshot.Credential{
					KeyID: "a1b2c3d4-0000-4000-8000-000000000009", DisplayName: "rotation", Hint: "Zz9", End: day(2027, 6, 1),
				})
			},
			want: []Change{appChange("passwordCredentials", secretsRendered,
				secretsRendered+`; "rotation" (hint Zz9…, keyId a1b2c3d4-0000-4000-8000-000000000009, ends 2027-06-01)`)},
		},
		{
			name: "client secret removed",
			mutate: func(s *snapshot.Snapshot) {
				corp(s).Application.PasswordCredentials = corp(s).Application.PasswordCredentials[1:]
			},
			want: []Change{appChange("passwordCredentials", secretsRendered, secret2Rendered)},
		},
		{
			name:   "client secret end date changed",
			mutate: func(s *snapshot.Snapshot) { corp(s).Application.PasswordCredentials[0].End = day(2028, 3, 1) },
			want: []Change{appChange("passwordCredentials", secretsRendered,
				strings.Replace(secret1Rendered, "2026-03-01", "2028-03-01", 1)+"; "+secret2Rendered)},
		},
		{
			name:   "all client secrets removed",
			mutate: func(s *snapshot.Snapshot) { corp(s).Application.PasswordCredentials = nil },
			want:   []Change{appChange("passwordCredentials", secretsRendered, "(none)")},
		},
		{
			name: "certificate added",
			mutate: func(s *snapshot.Snapshot) {
				app := corp(s).Application
				app.KeyCredentials = append(app.KeyCredentials, snapshot.Credential{KeyID: "f0000000-0000-4000-8000-00000000000f", Type: "AsymmetricX509Cert"})
			},
			want: []Change{appChange("keyCredentials", certRendered,
				certRendered+"; (unnamed) (keyId f0000000-0000-4000-8000-00000000000f, no end date)")},
		},
		{
			// Should not happen without a gap; reported field by field.
			name:   "app registration gone without a gap",
			mutate: func(s *snapshot.Snapshot) { corp(s).Application = nil },
			want: []Change{
				appChange("displayName", "Cloudflare Access", "(absent)"),
				appChange("keyCredentials", certRendered, "(absent)"),
				appChange("passwordCredentials", secretsRendered, "(absent)"),
				appChange("publicClient.redirectUris", "(none)", "(absent)"),
				appChange("requiredResourceAccess", permsRendered, "(absent)"),
				appChange("spa.redirectUris", "(none)", "(absent)"),
				appChange("web.redirectUris", callbackURI+", "+loginURI, "(absent)"),
			},
		},

		// Service principal.
		{
			name:   "service principal disabled",
			mutate: func(s *snapshot.Snapshot) { corp(s).ServicePrincipal.AccountEnabled = ptr(false) },
			want:   []Change{spChange("accountEnabled", "true", "false")},
		},
		{
			// The grants go with it, as the Entra source records.
			name: "service principal deleted",
			mutate: func(s *snapshot.Snapshot) {
				in := corp(s)
				in.ServicePrincipal, in.ServicePrincipalMissing, in.PermissionGrants = nil, true, []snapshot.PermissionGrant{}
			},
			want: []Change{
				consentChange("adminConsent", "User.Read, email, openid", "(none)"),
				consentChange("userConsent", "Mail.Read", "(none)"),
				spChange("exists", "true", "false"),
			},
		},

		// Consent.
		{
			name:   "admin consent for another scope",
			mutate: func(s *snapshot.Snapshot) { corp(s).PermissionGrants[0].Scope += " Directory.Read.All" },
			want:   []Change{consentChange("adminConsent", "User.Read, email, openid", "Directory.Read.All, User.Read, email, openid")},
		},
		{
			name:   "admin consent grant revoked",
			mutate: func(s *snapshot.Snapshot) { corp(s).PermissionGrants = corp(s).PermissionGrants[1:] },
			want: []Change{
				consentChange("adminConsent", "User.Read, email, openid", "(none)"),
				// openid is now consented by a user only.
				consentChange("userConsent", "Mail.Read", "Mail.Read, openid"),
			},
		},
		{
			name: "another user consents a scope",
			mutate: func(s *snapshot.Snapshot) {
				in := corp(s)
				in.PermissionGrants = append(in.PermissionGrants, snapshot.PermissionGrant{
					ID: "g4", ClientID: corpSPID, ResourceID: graphSPID, ConsentType: "Principal", PrincipalID: "user-2", Scope: "Files.Read",
				})
			},
			want: []Change{consentChange("userConsent", "Mail.Read", "Files.Read, Mail.Read")},
		},

		// SCIM provisioning.
		{
			name: "provisioning job added",
			mutate: func(s *snapshot.Snapshot) {
				p := corp(s).Provisioning
				p.Jobs = append(p.Jobs, snapshot.SyncJob{ID: "scim.2"})
			},
			want: []Change{func() Change {
				c := scimChange("", jobID, jobID+", scim.2")
				c.Field = "jobs"
				return c
			}()},
		},
		{
			name:   "object mapping disabled",
			mutate: func(s *snapshot.Snapshot) { corp(s).Provisioning.Jobs[0].Mappings[1].Enabled = false },
			want:   []Change{scimChange("Group.enabled", "true", "false")},
		},
		{
			name: "object mapping removed",
			mutate: func(s *snapshot.Snapshot) {
				corp(s).Provisioning.Jobs[0].Mappings = corp(s).Provisioning.Jobs[0].Mappings[:1]
			},
			want: []Change{scimChange("Group.enabled", "true", "(absent)")},
		},
		{
			name:   "attribute source changed",
			mutate: func(s *snapshot.Snapshot) { userMapping(s).AttributeMappings[1] = attr(workEmail, "userPrincipalName") },
			want:   []Change{scimChange("User."+workEmail, "mail", "userPrincipalName")},
		},
		{
			name: "attribute mapping added",
			mutate: func(s *snapshot.Snapshot) {
				m := userMapping(s)
				m.AttributeMappings = append(m.AttributeMappings, attr("name.familyName", "surname"))
			},
			want: []Change{scimChange("User.name.familyName", "(absent)", "surname")},
		},
		{
			name: "attribute mapping removed",
			mutate: func(s *snapshot.Snapshot) {
				m := userMapping(s)
				m.AttributeMappings = slices.Delete(m.AttributeMappings, 2, 3)
			},
			want: []Change{scimChange("User.name.givenName", "givenName", "(absent)")},
		},
		{
			name: "function expression changed",
			mutate: func(s *snapshot.Snapshot) {
				userMapping(s).AttributeMappings[4] = function("displayName", "Join", `Join(", ", [surname], [givenName])`)
			},
			want: []Change{scimChange("User.displayName", `function Join(" ", [givenName], [surname])`, `function Join(", ", [surname], [givenName])`)},
		},
		{
			name: "attribute changed to a constant",
			mutate: func(s *snapshot.Snapshot) {
				userMapping(s).AttributeMappings[2] = snapshot.AttributeMapping{TargetAttributeName: "name.givenName", SourceType: "Constant", SourceName: "x", SourceExpression: `"x"`}
			},
			want: []Change{scimChange("User.name.givenName", "givenName", `constant "x"`)},
		},

		// Cloudflare identity provider.
		{
			name:   "IdP renamed",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).Name = "Azure AD" },
			want: []Change{func() Change {
				c := idpChange("name", "Entra ID", "Azure AD")
				c.ResourceName = "Azure AD"
				return c
			}()},
		},
		{
			// Pinned by id: the client_id can change without losing the IdP.
			name:        "IdP client_id",
			integration: "contractors",
			mutate:      func(s *snapshot.Snapshot) { s.IdentityProviders[2].ClientID = corpAppID },
			want: []Change{{Integration: "contractors", Side: snapshot.SideCloudflare, Kind: snapshot.CloudflareIdPs, ResourceKind: KindIdentityProvider,
				ResourceID: contractorsIdPID, ResourceName: "Contractors", Field: "client_id", Before: contractorsAppID, After: corpAppID}},
		},
		{
			name:   "IdP directory_id",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).DirectoryID = "common" },
			want:   []Change{idpChange("directory_id", tenantID, "common")},
		},
		{
			name:   "IdP PKCE turned off (API omits false)",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).PKCEEnabled = nil },
			want:   []Change{idpChange("pkce_enabled", "true", "false")},
		},
		{
			name:   "IdP support_groups",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).SupportGroups = ptr(false) },
			want:   []Change{idpChange("support_groups", "true", "false")},
		},
		{
			name:   "IdP conditional access",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).ConditionalAccessEnabled = ptr(true) },
			want:   []Change{idpChange("conditional_access_enabled", "false", "true")},
		},
		{
			name:   "IdP email claim unset",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).EmailClaimName = nil },
			want:   []Change{idpChange("email_claim_name", `"email"`, "(not set)")},
		},
		{
			name:   "IdP claim added",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).Claims = append(corpIdP(s).Claims, "oid") },
			want:   []Change{idpChange("claims", "groups, upn", "groups, oid, upn")},
		},
		{
			name:   "IdP prompt",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).Prompt = ptr("login") },
			want:   []Change{idpChange("prompt", `"select_account"`, `"login"`)},
		},
		{
			name:   "IdP SCIM disabled",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).SCIM.Enabled = ptr(false) },
			want:   []Change{idpChange("scim_config.enabled", "true", "false")},
		},
		{
			name:   "IdP SCIM user deprovisioning off",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).SCIM.UserDeprovision = nil },
			want:   []Change{idpChange("scim_config.user_deprovision", "true", "false")},
		},
		{
			name:   "IdP SCIM seat deprovisioning on",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).SCIM.SeatDeprovision = ptr(true) },
			want:   []Change{idpChange("scim_config.seat_deprovision", "false", "true")},
		},
		{
			name:   "IdP SCIM identity update behavior",
			mutate: func(s *snapshot.Snapshot) { corpIdP(s).SCIM.IdentityUpdateBehavior = ptr("reauth") },
			want:   []Change{idpChange("scim_config.identity_update_behavior", `"automatic"`, `"reauth"`)},
		},
		{
			// One change, not one per setting.
			name:   "IdP deleted",
			mutate: func(s *snapshot.Snapshot) { s.IdentityProviders = slices.Delete(s.IdentityProviders, 1, 2) },
			want:   []Change{idpChange("exists", "true", "false")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			approved, current := healthy(), healthy()
			tt.mutate(current)
			name := cmpOr(tt.integration, "corp")
			assertChanges(t, Integration(approved, current, name), tt.want)

			// The reverse comparison reports the same fields, values swapped.
			var swapped []Change
			for _, c := range tt.want {
				c.Before, c.After = c.After, c.Before
				swapped = append(swapped, c)
			}
			got := Integration(current, approved, name)
			for i := range got {
				got[i].ResourceName = ""
			}
			for i := range swapped {
				swapped[i].ResourceName = ""
			}
			assertChanges(t, got, swapped)
		})
	}
}

func cmpOr(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

// TestNoNoise covers everything that differs without being a change:
// volatile data, order of set-like arrays, spelling variants.
func TestNoNoise(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *snapshot.Snapshot)
	}{
		{"identical", func(s *snapshot.Snapshot) {}},
		{"read time", func(s *snapshot.Snapshot) { s.TakenAt = s.TakenAt.Add(72 * time.Hour) }},
		{"gaps of another integration", func(s *snapshot.Snapshot) {
			s.Gaps = append(s.Gaps, snapshot.Gap{Integration: "contractors", Side: snapshot.SideEntra, What: snapshot.EntraApplication, Error: "HTTP 503"})
			contractors(s).Application = nil
		}},
		{"redirect URIs reordered", func(s *snapshot.Snapshot) { slices.Reverse(corp(s).Application.WebRedirectURIs) }},
		{"redirect URI repeated", func(s *snapshot.Snapshot) {
			app := corp(s).Application
			app.WebRedirectURIs = append(app.WebRedirectURIs, callbackURI)
		}},
		{"permissions reordered", func(s *snapshot.Snapshot) {
			rras := corp(s).Application.RequiredResourceAccess
			slices.Reverse(rras)
			slices.Reverse(rras[1].ResourceAccess)
		}},
		{"permission GUIDs in upper case", func(s *snapshot.Snapshot) {
			for i := range corp(s).Application.RequiredResourceAccess {
				rra := &corp(s).Application.RequiredResourceAccess[i]
				rra.ResourceAppID = strings.ToUpper(rra.ResourceAppID)
				for j := range rra.ResourceAccess {
					rra.ResourceAccess[j].ID = strings.ToUpper(rra.ResourceAccess[j].ID)
				}
			}
		}},
		{"permission names table changed", func(s *snapshot.Snapshot) {
			s.GraphPermissions = map[string]string{scopeOpenID: "openid"}
		}},
		{"credentials reordered", func(s *snapshot.Snapshot) { slices.Reverse(corp(s).Application.PasswordCredentials) }},
		{"credential end in another time zone, same instant", func(s *snapshot.Snapshot) {
			end := corp(s).Application.PasswordCredentials[0].End.In(time.FixedZone("UTC+2", 2*3600))
			corp(s).Application.PasswordCredentials[0].End = &end
		}},
		{"consent scopes respaced, reordered, recased, split", func(s *snapshot.Snapshot) {
			g := corp(s).PermissionGrants
			g[0].Scope = "user.read   openid"
			g[0].ConsentType = "allprincipals"
			g = append(g, snapshot.PermissionGrant{ID: "g5", ClientID: strings.ToUpper(corpSPID), ResourceID: graphSPID, ConsentType: "AllPrincipals", Scope: "\temail "})
			slices.Reverse(g)
			corp(s).PermissionGrants = g
		}},
		{"service principal recreated with the same grants", func(s *snapshot.Snapshot) {
			corp(s).ServicePrincipal.ID = "new-sp-id"
			for i := range corp(s).PermissionGrants {
				corp(s).PermissionGrants[i].ClientID = "new-sp-id"
			}
		}},
		{"accountEnabled not reported", func(s *snapshot.Snapshot) { corp(s).ServicePrincipal.AccountEnabled = nil }},
		{"grants to another API", func(s *snapshot.Snapshot) { corp(s).PermissionGrants[2].Scope = "user_impersonation Files.ReadWrite" }},
		{"object and attribute mappings reordered", func(s *snapshot.Snapshot) {
			ms := corp(s).Provisioning.Jobs[0].Mappings
			slices.Reverse(ms)
			slices.Reverse(ms[1].AttributeMappings)
		}},
		{"target attribute respelled", func(s *snapshot.Snapshot) {
			userMapping(s).AttributeMappings[1].TargetAttributeName = `emails[type eq 'work'].value`
		}},
		{"job status", func(s *snapshot.Snapshot) { corp(s).Provisioning.Jobs[0].Status = "Quarantine" }},
		{"claims reordered and repeated", func(s *snapshot.Snapshot) { corpIdP(s).Claims = []string{"upn", "groups", "upn"} }},
		{"IdP booleans false instead of omitted", func(s *snapshot.Snapshot) {
			corpIdP(s).ConditionalAccessEnabled = ptr(false)
			corpIdP(s).SCIM.SeatDeprovision = ptr(false)
		}},
		{"IdP strings empty instead of omitted", func(s *snapshot.Snapshot) {
			s.IdentityProviders[2].Prompt = ptr("")
			s.IdentityProviders[2].EmailClaimName = ptr("")
		}},
		{"IdP SCIM config omitted when all false", func(s *snapshot.Snapshot) {
			s.IdentityProviders[2].SCIM = &snapshot.IdPSCIM{Enabled: ptr(false)}
		}},
		{"IdP ids in another case", func(s *snapshot.Snapshot) {
			corpIdP(s).ClientID = strings.ToUpper(corpAppID)
			corpIdP(s).DirectoryID = strings.ToUpper(tenantID)
		}},
		{"another IdP added", func(s *snapshot.Snapshot) {
			s.IdentityProviders = append(s.IdentityProviders, snapshot.IdentityProvider{ID: "ffff", Name: "GitHub", Type: "github"})
		}},
		{"auth domain in another case", func(s *snapshot.Snapshot) { s.AuthDomain = "ACME.cloudflareaccess.com" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			approved := healthy()
			current := clone(t, healthy())
			tt.mutate(current)
			for _, name := range []string{"corp", "contractors"} {
				assertChanges(t, Integration(approved, current, name), nil)
			}
			assertChanges(t, Snapshots(approved, current), nil)
		})
	}
}

// driftEverywhere changes one watched field of every kind for "corp".
func driftEverywhere(s *snapshot.Snapshot) {
	in := corp(s)
	if in.Application != nil {
		in.Application.DisplayName = "Renamed"
	}
	if in.ServicePrincipal != nil {
		in.ServicePrincipal.AccountEnabled = ptr(false)
	}
	if len(in.PermissionGrants) > 0 {
		in.PermissionGrants[0].Scope += " Directory.Read.All"
	}
	if in.Provisioning != nil {
		in.Provisioning.Jobs[0].Mappings[1].Enabled = false
	}
	for i := range s.IdentityProviders {
		s.IdentityProviders[i].PKCEEnabled = nil
	}
	s.AuthDomain = "other.cloudflareaccess.com"
}

func fields(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Field)
	}
	return out
}

func TestGapsSuppress(t *testing.T) {
	all := []string{"displayName", "adminConsent", "accountEnabled", "provisioning[scim.1].Group.enabled", "pkce_enabled"}
	gap := func(integration string, kind snapshot.DataKind) snapshot.Gap {
		return snapshot.Gap{Integration: integration, What: kind, Error: "HTTP 403 Authorization_RequestDenied"}
	}
	tests := []struct {
		name string
		// inCurrent is applied to the current snapshot, inApproved to the
		// approved one; both record a gap and blank the data as the
		// sources do.
		inCurrent, inApproved func(s *snapshot.Snapshot)
		want                  []string
	}{
		{name: "no gap", want: all},
		{
			name: "app registration",
			inCurrent: func(s *snapshot.Snapshot) {
				s.Gaps = append(s.Gaps, gap("corp", snapshot.EntraApplication))
				corp(s).Application = nil
			},
			want: []string{"adminConsent", "accountEnabled", "provisioning[scim.1].Group.enabled", "pkce_enabled"},
		},
		{
			name: "service principal: consent needs it too",
			inCurrent: func(s *snapshot.Snapshot) {
				s.Gaps = append(s.Gaps, gap("corp", snapshot.EntraServicePrincipal), gap("corp", snapshot.EntraPermissionGrants))
				corp(s).ServicePrincipal, corp(s).PermissionGrants = nil, nil
			},
			want: []string{"displayName", "provisioning[scim.1].Group.enabled", "pkce_enabled"},
		},
		{
			name: "grants only",
			inCurrent: func(s *snapshot.Snapshot) {
				s.Gaps = append(s.Gaps, gap("corp", snapshot.EntraPermissionGrants))
				corp(s).PermissionGrants = nil
			},
			want: []string{"displayName", "accountEnabled", "provisioning[scim.1].Group.enabled", "pkce_enabled"},
		},
		{
			name: "tenant-wide Graph permissions: consent cannot be attributed",
			inCurrent: func(s *snapshot.Snapshot) {
				s.Gaps = append(s.Gaps, gap("", snapshot.EntraGraphPermissions))
				s.GraphPermissions, s.GraphServicePrincipalID = nil, ""
			},
			want: []string{"displayName", "accountEnabled", "provisioning[scim.1].Group.enabled", "pkce_enabled"},
		},
		{
			name: "provisioning",
			inCurrent: func(s *snapshot.Snapshot) {
				s.Gaps = append(s.Gaps, gap("corp", snapshot.EntraProvisioning))
				corp(s).Provisioning = nil
			},
			want: []string{"displayName", "adminConsent", "accountEnabled", "pkce_enabled"},
		},
		{
			name: "account-wide identity providers",
			inCurrent: func(s *snapshot.Snapshot) {
				s.Gaps = append(s.Gaps, gap("", snapshot.CloudflareIdPs))
				s.IdentityProviders = nil
			},
			want: []string{"displayName", "adminConsent", "accountEnabled", "provisioning[scim.1].Group.enabled"},
		},
		{
			name: "another integration's gap",
			inCurrent: func(s *snapshot.Snapshot) {
				s.Gaps = append(s.Gaps, gap("contractors", snapshot.EntraApplication), gap("contractors", snapshot.EntraServicePrincipal))
			},
			want: all,
		},
		{
			name: "a gap in the approved snapshot",
			inApproved: func(s *snapshot.Snapshot) {
				s.Gaps = append(s.Gaps, gap("corp", snapshot.EntraProvisioning))
				corp(s).Provisioning = nil
			},
			want: []string{"displayName", "adminConsent", "accountEnabled", "pkce_enabled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			approved, current := healthy(), healthy()
			driftEverywhere(current)
			if tt.inCurrent != nil {
				tt.inCurrent(current)
			}
			if tt.inApproved != nil {
				tt.inApproved(approved)
			}
			got := fields(Integration(approved, current, "corp"))
			want := slices.Clone(tt.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Integration fields = %q, want %q", got, want)
			}
			// Snapshots skips on a gap in either snapshot alike.
			var corpOnly []string
			for _, c := range Snapshots(approved, current) {
				if c.Integration == "corp" {
					corpOnly = append(corpOnly, c.Field)
				}
			}
			slices.Sort(corpOnly)
			if !slices.Equal(corpOnly, want) {
				t.Errorf("Snapshots fields = %q, want %q", corpOnly, want)
			}
		})
	}
}

func TestSnapshots(t *testing.T) {
	orgChange := Change{Side: snapshot.SideCloudflare, Kind: snapshot.CloudflareOrg, ResourceKind: KindOrganization, ResourceID: accountID,
		Field: "auth_domain", Before: "acme.cloudflareaccess.com", After: "acme-corp.cloudflareaccess.com"}
	tests := []struct {
		name        string
		older       func(s *snapshot.Snapshot)
		newer       func(s *snapshot.Snapshot)
		want        []Change
		integration []Change // what Integration reports for "corp"
	}{
		{
			name:  "auth domain, account-level only",
			newer: func(s *snapshot.Snapshot) { s.AuthDomain = "acme-corp.cloudflareaccess.com" },
			want:  []Change{orgChange},
		},
		{
			name: "auth domain not compared with a gap in the older run",
			older: func(s *snapshot.Snapshot) {
				s.Gaps = append(s.Gaps, snapshot.Gap{Side: snapshot.SideCloudflare, What: snapshot.CloudflareOrg})
			},
			newer: func(s *snapshot.Snapshot) { s.AuthDomain = "acme-corp.cloudflareaccess.com" },
		},
		{
			name:  "auth domain not read",
			newer: func(s *snapshot.Snapshot) { s.AuthDomain = "" },
		},
		{
			name: "integrations on one side only are not compared",
			older: func(s *snapshot.Snapshot) {
				s.Integrations = append(s.Integrations, snapshot.Integration{Name: "legacy", EntraAppID: "legacy"})
			},
			newer: func(s *snapshot.Snapshot) {
				s.Integrations = append(s.Integrations, snapshot.Integration{Name: "new", EntraAppID: "new"})
			},
		},
		{
			name: "sorted by integration, side, resource, field",
			newer: func(s *snapshot.Snapshot) {
				s.AuthDomain = "acme-corp.cloudflareaccess.com"
				s.IdentityProviders[2].PKCEEnabled = nil
				contractors(s).Application.DisplayName = "Contractors (old)"
				corpIdP(s).Prompt = nil
				corp(s).ServicePrincipal.AccountEnabled = ptr(false)
				corp(s).Application.WebRedirectURIs = nil
				// Integration order differs between the runs.
				slices.Reverse(s.Integrations)
			},
			want: []Change{
				orgChange,
				{Integration: "contractors", Side: snapshot.SideCloudflare, Kind: snapshot.CloudflareIdPs, ResourceKind: KindIdentityProvider,
					ResourceID: contractorsIdPID, ResourceName: "Contractors", Field: "pkce_enabled", Before: "true", After: "false"},
				{Integration: "contractors", Side: snapshot.SideEntra, Kind: snapshot.EntraApplication, ResourceKind: KindAppRegistration,
					ResourceID: contractorsAppID, ResourceName: "Contractors (old)", Field: "displayName", Before: "Contractors", After: "Contractors (old)"},
				idpChange("prompt", `"select_account"`, "(not set)"),
				appChange("web.redirectUris", callbackURI+", "+loginURI, "(none)"),
				spChange("accountEnabled", "true", "false"),
			},
			integration: []Change{
				idpChange("prompt", `"select_account"`, "(not set)"),
				appChange("web.redirectUris", callbackURI+", "+loginURI, "(none)"),
				spChange("accountEnabled", "true", "false"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			older, newer := healthy(), healthy()
			if tt.older != nil {
				tt.older(older)
			}
			if tt.newer != nil {
				tt.newer(newer)
			}
			assertChanges(t, Snapshots(older, newer), tt.want)
			// Account-level fields belong to Snapshots only.
			assertChanges(t, Integration(older, newer, "corp"), tt.integration)
		})
	}
}

func TestMissingInput(t *testing.T) {
	s := healthy()
	for name, got := range map[string][]Change{
		"nil approved":             Integration(nil, s, "corp"),
		"nil current":              Integration(s, nil, "corp"),
		"unknown integration":      Integration(s, s, "nope"),
		"nil snapshots":            Snapshots(nil, s),
		"integration not approved": Integration(&snapshot.Snapshot{}, s, "corp"),
	} {
		if got != nil {
			t.Errorf("%s: got %s", name, formatChanges(got))
		}
	}
}

// identity is what a finding's fingerprint is built from.
func identity(c Change) string {
	return strings.Join([]string{c.Integration, string(c.Side), c.ResourceKind, c.ResourceID, c.Field}, "|")
}

func TestIdentityIndependentOfValues(t *testing.T) {
	tests := []struct {
		name   string
		mutate []func(s *snapshot.Snapshot)
	}{
		{"redirect URIs", []func(s *snapshot.Snapshot){
			func(s *snapshot.Snapshot) { corp(s).Application.WebRedirectURIs = []string{"https://a.example"} },
			func(s *snapshot.Snapshot) {
				corp(s).Application.WebRedirectURIs = []string{"https://b.example", loginURI}
			},
		}},
		{"secrets", []func(s *snapshot.Snapshot){
			func(s *snapshot.Snapshot) { corp(s).Application.PasswordCredentials = nil },
			func(s *snapshot.Snapshot) { corp(s).Application.PasswordCredentials[1].End = day(2030, 1, 1) },
		}},
		{"attribute source", []func(s *snapshot.Snapshot){
			func(s *snapshot.Snapshot) { userMapping(s).AttributeMappings[1] = attr(workEmail, "userPrincipalName") },
			func(s *snapshot.Snapshot) {
				userMapping(s).AttributeMappings = slices.Delete(userMapping(s).AttributeMappings, 1, 2)
			},
		}},
		{"IdP prompt", []func(s *snapshot.Snapshot){
			func(s *snapshot.Snapshot) { corpIdP(s).Prompt = ptr("login") },
			func(s *snapshot.Snapshot) { corpIdP(s).Prompt = nil },
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			for _, m := range tt.mutate {
				current := healthy()
				m(current)
				got := Integration(healthy(), current, "corp")
				if len(got) != 1 {
					t.Fatalf("want one change, got%s", formatChanges(got))
				}
				ids = append(ids, identity(got[0]))
			}
			for _, id := range ids[1:] {
				if id != ids[0] {
					t.Errorf("identity %q differs from %q", id, ids[0])
				}
			}
		})
	}
}

// TestDeterministic repeats a comparison with many set members, so map
// iteration order would show if it leaked into the output.
func TestDeterministic(t *testing.T) {
	approved, current := healthy(), healthy()
	current.AuthDomain = "other.cloudflareaccess.com"
	app := corp(current).Application
	for i := range 20 {
		app.WebRedirectURIs = append(app.WebRedirectURIs, fmt.Sprintf("https://r%02d.example/cb", i))
		userMapping(current).AttributeMappings = append(userMapping(current).AttributeMappings, attr(fmt.Sprintf("urn:x:attr%02d", i), "mail"))
	}
	corpIdP(current).Claims = []string{"z", "y", "x", "w", "v", "u", "t", "s"}
	first := Snapshots(approved, current)
	if len(first) != 23 {
		t.Fatalf("got %d changes, want 23:%s", len(first), formatChanges(first))
	}
	for range 50 {
		assertChanges(t, Snapshots(approved, current), first)
	}
}

func TestNeeds(t *testing.T) {
	if got := (Change{Kind: snapshot.EntraApplication}).Needs(); !slices.Equal(got, []snapshot.DataKind{snapshot.EntraApplication}) {
		t.Errorf("application Needs = %v", got)
	}
	want := []snapshot.DataKind{snapshot.EntraPermissionGrants, snapshot.EntraServicePrincipal, snapshot.EntraGraphPermissions}
	if got := (Change{Kind: snapshot.EntraPermissionGrants}).Needs(); !slices.Equal(got, want) {
		t.Errorf("consent Needs = %v, want %v", got, want)
	}
}
