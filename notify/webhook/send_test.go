package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/webhook/webhooktest"
)

const secret = "whsec-0123456789abcdef"

func route(url string) config.WebhookRoute {
	return config.WebhookRoute{Route: config.Route{Name: "pagerduty"}, URL: config.NewSecret(url)}
}

func signedRoute(url string) config.WebhookRoute {
	r := route(url)
	r.Secret = config.NewSecret(secret)
	return r
}

func body(t *testing.T) []byte {
	t.Helper()
	b, err := Render(findingsBatch())
	if err != nil {
		t.Fatal(err)
	}
	return b
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

func noProblems(t *testing.T, s *webhooktest.Server) {
	t.Helper()
	if p := s.Problems(); len(p) > 0 {
		t.Errorf("the receiver refused requests: %q", p)
	}
}

func TestDeliverSigned(t *testing.T) {
	s := webhooktest.NewServer(t, secret)
	r := signedRoute(s.URL())
	r.Headers = map[string]config.Secret{"Authorization": config.NewSecret("Token token=pd-123"), "X-Routing-Key": config.NewSecret("R0UTING")}
	n := New(r, &http.Client{Timeout: 5 * time.Second})
	b := body(t)
	id, err := n.Deliver(t.Context(), b)
	if err != nil || id != "" {
		t.Fatalf("Deliver = %q, %v", id, err)
	}
	noProblems(t, s)
	reqs := s.Delivered()
	if len(reqs) != 1 {
		t.Fatalf("%d deliveries, want 1", len(reqs))
	}
	got := reqs[0]
	if !bytes.Equal(got.Body, b) {
		t.Errorf("body changed on the way:\n got %s\nwant %s", got.Body, b)
	}
	sig := got.Header.Get(SignatureHeader)
	if !webhooktest.Verify([]byte(secret), got.Body, sig) || sig != Sign([]byte(secret), b) {
		t.Errorf("signature %q does not verify", sig)
	}
	// The signature covers the exact bytes, under exactly this secret.
	if webhooktest.Verify([]byte(secret), append(bytes.Clone(got.Body), ' '), sig) || webhooktest.Verify([]byte(secret+"x"), got.Body, sig) {
		t.Error("the signature verifies a different body or secret")
	}
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 || strings.ToLower(sig) != sig {
		t.Errorf("signature %q is not sha256=<64 lower-case hex digits>", sig)
	}
	for name, want := range map[string]string{
		"Authorization": "Token token=pd-123", "X-Routing-Key": "R0UTING",
		"Content-Type": "application/json", "User-Agent": "driftd", VersionHeader: "1", "Referer": "",
	} {
		if v := got.Header.Values(name); want == "" && len(v) != 0 || want != "" && (len(v) != 1 || v[0] != want) {
			t.Errorf("header %s: %q, want %q", name, v, want)
		}
	}
}

func TestDeliverUnsigned(t *testing.T) {
	s := webhooktest.NewServer(t, "")
	if _, err := New(route(s.URL()), nil).Deliver(t.Context(), body(t)); err != nil {
		t.Fatal(err)
	}
	noProblems(t, s)
	reqs := s.Delivered()
	if len(reqs) != 1 {
		t.Fatalf("%d deliveries", len(reqs))
	}
	if v, ok := reqs[0].Header[SignatureHeader]; ok {
		t.Errorf("signature %q sent without a secret", v)
	}
}

// A receiver checking the signature refuses a route with another secret:
// that needs an operator.
func TestDeliverWrongSecret(t *testing.T) {
	s := webhooktest.NewServer(t, secret)
	r := signedRoute(s.URL())
	r.Secret = config.NewSecret("not-the-secret")
	_, err := New(r, nil).Deliver(t.Context(), body(t))
	wantError(t, err, "HTTP 401", true, 0)
	if p := s.Problems(); len(p) != 1 || p[0] != "invalid "+SignatureHeader {
		t.Errorf("receiver problems %q", p)
	}
}

func TestDeliverStatuses(t *testing.T) {
	date := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name       string
		resp       webhooktest.Response
		reason     string // "" is a delivery
		permanent  bool
		retryAfter time.Duration
		// For an HTTP date, the wait is known to a second.
		approx bool
	}{
		{name: "200", resp: webhooktest.Response{Status: 200}},
		{name: "201", resp: webhooktest.Response{Status: 201}},
		{name: "202", resp: webhooktest.Response{Status: 202}},
		{name: "204", resp: webhooktest.Response{Status: 204}},
		{"429 seconds", webhooktest.Response{Status: 429, RetryAfter: "7"}, "HTTP 429", false, 7 * time.Second, false},
		{"429 seconds with spaces", webhooktest.Response{Status: 429, RetryAfter: " 12 "}, "HTTP 429", false, 12 * time.Second, false},
		{"429 HTTP date", webhooktest.Response{Status: 429, RetryAfter: date(30 * time.Second)}, "HTTP 429", false, 30 * time.Second, true},
		{"429 HTTP date in the past", webhooktest.Response{Status: 429, RetryAfter: date(-time.Hour)}, "HTTP 429", false, time.Second, false},
		{"429 zero", webhooktest.Response{Status: 429, RetryAfter: "0"}, "HTTP 429", false, time.Second, false},
		{"429 a year", webhooktest.Response{Status: 429, RetryAfter: "31536000"}, "HTTP 429", false, 24 * time.Hour, false},
		{"429 unreadable", webhooktest.Response{Status: 429, RetryAfter: "soon"}, "HTTP 429", false, 0, false},
		{"429 without Retry-After", webhooktest.Response{Status: 429}, "HTTP 429", false, 0, false},
		{"500", webhooktest.Response{Status: 500}, "HTTP 500", false, 0, false},
		{"502", webhooktest.Response{Status: 502}, "HTTP 502", false, 0, false},
		{"503", webhooktest.Response{Status: 503, RetryAfter: "5"}, "HTTP 503", false, 0, false},
		{"504", webhooktest.Response{Status: 504}, "HTTP 504", false, 0, false},
		{"408", webhooktest.Response{Status: 408}, "HTTP 408", false, 0, false},
		{"425", webhooktest.Response{Status: 425}, "HTTP 425", false, 0, false},
		{"400", webhooktest.Response{Status: 400}, "HTTP 400", true, 0, false},
		{"401", webhooktest.Response{Status: 401}, "HTTP 401", true, 0, false},
		{"403", webhooktest.Response{Status: 403}, "HTTP 403", true, 0, false},
		{"404", webhooktest.Response{Status: 404}, "HTTP 404", true, 0, false},
		{"405", webhooktest.Response{Status: 405}, "HTTP 405", true, 0, false},
		{"410", webhooktest.Response{Status: 410}, "HTTP 410", true, 0, false},
		{"413", webhooktest.Response{Status: 413}, "HTTP 413", true, 0, false},
		{"422", webhooktest.Response{Status: 422}, "HTTP 422", true, 0, false},
		{"304", webhooktest.Response{Status: 304}, "HTTP 304", true, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := webhooktest.NewServer(t, secret)
			s.Script(tc.resp)
			_, err := New(signedRoute(s.URL()), nil).Deliver(t.Context(), body(t))
			// Never a retry here: the dispatcher owns retries.
			if got := len(s.Requests()); got != 1 {
				t.Errorf("%d requests, want 1", got)
			}
			noProblems(t, s)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("status %d: %v", tc.resp.Status, err)
				}
				return
			}
			if tc.approx {
				se := sendError(t, err)
				if se.Reason != tc.reason || se.Permanent || se.RetryAfter > tc.retryAfter || se.RetryAfter < tc.retryAfter-2*time.Second {
					t.Errorf("got %+v, want %s and a retry after about %s", *se, tc.reason, tc.retryAfter)
				}
				return
			}
			wantError(t, err, tc.reason, tc.permanent, tc.retryAfter)
		})
	}
}

func TestDeliverNetworkErrors(t *testing.T) {
	s := webhooktest.NewServer(t, secret)
	r := signedRoute(s.URL())
	s.Close()
	_, err := New(r, nil).Deliver(t.Context(), body(t))
	wantError(t, err, "connection refused", false, 0)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = New(r, nil).Deliver(ctx, body(t))
	wantError(t, err, "canceled", false, 0)

	// A receiver that never answers, and a client that gives up.
	release := make(chan struct{})
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stall.Close()
	defer close(release)
	_, err = New(signedRoute(stall.URL+"/hook"), &http.Client{Timeout: 50 * time.Millisecond}).Deliver(t.Context(), body(t))
	wantError(t, err, "timeout", false, 0)
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = New(signedRoute(stall.URL+"/hook"), nil).Deliver(ctx, body(t))
	wantError(t, err, "timeout", false, 0)

	// A connection closed without an answer.
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer hangup.Close()
	_, err = New(signedRoute(hangup.URL+"/hook"), nil).Deliver(t.Context(), body(t))
	if se := sendError(t, err); se.Permanent || se.RetryAfter != 0 {
		t.Errorf("a dropped connection: %+v, want a retryable error", *se)
	}

	for _, bad := range []string{"http://host/%zz", "not a url", "/relative/path"} {
		_, err = New(signedRoute(bad), nil).Deliver(t.Context(), body(t))
		wantError(t, err, "invalid URL", true, 0)
	}
}

// TestDeliverNeverLeaksSecrets forces every failure path with canary
// values in the URL, the secret and a header, and looks for them in
// everything Deliver returns.
func TestDeliverNeverLeaksSecrets(t *testing.T) {
	const (
		urlCanary    = "CANARYurl7e1d9a"
		secretCanary = "CANARYsecret5c03b2"
		headerCanary = "CANARYheader91f4"
	)
	check := func(t *testing.T, what string, id string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		sendError(t, err)
		for _, s := range []string{id, err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%s", errors.Unwrap(err))} {
			for _, canary := range []string{urlCanary, secretCanary, headerCanary, "CANARY", "/hooks/"} {
				if strings.Contains(s, canary) {
					t.Errorf("%s: %q leaks %s", what, s, canary)
				}
			}
		}
	}
	canaryRoute := func(base string) config.WebhookRoute {
		r := route(base + "/hooks/" + urlCanary + "?key=" + urlCanary)
		r.Secret = config.NewSecret(secretCanary)
		r.Headers = map[string]config.Secret{"Authorization": config.NewSecret("Bearer " + headerCanary)}
		return r
	}

	s := webhooktest.NewServer(t, secretCanary)
	base := strings.TrimSuffix(s.URL(), webhooktest.Path)
	for _, resp := range []webhooktest.Response{
		{Status: 429, RetryAfter: "3"}, {Status: 429, RetryAfter: secretCanary}, {Status: 500}, {Status: 503},
		{Status: 401}, {Status: 404}, {Status: 302, Location: "http://elsewhere.invalid/" + urlCanary + "?" + headerCanary},
	} {
		s.Script(resp)
		id, err := New(canaryRoute(base), nil).Deliver(t.Context(), body(t))
		check(t, fmt.Sprintf("%+v", resp), id, err)
	}
	id, err := New(canaryRoute(base), &http.Client{Timeout: time.Nanosecond}).Deliver(t.Context(), body(t))
	check(t, "timeout", id, err)
	s.Close()
	id, err = New(canaryRoute(base), nil).Deliver(t.Context(), body(t))
	check(t, "connection refused", id, err)
	id, err = New(canaryRoute("http://"+urlCanary+".invalid"), &http.Client{Timeout: 5 * time.Second}).Deliver(t.Context(), body(t))
	check(t, "no such host", id, err)
	// A URL that does not parse: Go's error would quote it whole.
	id, err = New(canaryRoute("http://host/%zz"), nil).Deliver(t.Context(), body(t))
	check(t, "unparsable URL", id, err)
	wantError(t, err, "invalid URL", true, 0)
}

func TestNotifier(t *testing.T) {
	a, b := New(route("https://hooks.example.com/a-CANARY"), nil), New(route("https://hooks.example.com/b"), nil)
	if a.Transport() != config.TransportWebhook {
		t.Errorf("transport %q", a.Transport())
	}
	if da, db := a.Destination(), b.Destination(); da == db || !strings.HasPrefix(da, "url:") || strings.Contains(da, "CANARY") || strings.Contains(da, "example") {
		t.Errorf("destinations %q, %q: want distinct hashes of the URLs", da, db)
	}
	if a.Destination() != New(route("https://hooks.example.com/a-CANARY"), nil).Destination() {
		t.Error("a route's destination is not stable")
	}
	msgs, err := a.Render(findingsBatch())
	if want, _ := Render(findingsBatch()); err != nil || len(msgs) != 1 || !bytes.Equal(msgs[0], want) {
		t.Errorf("Render = %d messages, %v", len(msgs), err)
	}
}

func TestDeliverConcurrent(t *testing.T) {
	s := webhooktest.NewServer(t, secret)
	n := New(signedRoute(s.URL()), nil)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			b := findingsBatch()
			b.RunID = int64(i)
			data, err := Render(b)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := n.Deliver(t.Context(), data); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	noProblems(t, s)
	if got := len(s.Delivered()); got != 20 {
		t.Errorf("%d deliveries", got)
	}
}
