package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fetch is do without the assertions: it returns the body read so far
// and the transport or read error, for answers that are meant to break.
func fetch(t *testing.T, s *Server, method, rawURL, bearer string, body io.Reader, hdr map[string]string) (*http.Response, []byte, error) {
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
	client := s.HTTPClient()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp, raw, err
}

func grantsURL(s *Server) string {
	return s.GraphURL() + "/servicePrincipals/" + CorpSPID + "/oauth2PermissionGrants"
}

func batchOf(t *testing.T, urls ...string) io.Reader {
	t.Helper()
	var reqs []map[string]any
	for i, u := range urls {
		reqs = append(reqs, map[string]any{"id": string(rune('1' + i)), "method": "GET", "url": u})
	}
	b, err := json.Marshal(map[string]any{"requests": reqs})
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

var jsonHeader = map[string]string{"Content-Type": "application/json"}

func TestFaultGraphBodies(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{PageSize: 2})
	tok := graphToken(t, s, tn)
	appURL := s.GraphURL() + "/applications(appId='" + CorpAppID + "')"

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Kind: KindNullElements, Member: "value", Times: 1})
	r := do(t, s, http.MethodGet, grantsURL(s), tok, nil, nil)
	if v := r.body["value"].([]any); r.status != 200 || v[0] != nil || len(v) != 3 {
		t.Errorf("null elements: %d %s", r.status, r.raw)
	}

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/applications", Kind: KindNullElements, Member: "passwordCredentials", Times: 1})
	r = do(t, s, http.MethodGet, appURL, tok, nil, nil)
	if pc := r.body["passwordCredentials"].([]any); pc[0] != nil || len(pc) < 2 {
		t.Errorf("null credential: %s", r.raw)
	}

	for _, raw := range []string{"{}", `"x"`, "42", "null"} {
		s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Kind: KindWrongType, JSON: raw, Times: 1})
		_, body, err := fetch(t, s, http.MethodGet, grantsURL(s), tok, nil, nil)
		var got struct{ Value json.RawMessage }
		if err != nil || json.Unmarshal(body, &got) != nil || string(got.Value) != raw {
			t.Errorf("wrong type %s: %v %s", raw, err, body)
		}
	}

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Kind: KindErrorBody200, Times: 1})
	r = do(t, s, http.MethodGet, grantsURL(s), tok, nil, nil)
	if r.status != 200 || errCode(r) != "ServiceUnavailable" || r.body["value"] != nil {
		t.Errorf("error body with 200: %d %s", r.status, r.raw)
	}

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/applications", Kind: KindHugeStrings, Times: 1})
	r = do(t, s, http.MethodGet, appURL, tok, nil, nil)
	name := r.body["displayName"].(string)
	uris := r.body["web"].(map[string]any)["redirectUris"].([]any)
	if len(name) < 100_000 || !strings.Contains(name, "\x1b[2J") || !strings.HasPrefix(name, CorpAppName) || uris[0] != CallbackURL || len(uris[len(uris)-1].(string)) < 100_000 {
		t.Errorf("huge strings: name %d chars, uris %d", len(name), len(uris))
	}
	hint := r.body["passwordCredentials"].([]any)[0].(map[string]any)["hint"].(string)
	if len(hint) < 100_000 || !strings.Contains(hint, "\x00") {
		t.Errorf("hint %q…", hint[:min(len(hint), 20)])
	}
}

func TestFaultGraphPaging(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{PageSize: 2})
	tok := graphToken(t, s, tn)

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Kind: KindEndlessPaging})
	seen := map[string]bool{}
	next := grantsURL(s)
	for range 10 {
		r := do(t, s, http.MethodGet, next, tok, nil, nil)
		next, _ = r.body["@odata.nextLink"].(string)
		if r.status != 200 || next == "" || seen[next] || !strings.HasPrefix(next, s.GraphURL()+"/") {
			t.Fatalf("endless paging: %d next %q", r.status, next)
		}
		seen[next] = true
	}
	s.ClearFaults()

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Kind: KindRepeatPaging})
	first := grantsURL(s) + "?$select=id,scope"
	r := do(t, s, http.MethodGet, first, tok, nil, nil)
	self, _ := r.body["@odata.nextLink"].(string)
	if r2 := do(t, s, http.MethodGet, self, tok, nil, nil); r2.body["@odata.nextLink"] != self {
		t.Errorf("repeat paging: %q then %v", self, r2.body["@odata.nextLink"])
	}
	if u, _ := url.Parse(self); u.Query().Get("$select") != "id,scope" {
		t.Errorf("self link lost the query: %q", self)
	}
	s.ClearFaults()

	capture, err := s.StartCapture("https")
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Kind: KindForeignNextLink, Target: capture.URL, Times: 1})
	r = do(t, s, http.MethodGet, grantsURL(s), tok, nil, nil)
	foreign, _ := r.body["@odata.nextLink"].(string)
	if !strings.HasPrefix(foreign, capture.URL+"/v1.0/servicePrincipals/") {
		t.Fatalf("foreign nextLink %q", foreign)
	}
	// The capture's certificate is signed by the simulation CA.
	if r := do(t, s, http.MethodGet, foreign, tok, nil, nil); r.status != 200 {
		t.Errorf("capture answered %d", r.status)
	}
	if leaks := capture.Leaks(tok); len(leaks) != 2 || !strings.Contains(leaks[0], "Authorization header") {
		t.Errorf("leaks = %v", leaks)
	}

	// Page 2 only.
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", QueryContains: "$skiptoken", Status: 503})
	r = do(t, s, http.MethodGet, grantsURL(s), tok, nil, nil)
	if r.status != 200 {
		t.Fatalf("page 1: %d", r.status)
	}
	if r = do(t, s, http.MethodGet, r.body["@odata.nextLink"].(string), tok, nil, nil); r.status != 503 {
		t.Errorf("page 2: %d", r.status)
	}
}

func TestFaultGraphBatch(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{})
	tok := graphToken(t, s, tn)
	grants := "/servicePrincipals/" + CorpSPID + "/oauth2PermissionGrants"
	app := "/applications(appId='" + CorpAppID + "')"
	post := func() ([]byte, error) {
		_, body, err := fetch(t, s, http.MethodPost, s.GraphURL()+"/$batch", tok, batchOf(t, app, grants), jsonHeader)
		return body, err
	}

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "$batch", Kind: KindNullElements, Times: 1})
	body, _ := post()
	if !bytes.HasPrefix(body, []byte(`{"responses":[null,{`)) {
		t.Errorf("batch null: %.80s", body)
	}
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "$batch", Kind: KindWrongType, JSON: "[null]", Times: 1})
	if body, _ = post(); string(body) != `{"responses":[null]}` {
		t.Errorf("batch [null]: %s", body)
	}
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "$batch", Kind: KindWrongType, Times: 1})
	if body, _ = post(); string(body) != `{"responses":{}}` {
		t.Errorf("batch object: %s", body)
	}

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: grants, Kind: KindWrongType, Member: "@item.status", Times: 1})
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/applications", Kind: KindWrongType, Member: "@item.body", Times: 1})
	body, _ = post()
	var out struct {
		Responses []struct {
			ID     string
			Status json.RawMessage
			Body   json.RawMessage
		}
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Responses) != 2 {
		t.Fatalf("%v %s", err, body)
	}
	for _, it := range out.Responses {
		switch it.ID {
		case "1":
			if it.Body[0] != '"' || string(it.Status) != "200" {
				t.Errorf("item body as string: %s %.40s", it.Status, it.Body)
			}
		case "2":
			if string(it.Status) != `"200"` {
				t.Errorf("item status as string: %s", it.Status)
			}
		}
	}

	// A wire fault of one item breaks the whole batch response.
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: grants, Kind: KindMalformed, Times: 1})
	body, err := post()
	if err != nil || json.Valid(body) {
		t.Errorf("malformed batch: %v %.60s", err, body)
	}
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: grants, Kind: KindReset, Times: 1})
	if _, err := post(); err == nil {
		t.Errorf("reset batch: no error")
	}
	if _, err := post(); err != nil {
		t.Errorf("after a reset: %v", err)
	}
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "$batch", Kind: KindErrorBody200, Times: 1})
	if body, _ = post(); !bytes.HasPrefix(body, []byte(`{"error":{"code":"ServiceUnavailable"`)) {
		t.Errorf("batch error body: %s", body)
	}
}

func TestFaultWire(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{})
	tok := graphToken(t, s, tn)

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Kind: KindTruncated, Times: 1})
	if _, body, err := fetch(t, s, http.MethodGet, grantsURL(s), tok, nil, nil); err == nil {
		t.Errorf("truncated: no error, %d bytes", len(body))
	}
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Kind: KindReset, Times: 1})
	if _, _, err := fetch(t, s, http.MethodGet, grantsURL(s), tok, nil, nil); err == nil {
		t.Errorf("reset: no error")
	}

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Kind: KindSlowBody, Duration: 500 * time.Millisecond, Times: 1})
	start := time.Now()
	resp, body, err := fetch(t, s, http.MethodGet, grantsURL(s), tok, nil, nil)
	if err != nil || !json.Valid(body) || time.Since(start) < 400*time.Millisecond || resp.StatusCode != 200 {
		t.Errorf("slow body: %v after %v, valid %v", err, time.Since(start), json.Valid(body))
	}

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/oauth2PermissionGrants", Kind: KindOversized, Size: 3 << 20, Times: 1})
	resp, body, err = fetch(t, s, http.MethodGet, grantsURL(s), tok, nil, nil)
	var page struct{ Value []any }
	if err != nil || len(body) < 3<<20 || json.Unmarshal(body, &page) != nil || len(page.Value) == 0 || resp.ContentLength != -1 {
		t.Errorf("oversized: %v, %d bytes, %d items", err, len(body), len(page.Value))
	}

	capture, err := s.StartCapture("http")
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	s.InjectFault(Fault{Service: ServiceToken, PathContains: "/token", Kind: KindRedirect, Status: 307, Target: capture.URL, Times: 1})
	resp, _, _ = fetch(t, s, http.MethodPost, s.AuthorityHost()+TenantID+"/oauth2/v2.0/token", "", strings.NewReader(tokenForm(tn).Encode()), nil)
	if resp.StatusCode != 307 || resp.Header.Get("Location") != capture.URL+"/"+TenantID+"/oauth2/v2.0/token" {
		t.Errorf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	s.InjectFault(Fault{Service: ServiceToken, PathContains: "/token", Kind: KindEchoRequest, Times: 1})
	r := postToken(t, s, TenantID, tokenForm(tn))
	if r.status != 400 || !strings.Contains(r.body["error_description"].(string), "client_secret="+url.QueryEscape(tn.AuditorClientSecret)) {
		t.Errorf("echo: %d %s", r.status, r.raw)
	}
	s.InjectFault(Fault{Service: ServiceToken, PathContains: "/token", Kind: KindMalformed, Times: 1})
	if _, body, _ := fetch(t, s, http.MethodPost, s.AuthorityHost()+TenantID+"/oauth2/v2.0/token", "", strings.NewReader(tokenForm(tn).Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); json.Valid(body) || !bytes.HasPrefix(body, []byte(`{"token_type"`)) {
		t.Errorf("malformed token: %s", body)
	}
}

func TestFaultCloudflare(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{})
	idps := s.CloudflareURL() + "accounts/" + AccountID + "/access/identity_providers"
	get := func(u string) reply { return do(t, s, http.MethodGet, u, tn.CloudflareAPIToken, nil, nil) }

	s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/identity_providers", Kind: KindErrorBody200, Times: 1})
	if r := get(idps); r.status != 200 || r.body["success"] != false || string(r.raw) != `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":[]}` {
		t.Errorf("error body: %d %s", r.status, r.raw)
	}
	for _, raw := range []string{"null", "{}", `"x"`, "7"} {
		s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/identity_providers", Kind: KindWrongType, JSON: raw, Times: 1})
		var got struct{ Result json.RawMessage }
		if r := get(idps); json.Unmarshal(r.raw, &got) != nil || string(got.Result) != raw || r.body["success"] != true {
			t.Errorf("result %s: %s", raw, r.raw)
		}
	}
	s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/identity_providers", Kind: KindEndlessPaging, Times: 2})
	r := get(idps + "?page=1&per_page=50")
	if res := r.body["result"].([]any); len(res) != 50 || r.body["result_info"].(map[string]any)["total_pages"].(float64) < 1e9 {
		t.Errorf("endless page 1: %d items %v", len(res), r.body["result_info"])
	}
	if res := get(idps + "?page=7&per_page=50").body["result"].([]any); len(res) != 50 || res[0].(map[string]any)["type"] != "onetimepin" {
		t.Errorf("endless page 7: %d items", len(res))
	}
	s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/identity_providers", Kind: KindHugeStrings, Times: 1})
	if name := get(idps).body["result"].([]any)[0].(map[string]any)["name"].(string); len(name) < 100_000 {
		t.Errorf("huge name: %d", len(name))
	}
	s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/identity_providers", Kind: KindNullElements, Member: "result", Times: 1})
	if res := get(idps).body["result"].([]any); res[0] != nil {
		t.Errorf("null result element: %v", res[0])
	}
	s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/identity_providers", Kind: KindEchoRequest, Times: 1})
	if r := get(idps); r.status != 400 || !strings.Contains(string(r.raw), tn.CloudflareAPIToken) {
		t.Errorf("echo: %d %s", r.status, r.raw)
	}

	capture, err := s.StartCapture("https")
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/identity_providers", Kind: KindRedirect, Target: capture.URL, Times: 1})
	// The default client follows the redirect and sends the token along.
	if r := get(idps); r.status != 200 || r.body["success"] != true || len(r.body["result"].([]any)) != 0 {
		t.Errorf("followed redirect: %d %s", r.status, r.raw)
	}
	if reqs := capture.Requests(); len(reqs) != 1 || !strings.HasPrefix(reqs[0].URL, "/client/v4/accounts/") {
		t.Errorf("capture saw %+v", reqs)
	}
	if leaks := capture.Leaks(tn.CloudflareAPIToken); len(leaks) != 2 {
		t.Errorf("leaks = %v", leaks)
	}
}

func TestFaultRetryAfterBook(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{})
	orgURL := s.CloudflareURL() + "accounts/" + AccountID + "/access/organizations"

	s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/organizations", Status: 429, RetryAfterDate: time.Second, Times: 1})
	r := do(t, s, http.MethodGet, orgURL, tn.CloudflareAPIToken, nil, nil)
	when, err := http.ParseTime(r.header.Get("Retry-After"))
	if r.status != 429 || err != nil || time.Until(when) < 0 || time.Until(when) > 2*time.Second {
		t.Fatalf("date form: %d %q", r.status, r.header.Get("Retry-After"))
	}
	do(t, s, http.MethodGet, orgURL, tn.CloudflareAPIToken, nil, nil) // too early
	if v := s.RetryAfterViolations(); len(v) != 1 || !strings.Contains(v[0].Request, "/access/organizations") || v[0].Early <= 0 {
		t.Errorf("violations = %+v", v)
	}
	time.Sleep(time.Until(when) + 20*time.Millisecond)
	do(t, s, http.MethodGet, orgURL, tn.CloudflareAPIToken, nil, nil)
	if v := s.RetryAfterViolations(); len(v) != 1 {
		t.Errorf("a request after the date was flagged: %+v", v)
	}
	s.ResetRetryAfter()

	// Batch items are booked by their url.
	tok := graphToken(t, s, tn)
	grants := "/servicePrincipals/" + CorpSPID + "/oauth2PermissionGrants"
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: grants, Status: 429, RetryAfter: "5", Times: 1})
	for range 2 {
		fetch(t, s, http.MethodPost, s.GraphURL()+"/$batch", tok, batchOf(t, grants), jsonHeader)
	}
	if v := s.RetryAfterViolations(); len(v) != 1 || !strings.HasSuffix(v[0].Request, grants) {
		t.Errorf("batch violations = %+v", v)
	}
}

func TestFaultFunc(t *testing.T) {
	tn := Healthy(testNow())
	s := startSim(t, tn, Options{})
	tok := graphToken(t, s, tn)
	var seen []FaultRequest
	s.SetFaultFunc(func(fr FaultRequest) (Fault, bool) {
		seen = append(seen, fr)
		return Fault{Status: 504}, fr.BatchItem
	})
	grants := "/servicePrincipals/" + CorpSPID + "/oauth2PermissionGrants?$select=id"
	_, body, err := fetch(t, s, http.MethodPost, s.GraphURL()+"/$batch", tok, batchOf(t, grants), jsonHeader)
	if err != nil || !strings.Contains(string(body), `"status":504`) {
		t.Errorf("%v %s", err, body)
	}
	s.SetFaultFunc(nil)
	if len(seen) != 2 || !seen[0].Batch || !seen[1].BatchItem || seen[1].Query != "$select=id" || seen[1].Path != "/v1.0/servicePrincipals/"+CorpSPID+"/oauth2PermissionGrants" {
		t.Errorf("seen %+v", seen)
	}
	if got := s.FaultsServed(); got["status-504"] != 1 {
		t.Errorf("served %v", got)
	}
}
