package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

func botRoute(s *slacktest.Server) config.SlackRoute {
	return config.SlackRoute{Route: config.Route{Name: "sec"}, Token: config.NewSecret(slacktest.DefaultToken), Channel: "#security-alerts", APIURL: s.URL()}
}

func webhookRoute(url string) config.SlackRoute {
	return config.SlackRoute{Route: config.Route{Name: "hook"}, WebhookURL: config.NewSecret(url), APIURL: config.DefaultSlackAPI}
}

// base is the fake Slack's root URL, ending in "/".
func base(s *slacktest.Server) string { return strings.TrimSuffix(s.URL(), "api/") }

func onePayload() notify.Payload {
	f := appFinding(checks.High, "ENTRA-CRED-001", "client secret expires in 6 days")
	return Render(batch(notify.Item{Event: notify.EventOpened, Finding: f}), testRoute())[0]
}

// sendError asserts err is a *notify.SendError (and nothing else) and
// returns it.
func sendError(t *testing.T, err error) *notify.SendError {
	t.Helper()
	se, ok := err.(*notify.SendError)
	if !ok {
		t.Fatalf("error %T %v, want *notify.SendError", err, err)
	}
	return se
}

func wantError(t *testing.T, err error, reason string, permanent bool, retryAfter time.Duration) {
	t.Helper()
	se := sendError(t, err)
	if se.Reason != reason || se.Permanent != permanent || se.RetryAfter != retryAfter {
		t.Errorf("got %+v, want reason %q permanent %v retry after %s", *se, reason, permanent, retryAfter)
	}
}

// sameBlocks asserts the fake Slack received exactly the rendered blocks.
func sameBlocks(t *testing.T, got []map[string]any, p notify.Payload) {
	t.Helper()
	var want []map[string]any
	if err := json.Unmarshal(p.Blocks, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		t.Errorf("blocks changed on the way:\n got %s\nwant %s", g, p.Blocks)
	}
}

func TestSendBot(t *testing.T) {
	s := slacktest.NewServer(t)
	n := New(botRoute(s), nil)
	p := onePayload()
	for _, want := range []string{"1700000000.000100", "1700000000.000200"} {
		ts, err := n.Send(t.Context(), p)
		if err != nil || ts != want {
			t.Fatalf("Send = %q, %v; want %q", ts, err, want)
		}
	}
	msgs := s.Messages()
	if len(msgs) != 2 || len(s.Rejected()) != 0 {
		t.Fatalf("%d messages, %d rejected", len(msgs), len(s.Rejected()))
	}
	m := msgs[0]
	if m.Transport != slacktest.TransportBot || m.Channel != "#security-alerts" || m.Text != p.Text {
		t.Errorf("received %+v", m)
	}
	sameBlocks(t, m.Blocks, p)
}

func TestSendBotAPIURLWithoutSlash(t *testing.T) {
	s := slacktest.NewServer(t)
	route := botRoute(s)
	route.APIURL = strings.TrimSuffix(s.URL(), "/")
	if _, err := New(route, nil).Send(t.Context(), onePayload()); err != nil {
		t.Fatal(err)
	}
}

func TestSendWebhook(t *testing.T) {
	s := slacktest.NewServer(t)
	n := New(webhookRoute(s.WebhookURL()), &http.Client{Timeout: 5 * time.Second})
	p := onePayload()
	ts, err := n.Send(t.Context(), p)
	if err != nil || ts != "" {
		t.Fatalf("Send = %q, %v", ts, err)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || msgs[0].Transport != slacktest.TransportWebhook || msgs[0].Text != p.Text {
		t.Fatalf("received %+v", msgs)
	}
	sameBlocks(t, msgs[0].Blocks, p)
}

func TestSendTextOnly(t *testing.T) {
	s := slacktest.NewServer(t)
	for _, route := range []config.SlackRoute{botRoute(s), webhookRoute(s.WebhookURL())} {
		if _, err := New(route, nil).Send(t.Context(), notify.Payload{Text: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range s.Messages() {
		if m.Text != "hello" || m.Blocks != nil {
			t.Errorf("received %+v", m)
		}
	}
}

// TestSendLongBatch sends every message of a 200-finding batch through
// both transports: Slack's limits hold for each, and nothing is lost.
func TestSendLongBatch(t *testing.T) {
	b := bigBatch(200)
	ps := Render(b, testRoute())
	s := slacktest.NewServer(t)
	for _, route := range []config.SlackRoute{botRoute(s), webhookRoute(s.WebhookURL())} {
		n := New(route, nil)
		for i, p := range ps {
			if _, err := n.Send(t.Context(), p); err != nil {
				t.Fatalf("%s: message %d: %v", route.Name, i+1, err)
			}
		}
	}
	if r := s.Rejected(); len(r) > 0 {
		t.Fatalf("rejected: %s %v", r[0].Error, r[0].Problems)
	}
	msgs := s.Messages()
	if len(msgs) != 2*len(ps) {
		t.Fatalf("%d messages accepted, want %d", len(msgs), 2*len(ps))
	}
	for _, transport := range []string{slacktest.TransportBot, slacktest.TransportWebhook} {
		var all strings.Builder
		for _, m := range msgs {
			if m.Transport != transport {
				continue
			}
			for _, blk := range m.Blocks {
				all.WriteString(blockText(blk) + "\n")
			}
		}
		for _, it := range b.Items {
			f := it.Finding
			if !strings.Contains(all.String(), fmt.Sprintf("`%s` ", f.CheckID)) || !strings.Contains(all.String(), "*"+f.Resource.Name+"*") {
				t.Errorf("%s: %s (%s) was not delivered", transport, f.CheckID, f.Resource.Name)
			}
		}
	}
}

func TestSendRejectedByLimits(t *testing.T) {
	s := slacktest.NewServer(t)
	var blocks []map[string]any
	for range 51 {
		blocks = append(blocks, map[string]any{"type": "divider"})
	}
	raw, _ := json.Marshal(blocks)
	p := notify.Payload{Text: "x", Blocks: raw}
	_, err := New(botRoute(s), nil).Send(t.Context(), p)
	wantError(t, err, "invalid_blocks", true, 0)
	_, err = New(webhookRoute(s.WebhookURL()), nil).Send(t.Context(), p)
	wantError(t, err, "invalid_blocks", true, 0)
	if got := len(s.Rejected()); got != 2 {
		t.Errorf("%d rejected", got)
	}

	_, err = New(botRoute(s), nil).Send(t.Context(), notify.Payload{Text: "x", Blocks: json.RawMessage(`{"not":"blocks"}`)})
	wantError(t, err, "stored blocks are not valid Block Kit JSON", true, 0)
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		script     []slacktest.Response
		reason     string
		permanent  bool
		retryAfter time.Duration
	}{
		{"429", []slacktest.Response{{Status: 429, RetryAfter: "7"}}, "rate_limited", false, 7 * time.Second},
		{"429 without seconds", []slacktest.Response{{Status: 429, RetryAfter: "soon"}}, "rate_limited", false, 0},
		{"429 without Retry-After", []slacktest.Response{{Status: 429}}, "rate_limited", false, 0},
		{"503", []slacktest.Response{{Status: 503}}, "HTTP 503", false, 0},
		{"500", []slacktest.Response{{Status: 500}}, "HTTP 500", false, 0},
	}
	for _, tc := range tests {
		for _, transport := range []string{"bot", "webhook"} {
			t.Run(tc.name+" "+transport, func(t *testing.T) {
				s := slacktest.NewServer(t)
				route := botRoute(s)
				if transport == "webhook" {
					route = webhookRoute(s.WebhookURL())
				}
				s.Script(tc.script...)
				ts, err := New(route, nil).Send(t.Context(), onePayload())
				if ts != "" {
					t.Errorf("ts %q on failure", ts)
				}
				wantError(t, err, tc.reason, tc.permanent, tc.retryAfter)
				// slack-go must not retry: the dispatcher owns retries.
				if got := s.Requests(); got != 1 {
					t.Errorf("%d requests, want 1", got)
				}
			})
		}
	}
}

func TestSendSlackErrors(t *testing.T) {
	s := slacktest.NewServer(t)
	n := New(botRoute(s), nil)
	for code, permanent := range map[string]bool{
		"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
		"channel_not_found": true, "not_in_channel": true, "is_archived": true, "invalid_blocks": true,
		"msg_too_long": true, "no_text": true, "missing_scope": true,
		"internal_error": false, "fatal_error": false, "service_unavailable": false,
	} {
		s.Script(slacktest.Response{SlackError: code})
		_, err := n.Send(t.Context(), onePayload())
		wantError(t, err, code, permanent, 0)
	}
	s.Script(slacktest.Response{SlackError: "ratelimited"})
	_, err := n.Send(t.Context(), onePayload())
	wantError(t, err, "rate_limited", false, 0)

	// A code that is not a Slack code is not copied.
	s.Script(slacktest.Response{SlackError: "Something <odd> happened"})
	_, err = n.Send(t.Context(), onePayload())
	wantError(t, err, "slack_error", false, 0)
}

func TestSendAuthAndChannel(t *testing.T) {
	s := slacktest.NewServer(t)
	route := botRoute(s)
	route.Token = config.NewSecret("xoxb-wrong")
	_, err := New(route, nil).Send(t.Context(), onePayload())
	wantError(t, err, "invalid_auth", true, 0)

	route = botRoute(s)
	route.Channel = "#nowhere"
	_, err = New(route, nil).Send(t.Context(), onePayload())
	wantError(t, err, "channel_not_found", true, 0)

	if got := len(s.Rejected()); got != 2 {
		t.Errorf("%d rejected", got)
	}
}

func TestSendWebhookErrors(t *testing.T) {
	s := slacktest.NewServer(t)
	_, err := New(webhookRoute(base(s)+"services/T1/B1/unknown"), nil).Send(t.Context(), onePayload())
	wantError(t, err, "no_service", true, 0)
	for _, tc := range []struct {
		status int
		code   string
	}{{403, "invalid_token"}, {410, "channel_is_archived"}, {404, "no_service"}, {400, "invalid_payload"}, {403, "action_prohibited"}} {
		s.Script(slacktest.Response{Status: tc.status, SlackError: tc.code})
		_, err := New(webhookRoute(s.WebhookURL()), nil).Send(t.Context(), onePayload())
		wantError(t, err, tc.code, true, 0)
	}
	// An error page rather than a code: the status says enough.
	s.Script(slacktest.Response{Status: 404})
	_, err = New(webhookRoute(s.WebhookURL()), nil).Send(t.Context(), onePayload())
	wantError(t, err, "HTTP 404", true, 0)
}

func TestSendNetworkErrors(t *testing.T) {
	s := slacktest.NewServer(t)
	bot, hook := botRoute(s), webhookRoute(s.WebhookURL())
	s.Close()
	for _, route := range []config.SlackRoute{bot, hook} {
		_, err := New(route, nil).Send(t.Context(), onePayload())
		wantError(t, err, "connection refused", false, 0)
		if strings.Contains(err.Error(), "http") || strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("error names the URL: %v", err)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := New(hook, nil).Send(ctx, onePayload())
	wantError(t, err, "canceled", false, 0)

	// A server that never answers, and a client that gives up.
	release := make(chan struct{})
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stall.Close()
	defer close(release)
	for _, route := range []config.SlackRoute{
		{Route: config.Route{Name: "b"}, Token: config.NewSecret("xoxb-x"), Channel: "C1", APIURL: stall.URL + "/api/"},
		webhookRoute(stall.URL + "/services/T/B/X"),
	} {
		_, err := New(route, &http.Client{Timeout: 50 * time.Millisecond}).Send(t.Context(), onePayload())
		wantError(t, err, "timeout", false, 0)
	}

	// An answer that is not Slack's.
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>proxy</html>")) }))
	defer junk.Close()
	_, err = New(config.SlackRoute{Token: config.NewSecret("xoxb-x"), Channel: "C1", APIURL: junk.URL}, nil).Send(t.Context(), onePayload())
	wantError(t, err, "unexpected response from Slack", false, 0)
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{}")) }))
	defer empty.Close()
	_, err = New(config.SlackRoute{Token: config.NewSecret("xoxb-x"), Channel: "C1", APIURL: empty.URL}, nil).Send(t.Context(), onePayload())
	wantError(t, err, "unexpected response from Slack", false, 0)
}

// TestSendNeverLeaksSecrets forces every failure path with canary
// credentials and looks for them in everything Send returns.
func TestSendNeverLeaksSecrets(t *testing.T) {
	const tokenCanary = "xoxb-CANARY-7e1d9a-token"
	const hookCanary = "CANARY5c03b2webhook"
	check := func(t *testing.T, what string, ts string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		sendError(t, err)
		for _, s := range []string{ts, err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%s", errors.Unwrap(err))} {
			for _, canary := range []string{tokenCanary, hookCanary, "CANARY"} {
				if strings.Contains(s, canary) {
					t.Errorf("%s: %q leaks %s", what, s, canary)
				}
			}
		}
	}

	s := slacktest.NewServer(t)
	bot := botRoute(s)
	bot.Token = config.NewSecret(tokenCanary)
	goodHook := webhookRoute(s.AddWebhook(hookCanary))
	badHook := webhookRoute(base(s) + "services/T1/B1/" + hookCanary)

	ts, err := New(bot, nil).Send(t.Context(), onePayload())
	check(t, "invalid_auth", ts, err)
	s.SetToken(tokenCanary)
	route := bot
	route.Channel = "#" + hookCanary
	ts, err = New(route, nil).Send(t.Context(), onePayload())
	check(t, "channel_not_found", ts, err)
	ts, err = New(badHook, nil).Send(t.Context(), onePayload())
	check(t, "webhook 404", ts, err)

	for _, r := range []slacktest.Response{{Status: 429, RetryAfter: "3"}, {Status: 429, RetryAfter: tokenCanary}, {Status: 500}, {SlackError: "invalid_auth"}, {Status: 403, SlackError: "invalid_token"}} {
		for _, route := range []config.SlackRoute{bot, goodHook} {
			s.Script(r)
			ts, err := New(route, nil).Send(t.Context(), onePayload())
			check(t, fmt.Sprintf("%+v", r), ts, err)
		}
	}
	for _, route := range []config.SlackRoute{bot, goodHook} {
		ts, err := New(route, &http.Client{Timeout: time.Nanosecond}).Send(t.Context(), onePayload())
		check(t, "timeout", ts, err)
	}
	s.Close()
	for _, route := range []config.SlackRoute{bot, goodHook} {
		ts, err := New(route, nil).Send(t.Context(), onePayload())
		check(t, "connection refused", ts, err)
	}
	// A URL that does not parse: Go's error would quote it whole.
	ts, err = New(webhookRoute("http://host/services/"+hookCanary+"/%zz"), nil).Send(t.Context(), onePayload())
	check(t, "unparsable URL", ts, err)
	wantError(t, err, "invalid URL", true, 0)
}

func TestSendConcurrent(t *testing.T) {
	s := slacktest.NewServer(t)
	n := New(botRoute(s), nil)
	h := New(webhookRoute(s.WebhookURL()), nil)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			sender := n
			if i%2 == 1 {
				sender = h
			}
			if _, err := sender.Send(t.Context(), onePayload()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := len(s.Messages()); got != 20 {
		t.Errorf("%d messages", got)
	}
}
