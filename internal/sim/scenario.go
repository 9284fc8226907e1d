package sim

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Identities shared by every scenario.
const (
	TenantID     = "da62caae-19b6-4dfc-91eb-c73a1ce2f0d6"
	TenantDomain = "acme.onmicrosoft.com"
	AccountID    = "dc9d5bab1bf33f7db19895a468c0bcb5"
	TeamDomain   = "acme.cloudflareaccess.com"
	// CallbackURL is the Cloudflare Access redirect URI every Entra app
	// of the account must register under web.redirectUris.
	CallbackURL = "https://" + TeamDomain + "/cdn-cgi/access/callback"

	// driftd's own app registration.
	AuditorClientID    = "4b94a3f2-74c6-4618-bac5-1e2d2617cf51"
	AuditorAppObjectID = "35e33ed0-2c44-4104-b6b9-b1ef4974a66d"
	AuditorSPID        = "72810c43-d3c9-4988-b5a1-f48a4f3b1ca9"

	// GraphSPID is the object ID of the Microsoft Graph service principal.
	GraphSPID = "6ddfe5aa-6495-42ec-98b3-213f959f6c54"

	// Integration "corp-sso".
	CorpAppID           = "947ff0e7-3b7a-4a49-91ee-1b00e074c010"
	CorpAppObjectID     = "07eb431f-94bc-4fcc-abe2-67d71a6efe7a"
	CorpAppName         = "Cloudflare Access"
	CorpSPID            = "9cdb2628-631c-430d-8b88-faf0d658d7e2"
	CorpSecretKeyID     = "4aabb2a0-e98e-4aa2-b046-7f646a2a3383"
	CorpSecretHint      = "AbC"
	CorpSCIMAppID       = "80281e4b-ac1f-4ebd-9a93-f410f02d42ea"
	CorpSCIMAppObjectID = "11323d63-76af-4269-adbb-1c3d3cb455b4"
	CorpSCIMAppName     = "Cloudflare Access SCIM"
	CorpSCIMSPID        = "96d89210-94bf-48b4-a2c7-eb3361d1d261"
	CorpSCIMJobID       = "scim.12f80ebd923244bec9395c1dc4f9152f." + TenantID
	CorpIdPID           = "4d93cdd6-06ce-44b4-a659-56a556021e38"
	CorpIdPName         = "Entra ID (corp)"

	// Integration "contractors".
	ContractorsAppID       = "3ae9dddb-ea0a-4288-9d8c-7f7f1614529c"
	ContractorsAppObjectID = "e6828a7b-47a3-44d2-9fa9-d440eedc32fa"
	ContractorsAppName     = "Contractors SSO"
	ContractorsSPID        = "483e9755-3034-4869-882f-603ff65eb0b0"
	ContractorsSecretKeyID = "89cba8dd-f06a-4f9b-9f87-cb556a738f2e"
	ContractorsSecretHint  = "Q7x"
	ContractorsIdPID       = "3d653a3c-2d13-4d69-a58d-fe600f70cba0"
	ContractorsIdPName     = "Entra ID (contractors)"

	// An unrelated app with its own admin consent, so that grant listings
	// really have to be filtered by client.
	IntranetAppID       = "a03cd41c-dad5-4407-a8af-fd930490c6cb"
	IntranetAppObjectID = "2784d94d-c324-4a61-99be-562389b258d1"
	IntranetSPID        = "1b046643-e8ad-4708-a864-ff30eacacde9"

	// Cloudflare IdPs that are not azureAD.
	OneTimePinIdPID = "e7298ef0-bc2d-490d-9d85-3d9433241b3f"
	OktaIdPID       = "d7f60ae9-6dfa-4f1c-ac03-ec083dff328b"

	// Users with a Principal-consent grant to the corp app.
	UserAdeleID = "8bc1179d-4b57-40b3-aa63-40ac34db11ed"
	UserBenID   = "ab004ef9-bf15-44fd-88cb-1396c3cd116b"
	// EntraP1PlanID is the service plan of Microsoft Entra ID P1.
	EntraP1PlanID   = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
	skuE3ID         = "05e9a617-0261-4cee-bb44-138d3ef5d965"
	skuTeamsTrialID = "710779e8-3d4a-4c88-adb9-386c958d1fdf"

	// UserDanID owns the corp and contractors app registrations.
	UserDanID = "5e0f3c1a-7b2d-4c8e-9f61-2a4b6d8e0c13"
	// UserChloeID consented Directory.Read.All for herself (Drifted only).
	UserChloeID = "213e2176-1205-4e54-a035-7efe169014fc"

	// Credentials added by Drifted.
	CorpOldSecretKeyID = "ae1762e8-432a-489e-ba31-02bc7ed1c06b"
	CorpCertKeyID      = "0faf5964-d583-4130-9927-bc2b548f6e4c"

	// SCIM target object names of the customappsso ("scim") template.
	SCIMUserTarget  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SCIMGroupTarget = "urn:ietf:params:scim:schemas:core:2.0:Group"

	// CorpGrantScope is the scope of the corp app's AllPrincipals grant in
	// Healthy: all seven permissions, with the stray spaces real Graph
	// data has.
	CorpGrantScope = " openid profile email offline_access User.Read Directory.Read.All  GroupMember.Read.All"
	// DriftedCorpGrantScope lacks GroupMember.Read.All and Directory.Read.All.
	DriftedCorpGrantScope = " openid profile email  offline_access User.Read"
	// ChloeGrantScope is the Principal grant Drifted adds for UserChloeID.
	ChloeGrantScope = "openid profile email offline_access User.Read Directory.Read.All"
	// userGrantScope is what the early users consented to themselves.
	userGrantScope = "openid profile email offline_access User.Read"

	// Expiry offsets relative to Healthy's/Drifted's now.
	CorpSecretLifetimeHealthy   = 200 * 24 * time.Hour
	CorpSecretLifetimeDrifted   = 5 * 24 * time.Hour
	CorpOldSecretExpiredAgo     = 40 * 24 * time.Hour
	CorpCertExpiredAgo          = 3 * 24 * time.Hour
	ContractorsSecretLifetime   = 300 * 24 * time.Hour
	ContractorsSecretExpiredAgo = 2 * 24 * time.Hour
	intranetSecretLifetime      = 90 * 24 * time.Hour
	auditorSecretLifetime       = 365 * 24 * time.Hour
	nonGalleryAppTemplateID     = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
	corpSCIMRuleID              = "62eabf4e-da6f-43e1-bde9-4e48fd5f6c02"
	auditorSecretKeyID          = "37af8ec2-8086-4812-8e60-44547674005e"
	intranetSecretKeyID         = "79c70cd1-63bf-4a06-bf09-9ed81b3c3797"
	corpSCIMSchemaVersionNonce  = "a458dc7df6cb4af8"

	// Credentials the scenarios accept. Random-looking on purpose: they
	// double as canaries that must never appear in driftd output.
	auditorClientSecret    = "s2t8Q~VCh0izTTEdL2GkRWdAYiz27ooPk_6HD3LO"
	cloudflareAPIToken     = "p3yklu6uxWNQf8THMAxFVeQIK9dB7qg6sbuce_G-"
	corpClientSecret       = "AbC8Q~IMwtZAI7XjS-nw~pLAabdntvROI9Jz1F~_"
	contractorsSecret      = "Q7x8Q~tSJz~0BdpQsgjoBiitL1V0kxy71K60rjc6"
	oktaClientSecret       = "flv8Q~wpP18.i-BJR2oFtaDOGmVLmVlxx5Snl.Y1"
	corpSCIMSecret         = "5IIcpppqvKcbLxSK4CeX4Y30So1LpLqc1mg3zUkv"
	corpCertThumbprintHex  = "56B4001D9B3C3E344DC6882CEE6527C1AE97E3CD"
	corpSCIMBaseURLSuffix  = "93f916d955f7a53feff7bccd851ec04c"
	corpOldSecretHint      = "x9K"
	corpCertDisplayName    = "CN=cloudflare-access.acme.example"
	intranetRedirectURI    = "https://intranet.acme.example/signin-oidc"
	defaultGraphPageSize   = 100
	maxGraphPageSize       = 999
	defaultCFPageSize      = 25
	maxCFPageSize          = 1000
	graphTokenLifetimeSecs = 3599
)

// CorpScopeNames are the seven delegated Graph permissions the corp app
// requests in Healthy, by value.
func CorpScopeNames() []string {
	return []string{"openid", "profile", "email", "offline_access", "User.Read", "Directory.Read.All", "GroupMember.Read.All"}
}

// corpResourceAccess is the corp app's Graph permission request.
func corpResourceAccess() []ResourceAccess {
	return []ResourceAccess{
		{ID: ScopeOpenID, Type: "Scope"},
		{ID: ScopeProfile, Type: "Scope"},
		{ID: ScopeEmail, Type: "Scope"},
		{ID: ScopeOfflineAccess, Type: "Scope"},
		{ID: ScopeUserRead, Type: "Scope"},
		{ID: ScopeDirectoryReadAll, Type: "Scope"},
		{ID: ScopeGroupMemberReadAll, Type: "Scope"},
	}
}

// Healthy returns a tenant and account whose integrations are correct.
// Credential dates are relative to now.
//
// Entra: driftd's own app, the Microsoft Graph service principal, the corp
// app "Cloudflare Access" (seven delegated Graph permissions, admin
// consent, one secret ending now+200d, web redirect URI CallbackURL), its
// SCIM app "Cloudflare Access SCIM" with one provisioning job, the
// "Contractors SSO" app (same permissions, own secret ending now+300d) and
// an unrelated intranet app. The corp app also has two Principal grants
// from users who signed in before admin consent.
//
// Cloudflare: IdPs in this order: corp azureAD, onetimepin, okta,
// contractors azureAD; and the organization for TeamDomain.
func Healthy(now time.Time) *Tenant {
	now = now.UTC().Truncate(time.Second)
	days := func(n int) time.Time { return now.AddDate(0, 0, n) }

	t := &Tenant{
		TenantID:            TenantID,
		TenantDomain:        TenantDomain,
		AccountID:           AccountID,
		TeamDomain:          TeamDomain,
		AuditorClientID:     AuditorClientID,
		AuditorClientSecret: auditorClientSecret,
		CloudflareAPIToken:  cloudflareAPIToken,
	}

	t.Applications = []Application{
		{
			ID: AuditorAppObjectID, AppID: AuditorClientID, DisplayName: "driftd",
			CreatedDateTime: days(-120), SignInAudience: "AzureADMyOrg", PublisherDomain: TenantDomain,
			RequiredResourceAccess: []RequiredResourceAccess{{
				ResourceAppID: GraphAppID,
				ResourceAccess: []ResourceAccess{
					{ID: RoleApplicationReadAll, Type: "Role"},
					{ID: RoleDirectoryReadAll, Type: "Role"},
					{ID: RoleSynchronizationReadAll, Type: "Role"},
				},
			}},
			PasswordCredentials: []PasswordCredential{{
				DisplayName: "driftd audit", Hint: auditorClientSecret[:3], KeyID: auditorSecretKeyID,
				StartDateTime: days(-30), EndDateTime: now.Add(auditorSecretLifetime - 30*24*time.Hour),
			}},
		},
		{
			ID: CorpAppObjectID, AppID: CorpAppID, DisplayName: CorpAppName,
			CreatedDateTime: days(-400), SignInAudience: "AzureADMyOrg", PublisherDomain: TenantDomain,
			Web: WebApplication{RedirectURIs: []string{CallbackURL}},
			RequiredResourceAccess: []RequiredResourceAccess{{
				ResourceAppID: GraphAppID, ResourceAccess: corpResourceAccess(),
			}},
			Owners:                []string{UserDanID},
			GroupMembershipClaims: ptr("SecurityGroup"),
			PasswordCredentials: []PasswordCredential{{
				DisplayName: "cloudflare-access", Hint: CorpSecretHint, KeyID: CorpSecretKeyID,
				StartDateTime: days(-165), EndDateTime: now.Add(CorpSecretLifetimeHealthy),
			}},
		},
		{
			ID: CorpSCIMAppObjectID, AppID: CorpSCIMAppID, DisplayName: CorpSCIMAppName,
			ApplicationTemplateID: ptr(nonGalleryAppTemplateID),
			CreatedDateTime:       days(-390), SignInAudience: "AzureADMyOrg", PublisherDomain: TenantDomain,
			Tags: []string{"WindowsAzureActiveDirectoryCustomSingleSignOnApplication", "WindowsAzureActiveDirectoryIntegratedApp"},
		},
		{
			ID: ContractorsAppObjectID, AppID: ContractorsAppID, DisplayName: ContractorsAppName,
			CreatedDateTime: days(-200), SignInAudience: "AzureADMyOrg", PublisherDomain: TenantDomain,
			Web: WebApplication{RedirectURIs: []string{CallbackURL}},
			RequiredResourceAccess: []RequiredResourceAccess{{
				ResourceAppID: GraphAppID, ResourceAccess: corpResourceAccess(),
			}},
			Owners: []string{UserDanID},
			PasswordCredentials: []PasswordCredential{{
				DisplayName: "cloudflare-access-contractors", Hint: ContractorsSecretHint, KeyID: ContractorsSecretKeyID,
				StartDateTime: days(-65), EndDateTime: now.Add(ContractorsSecretLifetime),
			}},
		},
		{
			ID: IntranetAppObjectID, AppID: IntranetAppID, DisplayName: "Acme Intranet",
			CreatedDateTime: days(-700), SignInAudience: "AzureADMyOrg", PublisherDomain: TenantDomain,
			Web: WebApplication{RedirectURIs: []string{intranetRedirectURI}},
			RequiredResourceAccess: []RequiredResourceAccess{{
				ResourceAppID: GraphAppID,
				ResourceAccess: []ResourceAccess{
					{ID: ScopeUserRead, Type: "Scope"},
					{ID: ScopeCalendarsRead, Type: "Scope"},
				},
			}},
			PasswordCredentials: []PasswordCredential{{
				DisplayName: "intranet", Hint: "m4R", KeyID: intranetSecretKeyID,
				StartDateTime: days(-275), EndDateTime: now.Add(intranetSecretLifetime),
			}},
		},
	}

	t.ServicePrincipals = []ServicePrincipal{
		graphServicePrincipal(now),
		tenantServicePrincipal(AuditorSPID, AuditorClientID, "driftd", days(-120), nil),
		tenantServicePrincipal(CorpSPID, CorpAppID, CorpAppName, days(-400), []string{CallbackURL}),
		scimServicePrincipal(days(-390)),
		tenantServicePrincipal(ContractorsSPID, ContractorsAppID, ContractorsAppName, days(-200), []string{CallbackURL}),
		tenantServicePrincipal(IntranetSPID, IntranetAppID, "Acme Intranet", days(-700), []string{intranetRedirectURI}),
	}

	t.OAuth2PermissionGrants = []OAuth2PermissionGrant{
		grant(IntranetSPID, "AllPrincipals", "", "User.Read Calendars.Read"),
		grant(CorpSPID, "Principal", UserAdeleID, userGrantScope),
		grant(CorpSPID, "AllPrincipals", "", CorpGrantScope),
		grant(ContractorsSPID, "AllPrincipals", "", "openid profile email offline_access User.Read Directory.Read.All GroupMember.Read.All"),
		grant(CorpSPID, "Principal", UserBenID, userGrantScope),
	}

	t.SynchronizationJobs = map[string][]SynchronizationJob{
		CorpSCIMSPID: {corpSCIMJob(now)},
	}
	// The job's last run reached Cloudflare: its requests are logged.
	t.SCIMUpdateLogs = scimLogEntries(now.Add(-corpSCIMRunAgo))
	// All staff is assigned to the SCIM app (what it provisions); driftd
	// holds its read-only Graph application permissions. The sign-in
	// apps hold none.
	t.AppRoleAssignments = []AppRoleAssignment{
		{ID: "Y2_VmS2K9U-hVJm4sNk0cqe2W5y0P2tJnLqKbE2CmYo", AppRoleID: defaultAccessRoleID, CreatedDateTime: ptr(days(-388)),
			PrincipalDisplayName: "All staff", PrincipalID: GroupAllStaffID, PrincipalType: "Group",
			ResourceDisplayName: CorpSCIMAppName, ResourceID: CorpSCIMSPID},
		auditorRole(RoleApplicationReadAll, days(-120)),
		auditorRole(RoleDirectoryReadAll, days(-120)),
		auditorRole(RoleSynchronizationReadAll, days(-120)),
	}

	// Microsoft 365 E3 carries Entra ID P1; the Teams trial does not.
	t.SubscribedSkus = []SubscribedSku{
		{
			AccountID: TenantID, AccountName: "Acme Corp", AppliesTo: "User", CapabilityStatus: "Enabled", ConsumedUnits: 412,
			ID: TenantID + "_" + skuE3ID, PrepaidUnits: json.RawMessage(`{"enabled":450,"lockedOut":0,"suspended":0,"warning":0}`),
			SkuID: skuE3ID, SkuPartNumber: "SPE_E3", SubscriptionIDs: []string{"b7e4c2a9-5d31-4f08-9c6e-1a2b3c4d5e6f"},
			ServicePlans: []ServicePlanInfo{
				{AppliesTo: "User", ProvisioningStatus: "Success", ServicePlanID: "efb87545-963c-4e0d-99df-69c6916d9eb0", ServicePlanName: "EXCHANGE_S_ENTERPRISE"},
				{AppliesTo: "User", ProvisioningStatus: "Success", ServicePlanID: EntraP1PlanID, ServicePlanName: "AAD_PREMIUM"},
			},
		},
		{
			AccountID: TenantID, AccountName: "Acme Corp", AppliesTo: "User", CapabilityStatus: "Enabled", ConsumedUnits: 3,
			ID: TenantID + "_" + skuTeamsTrialID, PrepaidUnits: json.RawMessage(`{"enabled":100,"lockedOut":0,"suspended":0,"warning":0}`),
			SkuID: skuTeamsTrialID, SkuPartNumber: "TEAMS_EXPLORATORY", SubscriptionIDs: []string{"0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f"},
			ServicePlans: []ServicePlanInfo{
				{AppliesTo: "User", ProvisioningStatus: "Success", ServicePlanID: "57ff2da0-773e-42df-b2af-ffb7a2317929", ServicePlanName: "TEAMS1"},
			},
		},
	}

	t.IdentityProviders = []IdentityProvider{
		{
			ID: CorpIdPID, Name: CorpIdPName, Type: "azureAD",
			Config: IdentityProviderConfig{
				ClientID: CorpAppID, ClientSecret: corpClientSecret, DirectoryID: TenantID,
				SupportGroups: true, ConditionalAccessEnabled: false, EmailClaimName: "email",
				Claims: []string{}, Prompt: "login", PKCEEnabled: true, RedirectURL: CallbackURL,
			},
			SCIMConfig: SCIMConfig{
				Enabled: true, UserDeprovision: true, SeatDeprovision: true, GroupMemberDeprovision: false,
				IdentityUpdateBehavior: "automatic", Secret: corpSCIMSecret,
				SCIMBaseURL: "https://" + TeamDomain + "/populate/" + corpSCIMBaseURLSuffix,
			},
		},
		{
			ID: OneTimePinIdPID, Name: "One-time PIN", Type: "onetimepin",
			Config:     IdentityProviderConfig{RedirectURL: CallbackURL},
			SCIMConfig: SCIMConfig{IdentityUpdateBehavior: "no_action"},
		},
		{
			ID: OktaIdPID, Name: "Okta (legacy)", Type: "okta",
			Config: IdentityProviderConfig{
				ClientID: "0oa4x8c2vhQ7pLm9k5d7", ClientSecret: oktaClientSecret,
				OktaAccount: "https://acme.okta.com", AuthorizationServerID: "default",
				EmailClaimName: "email", Claims: []string{"groups"}, RedirectURL: CallbackURL,
			},
			SCIMConfig: SCIMConfig{IdentityUpdateBehavior: "no_action"},
		},
		{
			ID: ContractorsIdPID, Name: ContractorsIdPName, Type: "azureAD",
			Config: IdentityProviderConfig{
				ClientID: ContractorsAppID, ClientSecret: contractorsSecret, DirectoryID: TenantID,
				SupportGroups: true, ConditionalAccessEnabled: false, EmailClaimName: "email",
				Claims: []string{}, Prompt: "login", PKCEEnabled: true, RedirectURL: CallbackURL,
			},
			// The contractors integration does not provision over SCIM.
			SCIMConfig: SCIMConfig{IdentityUpdateBehavior: "no_action"},
		},
	}

	t.Organization = &Organization{
		AuthDomain:                     TeamDomain,
		Name:                           "Acme Corp",
		UserSeatExpirationInactiveTime: "730h",
		SessionDuration:                "24h",
		WARPAuthSessionDuration:        "24h",
		LoginDesign: LoginDesign{
			BackgroundColor: "#0b1f3a", TextColor: "#ffffff",
			LogoPath:   "https://assets.acme.example/logo.svg",
			HeaderText: "Acme Corp", FooterText: "Authorised use only",
		},
		CreatedAt: days(-800),
		UpdatedAt: days(-12),
	}
	healthyPolicies(t, now)
	return t
}

// Drifted returns Healthy(now) with exactly these changes:
//
//   - corp app: GroupMember.Read.All removed from requiredResourceAccess and
//     from the AllPrincipals grant (scope DriftedCorpGrantScope);
//   - corp app: Directory.Read.All still requested but missing from the
//     AllPrincipals grant; a Principal grant for UserChloeID holds it
//     (ChloeGrantScope), which is not admin consent;
//   - corp app: the secret CorpSecretKeyID now ends at now+5d, two years
//     after it started; a second
//     secret CorpOldSecretKeyID ended 40 days ago; a certificate
//     CorpCertKeyID (AsymmetricX509Cert, Verify) ended 3 days ago;
//   - contractors app: its only secret ended ContractorsSecretExpiredAgo
//     ago, so it has no valid client secret; it has no owners;
//   - the tenant's SPE_E3 subscription (which carries Entra ID P1) is
//     Suspended;
//   - corp app: signInAudience AzureADMultipleOrgs, and implicit grant
//     issues ID tokens;
//   - corp app: CallbackURL is no longer a web redirect URI but a spa one;
//   - corp SCIM job: emails[type eq "work"].value maps from
//     userPrincipalName instead of mail, and name.familyName is unmapped;
//   - corp Cloudflare IdP: pkce_enabled false, prompt "select_account",
//     scim_config.user_deprovision false, identity_update_behavior
//     "no_action", email_claim_name "upn" and claims [groups,
//     employee_id] (the corp app emits groups, neither of the others),
//     support_groups false while SCIM stays enabled;
//   - the contractors Cloudflare IdP is deleted (its Entra app is intact),
//     so the reusable Contractors policy's rule through it never matches;
//   - the Access policy, application and group lists page one by one;
//   - the Finance group is deleted, so the Grafana application's
//     "Finance dashboards" policy names a group that does not exist;
//   - Cloudflare logged no SCIM request for the corp identity provider
//     since four days ago, while the corp job exported changes 25
//     minutes ago (a wrong Tenant URL or token in Entra);
//   - the corp app's service principal holds the Microsoft Graph
//     application permission Directory.Read.All.
func Drifted(now time.Time) *Tenant {
	t := Healthy(now)
	now = now.UTC().Truncate(time.Second)
	t.CloudflarePageSize = 1

	app := t.application(CorpAppID)
	for i := range app.RequiredResourceAccess {
		rra := &app.RequiredResourceAccess[i]
		kept := rra.ResourceAccess[:0]
		for _, ra := range rra.ResourceAccess {
			if ra.ID != ScopeGroupMemberReadAll {
				kept = append(kept, ra)
			}
		}
		rra.ResourceAccess = kept
	}
	for i := range t.OAuth2PermissionGrants {
		g := &t.OAuth2PermissionGrants[i]
		if g.ClientID == CorpSPID && g.ConsentType == "AllPrincipals" {
			g.Scope = DriftedCorpGrantScope
		}
	}
	t.OAuth2PermissionGrants = append(t.OAuth2PermissionGrants,
		grant(CorpSPID, "Principal", UserChloeID, ChloeGrantScope))

	app.PasswordCredentials[0].EndDateTime = now.Add(CorpSecretLifetimeDrifted)
	// Created with a two-year lifetime, beyond the 365-day policy.
	app.PasswordCredentials[0].StartDateTime = now.Add(CorpSecretLifetimeDrifted).AddDate(-2, 0, 0)
	app.PasswordCredentials = append(app.PasswordCredentials, PasswordCredential{
		DisplayName: "cloudflare-access (previous)", Hint: corpOldSecretHint, KeyID: CorpOldSecretKeyID,
		StartDateTime: now.Add(-CorpOldSecretExpiredAgo).AddDate(0, 0, -365),
		EndDateTime:   now.Add(-CorpOldSecretExpiredAgo),
	})
	app.KeyCredentials = append(app.KeyCredentials, KeyCredential{
		CustomKeyIdentifier: thumbprintBase64(corpCertThumbprintHex),
		DisplayName:         corpCertDisplayName, KeyID: CorpCertKeyID,
		StartDateTime: now.Add(-CorpCertExpiredAgo).AddDate(-1, 0, 0),
		EndDateTime:   now.Add(-CorpCertExpiredAgo),
		Type:          "AsymmetricX509Cert", Usage: "Verify",
	})

	app.Web.RedirectURIs = []string{}
	app.Spa.RedirectURIs = []string{CallbackURL}

	contractors := t.application(ContractorsAppID)
	contractors.PasswordCredentials[0].EndDateTime = now.Add(-ContractorsSecretExpiredAgo)
	contractors.Owners = nil

	// The E3 subscription lapsed: no Entra ID P1 while SCIM is on.
	t.SubscribedSkus[0].CapabilityStatus = "Suspended"

	app.SignInAudience = "AzureADMultipleOrgs"
	app.Web.ImplicitGrantSettings.EnableIDTokenIssuance = true

	for i := range t.SynchronizationJobs[CorpSCIMSPID] {
		job := &t.SynchronizationJobs[CorpSCIMSPID][i]
		for r := range job.Schema.SynchronizationRules {
			rule := &job.Schema.SynchronizationRules[r]
			for o := range rule.ObjectMappings {
				om := &rule.ObjectMappings[o]
				if om.SourceObjectName != "User" {
					continue
				}
				kept := om.AttributeMappings[:0]
				for _, am := range om.AttributeMappings {
					switch am.TargetAttributeName {
					case "name.familyName":
						continue
					case `emails[type eq "work"].value`:
						am.Source = attrSource("userPrincipalName")
					}
					kept = append(kept, am)
				}
				om.AttributeMappings = kept
			}
		}
	}

	groups := t.Groups[:0]
	for _, g := range t.Groups {
		if g.ID != GroupFinanceID {
			groups = append(groups, g)
		}
	}
	t.Groups = groups
	for i := range t.Groups {
		if t.Groups[i].ID == GroupAllStaffID {
			t.Groups[i].MemberGroups = []string{GroupEngineeringID}
		}
	}
	t.SCIMUpdateLogs = scimLogEntries(now.Add(-4 * 24 * time.Hour))
	t.AppRoleAssignments = append(t.AppRoleAssignments, AppRoleAssignment{
		ID: "KCbbnGMdDUyLiPr6C0UGgr7ZM3rX3fhLs3Oc9qaxEYs", AppRoleID: RoleDirectoryReadAll, CreatedDateTime: ptr(now.AddDate(0, 0, -6)),
		PrincipalDisplayName: CorpAppName, PrincipalID: CorpSPID, PrincipalType: "ServicePrincipal",
		ResourceDisplayName: "Microsoft Graph", ResourceID: GraphSPID,
	})

	idps := t.IdentityProviders[:0]
	for _, idp := range t.IdentityProviders {
		switch idp.ID {
		case ContractorsIdPID:
			continue
		case CorpIdPID:
			idp.Config.PKCEEnabled = false
			idp.Config.Prompt = "select_account"
			idp.SCIMConfig.UserDeprovision = false
			idp.SCIMConfig.IdentityUpdateBehavior = "no_action"
			// Claims the corp app's ID token does not carry.
			idp.Config.EmailClaimName = "upn"
			idp.Config.Claims = []string{"groups", "employee_id"}
			// SCIM stays on, so synchronised groups are never used.
			idp.Config.SupportGroups = false
		}
		idps = append(idps, idp)
	}
	t.IdentityProviders = idps
	driftedAuditEntries(t, now)
	return t
}

// application returns the application with the given appId, or nil.
func (t *Tenant) application(appID string) *Application {
	for i := range t.Applications {
		if strings.EqualFold(t.Applications[i].AppID, appID) {
			return &t.Applications[i]
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// thumbprintBase64 renders a hex SHA-1 thumbprint the way Graph shows a
// certificate's customKeyIdentifier.
func thumbprintBase64(hexThumb string) string {
	b, _ := hex.DecodeString(hexThumb)
	return base64.StdEncoding.EncodeToString(b)
}

// CertificateKeyCredential describes cert as Graph lists it among an
// application's keyCredentials.
func CertificateKeyCredential(keyID string, raw []byte, subject string, start, end time.Time) KeyCredential {
	sum := sha1.Sum(raw)
	return KeyCredential{
		CustomKeyIdentifier: base64.StdEncoding.EncodeToString(sum[:]),
		DisplayName:         "CN=" + subject, KeyID: keyID,
		StartDateTime: start, EndDateTime: end,
		Type: "AsymmetricX509Cert", Usage: "Verify",
	}
}

// grant builds an oauth2PermissionGrant on Microsoft Graph. Its ID is
// derived from client, resource and principal as Entra derives it.
func grant(clientID, consentType, principalID, scope string) OAuth2PermissionGrant {
	return OAuth2PermissionGrant{
		ID:          GrantID(clientID, GraphSPID, principalID),
		ClientID:    clientID,
		ConsentType: consentType,
		PrincipalID: principalID,
		ResourceID:  GraphSPID,
		Scope:       scope,
	}
}

// GrantID returns the ID Entra gives an oauth2PermissionGrant: the
// base64url of the client, resource and (for Principal consent) principal
// object IDs in their binary GUID form.
func GrantID(clientID, resourceID, principalID string) string {
	var b []byte
	for _, id := range []string{clientID, resourceID, principalID} {
		if id != "" {
			b = append(b, guidBytes(id)...)
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// guidBytes is the Microsoft (mixed-endian) binary form of a GUID.
func guidBytes(id string) []byte {
	h, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(h) != 16 {
		return []byte(id)
	}
	return []byte{h[3], h[2], h[1], h[0], h[5], h[4], h[7], h[6], h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]}
}

func graphServicePrincipal(now time.Time) ServicePrincipal {
	return ServicePrincipal{
		ID:                     GraphSPID,
		AccountEnabled:         true,
		AppDisplayName:         "Microsoft Graph",
		AppID:                  GraphAppID,
		AppOwnerOrganizationID: microsoftServicesTenantID,
		CreatedDateTime:        ptr(now.AddDate(-3, 0, 0)),
		DisplayName:            "Microsoft Graph",
		ServicePrincipalNames: []string{
			"https://canary.graph.microsoft.com/", "https://graph.microsoft.us/", "https://dod-graph.microsoft.us/",
			GraphAppID + "/ags.windows.net", GraphAppID, "https://canary.graph.microsoft.com",
			"https://graph.microsoft.com", "https://ags.windows.net", "https://graph.microsoft.us",
			"https://graph.microsoft.com/", "https://dod-graph.microsoft.us",
		},
		ServicePrincipalType:   "Application",
		SignInAudience:         "AzureADMultipleOrgs",
		AppRoles:               GraphAppRoles(),
		OAuth2PermissionScopes: GraphDelegatedScopes(),
	}
}

func tenantServicePrincipal(id, appID, name string, created time.Time, replyURLs []string) ServicePrincipal {
	return ServicePrincipal{
		ID:                     id,
		AccountEnabled:         true,
		AppDisplayName:         name,
		AppID:                  appID,
		AppOwnerOrganizationID: TenantID,
		CreatedDateTime:        ptr(created),
		DisplayName:            name,
		ReplyURLs:              replyURLs,
		ServicePrincipalNames:  []string{appID},
		ServicePrincipalType:   "Application",
		SignInAudience:         "AzureADMyOrg",
		Tags:                   []string{"WindowsAzureActiveDirectoryIntegratedApp"},
	}
}

func scimServicePrincipal(created time.Time) ServicePrincipal {
	sp := tenantServicePrincipal(CorpSCIMSPID, CorpSCIMAppID, CorpSCIMAppName, created, nil)
	sp.Tags = []string{"WindowsAzureActiveDirectoryCustomSingleSignOnApplication", "WindowsAzureActiveDirectoryIntegratedApp"}
	return sp
}

// auditorRole is a Graph application permission granted to driftd.
func auditorRole(roleID string, at time.Time) AppRoleAssignment {
	return AppRoleAssignment{
		ID: "Q8SBcsPTiEm1ofSPSvNKqQ" + roleID[:8], AppRoleID: roleID, CreatedDateTime: ptr(at),
		PrincipalDisplayName: "driftd", PrincipalID: AuditorSPID, PrincipalType: "ServicePrincipal",
		ResourceDisplayName: "Microsoft Graph", ResourceID: GraphSPID,
	}
}

// corpSCIMRunAgo is when the corp SCIM job's last run began.
const corpSCIMRunAgo = 26 * time.Minute

// corpSCIMJob is the corp SCIM app's provisioning job, running cleanly.
func corpSCIMJob(now time.Time) SynchronizationJob {
	began := now.Add(-corpSCIMRunAgo)
	ended := began.Add(time.Minute)
	run := &SynchronizationTaskExecution{
		ActivityIdentifier: "2d9b6d8c-7f35-4c7e-9a59-3f0e5b1f6a21",
		CountEntitled:      412, CountEntitledForProvisioning: 412,
		CountImported: 449, CountImportedDeltas: 3,
		CountExported: 2, CountExports: 2,
		State: "Succeeded", TimeBegan: began, TimeEnded: ended,
	}
	return SynchronizationJob{
		ID:         CorpSCIMJobID,
		TemplateID: "scim",
		Schedule:   SynchronizationSchedule{Interval: "PT40M", State: "Active"},
		Status: SynchronizationStatus{
			Code:                               "Active",
			LastExecution:                      run,
			LastSuccessfulExecution:            run,
			LastSuccessfulExecutionWithExports: run,
			SteadyStateFirstAchievedTime:       now.AddDate(0, 0, -388),
			SteadyStateLastAchievedTime:        ended,
			SynchronizedEntryCountByType: []StringKeyLongValuePair{
				{Key: "User to " + SCIMUserTarget, Value: 412},
				{Key: "Group to " + SCIMGroupTarget, Value: 37},
			},
		},
		SynchronizationJobSettings: []KeyValuePair{
			{Name: "AzureIngestionAttributeOptimization", Value: "False"},
			{Name: "LookaheadQueryEnabled", Value: "False"},
		},
		Schema: corpSCIMSchema(now),
	}
}

func attrSource(name string) AttributeMappingSource {
	return AttributeMappingSource{Expression: "[" + name + "]", Name: name, Type: "Attribute"}
}

func constSource(value string) AttributeMappingSource {
	return AttributeMappingSource{Expression: `"` + value + `"`, Name: value, Type: "Constant"}
}

func mapAttr(target, source string, matching int32) AttributeMapping {
	return AttributeMapping{
		FlowBehavior: "FlowWhenChanged", FlowType: "Always", MatchingPriority: matching,
		Source: attrSource(source), TargetAttributeName: target,
	}
}

// corpSCIMSchema is the customappsso ("scim") template's default schema.
func corpSCIMSchema(now time.Time) SynchronizationSchema {
	const ext = SCIMUserTarget + ":"
	active := AttributeMapping{
		FlowBehavior: "FlowWhenChanged", FlowType: "Always", TargetAttributeName: "active",
		Source: AttributeMappingSource{
			Expression: `Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
			Name:       "Switch", Type: "Function",
			Parameters: []AttributeMappingParameter{
				{Key: "source", Value: attrSource("IsSoftDeleted")},
				{Key: "defaultValue", Value: AttributeMappingSource{Expression: `""`, Type: "Constant"}},
				{Key: "key", Value: constSource("False")},
				{Key: "value", Value: constSource("True")},
				{Key: "key", Value: constSource("True")},
				{Key: "value", Value: constSource("False")},
			},
		},
	}
	formatted := AttributeMapping{
		FlowBehavior: "FlowWhenChanged", FlowType: "Always", TargetAttributeName: "name.formatted",
		Source: AttributeMappingSource{
			Expression: `Join(" ", [givenName], [surname])`,
			Name:       "Join", Type: "Function",
			Parameters: []AttributeMappingParameter{
				{Key: "separator", Value: constSource(" ")},
				{Key: "source", Value: attrSource("givenName")},
				{Key: "source", Value: attrSource("surname")},
			},
		},
	}
	users := []AttributeMapping{
		mapAttr("userName", "userPrincipalName", 1),
		active,
		mapAttr("displayName", "displayName", 0),
		mapAttr("title", "jobTitle", 0),
		mapAttr(`emails[type eq "work"].value`, "mail", 0),
		mapAttr("preferredLanguage", "preferredLanguage", 0),
		mapAttr("name.givenName", "givenName", 0),
		mapAttr("name.familyName", "surname", 0),
		formatted,
		mapAttr(`addresses[type eq "work"].formatted`, "physicalDeliveryOfficeName", 0),
		mapAttr(`addresses[type eq "work"].streetAddress`, "streetAddress", 0),
		mapAttr(`addresses[type eq "work"].locality`, "city", 0),
		mapAttr(`addresses[type eq "work"].region`, "state", 0),
		mapAttr(`addresses[type eq "work"].postalCode`, "postalCode", 0),
		mapAttr(`addresses[type eq "work"].country`, "country", 0),
		mapAttr(`phoneNumbers[type eq "work"].value`, "telephoneNumber", 0),
		mapAttr(`phoneNumbers[type eq "mobile"].value`, "mobile", 0),
		mapAttr(`phoneNumbers[type eq "fax"].value`, "facsimileTelephoneNumber", 0),
		mapAttr("externalId", "mailNickname", 0),
		mapAttr(ext+"employeeNumber", "employeeId", 0),
		mapAttr(ext+"department", "department", 0),
		mapAttr(ext+"manager", "manager", 0),
	}
	groups := []AttributeMapping{
		mapAttr("displayName", "displayName", 1),
		mapAttr("externalId", "objectId", 0),
		mapAttr("members", "members", 0),
	}
	return SynchronizationSchema{
		ID:      CorpSCIMJobID,
		Version: "date:" + now.AddDate(0, 0, -388).Format(time.RFC3339) + "~" + corpSCIMSchemaVersionNonce,
		SynchronizationRules: []SynchronizationRule{{
			Editable:            true,
			ID:                  corpSCIMRuleID,
			Name:                "USER_OUTBOUND_TO_SCIM",
			Priority:            1,
			SourceDirectoryName: "Azure Active Directory",
			TargetDirectoryName: "customappsso",
			ObjectMappings: []ObjectMapping{
				{
					AttributeMappings: users, Enabled: true, FlowTypes: "Add, Update, Delete",
					Name: "Provision Microsoft Entra ID Users", SourceObjectName: "User", TargetObjectName: SCIMUserTarget,
				},
				{
					AttributeMappings: groups, Enabled: true, FlowTypes: "Add, Update, Delete",
					Name: "Provision Microsoft Entra ID Groups", SourceObjectName: "Group", TargetObjectName: SCIMGroupTarget,
				},
			},
		}},
	}
}

// driftedAuditEntries fills the audit logs with what the tenant and the
// account would have logged for Drifted's configuration changes (not for
// time passing: an expiring secret logs nothing), all between now-50min
// and now-5min, plus a few entries about other objects that must not be
// attributed to any finding.
func driftedAuditEntries(t *Tenant, now time.Time) {
	ago := func(min, sec int) time.Time {
		return now.Add(-time.Duration(min)*time.Minute - time.Duration(sec)*time.Second)
	}
	js := func(v any) *string {
		b, _ := marshal(v)
		return ptr(string(b))
	}
	admin := AuditActivityInitiator{User: &UserIdentity{
		ID: AuditAdminUserID, UserPrincipalName: ptr(AuditAdminUPN), IPAddress: ptr(AuditAdminEntraIP),
	}}
	automation := AuditActivityInitiator{App: &AppIdentity{
		AppID: AutomationAppID, DisplayName: AutomationAppName, ServicePrincipalID: AutomationSPID,
	}}
	chloe := AuditActivityInitiator{User: &UserIdentity{
		ID: UserChloeID, UserPrincipalName: ptr(AuditChloeUPN), IPAddress: ptr("203.0.113.77"),
	}}
	entry := func(id, corr string, at time.Time, activity, category, service, op string, by AuditActivityInitiator, targets ...TargetResource) DirectoryAudit {
		return DirectoryAudit{
			ID: id, ActivityDateTime: at, ActivityDisplayName: activity, Category: category, CorrelationID: corr,
			InitiatedBy: by, LoggedByService: service, OperationType: op, Result: "success", TargetResources: targets,
			AdditionalDetails: []KeyValue{{Key: "User-Agent", Value: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"}},
		}
	}
	included := func(names ...string) ModifiedProperty {
		return ModifiedProperty{DisplayName: "Included Updated Properties", OldValue: ptr(""), NewValue: ptr(`"` + strings.Join(names, ", ") + `"`)}
	}
	corpApp := func(props ...ModifiedProperty) TargetResource {
		return TargetResource{ID: CorpAppObjectID, DisplayName: ptr(CorpAppName), Type: "Application", ModifiedProperties: props}
	}
	sp := func(id, name string, props ...ModifiedProperty) TargetResource {
		return TargetResource{ID: id, DisplayName: ptr(name), Type: "ServicePrincipal", ModifiedProperties: props}
	}
	rra := func(scopes []ResourceAccess) *string {
		ids := make([]string, len(scopes))
		for i, s := range scopes {
			ids[i] = s.ID
		}
		return js([]map[string]any{{"ResourceAppId": GraphAppID, "RequiredAppPermissions": ids, "EncodingVersion": 1}})
	}
	drifted := slices.DeleteFunc(corpResourceAccess(), func(ra ResourceAccess) bool { return ra.ID == ScopeGroupMemberReadAll })

	const (
		appMgmt  = "ApplicationManagement"
		core     = "Core Directory"
		webUA    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
		tfUA     = "Terraform/1.9.8 terraform-provider-cloudflare/5.4.0"
		cfDelete = "Delete identity provider"
	)
	certs := entry("Directory_3b8e41d7-92c5-4a06-8f1e-d7a20c9b5e64_0WZ4K_51837260", "3b8e41d7-92c5-4a06-8f1e-d7a20c9b5e64", ago(30, 6),
		"Update application – Certificates and secrets management ", appMgmt, core, "Update", admin,
		corpApp(
			ModifiedProperty{DisplayName: "KeyDescription",
				OldValue: js([]string{"[KeyIdentifier=" + CorpSecretKeyID + ",KeyType=Password,KeyUsage=Verify,DisplayName=cloudflare-access]"}),
				NewValue: js([]string{
					"[KeyIdentifier=" + CorpSecretKeyID + ",KeyType=Password,KeyUsage=Verify,DisplayName=cloudflare-access]",
					"[KeyIdentifier=" + CorpOldSecretKeyID + ",KeyType=Password,KeyUsage=Verify,DisplayName=cloudflare-access (previous)]",
					"[KeyIdentifier=" + CorpCertKeyID + ",KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=" + corpCertDisplayName + "]",
				})},
			included("KeyDescription"),
		))
	financeDelete := entry(AuditFinanceDeleteID, "7e2c9b14-3a58-4f0d-b6e1-95c8d2a4f703", ago(19, 41),
		"Delete group", "GroupManagement", core, "Delete", admin,
		TargetResource{ID: GroupFinanceID, DisplayName: ptr("Finance"), Type: "Group", GroupType: ptr("azureAD")})
	financeDelete.VisibleFromQuery = 2

	t.DirectoryAudits = []DirectoryAudit{
		entry("Directory_0d5f2a9c-6e13-4b87-a2d4-c19e7b3f8a50_6MNB2_30571948", "0d5f2a9c-6e13-4b87-a2d4-c19e7b3f8a50", ago(47, 12),
			"Update application", appMgmt, core, "Update", admin,
			corpApp(
				ModifiedProperty{DisplayName: "RequiredResourceAccess", OldValue: rra(corpResourceAccess()), NewValue: rra(drifted)},
				included("RequiredResourceAccess"),
			)),
		entry("Directory_8c41e7b2-5d09-4f3a-9b6e-2a7d0f4c1e85_KQ7PX_77120394", "8c41e7b2-5d09-4f3a-9b6e-2a7d0f4c1e85", ago(42, 38),
			"Update application", appMgmt, core, "Update", admin,
			corpApp(
				ModifiedProperty{DisplayName: "AppAddress",
					OldValue: js([]map[string]any{{"AddressType": 0, "Address": CallbackURL, "ReplyAddressClientType": 1, "ReplyAddressIndex": nil, "IsReplyAddressDefault": false}}),
					NewValue: js([]map[string]any{{"AddressType": 0, "Address": CallbackURL, "ReplyAddressClientType": 4, "ReplyAddressIndex": nil, "IsReplyAddressDefault": false}})},
				included("AppAddress"),
			)),
		entry("Directory_a6d3f0e8-1b74-4c29-8e5a-f3b6c9d20471_2HJ8D_18264539", "a6d3f0e8-1b74-4c29-8e5a-f3b6c9d20471", ago(39, 3),
			"Remove delegated permission grant", appMgmt, core, "Unassign", admin,
			sp(CorpSPID, CorpAppName,
				ModifiedProperty{DisplayName: "DelegatedPermissionGrant.Scope", OldValue: js(CorpGrantScope), NewValue: js(DriftedCorpGrantScope)},
				ModifiedProperty{DisplayName: "DelegatedPermissionGrant.ConsentType", OldValue: js("AllPrincipals"), NewValue: js("AllPrincipals")},
			),
			sp(GraphSPID, "Microsoft Graph")),
		entry("Directory_f29b7c35-0e48-4d16-a3c7-8b5e1d6f9a02_R4TZ9_60394817", "f29b7c35-0e48-4d16-a3c7-8b5e1d6f9a02", ago(33, 50),
			"Update application", appMgmt, core, "Update", automation,
			corpApp(
				ModifiedProperty{DisplayName: "SignInAudience", OldValue: js([]string{"AzureADMyOrg"}), NewValue: js([]string{"AzureADMultipleOrgs"})},
				ModifiedProperty{DisplayName: "Oauth2AllowIdTokenImplicitFlow", OldValue: js([]bool{false}), NewValue: js([]bool{true})},
				included("SignInAudience", "Oauth2AllowIdTokenImplicitFlow"),
			)),
		certs,
		entry("Directory_5e0a8d6f-c237-4b91-9d48-e6f1a2b7c390_JD3LS_42918305", "5e0a8d6f-c237-4b91-9d48-e6f1a2b7c390", ago(27, 55),
			"Add app role assignment to service principal", appMgmt, core, "Assign", admin,
			sp(CorpSPID, CorpAppName,
				ModifiedProperty{DisplayName: "AppRole.Id", OldValue: nil, NewValue: js(RoleDirectoryReadAll)},
				ModifiedProperty{DisplayName: "AppRole.Value", OldValue: nil, NewValue: js("Directory.Read.All")},
				ModifiedProperty{DisplayName: "ServicePrincipal.ObjectID", OldValue: nil, NewValue: js(GraphSPID)},
			),
			sp(GraphSPID, "Microsoft Graph")),
		entry("Directory_c7b19e40-2f6d-4a85-b03e-9d4c6a1f7e28_P8VWN_09582716", "c7b19e40-2f6d-4a85-b03e-9d4c6a1f7e28", ago(24, 17),
			"Update attribute mappings or scope", "ProvisioningManagement", "Account Provisioning", "Update", admin,
			sp(CorpSCIMSPID, CorpSCIMAppName,
				ModifiedProperty{DisplayName: `emails[type eq "work"].value`, OldValue: js("[mail]"), NewValue: js("[userPrincipalName]")},
				ModifiedProperty{DisplayName: "name.familyName", OldValue: js("[surname]"), NewValue: nil},
			)),
		entry("Directory_4a92d6e1-7c3b-4f58-8a0d-b5e2f9c1d634_ZC5MQ_88301274", "4a92d6e1-7c3b-4f58-8a0d-b5e2f9c1d634", ago(22, 9),
			"Add delegated permission grant", appMgmt, core, "Assign", chloe,
			sp(CorpSPID, CorpAppName,
				ModifiedProperty{DisplayName: "DelegatedPermissionGrant.Scope", OldValue: nil, NewValue: js(ChloeGrantScope)},
				ModifiedProperty{DisplayName: "DelegatedPermissionGrant.ConsentType", OldValue: nil, NewValue: js("Principal")},
			),
			sp(GraphSPID, "Microsoft Graph")),
		financeDelete,
		entry("Directory_e81c5f27-9a40-4d3b-b6f2-07d8e3a9c514_8YTK1_26047183", "e81c5f27-9a40-4d3b-b6f2-07d8e3a9c514", ago(14, 26),
			"Remove owner from application", appMgmt, core, "Unassign", admin,
			TargetResource{ID: ContractorsAppObjectID, DisplayName: ptr(ContractorsAppName), Type: "Application"},
			TargetResource{ID: UserDanID, Type: "User", UserPrincipalName: ptr(AuditAdminUPN),
				ModifiedProperties: []ModifiedProperty{{DisplayName: "Application.ObjectID", OldValue: js(ContractorsAppObjectID), NewValue: nil}}}),
		// Unrelated: another app and a user.
		entry("Directory_9f3d0b6a-e51c-4287-9c3a-1e6b8d4f2a97_B2NDX_53198420", "9f3d0b6a-e51c-4287-9c3a-1e6b8d4f2a97", ago(45, 31),
			"Update application", appMgmt, core, "Update", admin,
			TargetResource{ID: IntranetAppObjectID, DisplayName: ptr("Acme Intranet"), Type: "Application",
				ModifiedProperties: []ModifiedProperty{
					{DisplayName: "DisplayName", OldValue: js([]string{"Acme Intranet"}), NewValue: js([]string{"Acme Intranet"})},
					included("DisplayName"),
				}}),
		entry("Directory_2c6e8a1f-4b97-4d05-a8e3-6f0b9c2d7e41_H6QRS_71650832", "2c6e8a1f-4b97-4d05-a8e3-6f0b9c2d7e41", ago(36, 44),
			"Update user", "UserManagement", core, "Update", admin,
			TargetResource{ID: UserBenID, Type: "User", UserPrincipalName: ptr("ben.walters@" + TenantDomain),
				ModifiedProperties: []ModifiedProperty{
					{DisplayName: "JobTitle", OldValue: js([]string{"Engineer"}), NewValue: js([]string{"Senior Engineer"})},
					included("JobTitle"),
				}}),
	}

	account := CloudflareAuditAccount{ID: AccountID, Name: "Acme Corp"}
	scope := json.RawMessage(`"accounts"`)
	idpURI := func(id string) string { return "/client/v4/accounts/" + AccountID + "/access/identity_providers/" + id }
	corpUpdate, _ := marshal(map[string]any{
		"name": CorpIdPName, "type": "azureAD",
		"config": map[string]any{
			"client_id": CorpAppID, "client_secret": corpClientSecret, "directory_id": TenantID,
			"pkce_enabled": false, "prompt": "select_account", "email_claim_name": "upn",
			"claims": []string{"groups", "employee_id"}, "support_groups": false,
		},
		"scim_config": map[string]any{"enabled": true, "user_deprovision": false, "identity_update_behavior": "no_action"},
	})
	t.CloudflareAuditLogs = []CloudflareAuditLog{
		{
			ID: "1f6c2e8a-5b3d-4e90-a7c1-d4b8f0e2a639", Account: account,
			Action: CloudflareAuditAction{Description: "Update identity provider", Result: "success", Time: ago(37, 20), Type: "update"},
			Actor: CloudflareAuditActor{ID: "f3a9c1e7d5b2480e96c4a0d8e2b6f157", Context: "dash", Email: AuditAdminUPN,
				IPAddress: AuditAdminCloudflareIP, Type: "user"},
			Raw: CloudflareAuditRaw{CfRayID: "8e1f4c7a9b2d3e60", Method: "PUT", StatusCode: 200, URI: idpURI(CorpIdPID), UserAgent: webUA},
			Resource: CloudflareAuditResource{ID: CorpIdPID, Product: "access", Type: "access.identity_provider", Scope: scope,
				Request: corpUpdate, Response: json.RawMessage(`{"id":"` + CorpIdPID + `","name":"` + CorpIdPName + `","type":"azureAD"}`)},
		},
		{
			ID: "8d2b5f91-c6e4-4a37-b0d8-2e7f1a9c6b43", Account: account,
			Action: CloudflareAuditAction{Description: cfDelete, Result: "success", Time: ago(31, 2), Type: "delete"},
			Actor: CloudflareAuditActor{ID: AccountID, Context: "api_token", IPAddress: "198.51.100.80",
				TokenID: AuditTokenID, TokenName: AuditTokenName, Type: "account"},
			Raw: CloudflareAuditRaw{CfRayID: "8e1f5a02c4d6b871", Method: "DELETE", StatusCode: 200, URI: idpURI(ContractorsIdPID), UserAgent: tfUA},
			Resource: CloudflareAuditResource{ID: ContractorsIdPID, Product: "access", Type: "access.identity_provider", Scope: scope,
				Request: json.RawMessage(`{}`), Response: json.RawMessage(`{"id":"` + ContractorsIdPID + `"}`)},
		},
		// Unrelated: a Gateway rule.
		{
			ID: "c5e07a3d-2f19-4b86-9e4c-7a1d3b8f0e52", Account: account,
			Action: CloudflareAuditAction{Description: "Update Gateway rule", Result: "success", Time: ago(15, 48), Type: "update"},
			Actor: CloudflareAuditActor{ID: "f3a9c1e7d5b2480e96c4a0d8e2b6f157", Context: "dash", Email: AuditAdminUPN,
				IPAddress: AuditAdminCloudflareIP, Type: "user"},
			Raw: CloudflareAuditRaw{CfRayID: "8e1f6b13d5e7c982", Method: "PUT", StatusCode: 200,
				URI: "/client/v4/accounts/" + AccountID + "/gateway/rules/" + GatewayMalwareID, UserAgent: webUA},
			Resource: CloudflareAuditResource{ID: GatewayMalwareID, Product: "gateway", Type: "gateway.rule", Scope: scope,
				Request: json.RawMessage(`{"enabled":true}`), Response: json.RawMessage(`{"id":"` + GatewayMalwareID + `"}`)},
		},
	}
}
