package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func auditURL(s *Server, q url.Values) string {
	return s.GraphURL() + "/auditLogs/directoryAudits?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}

func auditIDs(t *testing.T, r reply) []string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	var ids []string
	for _, v := range r.body["value"].([]any) {
		ids = append(ids, v.(map[string]any)["id"].(string))
	}
	return ids
}

func TestDirectoryAuditsFilter(t *testing.T) {
	now := testNow()
	tn := Drifted(now)
	s := startSim(t, tn, Options{})
	tok := graphToken(t, s, tn)

	// First query: the Finance deletion is not visible yet.
	from, to := now.Add(-2*time.Hour).Format(time.RFC3339), now.Format(time.RFC3339)
	filter := "activityDateTime ge " + from + " and activityDateTime le " + to +
		" and (targetResources/any(t:t/id eq '" + strings.ToUpper(CorpSPID) + "') or targetResources/any(t: t/id eq '" + GroupFinanceID + "'))"
	r := do(t, s, http.MethodGet, auditURL(s, url.Values{"$filter": {filter}}), tok, nil, nil)
	got := auditIDs(t, r)
	var want []DirectoryAudit
	for _, e := range tn.DirectoryAudits {
		if slices.ContainsFunc(e.TargetResources, func(tr TargetResource) bool { return tr.ID == CorpSPID }) {
			want = append(want, e)
		}
	}
	slices.SortFunc(want, func(a, b DirectoryAudit) int { return b.ActivityDateTime.Compare(a.ActivityDateTime) })
	var wantIDs []string
	for _, e := range want {
		wantIDs = append(wantIDs, e.ID)
	}
	if len(wantIDs) != 3 || !slices.Equal(got, wantIDs) {
		t.Errorf("first query = %v, want %v", got, wantIDs)
	}
	if r.body["@odata.context"] != s.GraphURL()+"/$metadata#auditLogs/directoryAudits" {
		t.Errorf("context = %v", r.body["@odata.context"])
	}
	// Second query: it appears, newest first among them.
	r = do(t, s, http.MethodGet, auditURL(s, url.Values{"$filter": {filter}}), tok, nil, nil)
	got = auditIDs(t, r)
	if len(got) != 4 || got[0] != AuditFinanceDeleteID {
		t.Errorf("second query = %v", got)
	}
	// A window that excludes everything.
	r = do(t, s, http.MethodGet, auditURL(s, url.Values{"$filter": {"activityDateTime ge " + now.Add(-4*time.Minute).Format(time.RFC3339)}}), tok, nil, nil)
	if got := auditIDs(t, r); len(got) != 0 {
		t.Errorf("last 4 minutes = %v", got)
	}

	for _, bad := range []string{
		"activityDateTime gt " + from,
		"activityDateTime ge '" + from + "'",
		"targetResources/any(t:t/id eq " + CorpSPID + ")",
		"targetResources/any(t:x/id eq '" + CorpSPID + "')",
		"(targetResources/any(t:t/id eq 'a') and targetResources/any(t:t/id eq 'b'))",
		"activityDateTime ge " + from + " or activityDateTime le " + to,
		"displayName eq 'x'",
		"activityDateTime ge " + from + " and",
	} {
		r := do(t, s, http.MethodGet, auditURL(s, url.Values{"$filter": {bad}}), tok, nil, nil)
		if r.status != 400 || errCode(r) != "BadRequest" || !strings.Contains(r.body["error"].(map[string]any)["message"].(string), "Invalid filter clause") {
			t.Errorf("%q: %d %s", bad, r.status, r.raw)
		}
	}
	for _, q := range []url.Values{{"$top": {"0"}}, {"$top": {"1001"}}, {"$select": {"nope"}}} {
		if r := do(t, s, http.MethodGet, auditURL(s, q), tok, nil, nil); r.status != 400 {
			t.Errorf("%v: %d %s", q, r.status, r.raw)
		}
	}
}

func TestDirectoryAuditsPagingSelectBatch(t *testing.T) {
	now := testNow()
	tn := Drifted(now)
	s := startSim(t, tn, Options{})
	tok := graphToken(t, s, tn)

	// The first query sees all but the late entry; its later pages too,
	// even though further queries have begun meanwhile.
	next := auditURL(s, url.Values{"$top": {"1"}, "$select": {"activityDateTime,targetResources"}})
	var times []string
	for pages := 0; next != ""; pages++ {
		if pages > 50 {
			t.Fatal("endless paging")
		}
		r := do(t, s, http.MethodGet, next, tok, nil, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", next, r.status, r.raw)
		}
		if pages == 1 {
			// A new query in between does not change the pages of the first.
			do(t, s, http.MethodGet, auditURL(s, nil), tok, nil, nil)
		}
		v := r.body["value"].([]any)
		if len(v) != 1 {
			t.Fatalf("page %d = %s", pages, r.raw)
		}
		e := v[0].(map[string]any)
		if len(e) != 2 || e["activityDateTime"] == nil || e["targetResources"] == nil {
			t.Errorf("selected entry = %v", e)
		}
		times = append(times, e["activityDateTime"].(string))
		next, _ = r.body["@odata.nextLink"].(string)
		if next != "" && (!strings.HasPrefix(next, s.GraphURL()+"/auditLogs/directoryAudits?") || !strings.Contains(next, "$select=") || !strings.Contains(next, "$top=1")) {
			t.Errorf("nextLink = %s", next)
		}
	}
	if len(times) != len(tn.DirectoryAudits)-1 || !slices.IsSortedFunc(times, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("paged times = %v", times)
	}

	// As a $batch item, with the late entry visible by now.
	filter := "targetResources/any(t:t/id eq '" + GroupFinanceID + "')"
	r := do(t, s, http.MethodPost, s.GraphURL()+"/$batch", tok,
		batchOf(t, "/auditLogs/directoryAudits?$filter="+url.QueryEscape(filter)+"&$select=id,activityDisplayName,initiatedBy"), jsonHeader)
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.raw)
	}
	item := r.body["responses"].([]any)[0].(map[string]any)
	body, _ := item["body"].(map[string]any)
	if item["status"] != float64(200) || body == nil {
		t.Fatalf("batch item = %v", item)
	}
	v := body["value"].([]any)
	if len(v) != 1 || v[0].(map[string]any)["id"] != AuditFinanceDeleteID || v[0].(map[string]any)["activityDisplayName"] != "Delete group" {
		t.Errorf("batch value = %v", v)
	}
	user := v[0].(map[string]any)["initiatedBy"].(map[string]any)["user"].(map[string]any)
	if user["userPrincipalName"] != AuditAdminUPN || !strings.HasPrefix(user["ipAddress"].(string), "203.0.113.") {
		t.Errorf("initiator = %v", user)
	}
}

func TestDirectoryAuditsWireAndFaults(t *testing.T) {
	now := testNow()
	tn := Drifted(now)
	s := startSim(t, tn, Options{PageSize: 5})
	tok := graphToken(t, s, tn)
	r := do(t, s, http.MethodGet, auditURL(s, url.Values{"$filter": {"targetResources/any(t:t/id eq '" + CorpAppObjectID + "')"}}), tok, nil, nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	v := r.body["value"].([]any)
	if len(v) != 4 {
		t.Fatalf("corp app entries = %d: %s", len(v), r.raw)
	}
	var byApp int
	for _, x := range v {
		e := x.(map[string]any)
		for _, k := range []string{"id", "category", "correlationId", "result", "resultReason", "activityDisplayName", "activityDateTime",
			"loggedByService", "operationType", "initiatedBy", "targetResources", "additionalDetails"} {
			if _, ok := e[k]; !ok {
				t.Errorf("entry lacks %s: %v", k, e)
			}
		}
		at, err := time.Parse(time.RFC3339, e["activityDateTime"].(string))
		if err != nil || at.Before(now.Add(-50*time.Minute)) || at.After(now.Add(-5*time.Minute)) || !strings.HasSuffix(e["activityDateTime"].(string), "Z") {
			t.Errorf("activityDateTime = %v", e["activityDateTime"])
		}
		by := e["initiatedBy"].(map[string]any)
		if by["app"] != nil {
			byApp++
			if by["user"] != nil || by["app"].(map[string]any)["servicePrincipalId"] != AutomationSPID {
				t.Errorf("app initiator = %v", by)
			}
		}
		tr := e["targetResources"].([]any)[0].(map[string]any)
		if tr["id"] != CorpAppObjectID || tr["type"] != "Application" || tr["groupType"] != nil {
			t.Errorf("target = %v", tr)
		}
	}
	if byApp != 1 {
		t.Errorf("%d entries by an app, want 1", byApp)
	}
	// Drifted's times are distinct and stable.
	seen := map[time.Time]bool{}
	for _, e := range Drifted(now).DirectoryAudits {
		if seen[e.ActivityDateTime] {
			t.Errorf("duplicate time %v", e.ActivityDateTime)
		}
		seen[e.ActivityDateTime] = true
	}

	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/auditLogs/directoryAudits", Kind: KindWrongType, JSON: `"x"`, Times: 1})
	r = do(t, s, http.MethodGet, auditURL(s, nil), tok, nil, nil)
	if r.status != 200 || r.body["value"] != "x" {
		t.Errorf("wrong-type fault: %d %s", r.status, r.raw)
	}
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/auditLogs/directoryAudits", Kind: KindNullElements, Member: "value", Times: 1})
	r = do(t, s, http.MethodGet, auditURL(s, nil), tok, nil, nil)
	if v, _ := r.body["value"].([]any); r.status != 200 || len(v) == 0 || v[0] != nil {
		t.Errorf("null-elements fault: %d %s", r.status, r.raw)
	}
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/auditLogs/directoryAudits", Status: 403, Times: 1})
	if r = do(t, s, http.MethodGet, auditURL(s, nil), tok, nil, nil); r.status != 403 || errCode(r) != "Authorization_RequestDenied" {
		t.Errorf("403 fault: %d %s", r.status, r.raw)
	}
	// The endless-paging fault's next links are followed without error.
	s.InjectFault(Fault{Service: ServiceGraph, PathContains: "/auditLogs/directoryAudits", Kind: KindEndlessPaging, Times: 2})
	r = do(t, s, http.MethodGet, auditURL(s, nil), tok, nil, nil)
	next, _ := r.body["@odata.nextLink"].(string)
	if r = do(t, s, http.MethodGet, next, tok, nil, nil); r.status != 200 || r.body["@odata.nextLink"] == nil {
		t.Errorf("endless page 2: %d %s", r.status, r.raw)
	}

	// Nothing of the Cloudflare secret of the IdP update leaks into Graph.
	if bytes.Contains(r.raw, []byte(corpClientSecret)) {
		t.Error("secret in Graph answer")
	}
	raw, _ := json.Marshal(tn.DirectoryAudits)
	if bytes.Contains(raw, []byte("VisibleFromQuery")) {
		t.Error("VisibleFromQuery rendered")
	}
}
