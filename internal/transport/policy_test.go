package transport

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// capture is a server that must never be reached: it counts requests.
func capture(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, `{"value":[]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func guardedClient(t *testing.T, srv *httptest.Server) *http.Client {
	t.Helper()
	o, err := OriginOf(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return Client(Guard(srv.Client().Transport, o))
}

func TestRedirectToAnotherPortIsRefused(t *testing.T) {
	foreign, hits := capture(t)
	for _, code := range []int{301, 302, 303, 307, 308} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, foreign.URL+"/steal", code)
		}))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader("client_secret=CANARY"))
		req.Header.Set("Authorization", "Bearer CANARY")
		_, err := guardedClient(t, srv).Do(req)
		var oe *OriginError
		if !errors.As(err, &oe) || !oe.Redirect {
			t.Fatalf("%d: err = %v, want a refused redirect", code, err)
		}
		if !strings.Contains(err.Error(), strings.TrimPrefix(foreign.URL, "http://")) || strings.Contains(err.Error(), "/steal") {
			t.Errorf("%d: error should name the host only: %v", code, err)
		}
		srv.Close()
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the foreign origin received %d requests", n)
	}
}

func TestRedirectToPlainHTTPIsRefused(t *testing.T) {
	var plain atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			plain.Add(1)
			return
		}
		http.Redirect(w, r, "http://"+r.Host+"/next", http.StatusFound)
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer CANARY")
	_, err := guardedClient(t, srv).Do(req)
	var oe *OriginError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want a refused redirect", err)
	}
	if plain.Load() != 0 {
		t.Fatal("a request went out over plain http")
	}
}

func TestSameOriginRedirectIsFollowedWithoutReferer(t *testing.T) {
	var referers []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		referers = append(referers, r.Header.Get("Referer"))
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/old", nil)
	req.Header.Set("Referer", "https://example.invalid/secret-webhook")
	resp, err := guardedClient(t, srv).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body = %q", body)
	}
	for _, r := range referers {
		if r != "" {
			t.Fatalf("a Referer was sent: %q", r)
		}
	}
	if len(referers) != 2 {
		t.Fatalf("%d requests, want 2", len(referers))
	}
}

func TestRequestToAnotherOriginIsRefused(t *testing.T) {
	srv, _ := capture(t)
	foreign, hits := capture(t)
	_, err := guardedClient(t, srv).Get(foreign.URL + "/v1.0/next?$skiptoken=x")
	var oe *OriginError
	if !errors.As(err, &oe) || oe.Redirect {
		t.Fatalf("err = %v, want a refused request", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the foreign origin was reached")
	}
}

func TestBodyLargerThanTheCapIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat(" ", 64<<10))
		for written := 0; written <= MaxResponseBytes+len(chunk); written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	resp, err := guardedClient(t, srv).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("err = %v, want ErrBodyTooLarge", err)
	}
	if n != MaxResponseBytes {
		t.Fatalf("read %d bytes, want exactly the cap %d", n, MaxResponseBytes)
	}
}

func TestBodyAtTheCapIsRead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", MaxResponseBytes)))
	}))
	defer srv.Close()
	resp, err := guardedClient(t, srv).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != MaxResponseBytes {
		t.Fatalf("read %d, err %v", n, err)
	}
}

func TestOrigin(t *testing.T) {
	for raw, want := range map[string]string{
		"https://Graph.Microsoft.com/v1.0":   "https://graph.microsoft.com:443",
		"https://graph.microsoft.com:443/x":  "https://graph.microsoft.com:443",
		"http://127.0.0.1:8080/a?b":          "http://127.0.0.1:8080",
		"https://[::1]:9/":                   "https://[::1]:9",
		"http://graph.microsoft.com/v1.0":    "http://graph.microsoft.com:80",
		"https://graph.microsoft.com:8443/x": "https://graph.microsoft.com:8443",
	} {
		got, err := OriginOf(raw)
		if err != nil || got != want {
			t.Errorf("OriginOf(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	if _, err := OriginOf("/relative"); err == nil {
		t.Error("a relative URL has no origin")
	}
}

// The body a caller passed in is copied: rewinding it (as an SDK retry
// handler does) while the transport still sends the copy is safe, and a
// same-origin 307 resends it whole.
func TestRequestBodyIsCopiedAndResent(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if r.URL.Path == "/first" {
			http.Redirect(w, r, "/second", http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	payload := strings.NewReader(`{"requests":[]}`)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/first", payload)
	resp, err := guardedClient(t, srv).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(bodies) != 2 || bodies[0] != `{"requests":[]}` || bodies[1] != bodies[0] {
		t.Fatalf("bodies received: %q", bodies)
	}
}
