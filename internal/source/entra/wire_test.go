package entra

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const goodApp = `{"id":"o1","appId":"a1","displayName":"Cloudflare Access",
 "web":{"redirectUris":["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]},"spa":{"redirectUris":[]},"publicClient":null,
 "requiredResourceAccess":[{"resourceAppId":"00000003-0000-0000-c000-000000000000","resourceAccess":[{"id":"37F7F235-527C-4136-ACCD-4A02D197296E","type":"Scope"}]}],
 "passwordCredentials":[{"keyId":"k1","displayName":"cf","hint":"AbC","startDateTime":"2026-01-01T00:00:00Z","endDateTime":"2027-01-01T00:00:00.1234567Z"}],
 "keyCredentials":[],
 "signInAudience":"AzureADMyOrg","optionalClaims":{"idToken":[{"name":"upn","source":null,"essential":false,"additionalProperties":[]}],"accessToken":[],"saml2Token":[]},
 "groupMembershipClaims":"SecurityGroup","api":{"acceptMappedClaims":null,"requestedAccessTokenVersion":null},
 "owners":[{"@odata.type":"#microsoft.graph.user","id":"u1"}]}`

// A settings property or the owners missing from an answer are gaps of
// their own, never "not set" and never a failed application.
func TestApplicationSettingsAndOwnersMissing(t *testing.T) {
	for name, tc := range map[string]struct{ old, new string }{
		"no signInAudience": {`"signInAudience":"AzureADMyOrg",`, ``},
		"no api":            {`,"api":{"acceptMappedClaims":null,"requestedAccessTokenVersion":null}`, ``},
		"claims wrong type": {`"groupMembershipClaims":"SecurityGroup"`, `"groupMembershipClaims":7`},
		"null id claim":     {`"idToken":[{"name":"upn","source":null,"essential":false,"additionalProperties":[]}]`, `"idToken":[null]`},
	} {
		app, extra, err := application([]byte(strings.Replace(goodApp, tc.old, tc.new, 1)))
		if err != nil || app == nil || app.Settings != nil || !errors.Is(extra.settings, errMalformed) || extra.owners != nil {
			t.Errorf("%s: app %v, settings error %v, owners error %v, error %v", name, app != nil, extra.settings, extra.owners, err)
		}
	}
	for name, owners := range map[string]string{"absent": ``, "null": `,"owners":null`, "null element": `,"owners":[null]`} {
		body := strings.Replace(goodApp, `,
 "owners":[{"@odata.type":"#microsoft.graph.user","id":"u1"}]`, owners, 1)
		app, extra, err := application([]byte(body))
		if err != nil || app == nil || app.Owners != nil || !errors.Is(extra.owners, errMalformed) || extra.settings != nil {
			t.Errorf("owners %s: owners %v, error %v / %v", name, app.Owners, extra.owners, err)
		}
	}
	// No owners at all is an observation.
	app, extra, _ := application([]byte(strings.Replace(goodApp, `[{"@odata.type":"#microsoft.graph.user","id":"u1"}]`, `[]`, 1)))
	if extra.owners != nil || app.Owners == nil || len(app.Owners) != 0 {
		t.Errorf("empty owners: %v %v", app.Owners, extra.owners)
	}
}

func TestApplicationDecodes(t *testing.T) {
	app, extra, err := application([]byte(goodApp))
	if err != nil || extra.settings != nil || extra.owners != nil {
		t.Fatal(err, extra)
	}
	if st := app.Settings; st == nil || st.SignInAudience != "AzureADMyOrg" || st.ImplicitIDTokens || st.GroupMembershipClaims != "SecurityGroup" ||
		len(st.OptionalIDTokenClaims) != 1 || st.OptionalIDTokenClaims[0] != "upn" || st.AcceptMappedClaims {
		t.Errorf("settings %+v", app.Settings)
	}
	if len(app.Owners) != 1 || app.Owners[0] != "u1" {
		t.Errorf("owners %v", app.Owners)
	}
	if len(app.WebRedirectURIs) != 1 || len(app.PasswordCredentials) != 1 || app.PasswordCredentials[0].End == nil {
		t.Fatalf("decoded %+v", app)
	}
	if got := app.RequiredResourceAccess[0].ResourceAccess[0].ID; got != "37f7f235-527c-4136-accd-4a02d197296e" {
		t.Errorf("permission id %q, want lower case", got)
	}
}

// Every answer here is not what Graph documents; reading any of them as
// "no secret", "no redirect URI" or "no grant" would invent a finding.
func TestMalformedGraphAnswersAreErrors(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(goodApp, old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(goodApp, old, new, 1)
	}
	apps := map[string]string{
		"null secret":              replace(`"passwordCredentials":[{"keyId":"k1","displayName":"cf","hint":"AbC","startDateTime":"2026-01-01T00:00:00Z","endDateTime":"2027-01-01T00:00:00.1234567Z"}]`, `"passwordCredentials":[null]`),
		"secrets null":             replace(`"keyCredentials":[]`, `"keyCredentials":null`),
		"secrets missing":          replace(`"keyCredentials":[]`, `"keyCredentialz":[]`),
		"web is a string":          replace(`"web":{"redirectUris":["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]}`, `"web":"x"`),
		"redirectUris is object":   replace(`"redirectUris":["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]`, `"redirectUris":{}`),
		"null resource access":     replace(`"resourceAccess":[{"id":"37F7F235-527C-4136-ACCD-4A02D197296E","type":"Scope"}]`, `"resourceAccess":[null]`),
		"date is a number":         replace(`"startDateTime":"2026-01-01T00:00:00Z"`, `"startDateTime":5`),
		"null body":                `null`,
		"array body":               `[]`,
		"string body":              `"x"`,
		"empty body":               ``,
		"truncated":                goodApp[:len(goodApp)/2],
		"error object with 200 OK": `{"error":{"code":"InternalServerError","message":"boom"}}`,
	}
	for name, body := range apps {
		if _, _, err := application([]byte(body)); !errors.Is(err, errMalformed) {
			t.Errorf("%s: err = %v, want a malformed-response error", name, err)
		}
	}
	pages := map[string]string{
		"null grant":       `{"value":[null]}`,
		"value is object":  `{"value":{}}`,
		"value is string":  `{"value":"x"}`,
		"value null":       `{"value":null}`,
		"value missing":    `{}`,
		"grant is number":  `{"value":[1]}`,
		"nextLink is bool": `{"value":[],"@odata.nextLink":true}`,
	}
	for name, body := range pages {
		if _, _, err := grantsPage([]byte(body)); !errors.Is(err, errMalformed) {
			t.Errorf("grants %s: err = %v, want malformed", name, err)
		}
		if _, _, err := jobsPage([]byte(body)); !errors.Is(err, errMalformed) {
			t.Errorf("jobs %s: err = %v, want malformed", name, err)
		}
	}
	if _, err := graphPermissions([]byte(`{"id":"g","oauth2PermissionScopes":[null],"appRoles":[]}`)); !errors.Is(err, errMalformed) {
		t.Errorf("null permission scope: %v", err)
	}
	if _, err := graphPermissions([]byte(`{"id":"g","oauth2PermissionScopes":[{"id":"a","value":"openid"}]}`)); !errors.Is(err, errMalformed) {
		t.Errorf("appRoles missing: %v", err)
	}
	for name, body := range pages {
		if _, _, err := roleAssignmentsPage([]byte(body)); !errors.Is(err, errMalformed) {
			t.Errorf("app role assignments %s: err = %v, want malformed", name, err)
		}
		if _, err := anyAssigned([]byte(body)); !errors.Is(err, errMalformed) {
			t.Errorf("appRoleAssignedTo %s: err = %v, want malformed", name, err)
		}
	}
	if _, _, err := roleAssignmentsPage([]byte(`{"value":[{"id":"x","resourceId":"r"}]}`)); !errors.Is(err, errMalformed) {
		t.Errorf("assignment without appRoleId: %v", err)
	}
	if _, err := objectMappings([]byte(`{"synchronizationRules":[{"objectMappings":[null]}]}`)); !errors.Is(err, errMalformed) {
		t.Errorf("null object mapping: %v", err)
	}
	if _, err := servicePrincipal([]byte(`{"id":"s","accountEnabled":"yes"}`)); !errors.Is(err, errMalformed) {
		t.Errorf("accountEnabled a string: %v", err)
	}
}

func TestBatchResponseShapes(t *testing.T) {
	for name, body := range map[string]string{
		"null items":        `{"responses":[null]}`,
		"item status text":  `{"responses":[{"id":"1","status":"200","body":{}}]}`,
		"item without id":   `{"responses":[{"status":200,"body":{}}]}`,
		"status out of set": `{"responses":[{"id":"1","status":7,"body":{}}]}`,
	} {
		items, err := decodeBatchResponse([]byte(body))
		if err != nil || len(items) != 0 {
			t.Errorf("%s: items %v, err %v; want no usable answer and no error", name, items, err)
		}
	}
	for name, body := range map[string]string{
		"responses object": `{"responses":{}}`,
		"responses null":   `{"responses":null}`,
		"error with 200":   `{"error":{"code":"x","message":"y"}}`,
		"array":            `[]`,
		"not JSON":         `<html>`,
	} {
		if _, err := decodeBatchResponse([]byte(body)); !errors.Is(err, errMalformed) {
			t.Errorf("%s: err = %v, want malformed", name, err)
		}
	}
	items, err := decodeBatchResponse([]byte(`{"responses":[{"id":"1","status":200,"headers":{"Content-Type":"application/json"},"body":{"id":"x"}},{"id":"1","status":500}]}`))
	if err != nil || items["1"].Status != 200 {
		t.Fatalf("items %v, err %v", items, err)
	}
}

// FuzzGraphDecoding feeds arbitrary bodies to every Graph decoder: none
// may panic, and a decoder that accepts a body returns usable values.
func FuzzGraphDecoding(f *testing.F) {
	for _, seed := range []string{goodApp, `{"responses":[null]}`, `{"value":[null]}`, `{"value":[{"id":"g","clientId":"c","consentType":"AllPrincipals","scope":" openid "}],"@odata.nextLink":"https://graph/v1.0/x"}`,
		`{"id":"g","oauth2PermissionScopes":[{"id":"e1fe6dd8-ba31-4d61-89e7-88639da4683d","value":"User.Read"}]}`,
		`{"synchronizationRules":[{"objectMappings":[{"enabled":true,"attributeMappings":[{"targetAttributeName":"emails[type eq \"work\"].value","source":{"name":"mail","type":"Attribute"}}]}]}]}`,
		`{"value":[{"id":"j","status":{"code":"Quarantine"}}]}`, `{"value":[{"id":"j","schedule":{"state":"Paused"},"status":{"code":"Active","lastExecution":{"state":"Failed","timeBegan":""}}}]}`, `{"responses":[{"id":"1","status":429,"headers":{"Retry-After":"Wed, 21 Oct 2015 07:28:00 GMT"}}]}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if app, _, err := application(body); err == nil && (app.WebRedirectURIs == nil || app.PasswordCredentials == nil || app.KeyCredentials == nil) {
			t.Fatal("an accepted app registration has a nil collection")
		}
		_, _ = servicePrincipal(body)
		if cat, err := graphPermissions(body); err == nil && (cat.scopes == nil || cat.roles == nil) {
			t.Fatal("an accepted permission catalog has a nil map")
		}
		_, _, _ = roleAssignmentsPage(body)
		_, _ = anyAssigned(body)
		if grants, _, err := grantsPage(body); err == nil && grants == nil {
			t.Fatal("an accepted grants page has a nil list")
		}
		_, _, _ = jobsPage(body)
		_, _ = objectMappings(body)
		if items, err := decodeBatchResponse(body); err == nil {
			for id, it := range items {
				if id == "" || it.Status < 100 || it.Status > 599 {
					t.Fatalf("accepted batch item %q with status %d", id, it.Status)
				}
				if d := retryAfter(it.Headers, time.Now()); d < 0 || d > maxRetryAfter {
					t.Fatalf("Retry-After wait %s", d)
				}
			}
		}
	})
}

// TestJobStatusKeepsWhatTheSDKWouldLose: an empty timestamp, the zero
// date and an enum member this build does not know are kept as they are
// (unknown time, raw text) instead of failing the job or becoming nil.
func TestJobStatusKeepsWhatTheSDKWouldLose(t *testing.T) {
	body := `{"value":[{"id":"j1","templateId":"scim","schedule":{"state":"Disabled"},
		"status":{"code":"QuarantinedByPolicy","countSuccessiveCompleteFailures":3,
		"lastExecution":{"state":"Failed","timeBegan":"2026-12-01T10:00:00Z","timeEnded":"","countEntitled":0,"countExported":0,
			"error":{"code":"SystemForCrossDomainIdentityManagementCredentialsNotValid","message":"401 from the SCIM endpoint"}},
		"lastSuccessfulExecution":{"state":"Succeeded","timeBegan":"0001-01-01T00:00:00Z","timeEnded":"0001-01-01T00:00:00Z"},
		"quarantine":{"reason":"EncounteredQuarantineException","currentBegan":"","seriesBegan":"2026-11-30T08:00:00.1234567Z",
			"error":{"code":"E1","message":"m"}}}}]}`
	jobs, _, err := jobsPage([]byte(body))
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %v, err %v", jobs, err)
	}
	j := jobs[0]
	if j.Status != "QuarantinedByPolicy" || j.ScheduleState != "Disabled" || j.SuccessiveFailures != 3 {
		t.Errorf("status %q schedule %q failures %d", j.Status, j.ScheduleState, j.SuccessiveFailures)
	}
	le := j.LastExecution
	if le == nil || le.State != "Failed" || le.Began == nil || le.Ended != nil || le.ErrorCode != "SystemForCrossDomainIdentityManagementCredentialsNotValid" {
		t.Errorf("last execution %+v", le)
	}
	if ls := j.LastSuccess; ls == nil || ls.Began != nil || ls.Ended != nil {
		t.Errorf("zero-date success should have unknown times: %+v", ls)
	}
	q := j.Quarantine
	if q == nil || q.Reason != "EncounteredQuarantineException" || q.CurrentBegan != nil || q.SeriesBegan == nil || q.ErrorMessage != "m" {
		t.Errorf("quarantine %+v", q)
	}
	if j.LastExport != nil {
		t.Errorf("no export run was sent: %+v", j.LastExport)
	}
	if _, _, err := jobsPage([]byte(`{"value":[{"id":"j","status":{"countSuccessiveCompleteFailures":"3"}}]}`)); !errors.Is(err, errMalformed) {
		t.Errorf("a count sent as text is malformed: %v", err)
	}
}
