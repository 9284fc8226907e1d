package sim

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/accounts"
	"github.com/cloudflare/cloudflare-go/v6/option"
)

func cfAuditURL(s *Server, q url.Values) string {
	return s.CloudflareURL() + "accounts/" + AccountID + "/logs/audit?" + q.Encode()
}

func TestCloudflareAuditLog(t *testing.T) {
	now := testNow()
	tn := Drifted(now)
	tn.CloudflareAuditLogs = append(tn.CloudflareAuditLogs, CloudflareAuditLog{
		ID: "late", Action: CloudflareAuditAction{Time: now.Add(-6 * time.Minute), Type: "update"},
		Resource: CloudflareAuditResource{ID: CorpIdPID}, VisibleFromQuery: 2,
	})
	s := startSim(t, tn, Options{})
	tok := tn.CloudflareAPIToken
	window := url.Values{"since": {now.Add(-2 * time.Hour).Format(time.RFC3339)}, "before": {now.Format(time.RFC3339)}}

	for _, q := range []url.Values{{}, {"since": window["since"]}, {"before": window["before"]}, {"since": {"yesterday"}, "before": window["before"]}} {
		r := do(t, s, http.MethodGet, cfAuditURL(s, q), tok, nil, nil)
		if errs, _ := r.body["errors"].([]any); r.status != 400 || r.body["success"] != false || len(errs) != 1 {
			t.Errorf("%v: %d %s", q, r.status, r.raw)
		}
	}
	for name, bearer := range map[string]string{"missing": "", "wrong": "0123456789abcdef"} {
		r := do(t, s, http.MethodGet, cfAuditURL(s, window), bearer, nil, nil)
		if r.status != 403 || r.body["success"] != false {
			t.Errorf("%s token: %d %s", name, r.status, r.raw)
		}
	}
	r := do(t, s, http.MethodGet, s.CloudflareURL()+"accounts/0000/logs/audit?"+window.Encode(), tok, nil, nil)
	if errs, _ := r.body["errors"].([]any); r.status != 404 || len(errs) != 1 || errs[0].(map[string]any)["code"] != float64(7003) {
		t.Errorf("unknown account: %d %s", r.status, r.raw)
	}

	// First query: resource_id filter, one per page until the cursor is empty.
	q := url.Values{"since": window["since"], "before": window["before"], "limit": {"1"},
		"resource_id": {strings.ToUpper(CorpIdPID), ContractorsIdPID}}
	var ids []string
	before := s.Requests()[ServiceCloudflare]
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("endless paging")
		}
		r := do(t, s, http.MethodGet, cfAuditURL(s, q), tok, nil, nil)
		if r.status != 200 || r.body["success"] != true {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		if errs, ok := r.body["errors"].([]any); !ok || len(errs) != 0 {
			t.Errorf("errors = %v", r.body["errors"])
		}
		info := r.body["result_info"].(map[string]any)
		result := r.body["result"].([]any)
		if info["count"] != "1" || len(result) != 1 {
			t.Errorf("result_info = %v (%d results)", info, len(result))
		}
		for _, x := range result {
			ids = append(ids, x.(map[string]any)["id"].(string))
		}
		cursor := info["cursor"].(string)
		if cursor == "" {
			break
		}
		q.Set("cursor", cursor)
		if pages == 0 {
			// Another query meanwhile does not change this one's pages.
			do(t, s, http.MethodGet, cfAuditURL(s, window), tok, nil, nil)
		}
	}
	if want := []string{"8d2b5f91-c6e4-4a37-b0d8-2e7f1a9c6b43", "1f6c2e8a-5b3d-4e90-a7c1-d4b8f0e2a639"}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("ids = %v, want %v", ids, want)
	}
	if got := s.Requests()[ServiceCloudflare] - before; got != 3 {
		t.Errorf("%d requests counted, want 3", got)
	}

	// Third query: the late entry shows; direction, resource_id.not and dates.
	q = url.Values{"since": {now.Format(time.DateOnly)}, "before": {now.AddDate(0, 0, 1).Format(time.DateOnly)},
		"direction": {"asc"}, "resource_id.not": {ContractorsIdPID}}
	r = do(t, s, http.MethodGet, cfAuditURL(s, q), tok, nil, nil)
	var got []string
	for _, x := range r.body["result"].([]any) {
		got = append(got, x.(map[string]any)["id"].(string))
	}
	if want := "1f6c2e8a-5b3d-4e90-a7c1-d4b8f0e2a639,c5e07a3d-2f19-4b86-9e4c-7a1d3b8f0e52,late"; strings.Join(got, ",") != want {
		t.Errorf("asc = %v", got)
	}
	if info := r.body["result_info"].(map[string]any); info["count"] != "3" || info["cursor"] != "" {
		t.Errorf("result_info = %v", info)
	}
	e := r.body["result"].([]any)[0].(map[string]any)
	if e["actor"].(map[string]any)["context"] != "dash" || e["raw"].(map[string]any)["status_code"] != float64(200) ||
		e["action"].(map[string]any)["time"] != now.Add(-37*time.Minute-20*time.Second).Format(time.RFC3339) {
		t.Errorf("entry = %v", e)
	}

	s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/logs/audit", Status: 429, RetryAfter: "1", Times: 1})
	if r := do(t, s, http.MethodGet, cfAuditURL(s, window), tok, nil, nil); r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Errorf("fault: %d %s", r.status, r.raw)
	}
	s.InjectFault(Fault{Service: ServiceCloudflare, PathContains: "/logs/audit", Kind: KindNullElements, Member: "result", Times: 1})
	if r := do(t, s, http.MethodGet, cfAuditURL(s, window), tok, nil, nil); r.status != 200 || r.body["result"].([]any)[0] != nil {
		t.Errorf("null-elements fault: %d %s", r.status, r.raw)
	}
}

func TestCloudflareAuditLogSDK(t *testing.T) {
	clearCloudflareEnv(t)
	now := time.Now().UTC()
	tn := Drifted(now)
	s := startSim(t, tn, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := cloudflare.NewClient(
		option.WithBaseURL(s.CloudflareURL()),
		option.WithAPIToken(tn.CloudflareAPIToken),
		option.WithHTTPClient(s.HTTPClient()),
		option.WithMaxRetries(0),
	)
	page, err := client.Accounts.Logs.Audit.List(ctx, accounts.LogAuditListParams{
		AccountID: cloudflare.F(AccountID),
		Since:     cloudflare.F(now.Add(-24 * time.Hour)),
		Before:    cloudflare.F(now.Add(24 * time.Hour)),
		ResourceID: cloudflare.F(accounts.LogAuditListParamsResourceID{
			Not: cloudflare.F([]string{GatewayMalwareID}),
		}),
		Limit: cloudflare.F(10.0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Result) != 2 {
		t.Fatalf("result = %+v", page.Result)
	}
	// Newest first: the deletion, then the update.
	del, upd := page.Result[0], page.Result[1]
	if upd.Resource.ID != CorpIdPID || del.Resource.ID != ContractorsIdPID || del.Action.Type != "delete" ||
		del.Actor.Type != accounts.LogAuditListResponseActorTypeAccount || del.Actor.Context != accounts.LogAuditListResponseActorContextAPIToken ||
		del.Actor.TokenName != AuditTokenName || del.Actor.Email != "" || del.Raw.StatusCode != 200 ||
		!del.Action.Time.Equal(now.Truncate(time.Second).Add(-31*time.Minute-2*time.Second)) {
		t.Errorf("delete entry = %+v", del)
	}
	if upd.Actor.Type != accounts.LogAuditListResponseActorTypeUser || upd.Actor.Email != AuditAdminUPN || upd.Resource.Product != "access" ||
		upd.Resource.Type != "access.identity_provider" || upd.Account.ID != AccountID {
		t.Errorf("update entry = %+v", upd)
	}
}
