// Package webhooktest is a webhook receiver for tests: it accepts driftd's
// POSTs over real HTTP and checks each one as an operator's receiver
// would — method, content type, schema version and the HMAC-SHA256
// signature over the exact body — recording every request, accepted or
// not. It does not import the webhook package: it is written against the
// documented wire format, so a test through it checks that format.
package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The wire format, as documented in the README.
const (
	SignatureHeader = "X-Driftd-Signature"
	VersionHeader   = "X-Driftd-Version"
	// Path is where the receiver listens.
	Path = "/hooks/driftd"
)

// Verify reports whether signature (an X-Driftd-Signature value) is the
// HMAC-SHA256 of body under secret, comparing in constant time.
func Verify(secret, body []byte, signature string) bool {
	got, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

// Response is a scripted answer, used once, before normal handling. The
// zero Response means "handle this request normally".
type Response struct {
	// Status is the HTTP status (default 200).
	Status int
	// RetryAfter, if set, is sent as the Retry-After header.
	RetryAfter string
	// Location, if set, is sent as the Location header (a redirect).
	Location string
}

// Request is one request the receiver got.
type Request struct {
	// At is when the request arrived; Answered when the answer was
	// written.
	At, Answered time.Time
	Method       string
	Path         string
	Header       http.Header
	Body         []byte
	// Status is what the receiver answered.
	Status int
	// Problem says why a request was refused as malformed or unsigned
	// (401 or 400); "" for a well-formed one.
	Problem string
}

// Delivered reports whether the request was accepted (a 2xx answer).
func (r Request) Delivered() bool { return r.Status >= 200 && r.Status < 300 }

// Server is a webhook receiver. It is safe for concurrent use.
type Server struct {
	srv    *httptest.Server
	secret []byte

	mu       sync.Mutex
	script   []Response
	down     int // status answered to every request while set
	requests []Request
}

// NewServer starts a receiver, closed when the test ends. With a secret,
// every request must carry a valid X-Driftd-Signature; without one, none
// may carry the header at all.
func NewServer(t testing.TB, secret string) *Server {
	t.Helper()
	s := &Server{secret: []byte(secret)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// Close shuts the receiver down; later requests fail to connect.
func (s *Server) Close() { s.srv.Close() }

// URL is the receiver's webhook URL.
func (s *Server) URL() string { return s.srv.URL + Path }

// Script queues responses used, one per request, before normal handling.
// A scripted answer is given only to a well-formed request: a bad
// signature is refused with 401 whatever is scripted.
func (s *Server) Script(responses ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, responses...)
}

// Down makes the receiver answer every well-formed request with status
// (a 5xx: it is failing) until Up; scripted answers wait meanwhile.
func (s *Server) Down(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = status
}

// Up ends Down.
func (s *Server) Up() { s.Down(0) }

// Requests returns every request in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Delivered returns the accepted requests in arrival order.
func (s *Server) Delivered() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Delivered() {
			out = append(out, r)
		}
	}
	return out
}

// Problems lists what was wrong with every refused request: a missing
// or invalid signature, a signature where none was configured, a wrong
// method, content type or version header.
func (s *Server) Problems() []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Problem != "" {
			out = append(out, r.Problem)
		}
	}
	return out
}

// check returns what is wrong with a request, or "".
func (s *Server) check(r *http.Request, body []byte) string {
	sig, signed := r.Header[http.CanonicalHeaderKey(SignatureHeader)]
	switch {
	case r.Method != http.MethodPost:
		return "method " + r.Method
	case r.URL.Path != Path:
		return "path " + r.URL.Path
	case r.Header.Get("Content-Type") != "application/json":
		return "content type " + strconv.Quote(r.Header.Get("Content-Type"))
	case r.Header.Get(VersionHeader) == "":
		return "no " + VersionHeader
	case len(s.secret) == 0 && signed:
		return SignatureHeader + " sent without a secret"
	case len(s.secret) > 0 && !signed:
		return "no " + SignatureHeader
	case len(s.secret) > 0 && (len(sig) != 1 || !Verify(s.secret, body, sig[0])):
		return "invalid " + SignatureHeader
	}
	return ""
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(r.Body)
	req := Request{At: at, Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	req.Problem = s.check(r, body)

	var scripted Response
	s.mu.Lock()
	if req.Problem == "" && s.down != 0 {
		scripted = Response{Status: s.down}
	} else if req.Problem == "" && len(s.script) > 0 {
		scripted = s.script[0]
		s.script = s.script[1:]
	}
	s.mu.Unlock()

	req.Status = http.StatusOK
	switch {
	case strings.HasPrefix(req.Problem, "invalid "), strings.HasPrefix(req.Problem, "no "+SignatureHeader):
		req.Status = http.StatusUnauthorized
	case req.Problem != "":
		req.Status = http.StatusBadRequest
	case scripted.Status != 0:
		req.Status = scripted.Status
	}
	if scripted.RetryAfter != "" {
		w.Header().Set("Retry-After", scripted.RetryAfter)
	}
	if scripted.Location != "" {
		w.Header().Set("Location", scripted.Location)
	}
	// Recorded before the answer is written, so a client that has the
	// answer finds the request recorded, and nothing it does after the
	// answer can precede Answered.
	req.Answered = time.Now()
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	w.WriteHeader(req.Status)
	_, _ = io.WriteString(w, http.StatusText(req.Status))
}
