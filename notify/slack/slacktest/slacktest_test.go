package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func section(text string) map[string]any {
	return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}
}

func header(text string) map[string]any {
	return map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": text}}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidate(t *testing.T) {
	many := make([]map[string]any, 51)
	for i := range many {
		many[i] = map[string]any{"type": "divider"}
	}
	tests := []struct {
		name   string
		text   string
		blocks any
		want   string // a substring of the first problem; "" for valid
	}{
		{"valid", "t", []map[string]any{header("h"), section("s"), {"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": "c"}}}}, ""},
		{"text only", "t", nil, ""},
		{"nothing", "", nil, "text or blocks required"},
		{"50 blocks", "t", many[:50], ""},
		{"51 blocks", "t", many, "51 blocks"},
		{"section at limit", "t", []map[string]any{section(strings.Repeat("x", 3000))}, ""},
		{"section over limit", "t", []map[string]any{section(strings.Repeat("x", 3001))}, "3001 characters"},
		// An emoji outside the BMP is two UTF-16 code units.
		{"section over limit in UTF-16", "t", []map[string]any{section(strings.Repeat("🟥", 1501))}, "3002 characters"},
		{"header at limit", "t", []map[string]any{header(strings.Repeat("x", 150))}, ""},
		{"header over limit", "t", []map[string]any{header(strings.Repeat("x", 151))}, "151 characters"},
		{"mrkdwn header", "t", []map[string]any{{"type": "header", "text": map[string]any{"type": "mrkdwn", "text": "h"}}}, "must be plain_text"},
		{"empty section", "t", []map[string]any{section("")}, "text: required"},
		{"section without text", "t", []map[string]any{{"type": "section"}}, "needs text or fields"},
		{"unknown type", "t", []map[string]any{{"type": "banner"}}, "unknown block type"},
		{"no type", "t", []map[string]any{{"text": "x"}}, "type: required"},
		{"duplicate block_id", "t", []map[string]any{{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}}, "not unique"},
		{"empty context", "t", []map[string]any{{"type": "context", "elements": []any{}}}, "1-10 elements"},
		{"emoji on mrkdwn", "t", []map[string]any{{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "x", "emoji": true}}}, "emoji"},
		{"text too long", strings.Repeat("x", 40001), nil, "more than 40000"},
		{"not an array", "t", map[string]any{"type": "section"}, "not a JSON array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var raw []byte
			if tc.blocks != nil {
				raw = mustJSON(t, tc.blocks)
			}
			problems := Validate(tc.text, raw)
			switch {
			case tc.want == "" && problems != nil:
				t.Errorf("refused: %v", problems)
			case tc.want != "" && (problems == nil || !strings.Contains(problems[0], tc.want)):
				t.Errorf("problems %v, want %q", problems, tc.want)
			}
		})
	}
}

type apiAnswer struct {
	OK      bool     `json:"ok"`
	Error   string   `json:"error"`
	Channel string   `json:"channel"`
	TS      string   `json:"ts"`
	Errors  []string `json:"errors"`
}

func post(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func postForm(t *testing.T, s *Server, v url.Values) apiAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"chat.postMessage", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, _, body := post(t, req)
	var a apiAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return a
}

func TestPostMessage(t *testing.T) {
	s := NewServer(t)
	blocks := string(mustJSON(t, []map[string]any{section("hello *world*")}))
	a := postForm(t, s, url.Values{"token": {DefaultToken}, "channel": {"#security-alerts"}, "text": {"hi"}, "blocks": {blocks}})
	if !a.OK || a.Channel != DefaultChannel || a.TS != "1700000000.000100" {
		t.Fatalf("answer %+v", a)
	}
	a = postForm(t, s, url.Values{"token": {DefaultToken}, "channel": {"C123"}, "text": {"again"}})
	if a.TS != "1700000000.000200" {
		t.Errorf("second ts %q", a.TS)
	}

	// JSON with a bearer token, as slack-go's JSON methods send.
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"chat.postMessage", strings.NewReader(`{"channel":"C123","text":"json"}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	if _, _, body := post(t, req); !strings.Contains(body, `"ok":true`) {
		t.Errorf("JSON post: %s", body)
	}

	msgs := s.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	if m := msgs[0]; m.Transport != TransportBot || m.Channel != "#security-alerts" || m.Text != "hi" || blockText(m.Blocks[0]) != "hello *world*" || m.At.IsZero() {
		t.Errorf("recorded %+v", m)
	}
	if s.Requests() != 3 {
		t.Errorf("%d requests", s.Requests())
	}
}

func blockText(b map[string]any) string {
	t, _ := b["text"].(map[string]any)
	s, _ := t["text"].(string)
	return s
}

func TestPostMessageRefusals(t *testing.T) {
	s := NewServer(t)
	s.AddChannel("C999", "#other")
	tooLong := string(mustJSON(t, []map[string]any{header(strings.Repeat("x", 151))}))
	for _, tc := range []struct {
		values url.Values
		code   string
	}{
		{url.Values{"channel": {"C123"}, "text": {"x"}}, "not_authed"},
		{url.Values{"token": {"xoxb-wrong"}, "channel": {"C123"}, "text": {"x"}}, "invalid_auth"},
		{url.Values{"token": {DefaultToken}, "channel": {"#nowhere"}, "text": {"x"}}, "channel_not_found"},
		{url.Values{"token": {DefaultToken}, "channel": {"C123"}}, "no_text"},
		{url.Values{"token": {DefaultToken}, "channel": {"C123"}, "text": {"x"}, "blocks": {tooLong}}, "invalid_blocks"},
		{url.Values{"token": {DefaultToken}, "channel": {"C123"}, "text": {"x"}, "blocks": {"[{"}}, "invalid_blocks_format"},
		{url.Values{"token": {DefaultToken}, "channel": {"#other"}, "text": {"x"}, "blocks": {tooLong}}, "invalid_blocks"},
	} {
		a := postForm(t, s, tc.values)
		if a.OK || a.Error != tc.code {
			t.Errorf("%v: answer %+v, want %s", tc.values, a, tc.code)
		}
	}
	if len(s.Messages()) != 0 {
		t.Errorf("accepted %d", len(s.Messages()))
	}
	rejected := s.Rejected()
	if len(rejected) != 7 || rejected[4].Error != "invalid_blocks" || len(rejected[4].Problems) == 0 {
		t.Errorf("rejected %+v", rejected)
	}

	s.SetToken("xoxb-new")
	if a := postForm(t, s, url.Values{"token": {"xoxb-new"}, "channel": {"#other"}, "text": {"x"}}); !a.OK || a.Channel != "C999" {
		t.Errorf("after SetToken/AddChannel: %+v", a)
	}
}

func TestWebhook(t *testing.T) {
	s := NewServer(t)
	send := func(u, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		status, _, b := post(t, req)
		return status, b
	}
	if status, body := send(s.WebhookURL(), `{"text":"hi","blocks":[{"type":"divider"}]}`); status != 200 || body != "ok" {
		t.Errorf("%d %q", status, body)
	}
	extra := s.AddWebhook("s3cret")
	if status, body := send(extra, `{"text":"hi"}`); status != 200 || body != "ok" {
		t.Errorf("added webhook: %d %q", status, body)
	}
	if status, body := send(strings.TrimSuffix(s.URL(), "api/")+"services/T1/B1/nope", `{"text":"hi"}`); status != 404 || body != "no_service" {
		t.Errorf("unknown webhook: %d %q", status, body)
	}
	if status, body := send(s.WebhookURL(), `{"text":"hi","blocks":[{"type":"nope"}]}`); status != 400 || body != "invalid_blocks" {
		t.Errorf("bad blocks: %d %q", status, body)
	}
	if status, body := send(s.WebhookURL(), `{}`); status != 400 || body != "no_text" {
		t.Errorf("empty: %d %q", status, body)
	}
	if status, body := send(s.WebhookURL(), `not json`); status != 400 || body != "invalid_payload" {
		t.Errorf("not JSON: %d %q", status, body)
	}
	if m := s.Messages(); len(m) != 2 || m[0].Transport != TransportWebhook || m[0].Channel != "" || len(m[0].Blocks) != 1 {
		t.Errorf("messages %+v", m)
	}
	if r := s.Rejected(); len(r) != 2 || r[0].Error != "invalid_blocks" || r[1].Error != "no_text" {
		t.Errorf("rejected %+v", r)
	}
}

func TestScript(t *testing.T) {
	s := NewServer(t)
	s.Script(
		Response{Status: 429, RetryAfter: "3"},
		Response{Status: 503},
		Response{SlackError: "is_archived"},
		Response{},
		Response{Status: 410, SlackError: "channel_is_archived"},
	)
	form := url.Values{"token": {DefaultToken}, "channel": {"C123"}, "text": {"x"}}.Encode()
	req := func(u, body, ctype string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		return r
	}
	status, h, body := post(t, req(s.URL()+"chat.postMessage", form, "application/x-www-form-urlencoded"))
	if status != 429 || h.Get("Retry-After") != "3" || !strings.Contains(body, "ratelimited") {
		t.Errorf("1: %d %v %s", status, h, body)
	}
	if status, _, _ = post(t, req(s.URL()+"chat.postMessage", form, "application/x-www-form-urlencoded")); status != 503 {
		t.Errorf("2: %d", status)
	}
	if status, _, body = post(t, req(s.URL()+"chat.postMessage", form, "application/x-www-form-urlencoded")); status != 200 || !strings.Contains(body, `"error":"is_archived"`) {
		t.Errorf("3: %d %s", status, body)
	}
	// The zero Response lets the request through.
	if _, _, body = post(t, req(s.URL()+"chat.postMessage", form, "application/x-www-form-urlencoded")); !strings.Contains(body, `"ok":true`) {
		t.Errorf("4: %s", body)
	}
	if status, _, body = post(t, req(s.WebhookURL(), `{"text":"x"}`, "application/json")); status != 410 || body != "channel_is_archived" {
		t.Errorf("5: %d %s", status, body)
	}
	if s.Requests() != 5 || len(s.Messages()) != 1 || len(s.Rejected()) != 0 {
		t.Errorf("requests %d, messages %d, rejected %d", s.Requests(), len(s.Messages()), len(s.Rejected()))
	}
}

func TestConcurrent(t *testing.T) {
	s := NewServer(t)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			v := url.Values{"token": {DefaultToken}, "channel": {"C123"}, "text": {fmt.Sprint(i)}}
			r, _ := http.NewRequest(http.MethodPost, s.URL()+"chat.postMessage", strings.NewReader(v.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			_ = s.Messages()
			_ = s.Requests()
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, m := range s.Messages() {
		seen[m.Text] = true
	}
	if len(seen) != 40 {
		t.Errorf("%d distinct messages", len(seen))
	}
}
