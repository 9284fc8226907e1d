package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/transport"
	"github.com/driftd/driftd/notify"
)

// Request headers driftd sets.
const (
	// SignatureHeader carries "sha256=" and the lower-case hex
	// HMAC-SHA256 of the exact body under the route's secret.
	SignatureHeader = "X-Driftd-Signature"
	// VersionHeader carries the document's schema version.
	VersionHeader = "X-Driftd-Version"
)

// defaultTimeout bounds one delivery when the caller gives no client.
const defaultTimeout = 30 * time.Second

// maxRetryAfter bounds the wait a receiver can ask for.
const maxRetryAfter = 24 * time.Hour

// Notifier delivers documents to one webhook route. It never retries:
// every failure is returned as a *notify.SendError for the dispatcher to
// judge. Neither the URL nor a header value nor the secret ever appears
// in an error: the URL may only be named by its host.
type Notifier struct {
	route  config.WebhookRoute
	client *http.Client
	now    func() time.Time
}

// New returns the notifier of route. client carries timeouts, proxy and
// TLS settings; nil means a plain client with a 30 s timeout.
func New(route config.WebhookRoute, client *http.Client) *Notifier {
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	return &Notifier{route: route, client: client, now: time.Now}
}

// Format prints the route's name only: fmt would print the unexported
// route field, secrets included, without their redaction.
func (n *Notifier) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "webhook notifier %q", n.route.Name)
}

// Transport is "webhook".
func (n *Notifier) Transport() string { return config.TransportWebhook }

// Destination names where the route's documents go, for pacing, by a
// hash of the URL (which is a secret).
func (n *Notifier) Destination() string {
	sum := sha256.Sum256([]byte(n.route.URL.Reveal()))
	return "url:" + hex.EncodeToString(sum[:8])
}

// Render renders a stored batch as the one document it is delivered as.
func (n *Notifier) Render(b notify.Batch) ([][]byte, error) {
	body, err := Render(b)
	if err != nil {
		return nil, err
	}
	return [][]byte{body}, nil
}

// Sign returns the X-Driftd-Signature value of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Deliver POSTs one document. A 2xx answer is a delivery; 429 waits for
// Retry-After (seconds or an HTTP date); 408, 425, 5xx and network errors
// are retried with backoff; any other answer needs an operator.
func (n *Notifier) Deliver(ctx context.Context, body []byte) (string, error) {
	target := n.route.URL.Reveal()
	origin, err := transport.OriginOf(target)
	if err != nil {
		return "", &notify.SendError{Reason: "invalid URL", Permanent: true}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", &notify.SendError{Reason: "invalid URL", Permanent: true}
	}
	for name, v := range n.route.Headers {
		req.Header.Set(name, v.Reveal())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "driftd")
	req.Header.Set(VersionHeader, strconv.Itoa(Version))
	if !n.route.Secret.IsZero() {
		req.Header.Set(SignatureHeader, Sign([]byte(n.route.Secret.Reveal()), body))
	}

	// driftd's outbound policy: only the URL's own origin, so neither a
	// redirect nor anything else carries the document, its signature or
	// the headers elsewhere (or over plain http), and no Referer.
	hc := *n.client
	hc.Transport = transport.Guard(n.client.Transport, origin)
	hc.CheckRedirect = checkRedirect
	resp, err := hc.Do(req)
	if err != nil {
		return "", classifyError(err)
	}
	defer resp.Body.Close()
	// The answer's body is not used (it could echo a header); reading a
	// little of it lets the connection be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return "", classifyStatus(resp, n.now())
}

// checkRedirect follows a redirect only within the URL's origin
// (transport.CheckRedirect) and only if it keeps the POST and its body, as
// 307 and 308 do. A 301, 302 or 303 would be followed with a GET without
// the document, and a page answering that GET with 200 (a sign-in page,
// a moved endpoint's landing page) would have the batch marked as sent:
// such a redirect is the answer instead, a failure that needs an
// operator.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if err := transport.CheckRedirect(req, via); err != nil {
		return err
	}
	if req.Method != http.MethodPost {
		return http.ErrUseLastResponse
	}
	return nil
}

// classifyError names a failed round trip without its text, which holds
// the URL.
func classifyError(err error) *notify.SendError {
	var refused *transport.OriginError
	if errors.As(err, &refused) {
		// Names the location's host only; an operator must look at it.
		return &notify.SendError{Reason: refused.Error(), Permanent: true}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &notify.SendError{Reason: "canceled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &notify.SendError{Reason: "timeout"}
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return notify.NetworkError(urlErr.Err)
	}
	return notify.NetworkError(err)
}

// classifyStatus maps an answer's status to nil (delivered) or a
// SendError.
func classifyStatus(resp *http.Response, now time.Time) error {
	status := resp.StatusCode
	reason := fmt.Sprintf("HTTP %d", status)
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusTooManyRequests:
		return &notify.SendError{Reason: reason, RetryAfter: notify.RetryAfter(resp.Header.Get("Retry-After"), now, maxRetryAfter)}
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooEarly:
		return &notify.SendError{Reason: reason}
	}
	// A wrong URL, a refused key or signature, a document the receiver
	// will never accept: retrying soon will not help.
	return &notify.SendError{Reason: reason, Permanent: true}
}
