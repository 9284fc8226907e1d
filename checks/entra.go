package checks

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/watch"
)

// MicrosoftGraphAppID is the appId of the Microsoft Graph API.
const MicrosoftGraphAppID = watch.MicrosoftGraphAppID

// RequiredDelegatedPermissions returns the Microsoft Graph delegated
// permissions Cloudflare's Azure AD login needs.
func RequiredDelegatedPermissions() []string {
	return []string{"email", "offline_access", "openid", "profile", "User.Read", "Directory.Read.All", "GroupMember.Read.All"}
}

// withIdPCause names the identity provider as a further object whose
// change would explain f (a claim both sides must agree on).
func withIdPCause(f Finding, idp *snapshot.IdentityProvider) Finding {
	f.Causes = append(f.Causes, finding.ObjectRef{Side: snapshot.SideCloudflare, ID: idp.ID})
	return f
}

func appResource(in Input) Resource {
	a := in.Integration.Application
	return Resource{Side: snapshot.SideEntra, Kind: KindAppRegistration, ID: a.AppID, Name: a.DisplayName}
}

func permissionConfigured() Check {
	c := Check{
		ID:       "ENTRA-PERM-001",
		Title:    "Required Microsoft Graph delegated permission is not configured",
		Severity: High,
		Description: "Cloudflare's Azure AD login requests seven Microsoft Graph delegated permissions " +
			"(email, offline_access, openid, profile, User.Read, Directory.Read.All, GroupMember.Read.All). " +
			"Without one of them sign-in fails or group-based policies silently stop matching.",
		Remediation: "Entra admin center > Identity > Applications > App registrations > (the app) > API permissions > " +
			"Add a permission > Microsoft Graph > Delegated permissions: add the missing permission, then Grant admin consent.",
		Needs: []snapshot.DataKind{snapshot.EntraApplication, snapshot.EntraGraphPermissions},
	}
	c.Evaluate = func(in Input) Outcome {
		requested := map[string]bool{}
		for _, rra := range in.Integration.Application.RequiredResourceAccess {
			if !strings.EqualFold(rra.ResourceAppID, MicrosoftGraphAppID) {
				continue
			}
			for _, ra := range rra.ResourceAccess {
				if ra.Type == "Scope" {
					requested[strings.ToLower(ra.ID)] = true
				}
			}
		}
		ids := permissionIDs(in.Snapshot.GraphPermissions)
		var out Outcome
		for _, name := range RequiredDelegatedPermissions() {
			id, known := ids[strings.ToLower(name)]
			if known && requested[id] {
				continue
			}
			actual := "not among the app's Microsoft Graph delegated permissions"
			if !known {
				actual = "the tenant's Microsoft Graph service principal does not publish this permission"
			}
			out.Findings = append(out.Findings, c.finding(in, High, appResource(in), name,
				fmt.Sprintf("App registration %q does not request the Microsoft Graph delegated permission %s", in.Integration.Application.DisplayName, name),
				name+" (delegated) configured under API permissions", actual))
		}
		return out
	}
	return c
}

// permissionIDs maps lower-cased permission names to lower-cased IDs.
func permissionIDs(byID map[string]string) map[string]string {
	out := make(map[string]string, len(byID))
	for id, name := range byID {
		out[strings.ToLower(name)] = strings.ToLower(id)
	}
	return out
}

func permissionConsented() Check {
	c := Check{
		ID:       "ENTRA-PERM-002",
		Title:    "Required delegated permission lacks tenant-wide admin consent",
		Severity: High,
		Description: "Each of the seven delegated permissions needs admin consent for the whole organisation " +
			"(an oauth2PermissionGrant with consentType AllPrincipals). Consent given by individual users does not count: " +
			"other users are prompted, and Directory.Read.All and GroupMember.Read.All cannot be consented by users at all.",
		Remediation: "Entra admin center > Identity > Applications > App registrations > (the app) > API permissions > " +
			"Grant admin consent for <tenant> (needs a Privileged Role Administrator, Cloud Application Administrator or Application Administrator).",
		Needs: []snapshot.DataKind{snapshot.EntraServicePrincipal, snapshot.EntraPermissionGrants, snapshot.EntraGraphPermissions},
	}
	c.Evaluate = func(in Input) Outcome {
		app := in.Integration
		admin, user := watch.Consent(in.Snapshot, app)
		r := Resource{Side: snapshot.SideEntra, Kind: KindAppRegistration, ID: app.EntraAppID, Name: app.EntraAppID}
		if app.Application != nil {
			r = appResource(in)
		} else if app.ServicePrincipal != nil {
			r.Name = app.ServicePrincipal.DisplayName
		}
		var out Outcome
		for _, name := range RequiredDelegatedPermissions() {
			if _, ok := admin[strings.ToLower(name)]; ok {
				continue
			}
			actual := "no admin consent"
			switch {
			case app.ServicePrincipalMissing:
				actual = "the app has no service principal (enterprise application) in this tenant, so nothing is consented"
			case user[strings.ToLower(name)] != "":
				actual = "consented only by individual users (consentType Principal), not for all users"
			}
			out.Findings = append(out.Findings, c.finding(in, High, r, name,
				fmt.Sprintf("Microsoft Graph delegated permission %s has no tenant-wide admin consent for %q", name, r.Name),
				name+" granted with admin consent (consentType AllPrincipals)", actual))
		}
		return out
	}
	return c
}

func secretExpiry() Check {
	c := Check{
		ID:       "ENTRA-CRED-001",
		Title:    "Client secret expired or expiring",
		Severity: High,
		Description: "Cloudflare authenticates to Entra ID with one of the app's client secrets and cannot show which one. " +
			"A secret that expires within the critical threshold is high, within the warning threshold medium; the finding " +
			"says whether another secret stays valid beyond the warning window. An expired secret while another one is still " +
			"valid is low: it only needs removing. When no secret is valid at all, ENTRA-CRED-004 reports it.",
		Remediation: "Entra admin center > App registrations > (the app) > Certificates & secrets > Client secrets > New client secret; " +
			"then Zero Trust > Settings > Authentication > (the Azure AD login method) > Edit: paste the new value into Client secret and Save; " +
			"test the login, then delete the old secret.",
		Needs: []snapshot.DataKind{snapshot.EntraApplication},
	}
	c.Evaluate = func(in Input) Outcome {
		return Outcome{Findings: expiryFindings(c, in, in.Integration.Application.PasswordCredentials, "Client secret", "secret")}
	}
	return c
}

func certificateExpiry() Check {
	c := Check{
		ID:       "ENTRA-CRED-002",
		Title:    "Certificate expired or expiring",
		Severity: Critical,
		Description: "A certificate credential on the app registration has expired or expires soon. Whatever uses it to " +
			"authenticate as the app stops working when it expires. Expired: critical, or low while another certificate " +
			"is still valid; within the critical threshold: high; within the warning threshold: medium.",
		Remediation: "Entra admin center > App registrations > (the app) > Certificates & secrets > Certificates > Upload certificate " +
			"(a renewed one), switch whatever uses the old certificate to it, then delete the expired one.",
		Needs: []snapshot.DataKind{snapshot.EntraApplication},
	}
	c.Evaluate = func(in Input) Outcome {
		return Outcome{Findings: expiryFindings(c, in, in.Integration.Application.KeyCredentials, "Certificate", "certificate")}
	}
	return c
}

// validAt reports whether a credential is valid at t: started (or without
// a start date) and not yet ended.
func validAt(cred snapshot.Credential, t time.Time) bool {
	return (cred.Start == nil || !cred.Start.After(t)) && (cred.End == nil || cred.End.After(t))
}

// sortedCredentials returns creds ordered by keyId.
func sortedCredentials(creds []snapshot.Credential) []snapshot.Credential {
	sorted := append([]snapshot.Credential(nil), creds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].KeyID < sorted[j].KeyID })
	return sorted
}

// expiryFindings grades each credential's end date against the run's
// time. An expired credential is low while another one is valid now; with
// none valid, an expired client secret is left to ENTRA-CRED-004 and an
// expired certificate is critical.
func expiryFindings(c Check, in Input, creds []snapshot.Credential, noun, short string) []Finding {
	now := in.Snapshot.TakenAt
	exp := in.Integration.Expiry
	sorted := sortedCredentials(creds)
	var out []Finding
	for _, cred := range sorted {
		if cred.End == nil {
			continue
		}
		// Another credential valid now, and one valid beyond the warning window.
		var otherValid, otherLasting *snapshot.Credential
		for i, o := range sorted {
			if o.KeyID == cred.KeyID || !validAt(o, now) {
				continue
			}
			if otherValid == nil {
				otherValid = &sorted[i]
			}
			if o.End == nil || o.End.Sub(now) > exp.Warning {
				if otherLasting == nil {
					otherLasting = &sorted[i]
				}
			}
		}
		left := cred.End.Sub(now)
		var sev Severity
		var state, note string
		switch {
		case left <= 0 && otherValid != nil:
			sev, state = Low, "expired "+humanDays(-left)+" ago"
			note = fmt.Sprintf("; expired %s still registered — remove it (%s %s is valid)", short, short, credentialLabel(*otherValid))
		case left <= 0 && short == "secret":
			continue // nothing valid: ENTRA-CRED-004
		case left <= 0:
			sev, state = Critical, "expired "+humanDays(-left)+" ago"
		case left <= exp.Critical:
			sev, state = High, "expires in "+humanDays(left)
		case left <= exp.Warning:
			sev, state = Medium, "expires in "+humanDays(left)
		default:
			continue
		}
		if left > 0 {
			if otherLasting != nil {
				note = fmt.Sprintf("; %s %s stays valid %s — make sure Cloudflare uses the newer one", short, credentialLabel(*otherLasting), validUntil(*otherLasting))
			} else {
				note = fmt.Sprintf("; no other %s is valid beyond %s", short, humanDays(exp.Warning))
			}
		}
		label := credentialLabel(cred)
		out = append(out, c.finding(in, sev, appResource(in), cred.KeyID,
			fmt.Sprintf("%s %s of app registration %q %s (%s)%s", noun, label, in.Integration.Application.DisplayName, state, cred.End.UTC().Format("2006-01-02"), note),
			fmt.Sprintf("valid for more than %s", humanDays(exp.Warning)),
			fmt.Sprintf("ends %s (%s)", cred.End.UTC().Format(time.RFC3339), state)))
	}
	return out
}

func validUntil(cred snapshot.Credential) string {
	if cred.End == nil {
		return "without an end date"
	}
	return "until " + cred.End.UTC().Format("2006-01-02")
}

func secretLifetime() Check {
	c := Check{
		ID:       "ENTRA-CRED-003",
		Title:    "Client secret valid for longer than the lifetime policy allows",
		Severity: Low,
		Description: "A client secret whose lifetime (endDateTime − startDateTime) exceeds [expiry] max_secret_lifetime " +
			"(default 365 days) stays usable long after it may have leaked, and long-lived secrets are the ones nobody " +
			"remembers to rotate. Expired secrets are left to ENTRA-CRED-001; max_secret_lifetime = \"0\" turns the check off.",
		Remediation: "Entra admin center > App registrations > (the app) > Certificates & secrets > Client secrets > New client secret " +
			"with an expiry within the policy; put it into Zero Trust > Settings > Authentication > (the Azure AD login method) > " +
			"Edit > Client secret, Save and Test, then delete the long-lived secret. An app management policy " +
			"(Graph: PATCH /policies/defaultAppManagementPolicy, passwordLifetime restriction) can enforce the limit.",
		Needs: []snapshot.DataKind{snapshot.EntraApplication},
	}
	c.Evaluate = func(in Input) Outcome {
		max := in.Integration.Expiry.MaxSecretLifetime
		if max <= 0 {
			return Outcome{NotApplicable: "expiry.max_secret_lifetime is 0"}
		}
		app := in.Integration.Application
		now := in.Snapshot.TakenAt
		var out Outcome
		for _, cred := range sortedCredentials(app.PasswordCredentials) {
			if cred.Start == nil || cred.End == nil || !cred.End.After(now) {
				continue
			}
			life := cred.End.Sub(*cred.Start)
			if life <= max {
				continue
			}
			out.Findings = append(out.Findings, c.finding(in, Low, appResource(in), cred.KeyID,
				fmt.Sprintf("Client secret %s of app registration %q is valid for %s (%s to %s), longer than the %s allowed",
					credentialLabel(cred), app.DisplayName, humanDays(life), cred.Start.UTC().Format("2006-01-02"), cred.End.UTC().Format("2006-01-02"), humanDays(max)),
				fmt.Sprintf("a lifetime of at most %s", humanDays(max)),
				fmt.Sprintf("%s (startDateTime %s, endDateTime %s)", humanDays(life), cred.Start.UTC().Format(time.RFC3339), cred.End.UTC().Format(time.RFC3339))))
		}
		return out
	}
	return c
}

func secretValid() Check {
	c := Check{
		ID:       "ENTRA-CRED-004",
		Title:    "No client secret is valid now",
		Severity: Critical,
		Description: "Cloudflare's Azure AD login method authenticates with a client secret only (certificates do not count). " +
			"When the app has no secret whose start date has passed and whose end date has not, Cloudflare cannot redeem a " +
			"single sign-in and every user is locked out.",
		Remediation: "Entra admin center > Identity > Applications > App registrations > (the app) > Certificates & secrets > " +
			"Client secrets > New client secret (copy the value at once), then Zero Trust > Settings > Authentication > " +
			"(the Azure AD login method) > Edit: paste it into Client secret, Save and Test; delete expired secrets afterwards.",
		Needs: []snapshot.DataKind{snapshot.EntraApplication},
	}
	c.Evaluate = func(in Input) Outcome {
		app := in.Integration.Application
		now := in.Snapshot.TakenAt
		var seen []string
		for _, cred := range sortedCredentials(app.PasswordCredentials) {
			if validAt(cred, now) {
				return Outcome{}
			}
			state := "expired"
			if cred.Start != nil && cred.Start.After(now) {
				state = "not valid before " + cred.Start.UTC().Format(time.RFC3339)
			} else if cred.End != nil {
				state = "ended " + cred.End.UTC().Format(time.RFC3339)
			}
			seen = append(seen, credentialLabel(cred)+" "+state)
		}
		actual := "no client secret"
		if len(seen) > 0 {
			actual = "no client secret valid now: " + strings.Join(seen, "; ")
		}
		return Outcome{Findings: []Finding{c.finding(in, Critical, appResource(in), "passwordCredentials",
			fmt.Sprintf("App registration %q has no client secret that is valid now; Cloudflare's Azure AD login cannot authenticate", app.DisplayName),
			"at least one client secret valid now (start ≤ now < end)", actual)}}
	}
	return c
}

func credentialLabel(c snapshot.Credential) string {
	var parts []string
	if c.DisplayName != "" {
		parts = append(parts, fmt.Sprintf("%q", c.DisplayName))
	}
	if c.Hint != "" {
		parts = append(parts, "hint "+c.Hint+"…")
	}
	parts = append(parts, "keyId "+c.KeyID)
	return strings.Join(parts, ", ")
}

// humanDays renders a duration in whole days (or hours when under a day).
func humanDays(d time.Duration) string {
	if d < 24*time.Hour {
		h := int(d.Hours())
		if h == 1 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", h)
	}
	// Round to the nearest day: a secret ending in 4d23h "expires in 5 days".
	days := int((d + 12*time.Hour) / (24 * time.Hour))
	if days == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

// CallbackURL is the redirect URI Cloudflare Access uses for a team domain.
func CallbackURL(authDomain string) string {
	return "https://" + strings.ToLower(authDomain) + "/cdn-cgi/access/callback"
}

func redirectURI() Check {
	c := Check{
		ID:       "ENTRA-APP-001",
		Title:    "Cloudflare callback redirect URI missing from the app's Web platform",
		Severity: Critical,
		Description: "Entra ID only returns users to redirect URIs registered on the app. Cloudflare Access needs " +
			"https://<team>.cloudflareaccess.com/cdn-cgi/access/callback on the Web platform (not SPA or mobile/desktop); " +
			"without it every login ends in error AADSTS50011.",
		Remediation: "Entra admin center > App registrations > (the app) > Authentication > Web > Redirect URIs: add the callback URL " +
			"exactly as expected (your team name is under Zero Trust > Settings > Custom Pages) and Save.",
		Needs: []snapshot.DataKind{snapshot.EntraApplication, snapshot.CloudflareOrg},
	}
	c.Evaluate = func(in Input) Outcome {
		if in.Snapshot.AuthDomain == "" {
			return Outcome{NotApplicable: "the team domain is unknown"}
		}
		want := CallbackURL(in.Snapshot.AuthDomain)
		app := in.Integration.Application
		for _, u := range app.WebRedirectURIs {
			if sameRedirect(u, want) {
				return Outcome{}
			}
		}
		actual := "Web redirect URIs: " + listOrNone(app.WebRedirectURIs)
		for _, u := range app.SPARedirectURIs {
			if sameRedirect(u, want) {
				actual += "; the URL is registered on the Single-page application platform instead"
			}
		}
		for _, u := range app.PublicClientURIs {
			if sameRedirect(u, want) {
				actual += "; the URL is registered on the Mobile and desktop platform instead"
			}
		}
		return Outcome{Findings: []Finding{c.finding(in, Critical, appResource(in), "web.redirectUris",
			fmt.Sprintf("App registration %q lacks the Web redirect URI %s", app.DisplayName, want), want, actual)}}
	}
	return c
}

func servicePrincipalEnabled() Check {
	c := Check{
		ID:       "ENTRA-APP-002",
		Title:    "The app's enterprise application is disabled for sign-in",
		Severity: Critical,
		Description: "The app registration's service principal (its enterprise application in this tenant) has " +
			"\"Enabled for users to sign-in?\" set to No (accountEnabled false). Entra ID then refuses every token for the " +
			"app and nobody can sign in through Cloudflare, even though the registration itself looks fine.",
		Remediation: "Entra admin center > Identity > Applications > Enterprise applications > (the app) > Properties: " +
			"set \"Enabled for users to sign-in?\" to Yes and Save.",
		Needs: []snapshot.DataKind{snapshot.EntraServicePrincipal},
	}
	c.Evaluate = func(in Input) Outcome {
		sp := in.Integration.ServicePrincipal
		if sp == nil {
			return Outcome{NotApplicable: "the app has no service principal (see ENTRA-PERM-002)"}
		}
		if sp.AccountEnabled == nil || *sp.AccountEnabled {
			return Outcome{}
		}
		r := Resource{Side: snapshot.SideEntra, Kind: KindAppRegistration, ID: in.Integration.EntraAppID, Name: sp.DisplayName}
		return Outcome{Findings: []Finding{c.finding(in, Critical, r, "accountEnabled",
			fmt.Sprintf("Enterprise application %q is disabled for sign-in", sp.DisplayName),
			"enabled for users to sign in (accountEnabled true)", "disabled (accountEnabled false)")}}
	}
	return c
}

func signInAudience() Check {
	c := Check{
		ID:       "ENTRA-APP-003",
		Title:    "The app accepts sign-ins from outside the tenant",
		Severity: Medium,
		Description: "The app registration's supported account types (signInAudience) should be AzureADMyOrg: accounts in this " +
			"organizational directory only. A multitenant or personal-account audience lets identities of other tenants obtain " +
			"tokens for the app, so Cloudflare's login relies on Access policies alone to keep them out.",
		Remediation: "Entra admin center > Identity > Applications > App registrations > (the app) > Authentication > Supported account types: " +
			"choose \"Accounts in this organizational directory only\" and Save (or PATCH /applications/{id} with " +
			"{\"signInAudience\":\"AzureADMyOrg\"}; personal-account audiences may first need the manifest's API version changed).",
		Needs: []snapshot.DataKind{snapshot.EntraApplication, snapshot.EntraAppSettings},
	}
	c.Evaluate = func(in Input) Outcome {
		app := in.Integration.Application
		if app.Settings == nil {
			return Outcome{NotApplicable: "the app's settings were not read"}
		}
		if app.Settings.SignInAudience == "AzureADMyOrg" {
			return Outcome{}
		}
		return Outcome{Findings: []Finding{c.finding(in, Medium, appResource(in), "signInAudience",
			fmt.Sprintf("App registration %q accepts sign-ins from %s, not only from this tenant", app.DisplayName, orNone(app.Settings.SignInAudience)),
			"AzureADMyOrg", orNone(app.Settings.SignInAudience))}}
	}
	return c
}

func implicitGrant() Check {
	c := Check{
		ID:       "ENTRA-APP-004",
		Title:    "Implicit grant is enabled on the app",
		Severity: Low,
		Description: "Cloudflare signs in with the authorization-code flow and needs no token from the authorization endpoint. " +
			"With implicit grant on (web.implicitGrantSettings: enableIdTokenIssuance or enableAccessTokenIssuance), Entra ID hands " +
			"tokens out in the redirect URL's fragment, where browser history, logs and referrers can leak them. One finding per setting.",
		Remediation: "Entra admin center > Identity > Applications > App registrations > (the app) > Authentication > " +
			"Implicit grant and hybrid flows: clear \"Access tokens\" and \"ID tokens\" and Save.",
		Needs: []snapshot.DataKind{snapshot.EntraApplication, snapshot.EntraAppSettings},
	}
	c.Evaluate = func(in Input) Outcome {
		app := in.Integration.Application
		if app.Settings == nil {
			return Outcome{NotApplicable: "the app's settings were not read"}
		}
		var out Outcome
		for _, f := range []struct {
			on      bool
			setting string
			what    string
		}{
			{app.Settings.ImplicitIDTokens, "web.implicitGrantSettings.enableIdTokenIssuance", "ID tokens"},
			{app.Settings.ImplicitAccessTokens, "web.implicitGrantSettings.enableAccessTokenIssuance", "access tokens"},
		} {
			if !f.on {
				continue
			}
			out.Findings = append(out.Findings, c.finding(in, Low, appResource(in), f.setting,
				fmt.Sprintf("App registration %q issues %s through the implicit grant", app.DisplayName, f.what),
				f.setting[strings.LastIndex(f.setting, ".")+1:]+" false", "true"))
		}
		return out
	}
	return c
}

func appOwners() Check {
	c := Check{
		ID:       "ENTRA-APP-005",
		Title:    "The app registration has no owner",
		Severity: Low,
		Description: "Nobody owns the app registration, so no one is responsible for rotating its client secret before it expires " +
			"or receives Entra ID's expiry notices; changes then fall to whoever holds an admin role.",
		Remediation: "Entra admin center > Identity > Applications > App registrations > (the app) > Owners > Add owners: add the " +
			"people or service accounts responsible for the Cloudflare integration (Graph: POST /applications/{id}/owners/$ref).",
		Needs: []snapshot.DataKind{snapshot.EntraApplication, snapshot.EntraAppOwners},
	}
	c.Evaluate = func(in Input) Outcome {
		app := in.Integration.Application
		if app.Owners == nil {
			return Outcome{NotApplicable: "the app's owners were not read"}
		}
		if len(app.Owners) > 0 {
			return Outcome{}
		}
		return Outcome{Findings: []Finding{c.finding(in, Low, appResource(in), "owners",
			fmt.Sprintf("App registration %q has no owners", app.DisplayName), "at least one owner", "no owners")}}
	}
	return c
}

// standardIDTokenClaims are the claims Entra ID puts in every v2.0 ID
// token, plus those of the openid, profile and email scopes Cloudflare
// requests (email only for users that have one).
var standardIDTokenClaims = []string{
	"aud", "iss", "iat", "nbf", "exp", "aio", "idp", "nonce", "rh", "sub", "oid", "tid", "uti", "ver", "sid",
	"c_hash", "at_hash", "login_hint", "name", "preferred_username", "email",
}

// emittedClaims is every ID-token claim driftd can see the app emit: the
// standard ones, optionalClaims.idToken and groups when
// groupMembershipClaims asks for them. The second result says where a
// claim comes from.
func emittedClaims(st *snapshot.AppSettings) map[string]string {
	out := map[string]string{}
	for _, c := range standardIDTokenClaims {
		out[c] = "a standard ID-token claim"
	}
	for _, c := range st.OptionalIDTokenClaims {
		out[strings.ToLower(c)] = "an optional ID-token claim"
	}
	if g := strings.TrimSpace(st.GroupMembershipClaims); g != "" && !strings.EqualFold(g, "None") {
		out["groups"] = "emitted for groupMembershipClaims " + g
	}
	return out
}

func emailClaim() Check {
	c := Check{
		ID:       "ENTRA-CLAIM-001",
		Title:    "Cloudflare reads the user's email from a claim Entra ID does not send",
		Severity: High,
		Description: "Cloudflare takes the user's identity from the ID-token claim named in the login method's email_claim_name " +
			"(default email). If the app's ID token never carries that claim — it is neither a standard v2.0 claim, nor an optional " +
			"ID-token claim, nor groups with groupMembershipClaims set — sign-in fails for everyone. Note that email is only present " +
			"for users with a mail address, and preferred_username and name need the profile scope.",
		Remediation: "Either Entra admin center > App registrations > (the app) > Token configuration > Add optional claim > ID: add the claim " +
			"(PATCH /applications/{id} optionalClaims.idToken), or Zero Trust > Settings > Authentication > (the Azure AD login method) > " +
			"Edit: set the email claim name back to a claim the token carries (email, or preferred_username) and Save and Test.",
		Needs: []snapshot.DataKind{snapshot.EntraApplication, snapshot.EntraAppSettings, snapshot.CloudflareIdPs},
	}
	c.Evaluate = func(in Input) Outcome {
		idp, _ := FindIdentityProvider(in.Snapshot, in.Integration)
		if idp == nil {
			return Outcome{NotApplicable: "no identity provider (see CF-IDP-001)"}
		}
		st := in.Integration.Application.Settings
		if st == nil {
			return Outcome{NotApplicable: "the app's settings were not read"}
		}
		name := "email"
		if idp.EmailClaimName != nil && strings.TrimSpace(*idp.EmailClaimName) != "" {
			name = strings.TrimSpace(*idp.EmailClaimName)
		}
		if _, ok := emittedClaims(st)[strings.ToLower(name)]; ok {
			return Outcome{}
		}
		return Outcome{Findings: []Finding{withIdPCause(c.finding(in, High, appResource(in), "email_claim_name",
			fmt.Sprintf("Identity provider %q reads the email from claim %q, which app registration %q does not put in its ID token",
				idp.Name, name, in.Integration.Application.DisplayName),
			"a claim of the ID token: a standard claim, an optional idToken claim, or groups",
			fmt.Sprintf("email_claim_name %q; optional ID-token claims: %s; groupMembershipClaims: %s",
				name, listOrNone(st.OptionalIDTokenClaims), orNone(st.GroupMembershipClaims))), idp)}}
	}
	return c
}

func customClaims() Check {
	c := Check{
		ID:       "ENTRA-CLAIM-002",
		Title:    "A claim Cloudflare asks for is not emitted by the app",
		Severity: Medium,
		Description: "Each claim in the login method's claims list is passed to Access policies and applications. One that the app's " +
			"ID token does not carry (not standard, not an optional ID-token claim, not groups with groupMembershipClaims set) is " +
			"silently empty, and rules built on it never match. Claims-mapping policies cannot be read without write permissions, so " +
			"when the app accepts mapped claims (api.acceptMappedClaims) the claim may still come from one: then the finding is low.",
		Remediation: "Entra admin center > App registrations > (the app) > Token configuration: add the claim as an optional ID-token claim " +
			"(or, for groups, Add groups claim), or remove it from Zero Trust > Settings > Authentication > (the Azure AD login method) > " +
			"Edit > Optional configurations > OIDC Claims and Save.",
		Needs: []snapshot.DataKind{snapshot.EntraApplication, snapshot.EntraAppSettings, snapshot.CloudflareIdPs},
	}
	c.Evaluate = func(in Input) Outcome {
		idp, _ := FindIdentityProvider(in.Snapshot, in.Integration)
		if idp == nil {
			return Outcome{NotApplicable: "no identity provider (see CF-IDP-001)"}
		}
		st := in.Integration.Application.Settings
		if st == nil {
			return Outcome{NotApplicable: "the app's settings were not read"}
		}
		emitted := emittedClaims(st)
		var out Outcome
		seen := map[string]bool{}
		for _, raw := range idp.Claims {
			name := strings.TrimSpace(raw)
			key := strings.ToLower(name)
			if name == "" || seen[key] {
				continue
			}
			seen[key] = true
			if _, ok := emitted[key]; ok {
				continue
			}
			sev, caveat := Medium, ""
			if st.AcceptMappedClaims {
				sev = Low
				caveat = "; the app accepts mapped claims, so a claims-mapping policy (not readable with read-only permissions) may still supply it"
			}
			out.Findings = append(out.Findings, withIdPCause(c.finding(in, sev, appResource(in), "claims/"+key,
				fmt.Sprintf("Identity provider %q asks for claim %q, which app registration %q does not put in its ID token%s",
					idp.Name, name, in.Integration.Application.DisplayName, caveat),
				name+" emitted as an optional ID-token claim",
				fmt.Sprintf("optional ID-token claims: %s; groupMembershipClaims: %s", listOrNone(st.OptionalIDTokenClaims), orNone(st.GroupMembershipClaims))), idp))
		}
		return out
	}
	return c
}

func premiumLicense() Check {
	c := Check{
		ID:       "ENTRA-LIC-001",
		Title:    "SCIM is on but the tenant has no Entra ID P1 or P2",
		Severity: Medium,
		Description: "Automatic user provisioning to Cloudflare needs Microsoft Entra ID P1 or P2. With SCIM enabled on the login " +
			"method and no subscription (enabled or in its grace period) carrying a provisioned P1 or P2 service plan, the " +
			"provisioning job stops and deprovisioned users keep their Cloudflare access. Plans are matched by ID, so bundles " +
			"such as Microsoft 365 E3/E5 count.",
		Remediation: "Microsoft 365 admin center > Billing > Your products (or Entra admin center > Identity > Billing > Licenses > " +
			"All products): renew or buy a subscription that includes Microsoft Entra ID P1 or P2; Graph: GET /subscribedSkus shows " +
			"capabilityStatus and servicePlans.",
		Needs: []snapshot.DataKind{snapshot.EntraLicenses, snapshot.CloudflareIdPs},
	}
	c.Evaluate = func(in Input) Outcome {
		idp, _ := FindIdentityProvider(in.Snapshot, in.Integration)
		if idp == nil {
			return Outcome{NotApplicable: "no identity provider (see CF-IDP-001)"}
		}
		if idp.SCIM == nil || idp.SCIM.Enabled == nil || !*idp.SCIM.Enabled {
			return Outcome{NotApplicable: "SCIM is not enabled on the identity provider"}
		}
		if len(in.Snapshot.PremiumPlans) > 0 {
			return Outcome{}
		}
		// The licence is the tenant's; the finding sits on what needs it.
		r := idpResource(idp)
		if in.Integration.SCIMAppID != "" {
			r = Resource{Side: snapshot.SideEntra, Kind: KindProvisioningApp, ID: in.Integration.SCIMAppID, Name: in.Integration.SCIMAppID}
			if p := in.Integration.Provisioning; p != nil && p.DisplayName != "" {
				r.Name = p.DisplayName
			}
		}
		return Outcome{Findings: []Finding{c.finding(in, Medium, r, "subscribedSkus",
			fmt.Sprintf("Identity provider %q provisions over SCIM, but tenant %s has no enabled Entra ID P1 or P2 plan", idp.Name, in.Snapshot.TenantID),
			"a subscription (capabilityStatus Enabled or Warning) with the Entra ID P1 or P2 service plan provisioned",
			"no enabled Entra ID P1 or P2 service plan")}}
	}
	return c
}

// sameRedirect compares redirect URIs as Entra does: exact, except that
// the host name is case-insensitive.
func sameRedirect(got, want string) bool {
	g, err1 := url.Parse(got)
	w, err2 := url.Parse(want)
	if err1 != nil || err2 != nil {
		return false
	}
	return g.Scheme == w.Scheme && strings.EqualFold(g.Host, w.Host) && g.Path == w.Path && g.RawQuery == w.RawQuery
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}

// SCIM attribute mappings from the Cloudflare setup guide.
const (
	WorkEmailTarget  = `emails[type eq "work"].value`
	GivenNameTarget  = "name.givenName"
	FamilyNameTarget = "name.familyName"
)

func provisioningResource(in Input) Resource {
	p := in.Integration.Provisioning
	return Resource{Side: snapshot.SideEntra, Kind: KindProvisioningApp, ID: in.Integration.SCIMAppID, Name: p.DisplayName}
}

func scimRequiredMapping() Check {
	c := Check{
		ID:       "ENTRA-SCIM-001",
		Title:    `SCIM mapping emails[type eq "work"].value ← mail missing or changed`,
		Severity: High,
		Description: "Cloudflare identifies SCIM-provisioned users by their work email. The provisioning app must map " +
			`emails[type eq "work"].value from the Entra attribute mail; otherwise users are not matched, deprovisioning ` +
			"does not revoke their sessions and group sync attaches to the wrong identities.",
		Remediation: "Entra admin center > Enterprise applications > (the SCIM app) > Provisioning > Mappings > Provision Microsoft Entra ID Users: " +
			`edit or add the mapping with target attribute emails[type eq "work"].value and source attribute mail (mapping type Direct), then Save.`,
		Needs: []snapshot.DataKind{snapshot.EntraProvisioning},
	}
	c.Evaluate = func(in Input) Outcome {
		if in.Integration.SCIMAppID == "" {
			return Outcome{NotApplicable: "no scim_app_id configured"}
		}
		return Outcome{Findings: mappingFindings(c, in, High, []requiredMapping{{WorkEmailTarget, "mail"}})}
	}
	return c
}

func scimRecommendedMappings() Check {
	c := Check{
		ID:       "ENTRA-SCIM-002",
		Title:    "Recommended SCIM name mapping missing",
		Severity: Low,
		Description: "The setup guide recommends mapping name.givenName from givenName and name.familyName from surname so that " +
			"users carry their names into Cloudflare's user registry and policies.",
		Remediation: "Entra admin center > Enterprise applications > (the SCIM app) > Provisioning > Mappings > Provision Microsoft Entra ID Users: " +
			"add name.givenName ← givenName and name.familyName ← surname (mapping type Direct), then Save.",
		Needs: []snapshot.DataKind{snapshot.EntraProvisioning},
	}
	c.Evaluate = func(in Input) Outcome {
		if in.Integration.SCIMAppID == "" {
			return Outcome{NotApplicable: "no scim_app_id configured"}
		}
		return Outcome{Findings: mappingFindings(c, in, Low, []requiredMapping{{GivenNameTarget, "givenName"}, {FamilyNameTarget, "surname"}})}
	}
	return c
}

type requiredMapping struct{ target, source string }

// mappingFindings checks the enabled User object mappings of every
// provisioning job for each wanted target ← source pair.
func mappingFindings(c Check, in Input, sev Severity, wanted []requiredMapping) []Finding {
	prov := in.Integration.Provisioning
	r := provisioningResource(in)
	if len(prov.Jobs) == 0 {
		var out []Finding
		for _, w := range wanted {
			out = append(out, c.finding(in, sev, r, w.target,
				fmt.Sprintf("Provisioning app %q has no provisioning job, so %s is not provisioned", prov.DisplayName, w.target),
				fmt.Sprintf("%s ← %s", w.target, w.source), "no provisioning job configured"))
		}
		return out
	}
	var out []Finding
	for _, job := range prov.Jobs {
		var userMappings []snapshot.ObjectMapping
		for _, om := range job.Mappings {
			if om.Enabled && strings.EqualFold(om.SourceObjectName, "User") {
				userMappings = append(userMappings, om)
			}
		}
		setting := func(target string) string {
			if len(prov.Jobs) == 1 {
				return target
			}
			return job.ID + "/" + target
		}
		for _, w := range wanted {
			var found *snapshot.AttributeMapping
			for _, om := range userMappings {
				for i, am := range om.AttributeMappings {
					if watch.SameAttribute(am.TargetAttributeName, w.target) {
						found = &om.AttributeMappings[i]
					}
				}
			}
			expected := fmt.Sprintf("%s ← %s", w.target, w.source)
			switch {
			case found == nil:
				actual := "no mapping for " + w.target
				if len(userMappings) == 0 {
					actual = "no enabled user object mapping in the provisioning job"
				}
				out = append(out, c.finding(in, sev, r, setting(w.target),
					fmt.Sprintf("Provisioning app %q does not map %s", prov.DisplayName, w.target), expected, actual))
			case !watch.MapsFrom(*found, w.source):
				out = append(out, c.finding(in, sev, r, setting(w.target),
					fmt.Sprintf("Provisioning app %q maps %s from %s instead of %s", prov.DisplayName, w.target, describeSource(*found), w.source),
					expected, fmt.Sprintf("%s ← %s", w.target, describeSource(*found))))
			}
		}
	}
	return out
}

// describeSource renders where a mapping's value comes from, for findings.
func describeSource(am snapshot.AttributeMapping) string {
	if d := watch.DescribeSource(am); d != "" {
		return d
	}
	return "an empty source"
}
