package webhook

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/notify/webhook/webhooktest"
)

// capture is a server that records everything it is sent.
type capture struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []string
}

func newCapture(t *testing.T) *capture {
	c := &capture{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.got = append(c.got, r.Method+" "+r.URL.String()+" "+strings.Join(headerValues(r.Header), " ")+" "+string(b))
		c.mu.Unlock()
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func headerValues(h http.Header) []string {
	var out []string
	for name, vs := range h {
		out = append(out, name+": "+strings.Join(vs, ","))
	}
	return out
}

func (c *capture) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

// A receiver that redirects elsewhere — another port, another host name
// for the same machine, another scheme — must not get the document, its
// signature or the configured headers sent on: the delivery fails
// naming the location's host, and the other host receives nothing.
func TestDeliverRefusesRedirectsOffOrigin(t *testing.T) {
	const headerCanary = "CANARY-api-key-3f9e"
	foreign := newCapture(t)
	hostPort := strings.TrimPrefix(foreign.srv.URL, "http://")
	port := hostPort[strings.LastIndexByte(hostPort, ':')+1:]
	targets := map[string]string{
		"another port":   foreign.srv.URL + "/collect",
		"another host":   "http://localhost:" + port + "/collect",
		"another scheme": "https://" + hostPort + "/collect",
	}
	wantHost := map[string]string{"another port": hostPort, "another host": "localhost:" + port, "another scheme": hostPort}
	for name, target := range targets {
		for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			s := webhooktest.NewServer(t, secret)
			s.Script(webhooktest.Response{Status: code, Location: target})
			r := signedRoute(s.URL())
			r.Headers = map[string]config.Secret{"X-Api-Key": config.NewSecret(headerCanary)}
			_, err := New(r, nil).Deliver(t.Context(), body(t))
			se := sendError(t, err)
			if !se.Permanent || !strings.Contains(se.Reason, "refused a redirect to "+wantHost[name]) {
				t.Errorf("%s, %d: got %+v, want a permanent refusal naming %s", name, code, *se, wantHost[name])
			}
			if strings.Contains(se.Error(), "CANARY") || strings.Contains(se.Error(), webhooktest.Path) || strings.Contains(se.Error(), "/collect") {
				t.Errorf("%s, %d: the error names more than the host: %v", name, code, se)
			}
			if n := len(s.Requests()); n != 1 {
				t.Errorf("%s, %d: the receiver got %d requests, want 1", name, code, n)
			}
		}
	}
	if got := foreign.requests(); len(got) > 0 {
		t.Fatalf("the other host received %d requests: %q", len(got), got)
	}
}

// A 307 or 308 within the receiver's origin keeps the method and the
// body: it is followed, and the document arrives signed.
func TestDeliverFollowsRedirectsThatKeepThePOST(t *testing.T) {
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		s := webhooktest.NewServer(t, secret)
		s.Script(webhooktest.Response{Status: code, Location: s.URL()})
		b := body(t)
		if _, err := New(signedRoute(s.URL()), nil).Deliver(t.Context(), b); err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		noProblems(t, s)
		reqs := s.Requests()
		if len(reqs) != 2 || !reqs[1].Delivered() || string(reqs[1].Body) != string(b) {
			t.Errorf("%d: %d requests; the second delivered %v", code, len(reqs), len(reqs) == 2 && reqs[1].Delivered())
		}
	}
}

// A 301, 302 or 303 turns the POST into a GET without a body. Even
// within the receiver's origin, following it would deliver nothing —
// and a page that answers GET with 200 (a sign-in page, a moved
// endpoint's landing page) would have the batch marked as sent. It is a
// failure that needs an operator, and no GET is sent.
func TestDeliverRefusesRedirectsThatDropTheBody(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		var mu sync.Mutex
		var methods []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			methods = append(methods, r.Method+" "+r.URL.Path)
			mu.Unlock()
			if r.URL.Path == "/hook" {
				http.Redirect(w, r, "/login", code)
				return
			}
			_, _ = io.WriteString(w, "<html>sign in</html>")
		}))
		_, err := New(signedRoute(srv.URL+"/hook"), nil).Deliver(t.Context(), body(t))
		srv.Close()
		if err == nil {
			t.Errorf("%d to a page answering GET: reported delivered", code)
			continue
		}
		se := sendError(t, err)
		if want := fmt.Sprintf("HTTP %d", code); !se.Permanent || se.Reason != want {
			t.Errorf("%d: got %+v, want a permanent %s", code, *se, want)
		}
		mu.Lock()
		if len(methods) != 1 || methods[0] != "POST /hook" {
			t.Errorf("%d: the server got %q, want only the POST", code, methods)
		}
		mu.Unlock()
	}
}
