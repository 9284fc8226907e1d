package teams

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/transport"
	"github.com/driftd/driftd/notify"
)

// defaultTimeout bounds one delivery when the caller gives no client.
const defaultTimeout = 30 * time.Second

// maxRetryAfter bounds the wait Teams can ask for.
const maxRetryAfter = 24 * time.Hour

// Notifier delivers cards to one Teams route. It never retries: every
// failure is returned as a *notify.SendError for the dispatcher to judge.
// The webhook URL is a secret (its sig= parameter authorises the post):
// no error names it, not even by its host.
type Notifier struct {
	route  config.TeamsRoute
	client *http.Client
	now    func() time.Time
}

// New returns the notifier of route. client carries timeouts, proxy and
// TLS settings; nil means a plain client with a 30 s timeout.
func New(route config.TeamsRoute, client *http.Client) *Notifier {
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	return &Notifier{route: route, client: client, now: time.Now}
}

// Format prints the route's name only: fmt would print the unexported
// route field, URL included, without its redaction.
func (n *Notifier) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "teams notifier %q", n.route.Name)
}

// Transport is "teams".
func (n *Notifier) Transport() string { return config.TransportTeams }

// Destination names where the route's cards land, for pacing, by a hash
// of the URL: two routes posting to the same workflow share its pace.
func (n *Notifier) Destination() string {
	sum := sha256.Sum256([]byte(n.route.WebhookURL.Reveal()))
	return "teams:" + hex.EncodeToString(sum[:8])
}

// Render renders a stored batch as the posts it is delivered as.
func (n *Notifier) Render(b notify.Batch) ([][]byte, error) {
	return Render(b), nil
}

// Deliver POSTs one card message. A 2xx answer (Workflows answers 202
// Accepted) is a delivery; 429 waits for Retry-After (seconds or an HTTP
// date); 408, 425, 5xx and network errors are retried with backoff; any
// other answer (a deleted workflow's 404, a refused 400/401/403) needs an
// operator.
func (n *Notifier) Deliver(ctx context.Context, body []byte) (string, error) {
	target := n.route.WebhookURL.Reveal()
	origin, err := transport.OriginOf(target)
	if err != nil {
		return "", &notify.SendError{Reason: "invalid URL", Permanent: true}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", &notify.SendError{Reason: "invalid URL", Permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "driftd")

	// driftd's outbound policy: only the URL's own origin, no Referer;
	// and no redirect at all, since a workflow URL never moves and a
	// redirected POST may lose its body (or land on a sign-in page).
	hc := *n.client
	hc.Transport = transport.Guard(n.client.Transport, origin)
	hc.CheckRedirect = checkRedirect
	resp, err := hc.Do(req)
	if err != nil {
		return "", classifyError(err)
	}
	defer resp.Body.Close()
	// The answer's body is not used (it may echo the request); reading a
	// little of it lets the connection be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return "", classifyStatus(resp, n.now())
}

// checkRedirect refuses an off-origin redirect with the policy's error
// and stops at any other: the 3xx is the answer, a failure.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if err := transport.CheckRedirect(req, via); err != nil {
		return err
	}
	return http.ErrUseLastResponse
}

// classifyError names a failed round trip without its text, which holds
// the URL.
func classifyError(err error) *notify.SendError {
	var refused *transport.OriginError
	if errors.As(err, &refused) {
		// The error names a host, which for a workflow URL is just its
		// region's endpoint; say less anyway.
		if refused.Redirect {
			return &notify.SendError{Reason: "refused a redirect to another origin", Permanent: true}
		}
		return &notify.SendError{Reason: "refused a request to another origin", Permanent: true}
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
		return &notify.SendError{Reason: "rate_limited", RetryAfter: notify.RetryAfter(resp.Header.Get("Retry-After"), now, maxRetryAfter)}
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooEarly:
		return &notify.SendError{Reason: reason}
	case status >= 300 && status < 400:
		return &notify.SendError{Reason: reason + ": redirect not followed", Permanent: true}
	case status == http.StatusNotFound || status == http.StatusGone:
		return &notify.SendError{Reason: reason + ": webhook not found (was the workflow deleted or turned off?)", Permanent: true}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &notify.SendError{Reason: reason + ": webhook refused the request (check its URL and the workflow's permissions)", Permanent: true}
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge:
		return &notify.SendError{Reason: reason + ": card refused", Permanent: true}
	}
	return &notify.SendError{Reason: reason, Permanent: true}
}
