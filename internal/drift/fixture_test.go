package drift

import (
	"time"

	"github.com/driftd/driftd/internal/snapshot"
)

const (
	tenantID         = "3f2e1d0c-9b8a-4776-a554-433221100fed"
	accountID        = "acct-0123456789abcdef"
	graphSPID        = "0f3e2d1c-b4a5-4968-8776-5a4b3c2d1e0f"
	corpAppID        = "5e2f6a1c-0d3b-4c7e-9a8f-1b2c3d4e5f60"
	corpSPID         = "8d1c7b2a-3e4f-4a5b-9c6d-7e8f9a0b1c2d"
	scimAppID        = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
	contractorsAppID = "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
	oktaIdPID        = "0b6c7d8e-1111-4222-8333-444455556666"
	corpIdPID        = "5f1e2d3c-aaaa-4bbb-8ccc-ddddeeeeffff"
	contractorsIdPID = "d2c3b4a5-9999-4888-8777-666655554444"

	scopeOpenID   = "37f7f235-527c-4136-accd-4a02d197296e"
	scopeEmail    = "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"
	scopeUserRead = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
	scopeDirRead  = "06da0dbc-49e2-44d2-8312-53f166ab848a"
	roleDirRead   = "7ab1d382-f21e-4acd-a863-ba3e13f7da61" // not in the delegated table
	aadGraphAppID = "00000002-0000-0000-c000-000000000000"
	aadSignIn     = "311a71cc-e848-46a1-bdf8-97ff7156d8e6"

	secret1KeyID = "a1b2c3d4-0000-4000-8000-000000000001"
	secret2KeyID = "a1b2c3d4-0000-4000-8000-000000000002"
	certKeyID    = "c3d4e5f6-0000-4000-8000-000000000003"

	callbackURI = "https://acme.cloudflareaccess.com/cdn-cgi/access/callback"
	loginURI    = "https://login.acme.example/callback"

	jobID = "scim.1"
	// workEmail is the Cloudflare guide's target for the work email.
	workEmail = `emails[type eq "work"].value`
)

// Renderings of the fixture's set-like fields.
const (
	permsRendered = aadGraphAppID + "/" + aadSignIn + " (delegated), " +
		roleDirRead + " (application), User.Read (delegated), email (delegated), openid (delegated)"
	secret1Rendered = `"cloudflare-access" (hint AbC…, keyId ` + secret1KeyID + `, ends 2026-03-01)`
	secret2Rendered = `"cloudflare-access, backup" (hint Q7x…, keyId ` + secret2KeyID + `, ends 2026-09-01)`
	secretsRendered = secret1Rendered + "; " + secret2Rendered
	certRendered    = `"CN=driftd-signing" (keyId ` + certKeyID + `, ends 2027-01-15)`
)

func ptr[T any](v T) *T { return &v }

func day(y int, m time.Month, d int) *time.Time {
	t := time.Date(y, m, d, 10, 0, 0, 0, time.UTC)
	return &t
}

func attr(target, source string) snapshot.AttributeMapping {
	return snapshot.AttributeMapping{TargetAttributeName: target, SourceType: "Attribute", SourceName: source, SourceExpression: "[" + source + "]"}
}

func function(target, name, expr string) snapshot.AttributeMapping {
	return snapshot.AttributeMapping{TargetAttributeName: target, SourceType: "Function", SourceName: name, SourceExpression: expr}
}

// healthy is an approved-looking snapshot with two integrations: "corp"
// (IdP found by client_id, SCIM provisioning) and "contractors" (IdP
// pinned by id, no provisioning).
func healthy() *snapshot.Snapshot {
	return &snapshot.Snapshot{
		TakenAt:   time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		TenantID:  tenantID,
		AccountID: accountID,
		GraphPermissions: map[string]string{
			scopeOpenID:   "openid",
			scopeEmail:    "email",
			scopeUserRead: "User.Read",
			scopeDirRead:  "Directory.Read.All",
		},
		GraphServicePrincipalID: graphSPID,
		AuthDomain:              "acme.cloudflareaccess.com",
		IdentityProviders: []snapshot.IdentityProvider{
			// Another type with the same client_id: never the integration's.
			{ID: oktaIdPID, Name: "Okta", Type: "okta", ClientID: corpAppID},
			{
				ID: corpIdPID, Name: "Entra ID", Type: "azureAD", ClientID: corpAppID, DirectoryID: tenantID,
				PKCEEnabled: ptr(true), SupportGroups: ptr(true), EmailClaimName: ptr("email"),
				Claims: []string{"groups", "upn"}, Prompt: ptr("select_account"),
				SCIM: &snapshot.IdPSCIM{Enabled: ptr(true), UserDeprovision: ptr(true), IdentityUpdateBehavior: ptr("automatic")},
			},
			{ID: contractorsIdPID, Name: "Contractors", Type: "azureAD", ClientID: contractorsAppID, DirectoryID: tenantID, PKCEEnabled: ptr(true)},
		},
		Integrations: []snapshot.Integration{
			{
				Name:       "corp",
				EntraAppID: corpAppID,
				SCIMAppID:  scimAppID,
				Application: &snapshot.Application{
					ID: "app-object-corp", AppID: corpAppID, DisplayName: "Cloudflare Access",
					WebRedirectURIs: []string{callbackURI, loginURI},
					RequiredResourceAccess: []snapshot.RequiredResourceAccess{
						{ResourceAppID: microsoftGraphAppID, ResourceAccess: []snapshot.ResourceAccess{
							{ID: scopeOpenID, Type: "Scope"},
							{ID: scopeEmail, Type: "Scope"},
							{ID: scopeUserRead, Type: "Scope"},
							{ID: roleDirRead, Type: "Role"},
						}},
						{ResourceAppID: aadGraphAppID, ResourceAccess: []snapshot.ResourceAccess{{ID: aadSignIn, Type: "Scope"}}},
					},
					PasswordCredentials: []snapshot.Credential{
						{KeyID: secret1KeyID, DisplayName: "cloudflare-access", Hint: "AbC", Start: day(2025, 3, 1), End: day(2026, 3, 1)},
						{KeyID: secret2KeyID, DisplayName: "cloudflare-access, backup", Hint: "Q7x", Start: day(2025, 9, 1), End: day(2026, 9, 1)},
					},
					KeyCredentials: []snapshot.Credential{
						{KeyID: certKeyID, DisplayName: "CN=driftd-signing", Type: "AsymmetricX509Cert", Usage: "Verify", End: day(2027, 1, 15)},
					},
				},
				ServicePrincipal: &snapshot.ServicePrincipal{ID: corpSPID, AppID: corpAppID, DisplayName: "Cloudflare Access", AccountEnabled: ptr(true)},
				PermissionGrants: []snapshot.PermissionGrant{
					{ID: "g1", ClientID: corpSPID, ResourceID: graphSPID, ConsentType: "AllPrincipals", Scope: " openid  email User.Read "},
					{ID: "g2", ClientID: corpSPID, ResourceID: graphSPID, ConsentType: "Principal", PrincipalID: "user-1", Scope: "Mail.Read openid"},
					// Another resource: not Microsoft Graph, not watched.
					{ID: "g3", ClientID: corpSPID, ResourceID: "other-api-sp", ConsentType: "AllPrincipals", Scope: "user_impersonation"},
				},
				Provisioning: &snapshot.Provisioning{
					ServicePrincipalID: "scim-sp", DisplayName: "Cloudflare SCIM",
					Jobs: []snapshot.SyncJob{{
						ID: jobID, TemplateID: "scim", Status: "Active",
						Mappings: []snapshot.ObjectMapping{
							{
								Name: "Provision Microsoft Entra ID Users", Enabled: true, SourceObjectName: "User", TargetObjectName: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
								AttributeMappings: []snapshot.AttributeMapping{
									attr("userName", "userPrincipalName"),
									attr(workEmail, "mail"),
									attr("name.givenName", "givenName"),
									function("active", "Switch", `Switch([IsSoftDeleted], , "False", "True", "True", "False")`),
									function("displayName", "Join", `Join(" ", [givenName], [surname])`),
								},
							},
							{
								Name: "Provision Microsoft Entra ID Groups", Enabled: true, SourceObjectName: "Group", TargetObjectName: "urn:ietf:params:scim:schemas:core:2.0:Group",
								AttributeMappings: []snapshot.AttributeMapping{attr("displayName", "displayName"), attr("members", "members")},
							},
						},
					}},
				},
			},
			{
				Name:            "contractors",
				EntraAppID:      contractorsAppID,
				CloudflareIdPID: "D2C3B4A5-9999-4888-8777-666655554444", // case differs from the API's
				Application: &snapshot.Application{
					ID: "app-object-contractors", AppID: contractorsAppID, DisplayName: "Contractors",
					WebRedirectURIs: []string{callbackURI},
				},
				ServicePrincipal: &snapshot.ServicePrincipal{ID: "contractors-sp", AppID: contractorsAppID, DisplayName: "Contractors", AccountEnabled: ptr(true)},
			},
		},
	}
}

func corp(s *snapshot.Snapshot) *snapshot.Integration { return &s.Integrations[0] }

func contractors(s *snapshot.Snapshot) *snapshot.Integration { return &s.Integrations[1] }

func corpIdP(s *snapshot.Snapshot) *snapshot.IdentityProvider { return &s.IdentityProviders[1] }

func userMapping(s *snapshot.Snapshot) *snapshot.ObjectMapping {
	return &corp(s).Provisioning.Jobs[0].Mappings[0]
}
