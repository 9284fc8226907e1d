package slack

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/driftd/driftd/internal/config"
)

// A Slack endpoint that redirects elsewhere must not get the bot token
// (it travels in the form body) or the webhook URL (in Referer) sent on:
// the delivery fails naming the location's host, and the other host
// receives nothing.
func TestSendRefusesRedirectsOffOrigin(t *testing.T) {
	var mu sync.Mutex
	var captured []string
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		captured = append(captured, r.URL.String()+" "+r.Header.Get("Referer")+" "+string(body))
		mu.Unlock()
		_, _ = io.WriteString(w, `{"ok":true,"ts":"1.2"}`)
	}))
	defer foreign.Close()
	const token = "xoxb-CANARY-token-7d1f"
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, foreign.URL+r.URL.Path, code)
		}))
		routes := []config.SlackRoute{
			{Route: config.Route{Name: "bot"}, Token: config.NewSecret(token), Channel: "#sec", APIURL: redirector.URL + "/api/"},
			{Route: config.Route{Name: "hook"}, WebhookURL: config.NewSecret(redirector.URL + "/services/T0/B0/CANARYwebhook")},
		}
		for _, route := range routes {
			_, err := New(route, nil).Send(t.Context(), onePayload())
			se := sendError(t, err)
			if !se.Permanent || !strings.Contains(se.Reason, strings.TrimPrefix(foreign.URL, "http://")) {
				t.Errorf("%d %s: got %+v, want a permanent refusal naming the host", code, route.Name, *se)
			}
			if strings.Contains(se.Error(), "CANARY") || strings.Contains(se.Error(), "/services/") {
				t.Errorf("%d %s: error leaks the secret: %v", code, route.Name, se)
			}
		}
		redirector.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(captured) > 0 {
		t.Fatalf("the foreign host received %d requests: %q", len(captured), captured)
	}
}
