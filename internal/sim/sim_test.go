package sim

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func testNow() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

func startSim(t *testing.T, tn *Tenant, opts Options) *Server {
	t.Helper()
	s, err := Start(tn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func do(t *testing.T, s *Server, method, rawURL, bearer string, body io.Reader, hdr map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: not JSON: %v\n%s", method, rawURL, err, raw)
		}
	}
	return r
}

func tokenForm(tn *Tenant) url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {tn.AuditorClientID},
		"client_secret": {tn.AuditorClientSecret},
		"scope":         {"https://graph.microsoft.com/.default openid profile offline_access"},
	}
}

func postToken(t *testing.T, s *Server, tenant string, form url.Values) reply {
	t.Helper()
	return do(t, s, http.MethodPost, s.AuthorityHost()+tenant+"/oauth2/v2.0/token", "",
		strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

func graphToken(t *testing.T, s *Server, tn *Tenant) string {
	t.Helper()
	r := postToken(t, s, TenantID, tokenForm(tn))
	if r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.raw)
	}
	return r.body["access_token"].(string)
}

func errCode(r reply) string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestOpenIDConfiguration(t *testing.T) {
	s := startSim(t, Healthy(testNow()), Options{})
	for _, tenant := range []string{TenantID, TenantDomain} {
		r := do(t, s, http.MethodGet, s.AuthorityHost()+tenant+"/v2.0/.well-known/openid-configuration", "", nil, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", tenant, r.status, r.raw)
		}
		if got, want := r.body["issuer"], s.AuthorityHost()+TenantID+"/v2.0"; got != want {
			t.Errorf("issuer = %v, want %v", got, want)
		}
		if got, want := r.body["token_endpoint"], s.AuthorityHost()+TenantID+"/oauth2/v2.0/token"; got != want {
			t.Errorf("token_endpoint = %v, want %v", got, want)
		}
		if !strings.HasSuffix(r.body["authorization_endpoint"].(string), "/oauth2/v2.0/authorize") {
			t.Errorf("authorization_endpoint = %v", r.body["authorization_endpoint"])
		}
	}
	r := do(t, s, http.MethodGet, s.AuthorityHost()+"11111111-2222-3333-4444-555555555555/v2.0/.well-known/openid-configuration", "", nil, nil)
	if r.status != 400 || r.body["error"] != "invalid_tenant" {
		t.Errorf("unknown tenant: %d %s", r.status, r.raw)
	}
}

func TestTokenEndpoint(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{})

	r := postToken(t, s, TenantID, tokenForm(tn))
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	if r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(3599) || r.body["ext_expires_in"] != float64(3599) {
		t.Errorf("token response = %s", r.raw)
	}
	if tok, _ := r.body["access_token"].(string); len(tok) < 32 {
		t.Errorf("access_token %q looks too short", tok)
	}

	bad := tokenForm(tn)
	bad.Set("client_secret", "not-the-secret")
	r = postToken(t, s, TenantID, bad)
	if r.status != 401 || r.body["error"] != "invalid_client" || !strings.HasPrefix(r.body["error_description"].(string), "AADSTS7000215:") {
		t.Errorf("bad secret: %d %s", r.status, r.raw)
	}
	if codes, _ := r.body["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(7000215) {
		t.Errorf("error_codes = %v", r.body["error_codes"])
	}

	r = postToken(t, s, "11111111-2222-3333-4444-555555555555", tokenForm(tn))
	if r.status != 400 || r.body["error"] != "invalid_request" || !strings.Contains(r.body["error_description"].(string), "AADSTS90002") {
		t.Errorf("unknown tenant: %d %s", r.status, r.raw)
	}

	other := tokenForm(tn)
	other.Set("client_id", CorpAppID)
	if r = postToken(t, s, TenantID, other); r.status != 400 || r.body["error"] != "unauthorized_client" {
		t.Errorf("unknown client: %d %s", r.status, r.raw)
	}

	noDefault := tokenForm(tn)
	noDefault.Set("scope", "User.Read")
	if r = postToken(t, s, TenantID, noDefault); r.status != 400 || r.body["error"] != "invalid_scope" {
		t.Errorf("scope without /.default: %d %s", r.status, r.raw)
	}
}

func TestGraphRequiresIssuedToken(t *testing.T) {
	s := startSim(t, Healthy(testNow()), Options{})
	u := s.GraphURL() + "/applications(appId='" + CorpAppID + "')"
	for name, bearer := range map[string]string{"missing": "", "forged": "eyJ0eXAiOiJKV1QifQ.e30.sig"} {
		r := do(t, s, http.MethodGet, u, bearer, nil, nil)
		if r.status != 401 || errCode(r) != "InvalidAuthenticationToken" {
			t.Errorf("%s token: %d %s", name, r.status, r.raw)
		}
		inner, _ := r.body["error"].(map[string]any)["innerError"].(map[string]any)
		if inner["request-id"] == "" || inner["client-request-id"] == "" || inner["date"] == "" {
			t.Errorf("%s token: innerError = %v", name, inner)
		}
	}
}

func TestGraphApplication(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{})
	tok := graphToken(t, s, tn)

	r := do(t, s, http.MethodGet, s.GraphURL()+"/applications(appId='"+CorpAppID+"')", tok, nil, nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if r.body["@odata.context"] != s.GraphURL()+"/$metadata#applications/$entity" {
		t.Errorf("@odata.context = %v", r.body["@odata.context"])
	}
	if r.body["id"] != CorpAppObjectID || r.body["displayName"] != CorpAppName {
		t.Errorf("app = %v / %v", r.body["id"], r.body["displayName"])
	}
	web := r.body["web"].(map[string]any)
	if uris := web["redirectUris"].([]any); len(uris) != 1 || uris[0] != CallbackURL {
		t.Errorf("web.redirectUris = %v", uris)
	}
	if spa := r.body["spa"].(map[string]any)["redirectUris"].([]any); len(spa) != 0 {
		t.Errorf("spa.redirectUris = %v, want []", spa)
	}
	pc := r.body["passwordCredentials"].([]any)
	if len(pc) != 1 {
		t.Fatalf("passwordCredentials = %v", pc)
	}
	cred := pc[0].(map[string]any)
	if cred["hint"] != CorpSecretHint || cred["secretText"] != nil || cred["endDateTime"] != testNow().Add(CorpSecretLifetimeHealthy).Format(time.RFC3339) {
		t.Errorf("password credential = %v", cred)
	}
	rra := r.body["requiredResourceAccess"].([]any)[0].(map[string]any)
	if rra["resourceAppId"] != GraphAppID || len(rra["resourceAccess"].([]any)) != 7 {
		t.Errorf("requiredResourceAccess = %v", rra)
	}

	// By object ID, with $select: only the selected properties plus id.
	r = do(t, s, http.MethodGet, s.GraphURL()+"/applications/"+CorpAppObjectID+"?$select=appId,web", tok, nil, nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	var keys []string
	for k := range r.body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"@odata.context", "appId", "id", "web"}; !slices.Equal(keys, want) {
		t.Errorf("$select keys = %v, want %v", keys, want)
	}
	if r.body["@odata.context"] != s.GraphURL()+"/$metadata#applications(appId,web)/$entity" {
		t.Errorf("@odata.context = %v", r.body["@odata.context"])
	}

	r = do(t, s, http.MethodGet, s.GraphURL()+"/applications/"+CorpAppObjectID+"?$select=appId,secretSauce", tok, nil, nil)
	if r.status != 400 || errCode(r) != "BadRequest" || !strings.Contains(r.body["error"].(map[string]any)["message"].(string), "secretSauce") {
		t.Errorf("unknown $select: %d %s", r.status, r.raw)
	}

	r = do(t, s, http.MethodGet, s.GraphURL()+"/applications(appId='00000000-0000-0000-0000-000000000001')", tok, nil, nil)
	if r.status != 404 || errCode(r) != "Request_ResourceNotFound" {
		t.Errorf("missing app: %d %s", r.status, r.raw)
	}

	q := url.Values{"$filter": {"appId eq '" + ContractorsAppID + "'"}, "$select": {"displayName"}}
	r = do(t, s, http.MethodGet, s.GraphURL()+"/applications?"+q.Encode(), tok, nil, nil)
	if v := r.body["value"].([]any); r.status != 200 || len(v) != 1 || v[0].(map[string]any)["displayName"] != ContractorsAppName {
		t.Errorf("$filter appId: %d %s", r.status, r.raw)
	}
}

func TestGraphServicePrincipals(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{})
	tok := graphToken(t, s, tn)

	r := do(t, s, http.MethodGet, s.GraphURL()+"/servicePrincipals(appId='"+GraphAppID+"')?$select=id,appId,oauth2PermissionScopes,appRoles", tok, nil, nil)
	if r.status != 200 || r.body["id"] != GraphSPID {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	scopes := map[string]string{}
	for _, sc := range r.body["oauth2PermissionScopes"].([]any) {
		m := sc.(map[string]any)
		scopes[m["value"].(string)] = m["id"].(string)
		if m["isEnabled"] != true || (m["type"] != "User" && m["type"] != "Admin") || m["adminConsentDisplayName"] == "" {
			t.Errorf("scope %v", m)
		}
	}
	for name, id := range map[string]string{"email": ScopeEmail, "offline_access": ScopeOfflineAccess, "openid": ScopeOpenID,
		"profile": ScopeProfile, "User.Read": ScopeUserRead, "Directory.Read.All": ScopeDirectoryReadAll, "GroupMember.Read.All": ScopeGroupMemberReadAll} {
		if scopes[name] != id {
			t.Errorf("scope %s = %q, want %s", name, scopes[name], id)
		}
	}
	if len(scopes) < 19 {
		t.Errorf("only %d delegated scopes", len(scopes))
	}
	roles := map[string]string{}
	for _, ar := range r.body["appRoles"].([]any) {
		m := ar.(map[string]any)
		roles[m["value"].(string)] = m["id"].(string)
	}
	if roles["Directory.Read.All"] != RoleDirectoryReadAll || roles["GroupMember.Read.All"] != RoleGroupMemberReadAll || roles["Application.Read.All"] != RoleApplicationReadAll {
		t.Errorf("appRoles = %v", roles)
	}

	r = do(t, s, http.MethodGet, s.GraphURL()+"/servicePrincipals/"+CorpSPID, tok, nil, nil)
	if r.status != 200 || r.body["appId"] != CorpAppID || r.body["accountEnabled"] != true || r.body["servicePrincipalType"] != "Application" {
		t.Errorf("corp SP: %d %s", r.status, r.raw)
	}
	r = do(t, s, http.MethodGet, s.GraphURL()+"/servicePrincipals/00000000-0000-0000-0000-000000000002/synchronization/jobs", tok, nil, nil)
	if r.status != 404 || errCode(r) != "Request_ResourceNotFound" {
		t.Errorf("jobs of missing SP: %d %s", r.status, r.raw)
	}
	r = do(t, s, http.MethodGet, s.GraphURL()+"/servicePrincipals/"+CorpSPID+"/owners", tok, nil, nil)
	if r.status != 400 || errCode(r) != "BadRequest" {
		t.Errorf("unknown segment: %d %s", r.status, r.raw)
	}
}

// collect follows @odata.nextLink and returns every item and the pages seen.
func collect(t *testing.T, s *Server, tok, first string) ([]map[string]any, int) {
	t.Helper()
	var items []map[string]any
	pages := 0
	for next := first; next != ""; pages++ {
		r := do(t, s, http.MethodGet, next, tok, nil, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", next, r.status, r.raw)
		}
		for _, v := range r.body["value"].([]any) {
			items = append(items, v.(map[string]any))
		}
		next, _ = r.body["@odata.nextLink"].(string)
		if next != "" && !strings.HasPrefix(next, s.GraphURL()+"/") {
			t.Fatalf("nextLink %q is not absolute under %s", next, s.GraphURL())
		}
	}
	return items, pages
}

func TestGraphPaging(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{PageSize: 2})
	tok := graphToken(t, s, tn)

	// Corp has three grants (admin consent + two users); the tenant five.
	q := url.Values{"$filter": {"clientId eq '" + CorpSPID + "'"}, "$select": {"consentType,scope"}}
	items, pages := collect(t, s, tok, s.GraphURL()+"/oauth2PermissionGrants?"+q.Encode())
	if len(items) != 3 || pages != 2 {
		t.Fatalf("got %d grants in %d pages, want 3 in 2", len(items), pages)
	}
	var admin []string
	for _, g := range items {
		if _, ok := g["clientId"]; ok {
			t.Errorf("$select not kept across pages: %v", g)
		}
		if g["consentType"] == "AllPrincipals" {
			admin = append(admin, g["scope"].(string))
		}
	}
	if len(admin) != 1 || admin[0] != CorpGrantScope {
		t.Errorf("admin grant scopes = %q", admin)
	}

	items, pages = collect(t, s, tok, s.GraphURL()+"/servicePrincipals/"+CorpSPID+"/oauth2PermissionGrants")
	if len(items) != 3 || pages != 2 {
		t.Errorf("SP grants: %d in %d pages", len(items), pages)
	}
	for _, g := range items {
		if g["consentType"] == "AllPrincipals" && g["principalId"] != nil {
			t.Errorf("AllPrincipals grant has principalId %v", g["principalId"])
		}
		if g["id"] != GrantID(CorpSPID, GraphSPID, str(g["principalId"])) {
			t.Errorf("grant id %v", g["id"])
		}
	}

	items, _ = collect(t, s, tok, s.GraphURL()+"/oauth2PermissionGrants?$top=1")
	if len(items) != 5 {
		t.Errorf("all grants with $top=1: %d", len(items))
	}
	r := do(t, s, http.MethodGet, s.GraphURL()+"/oauth2PermissionGrants?$top=0", tok, nil, nil)
	if r.status != 400 {
		t.Errorf("$top=0: %d", r.status)
	}
	r = do(t, s, http.MethodGet, s.GraphURL()+"/oauth2PermissionGrants?$skiptoken=garbage", tok, nil, nil)
	if r.status != 400 {
		t.Errorf("bad $skiptoken: %d", r.status)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// userMappings returns target → source expression of the User mapping.
func userMappings(t *testing.T, schema map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rule := range schema["synchronizationRules"].([]any) {
		rm := rule.(map[string]any)
		if rm["sourceDirectoryName"] != "Azure Active Directory" || rm["targetDirectoryName"] != "customappsso" {
			t.Errorf("rule directories %v → %v", rm["sourceDirectoryName"], rm["targetDirectoryName"])
		}
		for _, om := range rm["objectMappings"].([]any) {
			o := om.(map[string]any)
			if o["sourceObjectName"] != "User" {
				continue
			}
			if o["targetObjectName"] != SCIMUserTarget {
				t.Errorf("targetObjectName %v", o["targetObjectName"])
			}
			for _, am := range o["attributeMappings"].([]any) {
				a := am.(map[string]any)
				out[a["targetAttributeName"].(string)] = a["source"].(map[string]any)["expression"].(string)
			}
		}
	}
	return out
}

func TestGraphSynchronization(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tenant  *Tenant
		email   string
		hasName bool
	}{
		{"healthy", Healthy(testNow()), "[mail]", true},
		{"drifted", Drifted(testNow()), "[userPrincipalName]", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t, tc.tenant, Options{})
			tok := graphToken(t, s, tc.tenant)
			items, _ := collect(t, s, tok, s.GraphURL()+"/servicePrincipals/"+CorpSCIMSPID+"/synchronization/jobs")
			if len(items) != 1 || items[0]["id"] != CorpSCIMJobID || items[0]["templateId"] != "scim" {
				t.Fatalf("jobs = %v", items)
			}
			if code := items[0]["status"].(map[string]any)["code"]; code != "Active" {
				t.Errorf("status.code = %v", code)
			}
			r := do(t, s, http.MethodGet, s.GraphURL()+"/servicePrincipals/"+CorpSCIMSPID+"/synchronization/jobs/"+CorpSCIMJobID+"/schema", tok, nil, nil)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			m := userMappings(t, r.body)
			if m["userName"] != "[userPrincipalName]" || !strings.HasPrefix(m["active"], "Switch([IsSoftDeleted]") || m["externalId"] != "[mailNickname]" {
				t.Errorf("mappings = %v", m)
			}
			if got := m[`emails[type eq "work"].value`]; got != tc.email {
				t.Errorf("emails mapping = %q, want %q", got, tc.email)
			}
			if _, ok := m["name.familyName"]; ok != tc.hasName {
				t.Errorf("name.familyName mapped = %v, want %v", ok, tc.hasName)
			}
			r = do(t, s, http.MethodGet, s.GraphURL()+"/servicePrincipals/"+CorpSCIMSPID+"/synchronization/jobs/nope/schema", tok, nil, nil)
			if r.status != 404 {
				t.Errorf("missing job: %d", r.status)
			}
		})
	}
}

func TestGraphBatchGzipAndFaults(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{PageSize: 2})
	tok := graphToken(t, s, tn)
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/synchronization/jobs", Status: 429, RetryAfter: "1", Times: 1})

	batch := map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "GET", "url": "/applications(appId='" + CorpAppID + "')?$select=displayName"},
		{"id": "2", "method": "GET", "url": "/servicePrincipals/" + CorpSCIMSPID + "/synchronization/jobs"},
		{"id": "3", "method": "GET", "url": "/servicePrincipals/" + CorpSPID + "/oauth2PermissionGrants"},
		{"id": "4", "method": "GET", "url": "/servicePrincipals/" + CorpSCIMSPID + "/synchronization/jobs"},
		{"id": "5", "method": "GET", "url": "/applications/does-not-exist"},
	}}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_ = json.NewEncoder(zw).Encode(batch)
	_ = zw.Close()

	before := s.Requests()[ServiceGraph]
	r := do(t, s, http.MethodPost, s.GraphURL()+"/$batch", tok, &buf,
		map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if got := s.Requests()[ServiceGraph] - before; got != 1 {
		t.Errorf("$batch counted %d requests, want 1", got)
	}
	byID := map[string]map[string]any{}
	for _, x := range r.body["responses"].([]any) {
		m := x.(map[string]any)
		byID[m["id"].(string)] = m
	}
	if len(byID) != 5 {
		t.Fatalf("responses = %s", r.raw)
	}
	if b := byID["1"]["body"].(map[string]any); byID["1"]["status"] != float64(200) || b["displayName"] != CorpAppName {
		t.Errorf("item 1 = %v", byID["1"])
	}
	two := byID["2"]
	if two["status"] != float64(429) || two["headers"].(map[string]any)["Retry-After"] != "1" ||
		two["body"].(map[string]any)["error"].(map[string]any)["code"] != "TooManyRequests" {
		t.Errorf("item 2 (faulted) = %v", two)
	}
	three := byID["3"]["body"].(map[string]any)
	if next, _ := three["@odata.nextLink"].(string); !strings.HasPrefix(next, s.GraphURL()+"/servicePrincipals/"+CorpSPID+"/oauth2PermissionGrants?") {
		t.Errorf("item 3 nextLink = %q", next)
	}
	if byID["4"]["status"] != float64(200) {
		t.Errorf("item 4 after the one-shot fault = %v", byID["4"])
	}
	if byID["5"]["status"] != float64(404) {
		t.Errorf("item 5 = %v", byID["5"])
	}

	// More than 20 requests is refused as a whole.
	var many []map[string]any
	for i := range 21 {
		many = append(many, map[string]any{"id": string(rune('a' + i)), "method": "GET", "url": "/applications"})
	}
	body, _ := json.Marshal(map[string]any{"requests": many})
	r = do(t, s, http.MethodPost, s.GraphURL()+"/$batch", tok, bytes.NewReader(body), map[string]string{"Content-Type": "application/json"})
	if r.status != 400 {
		t.Errorf("21 requests: %d %s", r.status, r.raw)
	}
}

func TestFaults(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{})
	tok := graphToken(t, s, tn)

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Status: 403})
	for range 2 {
		r := do(t, s, http.MethodGet, s.GraphURL()+"/oauth2PermissionGrants", tok, nil, nil)
		if r.status != 403 || errCode(r) != "Authorization_RequestDenied" ||
			r.body["error"].(map[string]any)["message"] != "Insufficient privileges to complete the operation." {
			t.Errorf("403 fault: %d %s", r.status, r.raw)
		}
	}
	if r := do(t, s, http.MethodGet, s.GraphURL()+"/applications", tok, nil, nil); r.status != 200 {
		t.Errorf("unrelated path faulted: %d", r.status)
	}

	s.InjectFault(Fault{Service: ServiceToken, Status: 503, RetryAfter: "2", Times: 1})
	r := postToken(t, s, TenantID, tokenForm(tn))
	if r.status != 503 || r.header.Get("Retry-After") != "2" || r.body["error"] != "temporarily_unavailable" {
		t.Errorf("token fault: %d %v %s", r.status, r.header, r.raw)
	}
	if r = postToken(t, s, TenantID, tokenForm(tn)); r.status != 200 {
		t.Errorf("token after one-shot fault: %d", r.status)
	}

	s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/access/organizations", Status: 429, RetryAfter: "1", Times: 2})
	orgURL := s.CloudflareURL() + "accounts/" + AccountID + "/access/organizations"
	for range 2 {
		r = do(t, s, http.MethodGet, orgURL, tn.CloudflareAPIToken, nil, nil)
		if r.status != 429 || r.header.Get("Retry-After") != "1" || r.body["success"] != false {
			t.Errorf("cloudflare fault: %d %s", r.status, r.raw)
		}
	}
	if r = do(t, s, http.MethodGet, orgURL, tn.CloudflareAPIToken, nil, nil); r.status != 200 {
		t.Errorf("cloudflare after faults: %d", r.status)
	}

	s.ClearFaults()
	if r = do(t, s, http.MethodGet, s.GraphURL()+"/oauth2PermissionGrants", tok, nil, nil); r.status != 200 {
		t.Errorf("after ClearFaults: %d", r.status)
	}
}

func TestCloudflare(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{PageSize: 3})
	base := s.CloudflareURL() + "accounts/" + AccountID + "/access/"

	for name, bearer := range map[string]string{"missing": "", "wrong": "0123456789abcdef"} {
		r := do(t, s, http.MethodGet, base+"identity_providers", bearer, nil, nil)
		errs, _ := r.body["errors"].([]any)
		if r.status != 403 || r.body["success"] != false || len(errs) != 1 || errs[0].(map[string]any)["code"] != float64(10000) {
			t.Errorf("%s token: %d %s", name, r.status, r.raw)
		}
	}

	var ids []string
	for page := 1; page <= 3; page++ {
		r := do(t, s, http.MethodGet, base+"identity_providers?page="+string(rune('0'+page)), tn.CloudflareAPIToken, nil, nil)
		if r.status != 200 || r.body["success"] != true {
			t.Fatalf("page %d: %d %s", page, r.status, r.raw)
		}
		result, ok := r.body["result"].([]any)
		if !ok {
			t.Fatalf("page %d: result is not an array: %s", page, r.raw)
		}
		info := r.body["result_info"].(map[string]any)
		if info["page"] != float64(page) || info["per_page"] != float64(3) || info["total_count"] != float64(4) ||
			info["total_pages"] != float64(2) || info["count"] != float64(len(result)) {
			t.Errorf("page %d result_info = %v", page, info)
		}
		for _, x := range result {
			ids = append(ids, x.(map[string]any)["id"].(string))
		}
		if page == 3 && len(result) != 0 {
			t.Errorf("page past the end has %d items", len(result))
		}
	}
	if want := []string{CorpIdPID, OneTimePinIdPID, OktaIdPID, ContractorsIdPID}; !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}

	r := do(t, s, http.MethodGet, base+"identity_providers/"+CorpIdPID, tn.CloudflareAPIToken, nil, nil)
	idp := r.body["result"].(map[string]any)
	cfg := idp["config"].(map[string]any)
	if idp["type"] != "azureAD" || cfg["client_id"] != CorpAppID || cfg["directory_id"] != TenantID ||
		cfg["pkce_enabled"] != true || cfg["prompt"] != "login" || cfg["client_secret"] != MaskedSecret ||
		cfg["conditional_access_enabled"] != false || cfg["email_claim_name"] != "email" {
		t.Errorf("corp idp = %s", r.raw)
	}
	if claims, ok := cfg["claims"].([]any); !ok || len(claims) != 0 {
		t.Errorf("claims = %v, want []", cfg["claims"])
	}
	scim := idp["scim_config"].(map[string]any)
	if scim["enabled"] != true || scim["user_deprovision"] != true || scim["seat_deprovision"] != true ||
		scim["identity_update_behavior"] != "automatic" || scim["secret"] != MaskedSecret {
		t.Errorf("scim_config = %v", scim)
	}
	if bytes.Contains(r.raw, []byte(tn.IdentityProviders[0].Config.ClientSecret)) {
		t.Error("client secret served in clear")
	}

	r = do(t, s, http.MethodGet, base+"identity_providers/"+OneTimePinIdPID, tn.CloudflareAPIToken, nil, nil)
	if cfg := r.body["result"].(map[string]any)["config"].(map[string]any); len(cfg) != 1 || cfg["redirect_url"] != CallbackURL {
		t.Errorf("onetimepin config = %v", cfg)
	}

	r = do(t, s, http.MethodGet, base+"organizations", tn.CloudflareAPIToken, nil, nil)
	if org := r.body["result"].(map[string]any); r.status != 200 || org["auth_domain"] != TeamDomain || org["is_ui_read_only"] != false {
		t.Errorf("organization: %d %s", r.status, r.raw)
	}

	r = do(t, s, http.MethodGet, s.CloudflareURL()+"accounts/0000/access/identity_providers", tn.CloudflareAPIToken, nil, nil)
	if errs, _ := r.body["errors"].([]any); r.status != 404 || len(errs) != 1 || errs[0].(map[string]any)["code"] != float64(7003) {
		t.Errorf("unknown account: %d %s", r.status, r.raw)
	}
}

func TestLatencyRespectsCancellation(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{Latency: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.CloudflareURL()+"accounts/"+AccountID+"/access/organizations", nil)
	req.Header.Set("Authorization", "Bearer "+tn.CloudflareAPIToken)
	start := time.Now()
	_, err := s.HTTPClient().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("cancelled request took %v", d)
	}

	start = time.Now()
	if r := do(t, s, http.MethodGet, s.CloudflareURL()+"accounts/"+AccountID+"/access/organizations", tn.CloudflareAPIToken, nil, nil); r.status != 200 {
		t.Errorf("status %d", r.status)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("request took %v, want at least the latency", d)
	}
}

func TestUpdateAndRequests(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{})
	tok := graphToken(t, s, tn)
	u := s.GraphURL() + "/applications(appId='" + ContractorsAppID + "')"
	if r := do(t, s, http.MethodGet, u, tok, nil, nil); r.status != 200 {
		t.Fatalf("%d", r.status)
	}
	s.Update(func(t *Tenant) {
		t.Applications = slices.DeleteFunc(t.Applications, func(a Application) bool { return a.AppID == ContractorsAppID })
	})
	if r := do(t, s, http.MethodGet, u, tok, nil, nil); r.status != 404 {
		t.Errorf("after Update: %d", r.status)
	}
	got := s.Requests()
	if got[ServiceToken] != 1 || got[ServiceGraph] != 2 || got[ServiceCloudflare] != 0 {
		t.Errorf("Requests() = %v", got)
	}
}

func TestDriftedScenario(t *testing.T) {
	h, d := Healthy(testNow()), Drifted(testNow())

	app := d.application(CorpAppID)
	var ids []string
	for _, ra := range app.RequiredResourceAccess[0].ResourceAccess {
		ids = append(ids, ra.ID)
	}
	if slices.Contains(ids, ScopeGroupMemberReadAll) || !slices.Contains(ids, ScopeDirectoryReadAll) || len(ids) != 6 {
		t.Errorf("drifted requested scopes = %v", ids)
	}
	if len(app.Web.RedirectURIs) != 0 || !slices.Equal(app.Spa.RedirectURIs, []string{CallbackURL}) {
		t.Errorf("redirect URIs web=%v spa=%v", app.Web.RedirectURIs, app.Spa.RedirectURIs)
	}
	if len(app.PasswordCredentials) != 2 || !app.PasswordCredentials[0].EndDateTime.Equal(testNow().Add(5*24*time.Hour)) ||
		!app.PasswordCredentials[1].EndDateTime.Equal(testNow().Add(-40*24*time.Hour)) {
		t.Errorf("secrets = %+v", app.PasswordCredentials)
	}
	if len(app.KeyCredentials) != 1 || app.KeyCredentials[0].Type != "AsymmetricX509Cert" || app.KeyCredentials[0].Usage != "Verify" ||
		!app.KeyCredentials[0].EndDateTime.Equal(testNow().Add(-3*24*time.Hour)) {
		t.Errorf("certificates = %+v", app.KeyCredentials)
	}

	var admin, chloe string
	for _, g := range d.OAuth2PermissionGrants {
		if g.ClientID != CorpSPID {
			continue
		}
		switch {
		case g.ConsentType == "AllPrincipals":
			admin = g.Scope
		case g.PrincipalID == UserChloeID:
			chloe = g.Scope
		}
	}
	if f := strings.Fields(admin); slices.Contains(f, "GroupMember.Read.All") || slices.Contains(f, "Directory.Read.All") || len(f) != 5 {
		t.Errorf("drifted admin grant = %q", admin)
	}
	if !slices.Contains(strings.Fields(chloe), "Directory.Read.All") {
		t.Errorf("Chloe's grant = %q", chloe)
	}
	if f := strings.Fields(CorpGrantScope); !slices.Equal(sortedCopy(f), sortedCopy(CorpScopeNames())) {
		t.Errorf("healthy grant %q does not hold exactly the seven scopes", CorpGrantScope)
	}
	if !strings.HasPrefix(CorpGrantScope, " ") || !strings.Contains(CorpGrantScope, "  ") {
		t.Errorf("healthy grant scope should carry Graph's stray spaces: %q", CorpGrantScope)
	}

	if len(h.IdentityProviders) != 4 || len(d.IdentityProviders) != 3 {
		t.Fatalf("idps: healthy %d drifted %d", len(h.IdentityProviders), len(d.IdentityProviders))
	}
	for _, idp := range d.IdentityProviders {
		if idp.ID == ContractorsIdPID {
			t.Error("contractors IdP still present")
		}
		if idp.ID == CorpIdPID {
			if idp.Config.PKCEEnabled || idp.Config.Prompt != "select_account" || idp.SCIMConfig.UserDeprovision || idp.SCIMConfig.IdentityUpdateBehavior != "no_action" {
				t.Errorf("drifted corp idp = %+v", idp)
			}
		}
	}
	if d.application(ContractorsAppID) == nil {
		t.Error("contractors app missing in Entra")
	}
	// Drifted must not alias Healthy's data.
	if h.application(CorpAppID).Web.RedirectURIs[0] != CallbackURL || len(h.application(CorpAppID).RequiredResourceAccess[0].ResourceAccess) != 7 {
		t.Error("Healthy changed by Drifted")
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
