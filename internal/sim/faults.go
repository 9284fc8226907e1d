package sim

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind selects how a faulted request is answered. The zero value,
// KindStatus, is the service's own error body with Fault.Status.
//
// Body kinds reshape the answer the service would have given and keep
// the HTTP exchange sound. Inside a Graph $batch they apply to each
// matching sub-request's body; a fault whose PathContains matches the
// $batch request itself ("$batch") reshapes the batch envelope instead.
//
// Wire kinds break the HTTP exchange itself. A wire kind matched by a
// $batch sub-request breaks the whole $batch response carrying it (a
// sub-request has no wire of its own).
type FaultKind string

const (
	// KindStatus answers Fault.Status with the service's real error body
	// and, if set, Retry-After (RetryAfter or RetryAfterDate).
	KindStatus FaultKind = ""

	// KindNullElements prepends a null to arrays of the answer: every
	// array, or with Member only the arrays under that key, e.g. "value"
	// (a Graph page), "passwordCredentials" or "oauth2PermissionScopes"
	// (Graph entities), "result" (Cloudflare). On a $batch it prepends
	// a null to "responses".
	KindNullElements FaultKind = "null-elements"
	// KindWrongType sets the top-level Member (default "value" for Graph,
	// "result" for Cloudflare, "responses" for a $batch) to the raw JSON
	// in Fault.JSON (default {}), e.g. "null", `"x"`, "42". For a $batch
	// sub-request, Member "@item.status" or "@item.body" replaces that
	// member of the item's envelope (default: the same value as a JSON
	// string, so "status":"200" and "body":"{…}").
	KindWrongType FaultKind = "wrong-type"
	// KindErrorBody200 answers HTTP 200 with the service's error body:
	// Graph {"error":{…}}, Cloudflare {"success":false,"errors":[{"code":
	// 10000,"message":"Authentication error"}],"result":[]}, the token
	// endpoint's OAuth error.
	KindErrorBody200 FaultKind = "error-200"
	// KindHugeStrings adds control characters (NUL, ESC sequences, CR LF,
	// bidi overrides) and Size (default 100,000) characters to every
	// Graph displayName and hint and Cloudflare identity-provider name,
	// and appends such a URI to every Graph redirectUris array. Nothing
	// a check compares is changed.
	KindHugeStrings FaultKind = "huge-strings"
	// KindEndlessPaging: a Graph page always carries an @odata.nextLink
	// to a further (empty) page; a Cloudflare identity-provider page is
	// always full and result_info announces a billion pages.
	KindEndlessPaging FaultKind = "endless-paging"
	// KindRepeatPaging: a Graph page's @odata.nextLink is the page's own
	// URL.
	KindRepeatPaging FaultKind = "repeat-paging"
	// KindForeignNextLink: a Graph page's @odata.nextLink points at
	// Fault.Target (another origin: a Capture URL, or an http:// URL)
	// with the same path and query.
	KindForeignNextLink FaultKind = "foreign-next-link"

	// KindMalformed answers with the first half of the real body: valid
	// HTTP, broken JSON.
	KindMalformed FaultKind = "malformed"
	// KindTruncated announces a Content-Length larger than what is sent,
	// sends half the body and aborts (HTTP/1.1: the connection closes
	// mid-body; HTTP/2: the stream is reset).
	KindTruncated FaultKind = "truncated"
	// KindReset closes the TCP connection (with an RST) without answering.
	// Over HTTP/2 every request on that connection fails.
	KindReset FaultKind = "reset"
	// KindSlowBody sends the headers at once, then trickles a space every
	// 100 ms for Fault.Duration (default 30 s) before the real body; it
	// stops when the client gives up.
	KindSlowBody FaultKind = "slow-body"
	// KindOversized streams a valid JSON answer padded with Fault.Size
	// (default 50 MiB) bytes, without a Content-Length and without holding
	// it in memory.
	KindOversized FaultKind = "oversized"
	// KindRedirect answers Fault.Status (default 302; 307 keeps a POST
	// body) with Location: Fault.Target plus the request's path and query.
	KindRedirect FaultKind = "redirect"
	// KindEchoRequest answers 400 with an error message quoting the
	// request: the form body for the token endpoint (client_secret
	// included), the Authorization header for Graph and Cloudflare.
	KindEchoRequest FaultKind = "echo-request"
)

// Fault makes matching requests fail. With only Status set it is the
// service's real error body; Kind selects the hostile answers above.
type Fault struct {
	Service string // ServiceToken, ServiceGraph or ServiceCloudflare
	// PathContains matches the request path (for a Graph $batch: each
	// sub-request's url; "$batch" matches the $batch request itself);
	// "" matches every request (every sub-request of a $batch).
	PathContains string
	// QueryContains, when set, must also occur in the (unescaped) query,
	// e.g. "$skiptoken" for the second and later Graph pages, "page=2".
	QueryContains string
	Kind          FaultKind
	Status        int    // e.g. 403, 404, 429, 500, 503; redirect: 302 or 307
	RetryAfter    string // Retry-After header value, e.g. "1"
	// RetryAfterDate, when not zero, sends Retry-After as an HTTP-date
	// this far ahead (rounded up to the next whole second).
	RetryAfterDate time.Duration
	Member         string        // KindNullElements, KindWrongType
	JSON           string        // KindWrongType: the raw JSON to put there
	Target         string        // KindRedirect, KindForeignNextLink: an origin, e.g. Capture.URL
	Duration       time.Duration // KindSlowBody
	Size           int           // KindOversized (bytes), KindHugeStrings (characters)
	Times          int           // how many matching requests fail; 0 = all
}

// wire reports whether f breaks the HTTP exchange rather than the body.
func (f Fault) wire() bool {
	switch f.Kind {
	case KindMalformed, KindTruncated, KindReset, KindSlowBody, KindOversized, KindRedirect, KindEchoRequest:
		return true
	}
	return false
}

// label names f for FaultsServed.
func (f Fault) label() string {
	if f.Kind == KindStatus {
		return "status-" + strconv.Itoa(f.Status)
	}
	return string(f.Kind)
}

// FaultRequest is a request, or a Graph $batch sub-request, as a
// FaultFunc sees it.
type FaultRequest struct {
	Service string
	Method  string
	Path    string // e.g. "/v1.0/servicePrincipals/…/oauth2PermissionGrants"
	Query   string // unescaped
	// Batch is set for the Graph $batch request itself, BatchItem for
	// each of its sub-requests.
	Batch, BatchItem bool
}

// SetFaultFunc installs fn, asked for every request and $batch
// sub-request that no injected fault matches; returning true faults it
// as if f had been injected (Times is ignored). fn runs under the
// server's lock: it must not call the Server. nil removes it.
func (s *Server) SetFaultFunc(fn func(FaultRequest) (Fault, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultFunc = fn
}

// FaultsServed counts the faults answered, by kind ("status-429",
// "reset", …).
func (s *Server) FaultsServed() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.served)
}

// RetryAfterViolation is a request that arrived before the Retry-After
// the server had given for the same request (service, method and URL;
// for a $batch sub-request its url).
type RetryAfterViolation struct {
	Request string
	Early   time.Duration // how long before the allowed time it came
}

// RetryAfterViolations lists the requests that came too early since the
// start or the last ResetRetryAfter.
func (s *Server) RetryAfterViolations() []RetryAfterViolation {
	s.raMu.Lock()
	defer s.raMu.Unlock()
	return append([]RetryAfterViolation(nil), s.violations...)
}

// ResetRetryAfter forgets every Retry-After given and every violation.
func (s *Server) ResetRetryAfter() {
	s.raMu.Lock()
	defer s.raMu.Unlock()
	s.notBefore, s.violations = nil, nil
}

// retryTolerance absorbs clock reads on either side of the wire.
const retryTolerance = 10 * time.Millisecond

// requestKey identifies a request for the Retry-After book.
func requestKey(service string, r *http.Request) string {
	return service + " " + r.Method + " " + r.URL.RequestURI()
}

// retryBook is when a request key may come back, and the connection the
// Retry-After went out on.
type retryBook struct {
	until time.Time
	conn  net.Conn
}

// retryAfter returns f's Retry-After header value ("" for none) and
// remembers that the request key must not come back before then. r is
// the HTTP request carrying the answer (a $batch item's: the batch's).
func (s *Server) retryAfter(f Fault, key string, r *http.Request) string {
	now := time.Now()
	var (
		value string
		until time.Time
	)
	switch {
	case f.RetryAfterDate != 0:
		until = now.Add(f.RetryAfterDate)
		if t := until.Truncate(time.Second); t.Before(until) {
			until = t.Add(time.Second)
		}
		value = until.UTC().Format(http.TimeFormat)
	case f.RetryAfter != "":
		value = f.RetryAfter
		if secs, err := strconv.Atoi(strings.TrimSpace(value)); err == nil {
			until = now.Add(time.Duration(secs) * time.Second)
		} else if t, err := http.ParseTime(value); err == nil {
			until = t
		}
	default:
		return ""
	}
	if key != "" && !until.IsZero() {
		s.raMu.Lock()
		if s.notBefore == nil {
			s.notBefore = map[string]retryBook{}
		}
		if until.After(s.notBefore[key].until) {
			c, _ := r.Context().Value(connKey{}).(net.Conn)
			s.notBefore[key] = retryBook{until: until, conn: c}
		}
		s.raMu.Unlock()
	}
	return value
}

// checkRetryAfter records a violation if key comes back too early.
func (s *Server) checkRetryAfter(key string) {
	now := time.Now()
	s.raMu.Lock()
	defer s.raMu.Unlock()
	if b, ok := s.notBefore[key]; ok && now.Add(retryTolerance).Before(b.until) {
		s.violations = append(s.violations, RetryAfterViolation{Request: key, Early: b.until.Sub(now)})
	}
}

// connKey carries the accepted connection in request contexts, so a
// fault can reset it.
type connKey struct{}

func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// resetConn closes the request's TCP connection with an RST. A
// Retry-After sent on it may be lost with it (an RST discards what the
// client has not read yet), so the book forgets those: a client that never
// saw one cannot be held to it.
func (s *Server) resetConn(r *http.Request) {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	s.raMu.Lock()
	for key, b := range s.notBefore {
		if c != nil && b.conn == c {
			delete(s.notBefore, key)
		}
	}
	s.raMu.Unlock()
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	if c != nil {
		_ = c.Close()
	}
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// hostileString is s with control characters and n more characters.
func hostileString(s string, n int) string {
	if n <= 0 {
		n = 100_000
	}
	return s + "\x00\x07\x1b[2J\x1b]8;;https://evil.example/\x07\r\n\u202e\u2028" + strings.Repeat("A", n)
}

// decodeTree parses a JSON body into maps and slices, numbers kept as
// written.
func decodeTree(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// reshape decodes body as a JSON object, lets fn change it and encodes
// it again; a body that is not an object is returned unchanged.
func reshape(body []byte, fn func(obj map[string]any)) []byte {
	v, err := decodeTree(body)
	if err != nil {
		return body
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return body
	}
	fn(obj)
	out, err := marshal(obj)
	if err != nil {
		return body
	}
	return out
}

// addNulls prepends a null to the arrays under key member (all arrays
// when member is ""), at any depth when deep is set.
func addNulls(v any, member string, deep bool) any {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if deep {
				c = addNulls(c, member, deep)
			}
			if arr, ok := c.([]any); ok && (member == "" || k == member) {
				c = append([]any{nil}, arr...)
			}
			t[k] = c
		}
	case []any:
		for i, c := range t {
			t[i] = addNulls(c, member, deep)
		}
	}
	return v
}

// setMember sets obj[member] to raw JSON (default {}).
func setMember(obj map[string]any, member, raw string) {
	if raw == "" {
		raw = "{}"
	}
	obj[member] = json.RawMessage(raw)
}

// hugeGraphStrings applies KindHugeStrings to a Graph body.
func hugeGraphStrings(v any, n int) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			switch s := c.(type) {
			case string:
				if k == "displayName" || k == "hint" {
					t[k] = hostileString(s, n)
				}
			case []any:
				if k == "redirectUris" {
					t[k] = append(s, hostileString("https://evil.example/cdn-cgi/access/callback?", n))
					continue
				}
				hugeGraphStrings(s, n)
			default:
				hugeGraphStrings(c, n)
			}
		}
	case []any:
		for _, c := range t {
			hugeGraphStrings(c, n)
		}
	}
}

// shapeGraph applies a body fault to one Graph answer, a top-level
// response or a $batch sub-request's.
func (s *Server) shapeGraph(req graphRequest, f Fault, resp graphResponse) graphResponse {
	if f.Kind == KindErrorBody200 {
		e := graphError(req, http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later.")
		return graphResponse{status: http.StatusOK, body: e.body}
	}
	if resp.status >= 300 || resp.body == nil {
		return resp
	}
	resp.body = reshape(resp.body, func(obj map[string]any) {
		_, isPage := obj["value"]
		switch f.Kind {
		case KindNullElements:
			addNulls(obj, f.Member, true)
		case KindWrongType:
			if !strings.HasPrefix(f.Member, "@item.") {
				setMember(obj, cmp(f.Member, "value"), f.JSON)
			}
		case KindHugeStrings:
			hugeGraphStrings(obj, f.Size)
		case KindEndlessPaging:
			if isPage {
				offset, _ := decodeSkipToken(req.query.Get("$skiptoken"))
				size, _ := s.graphPageSize(req)
				obj["@odata.nextLink"] = s.nextLink(req, offset+max(size, 1))
			}
		case KindRepeatPaging:
			if isPage {
				obj["@odata.nextLink"] = s.graphURL + req.pathAndQuery()
			}
		case KindForeignNextLink:
			if isPage {
				obj["@odata.nextLink"] = strings.TrimRight(f.Target, "/") + "/v1.0" + req.pathAndQuery()
			}
		}
	})
	return resp
}

// pathAndQuery is the request below /v1.0, query included.
func (req graphRequest) pathAndQuery() string {
	p := (&url.URL{Path: req.path}).EscapedPath()
	if len(req.query) > 0 {
		p += "?" + req.query.Encode()
	}
	return p
}

// shapeBatch applies a fault matched by the $batch request itself to
// the batch envelope.
func (s *Server) shapeBatch(req graphRequest, f Fault, resp graphResponse) graphResponse {
	switch f.Kind {
	case KindErrorBody200:
		e := graphError(req, http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later.")
		return graphResponse{status: http.StatusOK, body: e.body}
	case KindNullElements:
		resp.body = reshape(resp.body, func(obj map[string]any) { addNulls(obj, cmp(f.Member, "responses"), false) })
	case KindWrongType:
		resp.body = reshape(resp.body, func(obj map[string]any) { setMember(obj, cmp(f.Member, "responses"), f.JSON) })
	case KindHugeStrings:
		resp.body = reshape(resp.body, func(obj map[string]any) { hugeGraphStrings(obj, f.Size) })
	}
	if f.wire() {
		resp.fault = &f
	}
	return resp
}

// shapeBatchItem applies KindWrongType with an "@item." member to one
// rendered $batch response item.
func shapeBatchItem(f *Fault, ms []member) []member {
	if f == nil || f.Kind != KindWrongType || !strings.HasPrefix(f.Member, "@item.") {
		return ms
	}
	name := strings.TrimPrefix(f.Member, "@item.")
	for i, m := range ms {
		if m.Key != name {
			continue
		}
		if f.JSON != "" {
			ms[i].Value = json.RawMessage(f.JSON)
		} else {
			ms[i].Value = rawString(string(m.Value))
		}
		return ms
	}
	return append(ms, member{name, json.RawMessage(cmp(f.JSON, "{}"))})
}

// shapeCloudflare applies a body fault to a Cloudflare answer.
func (s *Server) shapeCloudflare(r *http.Request, f Fault, status int, body []byte) (int, []byte) {
	switch f.Kind {
	case KindErrorBody200:
		return http.StatusOK, []byte(`{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":[]}`)
	case KindEndlessPaging:
		if strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/identity_providers") && status == http.StatusOK {
			return status, s.cfEndlessPage(r, body)
		}
		return status, body
	}
	if status >= 300 {
		return status, body
	}
	return status, reshape(body, func(obj map[string]any) {
		switch f.Kind {
		case KindNullElements:
			addNulls(obj, f.Member, true)
		case KindWrongType:
			setMember(obj, cmp(f.Member, "result"), f.JSON)
		case KindHugeStrings:
			name := func(v any) {
				if m, ok := v.(map[string]any); ok {
					if s, ok := m["name"].(string); ok {
						m["name"] = hostileString(s, f.Size)
					}
				}
			}
			switch res := obj["result"].(type) {
			case []any:
				for _, it := range res {
					name(it)
				}
			default:
				name(res)
			}
		}
	})
}

// cfEndlessPage is a full identity-provider page of an endless list:
// page 1 holds the real providers, every page is topped up with one-time
// PIN providers (which no check looks at) and announces a billion pages.
func (s *Server) cfEndlessPage(r *http.Request, real []byte) []byte {
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage < 1 {
		perPage = defaultCFPageSize
	}
	perPage = min(perPage, maxCFPageSize)
	return reshape(real, func(obj map[string]any) {
		var items []any
		if page == 1 {
			items, _ = obj["result"].([]any)
		} else {
			items = nil
		}
		for i := len(items); i < perPage; i++ {
			items = append(items, map[string]any{
				"id":     fmt.Sprintf("00000000-0000-4000-8000-%012d", page*10000+i),
				"name":   fmt.Sprintf("PIN %d-%d", page, i),
				"type":   "onetimepin",
				"config": map[string]any{},
			})
		}
		obj["result"] = items
		obj["result_info"] = map[string]any{"page": page, "per_page": perPage, "count": len(items), "total_count": 1_000_000_000, "total_pages": 1_000_000_000}
	})
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeHostile answers r according to the wire fault f. answer gives the
// status and body the service would have sent (headers are already set
// on w, or are set by headers).
func (s *Server) writeHostile(w http.ResponseWriter, r *http.Request, service string, f Fault, headers func(http.Header), answer func() (int, []byte)) {
	if headers != nil {
		headers(w.Header())
	}
	h := w.Header()
	h.Del("Content-Length")
	switch f.Kind {
	case KindReset:
		s.resetConn(r)
		panic(http.ErrAbortHandler)
	case KindRedirect:
		status := f.Status
		if status == 0 {
			status = http.StatusFound
		}
		h.Del("Content-Type")
		h.Set("Location", strings.TrimRight(f.Target, "/")+r.URL.RequestURI())
		w.WriteHeader(status)
		return
	case KindEchoRequest:
		s.writeEcho(w, r, service)
		return
	}
	status, body := answer()
	switch f.Kind {
	case KindMalformed:
		cut := body[:len(body)/2]
		if len(cut) == 0 {
			cut = []byte(`{"`)
		}
		writeRaw(w, status, cut, nil)
	case KindTruncated:
		h.Set("Content-Length", strconv.Itoa(len(body)+4096))
		w.WriteHeader(status)
		_, _ = w.Write(body[:len(body)/2])
		flush(w)
		panic(http.ErrAbortHandler)
	case KindSlowBody:
		d := f.Duration
		if d <= 0 {
			d = 30 * time.Second
		}
		w.WriteHeader(status)
		flush(w)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for end := time.Now().Add(d); time.Now().Before(end); {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				flush(w)
			}
		}
		_, _ = w.Write(body)
	case KindOversized:
		size := f.Size
		if size <= 0 {
			size = 50 << 20
		}
		w.WriteHeader(status)
		open := bytes.IndexByte(body, '{')
		if open < 0 {
			body, open = []byte("{}"), 0
		}
		_, _ = w.Write(body[:open+1])
		_, _ = io.WriteString(w, `"x-padding":"`)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for n := 0; n < size; n += len(chunk) {
			if r.Context().Err() != nil {
				return
			}
			if _, err := w.Write(chunk[:min(len(chunk), size-n)]); err != nil {
				return
			}
		}
		rest := bytes.TrimSpace(body[open+1:])
		if len(rest) > 0 && rest[0] != '}' {
			_, _ = io.WriteString(w, `",`)
		} else {
			_, _ = io.WriteString(w, `"`)
		}
		_, _ = w.Write(rest)
	default:
		writeRaw(w, status, body, nil)
	}
}

// writeEcho answers 400 with an error quoting what the client sent.
func (s *Server) writeEcho(w http.ResponseWriter, r *http.Request, service string) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	auth := r.Header.Get("Authorization")
	switch service {
	case ServiceToken:
		w.Header().Del("Content-Type")
		s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			fmt.Sprintf("The request body could not be processed: %s (Authorization: %s)", raw, auth))
	case ServiceGraph:
		e := graphError(graphRequest{requestID: newUUID(), clientRequestID: newUUID()}, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Invalid request. Authorization: %s; body: %.200s", auth, raw))
		w.Header().Set("Content-Type", graphContentType)
		writeRaw(w, http.StatusBadRequest, e.body, nil)
	default:
		cfError(w, http.StatusBadRequest, 6003, "Invalid request headers: Authorization: "+auth)
	}
}

// recorder buffers a handler's answer so a wire fault can send it badly.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}, status: http.StatusOK} }

func (rec *recorder) Header() http.Header         { return rec.header }
func (rec *recorder) WriteHeader(status int)      { rec.status = status }
func (rec *recorder) Write(b []byte) (int, error) { return rec.body.Write(b) }

// copyTo sets the recorded headers on h (the body length aside).
func (rec *recorder) copyTo(h http.Header) {
	for k, v := range rec.header {
		if k != "Content-Length" {
			h[k] = v
		}
	}
}

// Capture is a foreign origin for tests: it records every request it
// receives and answers 200 with a body every client could mistake for
// an empty success (an empty Graph page and $batch, an empty Cloudflare
// list, a token). Tests point redirects and links at it and assert that
// nothing carrying a credential arrived.
type Capture struct {
	// URL is the origin, e.g. "https://127.0.0.1:P" or "http://127.0.0.1:P".
	URL string

	srv  *http.Server
	mu   sync.Mutex
	reqs []CapturedRequest
}

// CapturedRequest is one request a Capture received.
type CapturedRequest struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// captureBody is what a Capture answers.
const captureBody = `{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"page":1,"per_page":50,"count":0,"total_count":0,"total_pages":0},"value":[],"responses":[],"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"captured-origin-token"}`

// StartCapture starts a Capture on another loopback port. With scheme
// "https" its certificate is signed by the simulation's CA, so a client
// trusting the simulation would connect; "http" serves plain HTTP.
func (s *Server) StartCapture(scheme string) (*Capture, error) {
	if scheme != "https" && scheme != "http" {
		return nil, fmt.Errorf("sim: capture scheme %q (want https or http)", scheme)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sim: listen: %w", err)
	}
	c := &Capture{URL: scheme + "://" + l.Addr().String()}
	c.srv = &http.Server{
		Handler:           http.HandlerFunc(c.serve),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	if scheme == "http" {
		go func() { _ = c.srv.Serve(l) }()
		return c, nil
	}
	cert, err := newLeaf(s.ca, s.caKey, "capture.sim")
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	c.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	go func() { _ = c.srv.ServeTLS(l, "", "") }()
	return c, nil
}

func (c *Capture) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	c.mu.Lock()
	c.reqs = append(c.reqs, CapturedRequest{Method: r.Method, URL: r.URL.String(), Header: r.Header.Clone(), Body: body})
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	writeRaw(w, http.StatusOK, []byte(captureBody), nil)
}

// Requests returns what the Capture received, in order.
func (c *Capture) Requests() []CapturedRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]CapturedRequest(nil), c.reqs...)
}

// Leaks describes every received request that carried an Authorization
// header, a cookie, or any of secrets (in its URL, headers or body). The
// descriptions never include the secret.
func (c *Capture) Leaks(secrets ...string) []string {
	var out []string
	for _, r := range c.Requests() {
		where := r.Method + " " + strings.SplitN(r.URL, "?", 2)[0]
		for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization", "X-Auth-Key", "X-Auth-Email"} {
			if r.Header.Get(h) != "" {
				out = append(out, where+": "+h+" header")
			}
		}
		var all strings.Builder
		all.WriteString(r.URL)
		for k, vs := range r.Header {
			all.WriteString("\n" + k + ": " + strings.Join(vs, ","))
		}
		all.WriteString("\n")
		all.Write(r.Body)
		text := all.String()
		if unescaped, err := url.QueryUnescape(text); err == nil {
			text += "\n" + unescaped
		}
		for i, sec := range secrets {
			if len(sec) >= 4 && strings.Contains(text, sec) {
				out = append(out, fmt.Sprintf("%s: secret #%d", where, i+1))
			}
		}
	}
	return out
}

// Close stops the Capture.
func (c *Capture) Close() { _ = c.srv.Close() }

// caKeys is the simulation CA, kept to sign Capture certificates.
type caKeys struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
}

// IssuedTokens returns every Graph access token issued so far, so tests
// can assert that none of them leaks.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.tokens))
	for tok := range s.tokens {
		out = append(out, tok)
	}
	return out
}
