package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/snapshot"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// Real Microsoft Graph permission IDs, as the tenant's Graph service
// principal publishes them.
var graphPermissions = map[string]string{
	"64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0": "email",
	"7427e0e9-2fba-42fe-b0c0-848c9e6a8182": "offline_access",
	"37f7f235-527c-4136-accd-4a02d197296e": "openid",
	"14dad69e-099b-42c9-810b-d002981feec1": "profile",
	"e1fe6dd8-ba31-4d61-89e7-88639da4683d": "User.Read",
	"06da0dbc-49e2-44d2-8312-53f166ab848a": "Directory.Read.All",
	"bc024368-1153-4739-b217-4326f2e966d0": "GroupMember.Read.All",
	"5f8c59db-677d-491f-a6b8-5f174b11ec1d": "Group.Read.All",
}

const (
	tenantID = "11111111-2222-3333-4444-555555555555"
	appID    = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	scimID   = "bbbbbbbb-cccc-dddd-eeee-ffffffffffff"
	idpID    = "f1a2b3c4-0000-4000-8000-000000000001"
)

func ptr[T any](v T) *T { return &v }

func at(d time.Duration) *time.Time { t := now.Add(d); return &t }

// healthy returns a snapshot in which every check passes.
func healthy() *snapshot.Snapshot {
	var access []snapshot.ResourceAccess
	for id, name := range graphPermissions {
		if name != "Group.Read.All" {
			access = append(access, snapshot.ResourceAccess{ID: id, Type: "Scope"})
		}
	}
	return &snapshot.Snapshot{
		TakenAt:                 now,
		TenantID:                tenantID,
		GraphPermissions:        graphPermissions,
		GraphRoles:              map[string]string{"7ab1d382-f21e-4acd-a863-ba3e13f7da61": "Directory.Read.All", "62a82d76-70ea-41e2-9197-370581804d09": "Group.ReadWrite.All"},
		GraphServicePrincipalID: "graph-sp",
		PremiumPlans:            []string{"AAD_PREMIUM via SPE_E3"},
		AuthDomain:              "acme.cloudflareaccess.com",
		IdentityProviders: []snapshot.IdentityProvider{
			{ID: "otp", Name: "One-time PIN", Type: "onetimepin"},
			{
				ID: idpID, Name: "Entra ID", Type: "azureAD", ClientID: appID, DirectoryID: tenantID,
				PKCEEnabled: ptr(true), SupportGroups: ptr(true), EmailClaimName: ptr("email"), Claims: []string{"groups", "upn"}, Prompt: ptr("login"),
				SCIM: &snapshot.IdPSCIM{Enabled: ptr(true), UserDeprovision: ptr(true), SeatDeprovision: ptr(true), IdentityUpdateBehavior: ptr("automatic"),
					BaseURL: "https://acme.cloudflareaccess.com/populate/abc"},
				SCIMLog: &snapshot.SCIMLog{Since: now.Add(-7 * 24 * time.Hour), Latest: at(-25 * time.Minute)},
			},
		},
		Integrations: []snapshot.Integration{{
			Name:       "corp-sso",
			EntraAppID: appID,
			SCIMAppID:  scimID,
			Expiry:     snapshot.Expiry{Warning: 30 * 24 * time.Hour, Critical: 7 * 24 * time.Hour, MaxSecretLifetime: 365 * 24 * time.Hour, SCIMStaleAfter: 24 * time.Hour},
			Baseline: snapshot.Baseline{
				PKCEEnabled: ptr(true), SupportGroups: ptr(true), ConditionalAccessEnabled: ptr(false),
				EmailClaimName: ptr("email"), Claims: &[]string{"upn", "groups"}, Prompt: ptr("login"),
				SCIMEnabled: ptr(true), SCIMUserDeprovision: ptr(true), SCIMSeatDeprovision: ptr(true), SCIMIdentityUpdateBehavior: ptr("automatic"),
			},
			Application: &snapshot.Application{
				ID: "app-object", AppID: appID, DisplayName: "Cloudflare Access",
				WebRedirectURIs:        []string{"https://ACME.cloudflareaccess.com/cdn-cgi/access/callback"},
				RequiredResourceAccess: []snapshot.RequiredResourceAccess{{ResourceAppID: MicrosoftGraphAppID, ResourceAccess: access}},
				PasswordCredentials:    []snapshot.Credential{{KeyID: "k1", DisplayName: "cloudflare", Hint: "AbC", End: at(200 * 24 * time.Hour)}},
				KeyCredentials:         []snapshot.Credential{},
				Settings:               &snapshot.AppSettings{SignInAudience: "AzureADMyOrg", GroupMembershipClaims: "SecurityGroup", OptionalIDTokenClaims: []string{"upn"}},
				Owners:                 []string{"owner-1"},
			},
			ServicePrincipal: &snapshot.ServicePrincipal{ID: "app-sp", AppID: appID, DisplayName: "Cloudflare Access", AccountEnabled: ptr(true)},
			PermissionGrants: []snapshot.PermissionGrant{{
				ClientID: "app-sp", ResourceID: "graph-sp", ConsentType: "AllPrincipals",
				Scope: " email  offline_access openid profile User.Read Directory.Read.All GroupMember.Read.All",
			}},
			AppRoleAssignments: []snapshot.AppRoleAssignment{},
			Provisioning: &snapshot.Provisioning{ServicePrincipalID: "scim-sp", DisplayName: "Cloudflare Access SCIM", Assigned: ptr(true), Jobs: []snapshot.SyncJob{{
				ID: "scim.1", Status: "Active", ScheduleState: "Active",
				LastExecution: &snapshot.SyncExecution{State: "Succeeded", Began: at(-26 * time.Minute), Ended: at(-25 * time.Minute), CountEntitled: 40, CountExported: 2},
				LastSuccess:   &snapshot.SyncExecution{State: "Succeeded", Began: at(-26 * time.Minute), Ended: at(-25 * time.Minute), CountEntitled: 40, CountExported: 2},
				LastExport:    &snapshot.SyncExecution{State: "Succeeded", Began: at(-26 * time.Minute), Ended: at(-25 * time.Minute), CountEntitled: 40, CountExported: 2},
				Mappings: []snapshot.ObjectMapping{
					{Enabled: true, SourceObjectName: "Group", TargetObjectName: "urn:ietf:params:scim:schemas:core:2.0:Group"},
					{Enabled: true, SourceObjectName: "User", TargetObjectName: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
						AttributeMappings: []snapshot.AttributeMapping{
							{TargetAttributeName: "userName", SourceType: "Attribute", SourceName: "userPrincipalName"},
							{TargetAttributeName: `emails[type eq "work"].value`, SourceType: "Attribute", SourceName: "mail"},
							{TargetAttributeName: "name.givenName", SourceType: "Attribute", SourceName: "givenName"},
							{TargetAttributeName: "name.familyName", SourceType: "Attribute", SourceName: "surname"},
						}},
				},
			}}},
		}},
	}
}

// run evaluates one check on the first integration.
func run(t *testing.T, id string, snap *snapshot.Snapshot) Outcome {
	t.Helper()
	c, ok := ByID(id)
	if !ok {
		t.Fatalf("no check %s", id)
	}
	return c.Evaluate(Input{Snapshot: snap, Integration: &snap.Integrations[0]})
}

func TestHealthyPassesEveryCheck(t *testing.T) {
	for _, c := range All() {
		out := run(t, c.ID, healthy())
		if c.ID == "DRIFT-001" {
			continue // needs an approved baseline; see TestDrift
		}
		if len(out.Findings) > 0 || out.NotApplicable != "" {
			t.Errorf("%s on a healthy snapshot: %+v", c.ID, out)
		}
	}
}

// want asserts one finding with the given severity, setting and texts.
func want(t *testing.T, out Outcome, sev Severity, setting, expected, actual string) Finding {
	t.Helper()
	if len(out.Findings) != 1 {
		t.Fatalf("want 1 finding, got %d: %+v", len(out.Findings), out.Findings)
	}
	f := out.Findings[0]
	if f.Severity != sev || f.Setting != setting {
		t.Errorf("severity/setting = %s/%s, want %s/%s", f.Severity, f.Setting, sev, setting)
	}
	if !strings.Contains(f.Expected, expected) {
		t.Errorf("expected = %q, want it to contain %q", f.Expected, expected)
	}
	if !strings.Contains(f.Actual, actual) {
		t.Errorf("actual = %q, want it to contain %q", f.Actual, actual)
	}
	if f.Remediation == "" || f.Message == "" || len(f.Fingerprint) != 32 || f.Integration != "corp-sso" {
		t.Errorf("incomplete finding: %+v", f)
	}
	return f
}

func TestPermissionConfigured(t *testing.T) {
	snap := healthy()
	app := snap.Integrations[0].Application
	var kept []snapshot.ResourceAccess
	for _, ra := range app.RequiredResourceAccess[0].ResourceAccess {
		switch graphPermissions[ra.ID] {
		case "GroupMember.Read.All":
			continue
		case "Directory.Read.All":
			// The application permission of the same name is not the delegated one.
			ra.Type = "Role"
		}
		kept = append(kept, ra)
	}
	app.RequiredResourceAccess[0].ResourceAccess = kept
	out := run(t, "ENTRA-PERM-001", snap)
	if len(out.Findings) != 2 {
		t.Fatalf("want 2 findings, got %+v", out.Findings)
	}
	got := map[string]bool{}
	for _, f := range out.Findings {
		got[f.Setting] = true
		if f.Severity != High || f.Resource.ID != appID || f.Resource.Kind != KindAppRegistration {
			t.Errorf("unexpected finding %+v", f)
		}
	}
	if !got["Directory.Read.All"] || !got["GroupMember.Read.All"] {
		t.Errorf("findings for %v", got)
	}
	if out.Findings[0].Expected != "Directory.Read.All (delegated) configured under API permissions" {
		t.Errorf("expected text %q", out.Findings[0].Expected)
	}
}

func TestPermissionConsented(t *testing.T) {
	snap := healthy()
	in := &snap.Integrations[0]
	in.PermissionGrants[0].Scope = "email offline_access openid profile User.Read GroupMember.Read.All"
	in.PermissionGrants = append(in.PermissionGrants,
		snapshot.PermissionGrant{ClientID: "app-sp", ResourceID: "graph-sp", ConsentType: "Principal", PrincipalID: "u1", Scope: "Directory.Read.All"},
		// A grant on another API does not count.
		snapshot.PermissionGrant{ClientID: "app-sp", ResourceID: "other-api", ConsentType: "AllPrincipals", Scope: "Directory.Read.All"})
	want(t, run(t, "ENTRA-PERM-002", snap), High, "Directory.Read.All", "consentType AllPrincipals", "consented only by individual users")

	snap = healthy()
	snap.Integrations[0].ServicePrincipal = nil
	snap.Integrations[0].ServicePrincipalMissing = true
	snap.Integrations[0].PermissionGrants = []snapshot.PermissionGrant{}
	out := run(t, "ENTRA-PERM-002", snap)
	if len(out.Findings) != 7 || !strings.Contains(out.Findings[0].Actual, "no service principal") {
		t.Errorf("missing service principal: want 7 findings, got %+v", out.Findings)
	}
}

func TestSecretExpiry(t *testing.T) {
	cases := []struct {
		left    time.Duration
		sev     Severity
		actual  string
		finding bool
	}{
		{200 * 24 * time.Hour, 0, "", false},
		{20 * 24 * time.Hour, Medium, "expires in 20 days", true},
		{5 * 24 * time.Hour, High, "expires in 5 days", true},
		{3 * time.Hour, High, "expires in 3 hours", true},
		// The only secret expired: ENTRA-CRED-004 reports it.
		{-40 * 24 * time.Hour, 0, "", false},
	}
	for _, tc := range cases {
		snap := healthy()
		snap.Integrations[0].Application.PasswordCredentials[0].End = at(tc.left)
		out := run(t, "ENTRA-CRED-001", snap)
		if !tc.finding {
			if len(out.Findings) != 0 {
				t.Errorf("%v left: unexpected %+v", tc.left, out.Findings)
			}
			continue
		}
		f := want(t, out, tc.sev, "k1", "valid for more than 30 days", tc.actual)
		if !strings.Contains(f.Message, `"cloudflare", hint AbC…, keyId k1`) {
			t.Errorf("message does not identify the secret: %q", f.Message)
		}
	}

	// The last valid secret expiring soon says that nothing replaces it.
	snap := healthy()
	snap.Integrations[0].Application.PasswordCredentials[0].End = at(5 * 24 * time.Hour)
	if f := run(t, "ENTRA-CRED-001", snap).Findings[0]; !strings.Contains(f.Message, "no other secret is valid beyond 30 days") {
		t.Errorf("last secret: %q", f.Message)
	}

	// No secret at all, or only an expired one, is ENTRA-CRED-004's case
	// (ENTRA-CRED-001 reported it as critical before).
	snap = healthy()
	snap.Integrations[0].Application.PasswordCredentials = nil
	if out := run(t, "ENTRA-CRED-001", snap); len(out.Findings) != 0 {
		t.Errorf("no secret: %+v", out.Findings)
	}

	// An expired secret beside a valid one only needs removing; a
	// soon-expiring one beside a lasting one says so.
	snap = healthy()
	creds := &snap.Integrations[0].Application.PasswordCredentials
	*creds = append(*creds,
		snapshot.Credential{KeyID: "k0", DisplayName: "old", End: at(-40 * 24 * time.Hour)},
		snapshot.Credential{KeyID: "k2", DisplayName: "rotating", End: at(3 * 24 * time.Hour)})
	out := run(t, "ENTRA-CRED-001", snap)
	if len(out.Findings) != 2 {
		t.Fatalf("want 2 findings, got %+v", out.Findings)
	}
	if f := out.Findings[0]; f.Setting != "k0" || f.Severity != Low || !strings.Contains(f.Message, "expired secret still registered — remove it") {
		t.Errorf("expired beside a valid secret: %+v", f)
	}
	if f := out.Findings[1]; f.Setting != "k2" || f.Severity != High || !strings.Contains(f.Message, `"cloudflare", hint AbC…, keyId k1 stays valid until`) ||
		!strings.Contains(f.Message, "make sure Cloudflare uses the newer one") {
		t.Errorf("expiring beside a lasting secret: %+v", f)
	}

	// A secret without an end date never expires.
	snap = healthy()
	snap.Integrations[0].Application.PasswordCredentials[0].End = nil
	if out := run(t, "ENTRA-CRED-001", snap); len(out.Findings) != 0 {
		t.Errorf("no end date: %+v", out.Findings)
	}
}

func TestSecretLifetime(t *testing.T) {
	snap := healthy()
	creds := &snap.Integrations[0].Application.PasswordCredentials
	(*creds)[0].Start = at(-165 * 24 * time.Hour) // 365 days: within the policy
	*creds = append(*creds,
		snapshot.Credential{KeyID: "k2", DisplayName: "forever", Start: at(-30 * 24 * time.Hour), End: at(700 * 24 * time.Hour)},
		// Expired: ENTRA-CRED-001's business, whatever its lifetime.
		snapshot.Credential{KeyID: "k3", Start: at(-900 * 24 * time.Hour), End: at(-24 * time.Hour)})
	f := want(t, run(t, "ENTRA-CRED-003", snap), Low, "k2", "at most 365 days", "730 days")
	if !strings.Contains(f.Message, `"forever"`) {
		t.Errorf("message %q", f.Message)
	}
	snap.Integrations[0].Expiry.MaxSecretLifetime = 0
	if out := run(t, "ENTRA-CRED-003", snap); out.NotApplicable == "" || len(out.Findings) > 0 {
		t.Errorf("max_secret_lifetime 0 turns the check off: %+v", out)
	}
}

func TestSecretValid(t *testing.T) {
	snap := healthy()
	creds := &snap.Integrations[0].Application.PasswordCredentials
	(*creds)[0].End = at(-2 * 24 * time.Hour)
	*creds = append(*creds, snapshot.Credential{KeyID: "k2", DisplayName: "next", Start: at(24 * time.Hour), End: at(400 * 24 * time.Hour)})
	// A valid certificate does not help: Cloudflare takes a secret only.
	snap.Integrations[0].Application.KeyCredentials = []snapshot.Credential{{KeyID: "c1", End: at(300 * 24 * time.Hour)}}
	f := want(t, run(t, "ENTRA-CRED-004", snap), Critical, "passwordCredentials", "valid now", "keyId k1 ended")
	if !strings.Contains(f.Actual, "keyId k2 not valid before") {
		t.Errorf("a secret not yet valid must be named: %q", f.Actual)
	}
	// Its own expired secret is no ENTRA-CRED-001 finding.
	if out := run(t, "ENTRA-CRED-001", snap); len(out.Findings) != 0 {
		t.Errorf("ENTRA-CRED-001 duplicates ENTRA-CRED-004: %+v", out.Findings)
	}

	snap.Integrations[0].Application.PasswordCredentials = []snapshot.Credential{}
	want(t, run(t, "ENTRA-CRED-004", snap), Critical, "passwordCredentials", "valid now", "no client secret")

	// A secret without an end date, or one ending in an hour, is valid.
	for _, end := range []*time.Time{nil, at(time.Hour)} {
		snap = healthy()
		snap.Integrations[0].Application.PasswordCredentials[0].End = end
		if out := run(t, "ENTRA-CRED-004", snap); len(out.Findings) != 0 {
			t.Errorf("end %v: %+v", end, out.Findings)
		}
	}
}

func TestCertificateExpiry(t *testing.T) {
	snap := healthy()
	snap.Integrations[0].Application.KeyCredentials = []snapshot.Credential{
		{KeyID: "c1", DisplayName: "CN=old", Type: "AsymmetricX509Cert", Usage: "Verify", End: at(-3 * 24 * time.Hour)},
		{KeyID: "c2", DisplayName: "CN=new", Type: "AsymmetricX509Cert", Usage: "Verify", End: at(365 * 24 * time.Hour)},
	}
	// An expired certificate beside a valid one is low (critical before).
	want(t, run(t, "ENTRA-CRED-002", snap), Low, "c1", "valid for more than 30 days", "expired 3 days ago")
	snap.Integrations[0].Application.KeyCredentials = snap.Integrations[0].Application.KeyCredentials[:1]
	want(t, run(t, "ENTRA-CRED-002", snap), Critical, "c1", "valid for more than 30 days", "expired 3 days ago")
}

func TestSignInAudience(t *testing.T) {
	snap := healthy()
	snap.Integrations[0].Application.Settings.SignInAudience = "AzureADandPersonalMicrosoftAccount"
	want(t, run(t, "ENTRA-APP-003", snap), Medium, "signInAudience", "AzureADMyOrg", "AzureADandPersonalMicrosoftAccount")
	snap.Integrations[0].Application.Settings = nil
	if out := run(t, "ENTRA-APP-003", snap); len(out.Findings) > 0 {
		t.Errorf("unread settings: %+v", out)
	}
}

func TestImplicitGrant(t *testing.T) {
	snap := healthy()
	snap.Integrations[0].Application.Settings.ImplicitIDTokens = true
	want(t, run(t, "ENTRA-APP-004", snap), Low, "web.implicitGrantSettings.enableIdTokenIssuance", "enableIdTokenIssuance false", "true")
	snap.Integrations[0].Application.Settings.ImplicitAccessTokens = true
	if out := run(t, "ENTRA-APP-004", snap); len(out.Findings) != 2 || out.Findings[1].Setting != "web.implicitGrantSettings.enableAccessTokenIssuance" {
		t.Errorf("both flags: %+v", out.Findings)
	}
}

func TestAppOwners(t *testing.T) {
	snap := healthy()
	snap.Integrations[0].Application.Owners = []string{}
	want(t, run(t, "ENTRA-APP-005", snap), Low, "owners", "at least one owner", "no owners")
	snap.Integrations[0].Application.Owners = nil // not read
	if out := run(t, "ENTRA-APP-005", snap); len(out.Findings) > 0 {
		t.Errorf("unread owners: %+v", out)
	}
}

func TestEmailClaim(t *testing.T) {
	snap := healthy()
	snap.IdentityProviders[1].EmailClaimName = ptr("mail")
	want(t, run(t, "ENTRA-CLAIM-001", snap), High, "email_claim_name", "a claim of the ID token", `email_claim_name "mail"; optional ID-token claims: upn`)
	// An optional claim, a standard one, or the default (unset) all pass.
	for _, name := range []*string{ptr("UPN"), ptr("preferred_username"), nil, ptr("")} {
		snap.IdentityProviders[1].EmailClaimName = name
		if out := run(t, "ENTRA-CLAIM-001", snap); len(out.Findings) > 0 {
			t.Errorf("claim %v: %+v", name, out.Findings)
		}
	}
	snap.Integrations[0].Application.Settings = nil
	if out := run(t, "ENTRA-CLAIM-001", snap); len(out.Findings) > 0 {
		t.Errorf("unread settings: %+v", out)
	}
}

func TestCustomClaims(t *testing.T) {
	snap := healthy()
	snap.IdentityProviders[1].Claims = []string{"groups", "upn", "employee_id"}
	f := want(t, run(t, "ENTRA-CLAIM-002", snap), Medium, "claims/employee_id", "employee_id emitted", "groupMembershipClaims: SecurityGroup")
	if strings.Contains(f.Message, "mapped") {
		t.Errorf("no caveat without acceptMappedClaims: %q", f.Message)
	}
	snap.Integrations[0].Application.Settings.AcceptMappedClaims = true
	f = want(t, run(t, "ENTRA-CLAIM-002", snap), Low, "claims/employee_id", "employee_id emitted", "")
	if !strings.Contains(f.Message, "claims-mapping policy") {
		t.Errorf("caveat missing: %q", f.Message)
	}
	// groups needs groupMembershipClaims.
	snap = healthy()
	snap.Integrations[0].Application.Settings.GroupMembershipClaims = "None"
	want(t, run(t, "ENTRA-CLAIM-002", snap), Medium, "claims/groups", "groups emitted", "groupMembershipClaims: None")
}

func TestServicePrincipalEnabled(t *testing.T) {
	snap := healthy()
	snap.Integrations[0].ServicePrincipal.AccountEnabled = ptr(false)
	want(t, run(t, "ENTRA-APP-002", snap), Critical, "accountEnabled", "enabled for users to sign in", "disabled")
	snap.Integrations[0].ServicePrincipal = nil
	snap.Integrations[0].ServicePrincipalMissing = true
	if out := run(t, "ENTRA-APP-002", snap); out.NotApplicable == "" {
		t.Errorf("without a service principal the check does not apply: %+v", out)
	}
}

func TestRedirectURI(t *testing.T) {
	snap := healthy()
	app := snap.Integrations[0].Application
	app.WebRedirectURIs = []string{"https://acme.cloudflareaccess.com/cdn-cgi/access/callback/"}
	app.SPARedirectURIs = []string{"https://acme.cloudflareaccess.com/cdn-cgi/access/callback"}
	want(t, run(t, "ENTRA-APP-001", snap), Critical, "web.redirectUris",
		"https://acme.cloudflareaccess.com/cdn-cgi/access/callback",
		"Web redirect URIs: https://acme.cloudflareaccess.com/cdn-cgi/access/callback/; the URL is registered on the Single-page application platform instead")

	snap.AuthDomain = ""
	if out := run(t, "ENTRA-APP-001", snap); out.NotApplicable == "" {
		t.Errorf("unknown team domain must not produce a verdict: %+v", out)
	}
}

func userMappings(snap *snapshot.Snapshot) *[]snapshot.AttributeMapping {
	return &snap.Integrations[0].Provisioning.Jobs[0].Mappings[1].AttributeMappings
}

func TestSCIMRequiredMapping(t *testing.T) {
	snap := healthy()
	(*userMappings(snap))[1].SourceName = "userPrincipalName"
	want(t, run(t, "ENTRA-SCIM-001", snap), High, `emails[type eq "work"].value`,
		`emails[type eq "work"].value ← mail`, `emails[type eq "work"].value ← userPrincipalName`)

	snap = healthy()
	(*userMappings(snap))[1] = snapshot.AttributeMapping{TargetAttributeName: `emails[type eq "work"].value`, SourceType: "Function", SourceExpression: "Coalesce([mail], [userPrincipalName])"}
	want(t, run(t, "ENTRA-SCIM-001", snap), High, `emails[type eq "work"].value`, "← mail", "function Coalesce([mail], [userPrincipalName])")

	snap = healthy()
	*userMappings(snap) = (*userMappings(snap))[:1]
	want(t, run(t, "ENTRA-SCIM-001", snap), High, `emails[type eq "work"].value`, "← mail", `no mapping for emails[type eq "work"].value`)

	// A disabled user mapping does not provision anything.
	snap = healthy()
	snap.Integrations[0].Provisioning.Jobs[0].Mappings[1].Enabled = false
	want(t, run(t, "ENTRA-SCIM-001", snap), High, `emails[type eq "work"].value`, "← mail", "no enabled user object mapping")

	snap = healthy()
	snap.Integrations[0].Provisioning.Jobs = nil
	want(t, run(t, "ENTRA-SCIM-001", snap), High, `emails[type eq "work"].value`, "← mail", "no provisioning job configured")

	snap = healthy()
	snap.Integrations[0].SCIMAppID = ""
	if out := run(t, "ENTRA-SCIM-001", snap); out.NotApplicable == "" {
		t.Errorf("without scim_app_id the check does not apply")
	}
}

func TestSCIMRecommendedMappings(t *testing.T) {
	snap := healthy()
	*userMappings(snap) = (*userMappings(snap))[:3]
	want(t, run(t, "ENTRA-SCIM-002", snap), Low, "name.familyName", "name.familyName ← surname", "no mapping for name.familyName")
}

func TestIdPExists(t *testing.T) {
	snap := healthy()
	snap.IdentityProviders = snap.IdentityProviders[:1]
	want(t, run(t, "CF-IDP-001", snap), Critical, "exists", "client_id "+appID, "the account has no azureAD identity provider")

	snap = healthy()
	snap.Integrations[0].CloudflareIdPID = "otp"
	want(t, run(t, "CF-IDP-001", snap), Critical, "exists", "azureAD identity provider otp", "of type onetimepin, not azureAD")

	// The dependent checks do not guess without an identity provider.
	for _, id := range []string{"CF-IDP-002", "CF-IDP-003", "CF-SCIM-001"} {
		if out := run(t, id, snap); out.NotApplicable == "" || len(out.Findings) > 0 {
			t.Errorf("%s without an IdP: %+v", id, out)
		}
	}
}

func TestIdPMatchesEntra(t *testing.T) {
	snap := healthy()
	snap.IdentityProviders[1].DirectoryID = "99999999-2222-3333-4444-555555555555"
	want(t, run(t, "CF-IDP-002", snap), Critical, "directory_id", tenantID, "99999999-2222-3333-4444-555555555555")

	snap = healthy()
	snap.Integrations[0].CloudflareIdPID = idpID
	snap.IdentityProviders[1].ClientID = "other-app"
	want(t, run(t, "CF-IDP-002", snap), Critical, "client_id", appID, "other-app")
}

func TestIdPBaseline(t *testing.T) {
	snap := healthy()
	idp := &snap.IdentityProviders[1]
	idp.PKCEEnabled = nil // the API omits false
	idp.Prompt = ptr("select_account")
	idp.Claims = []string{"groups"}
	out := run(t, "CF-IDP-003", snap)
	got := map[string]Finding{}
	for _, f := range out.Findings {
		got[f.Setting] = f
	}
	if len(got) != 3 {
		t.Fatalf("want pkce_enabled, prompt and claims, got %+v", out.Findings)
	}
	if f := got["pkce_enabled"]; f.Expected != "true" || f.Actual != "false" {
		t.Errorf("pkce: %+v", f)
	}
	if f := got["prompt"]; f.Expected != `"login"` || f.Actual != `"select_account"` {
		t.Errorf("prompt: %+v", f)
	}
	if f := got["claims"]; f.Expected != "[groups, upn]" || f.Actual != "[groups]" {
		t.Errorf("claims: %+v", f)
	}

	// Claims in another order are the same set; absent baseline keys are
	// not checked.
	snap = healthy()
	snap.IdentityProviders[1].Claims = []string{"upn", "groups"}
	snap.IdentityProviders[1].ConditionalAccessEnabled = ptr(true)
	snap.Integrations[0].Baseline.ConditionalAccessEnabled = nil
	if out := run(t, "CF-IDP-003", snap); len(out.Findings) != 0 {
		t.Errorf("unexpected %+v", out.Findings)
	}
}

func TestSCIMBaseline(t *testing.T) {
	snap := healthy()
	snap.IdentityProviders[1].SCIM.IdentityUpdateBehavior = ptr("no_action")
	f := want(t, run(t, "CF-SCIM-001", snap), Medium, "scim_config.identity_update_behavior", `"automatic"`, `"no_action"`)
	if f.Resource.Side != snapshot.SideCloudflare || f.Resource.ID != idpID {
		t.Errorf("resource %+v", f.Resource)
	}
	snap = healthy()
	snap.IdentityProviders[1].SCIM = nil
	if out := run(t, "CF-SCIM-001", snap); len(out.Findings) != 4 {
		t.Errorf("no SCIM config: want 4 findings, got %+v", out.Findings)
	}
}

func TestSCIMGroups(t *testing.T) {
	snap := healthy()
	snap.IdentityProviders[1].SupportGroups = nil // the API omits false
	f := want(t, run(t, "CF-SCIM-002", snap), Medium, "support_groups", "support_groups true", "support_groups false")
	if f.Resource.Side != snapshot.SideCloudflare || f.Resource.ID != idpID {
		t.Errorf("resource %+v", f.Resource)
	}
	snap.IdentityProviders[1].SCIM.Enabled = ptr(false)
	if out := run(t, "CF-SCIM-002", snap); len(out.Findings) > 0 || out.NotApplicable == "" {
		t.Errorf("SCIM off: %+v", out)
	}
}

func TestPremiumLicense(t *testing.T) {
	snap := healthy()
	snap.PremiumPlans = []string{}
	want(t, run(t, "ENTRA-LIC-001", snap), Medium, "subscribedSkus", "P1 or P2", "no enabled Entra ID P1 or P2")
	snap.IdentityProviders[1].SCIM.Enabled = ptr(false)
	if out := run(t, "ENTRA-LIC-001", snap); len(out.Findings) > 0 || out.NotApplicable == "" {
		t.Errorf("without SCIM: %+v", out)
	}
}

func TestFingerprintStable(t *testing.T) {
	a := healthy()
	a.Integrations[0].Application.PasswordCredentials[0].End = at(5 * 24 * time.Hour)
	b := healthy()
	b.TakenAt = now.Add(3 * 24 * time.Hour) // later run: severity and text change
	b.Integrations[0].Application.PasswordCredentials[0].End = at(5 * 24 * time.Hour)
	fa, fb := run(t, "ENTRA-CRED-001", a).Findings[0], run(t, "ENTRA-CRED-001", b).Findings[0]
	if fa.Message == fb.Message {
		t.Fatalf("test needs different messages")
	}
	if fa.Fingerprint != fb.Fingerprint {
		t.Errorf("fingerprint changed with time/text: %s vs %s", fa.Fingerprint, fb.Fingerprint)
	}
	other := Fingerprint("ENTRA-CRED-001", "other-integration", fa.Resource, fa.Setting)
	if other == fa.Fingerprint {
		t.Errorf("fingerprint ignores the integration")
	}
}

func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range All() {
		if seen[c.ID] || c.Title == "" || c.Description == "" || c.Remediation == "" || (len(c.Needs) == 0 && c.ID != "DRIFT-001") || c.Evaluate == nil || c.Severity == 0 {
			t.Errorf("incomplete or duplicate check %s", c.ID)
		}
		seen[c.ID] = true
	}
	for _, id := range []string{
		"ENTRA-PERM-001", "ENTRA-PERM-002", "ENTRA-CRED-001", "ENTRA-CRED-002", "ENTRA-CRED-003", "ENTRA-CRED-004",
		"ENTRA-APP-001", "ENTRA-APP-002", "ENTRA-APP-003", "ENTRA-APP-004", "ENTRA-APP-005", "ENTRA-CLAIM-001", "ENTRA-CLAIM-002",
		"ENTRA-SCIM-001", "ENTRA-SCIM-002", "ENTRA-LIC-001",
		"CF-IDP-001", "CF-IDP-002", "CF-IDP-003", "CF-SCIM-001", "CF-SCIM-002",
		"CF-POL-001", "CF-POL-002", "CF-POL-003", "CF-POL-004", "DRIFT-001",
	} {
		if !seen[id] {
			t.Errorf("%s is not in the catalog", id)
		}
	}
}

func TestDrift(t *testing.T) {
	c, _ := ByID("DRIFT-001")
	snap := healthy()
	if out := c.Evaluate(Input{Snapshot: snap, Integration: &snap.Integrations[0]}); out.NotApplicable == "" {
		t.Errorf("without a baseline DRIFT-001 does not apply: %+v", out)
	}
	approved := healthy()
	approved.TakenAt = now.Add(-48 * time.Hour)
	if out := c.Evaluate(Input{Snapshot: snap, Integration: &snap.Integrations[0], Approved: approved}); len(out.Findings) != 0 || out.NotApplicable != "" {
		t.Errorf("unchanged: %+v", out)
	}
	snap.IdentityProviders[1].Prompt = ptr("none")
	snap.Integrations[0].Application.WebRedirectURIs = append(snap.Integrations[0].Application.WebRedirectURIs, "https://evil.example/callback")
	out := c.Evaluate(Input{Snapshot: snap, Integration: &snap.Integrations[0], Approved: approved})
	got := map[string]Finding{}
	for _, f := range out.Findings {
		got[f.Setting] = f
	}
	if len(got) != 2 {
		t.Fatalf("want 2 drift findings, got %+v", out.Findings)
	}
	if f := got["prompt"]; f.Severity != Medium || f.Expected != `"login"` || f.Actual != `"none"` || len(f.Needs) != 1 || f.Needs[0] != snapshot.CloudflareIdPs {
		t.Errorf("prompt drift: %+v", f)
	}
	if f := got["web.redirectUris"]; f.Severity != High || f.Resource.Kind != KindAppRegistration || f.Needs[0] != snapshot.EntraApplication {
		t.Errorf("redirect drift: %+v", f)
	}
}
