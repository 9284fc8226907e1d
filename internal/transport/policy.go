package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// driftd's outbound HTTP policy, the same for every client it builds
// (token endpoint, Graph, Cloudflare, Slack, OTLP/http):
//
//   - a request goes only to one of the client's configured origins
//     (scheme, host and port): a redirect, a paging link or anything else
//     pointing elsewhere is refused before a byte is sent, so credentials
//     never travel to another host or over plain http;
//   - no Referer header is ever sent;
//   - one response body is read up to MaxResponseBytes;
//   - one request, body included, takes at most RequestTimeout.

// MaxResponseBytes is the most driftd reads from one response body. The
// largest thing it reads is a Graph batch of provisioning schemas, well
// under a megabyte each; 8 MiB leaves room without letting a hostile or
// broken server fill the memory.
const MaxResponseBytes = 8 << 20

// RequestTimeout bounds one request from sending it to the last byte of
// its body, so a server that trickles a body costs one gap, not the run.
const RequestTimeout = 2 * time.Minute

// ErrBodyTooLarge is returned by a response body that exceeds
// MaxResponseBytes.
var ErrBodyTooLarge = fmt.Errorf("response body larger than %d MiB: driftd reads at most that much from one response", MaxResponseBytes>>20)

// OriginError is a request, redirect or link to an origin the client is
// not configured for. It names the host only: a URL's path or query may
// carry a secret (a webhook URL is one).
type OriginError struct {
	// Host is the refused destination, host[:port].
	Host string
	// Redirect is set when a server redirected there.
	Redirect bool
}

func (e *OriginError) Error() string {
	if e.Redirect {
		return fmt.Sprintf("refused a redirect to %s: driftd follows redirects only within the configured origin", e.Host)
	}
	return fmt.Sprintf("refused to send a request to %s: not the configured origin", e.Host)
}

// Origin is the canonical scheme://host:port of u, with the scheme's
// default port made explicit and the host lower-cased.
func Origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// OriginOf parses raw and returns its Origin.
func OriginOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("not an absolute URL")
	}
	return Origin(u), nil
}

// SameOrigin reports whether raw is an absolute URL on origin.
func SameOrigin(raw, origin string) bool {
	o, err := OriginOf(raw)
	return err == nil && o == origin
}

// Guard wraps base so that requests go only to the given origins (see
// Origin), carry no Referer, take at most RequestTimeout and read at most
// MaxResponseBytes of body. A nil base means http.DefaultTransport.
func Guard(base http.RoundTripper, origins ...string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	allowed := map[string]bool{}
	for _, o := range origins {
		allowed[o] = true
	}
	return &guard{base: base, allowed: allowed, timeout: RequestTimeout}
}

// GuardRedirects is Guard for a client whose destination is not known
// here (an OTLP endpoint may come from OTEL_* variables): any origin may
// be asked, but a redirect must stay on the origin it answers for.
func GuardRedirects(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &guard{base: base, timeout: RequestTimeout}
}

type guard struct {
	base    http.RoundTripper
	allowed map[string]bool
	timeout time.Duration
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if g.allowed != nil && !g.allowed[Origin(req.URL)] {
		closeBody(req)
		return nil, &OriginError{Host: req.URL.Host}
	}
	ctx, cancel := context.WithTimeout(req.Context(), g.timeout)
	out := req.Clone(ctx)
	out.Header.Del("Referer")
	if err := detachBody(out); err != nil {
		cancel()
		return nil, err
	}
	resp, err := g.base.RoundTrip(out)
	if err != nil {
		cancel()
		return nil, err
	}
	// Refuse an off-origin redirect here, below every client and SDK
	// redirect handler, so none of them can follow it; the error names
	// the location's host only.
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, err := resp.Location(); err == nil && Origin(loc) != Origin(req.URL) {
			_ = resp.Body.Close()
			cancel()
			return nil, &OriginError{Host: loc.Host, Redirect: true}
		}
	}
	resp.Body = &limitedBody{rc: resp.Body, left: MaxResponseBytes, done: cancel}
	return resp, nil
}

// detachBody gives the request a private copy of its body. An SDK retry
// handler rewinds and resends the body it passed in, while the HTTP/2
// transport may still be reading it for the attempt before (a server can
// answer 429 before it has read the upload): with a copy per attempt the
// two never share a reader. driftd's request bodies are small.
func detachBody(req *http.Request) error {
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxResponseBytes+1))
	_ = req.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	if len(body) > MaxResponseBytes {
		return fmt.Errorf("request body larger than %d MiB", MaxResponseBytes>>20)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
	return nil
}

// closeBody closes a request body that will not be sent, as a
// RoundTripper must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// limitedBody reads at most left bytes and ends the request's deadline
// when the body is finished or closed.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	done context.CancelFunc
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		return n, ErrBodyTooLarge
	}
	b.left -= int64(n)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("reading the response took longer than %s: %w", RequestTimeout, err)
	}
	return n, err
}

func (b *limitedBody) Close() error {
	err := b.rc.Close()
	b.done()
	return err
}

// Client returns an *http.Client over rt that follows a redirect only to
// the origin of the request it answers (and never more than five), and
// never sends a Referer. Use it over a Guard: the guard refuses other
// origins for any request, the client turns a refused redirect into a
// clear error rather than a request.
func Client(rt http.RoundTripper) *http.Client {
	return &http.Client{Transport: rt, CheckRedirect: CheckRedirect}
}

// CheckRedirect is the http.Client redirect rule of Client.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	if Origin(req.URL) != Origin(via[0].URL) {
		return &OriginError{Host: req.URL.Host, Redirect: true}
	}
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	req.Header.Del("Referer")
	return nil
}
