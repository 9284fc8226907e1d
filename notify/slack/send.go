package slack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/transport"
	"github.com/driftd/driftd/notify"
)

// defaultTimeout bounds one delivery when the caller gives no client.
const defaultTimeout = 30 * time.Second

// Notifier delivers payloads to one Slack route. It never retries: every
// failure is returned as a *notify.SendError for the dispatcher to judge.
type Notifier struct {
	route  config.SlackRoute
	client *http.Client
}

// New returns the notifier of route. client carries timeouts, proxy and
// TLS settings; nil means a plain client with a 30 s timeout.
func New(route config.SlackRoute, client *http.Client) *Notifier {
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	return &Notifier{route: route, client: client}
}

// Format prints the route's name only: fmt would print the unexported
// route field, secrets included, without their redaction.
func (n *Notifier) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "slack notifier %q", n.route.Name)
}

// Destination names where the route's messages land, for pacing: Slack
// allows about one message per second per channel, whichever route sends
// it. A webhook is identified by a hash of its URL, which is a secret.
func (n *Notifier) Destination() string {
	if n.route.UsesWebhook() {
		sum := sha256.Sum256([]byte(n.route.WebhookURL.Reveal()))
		return "webhook:" + hex.EncodeToString(sum[:8])
	}
	return "channel:" + strings.TrimPrefix(n.route.Channel, "#")
}

// Transport is "slack".
func (n *Notifier) Transport() string { return config.TransportSlack }

// Render renders a stored batch for the route, as Render does, into the
// messages Deliver sends: each a JSON notify.Payload.
func (n *Notifier) Render(b notify.Batch) ([][]byte, error) {
	payloads := Render(b, n.route)
	out := make([][]byte, 0, len(payloads))
	for _, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	return out, nil
}

// Deliver sends one message that Render returned (or that an older
// driftd stored rendered) with Send.
func (n *Notifier) Deliver(ctx context.Context, msg []byte) (string, error) {
	var p notify.Payload
	if err := json.Unmarshal(msg, &p); err != nil {
		return "", &notify.SendError{Reason: "stored message is not a Slack message", Permanent: true}
	}
	return n.Send(ctx, p)
}

// Send posts one message and returns its ts (bot token) or "" (webhook,
// which does not say). Every error is a *notify.SendError whose text
// holds no token and no webhook URL.
func (n *Notifier) Send(ctx context.Context, p notify.Payload) (string, error) {
	var blocks slackapi.Blocks
	if len(bytes.TrimSpace(p.Blocks)) > 0 && string(bytes.TrimSpace(p.Blocks)) != "null" {
		if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
			return "", &notify.SendError{Reason: "stored blocks are not valid Block Kit JSON", Permanent: true}
		}
	}

	// A per-send copy of the client whose transport notes the status and
	// error code of a failed response: slack-go discards webhook error
	// bodies ("no_service", "invalid_blocks"), which say what is wrong.
	// driftd's outbound policy: only the route's own origin, so neither
	// a redirect nor anything else carries the token or the webhook URL
	// elsewhere (or over plain http), and no Referer leaks the URL.
	target := apiURL(n.route.APIURL)
	if n.route.UsesWebhook() {
		target = n.route.WebhookURL.Reveal()
	}
	origin, err := transport.OriginOf(target)
	if err != nil {
		return "", &notify.SendError{Reason: "invalid URL", Permanent: true}
	}
	rec := &recorder{base: transport.Guard(n.client.Transport, origin)}
	hc := *n.client
	hc.Transport = rec
	hc.CheckRedirect = transport.CheckRedirect

	if n.route.UsesWebhook() {
		msg := &slackapi.WebhookMessage{Text: p.Text}
		if len(blocks.BlockSet) > 0 {
			msg.Blocks = &blocks
		}
		if err := slackapi.PostWebhookCustomHTTPContext(ctx, n.route.WebhookURL.Reveal(), &hc, msg); err != nil {
			return "", classify(err, rec)
		}
		return "", nil
	}

	// slack-go retries only when given OptionRetry or OptionRetryConfig;
	// neither is set, so each Send is exactly one request.
	api := slackapi.New(n.route.Token.Reveal(), slackapi.OptionAPIURL(apiURL(n.route.APIURL)), slackapi.OptionHTTPClient(&hc))
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(p.Text, false)}
	if len(blocks.BlockSet) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(blocks.BlockSet...))
	}
	_, ts, err := api.PostMessageContext(ctx, n.route.Channel, opts...)
	if err != nil {
		return "", classify(err, rec)
	}
	if ts == "" {
		// slack-go reports {"ok":false} without an error code, or a body
		// that is not Slack's at all, as success with no ts.
		return "", &notify.SendError{Reason: "unexpected response from Slack"}
	}
	return ts, nil
}

// apiURL is the configured Web API base; slack-go appends method names to
// it, so it must end with "/".
func apiURL(u string) string {
	if u == "" {
		return slackapi.APIURL
	}
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// recorder is an http.RoundTripper noting the last response's status,
// Retry-After and, for a failed response, its error code.
type recorder struct {
	base       http.RoundTripper
	status     int
	retryAfter time.Duration
	code       string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	r.status = resp.StatusCode
	r.retryAfter = 0
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
		r.retryAfter = time.Duration(s) * time.Second
	}
	r.code = ""
	if resp.StatusCode != http.StatusOK {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
		r.code = errorCode(string(head))
	}
	return resp, nil
}

// isCode reports whether s looks like a Slack error code
// ("channel_not_found"); only such codes are copied from a response into
// a reason.
func isCode(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// errorCode reads a Slack error code from a plain-text webhook error body
// or a JSON Web API one, or returns "".
func errorCode(body string) string {
	body = strings.TrimSpace(body)
	if strings.HasPrefix(body, "{") {
		var r struct {
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(body), &r) != nil {
			return ""
		}
		body = r.Error
	}
	if isCode(body) {
		return body
	}
	return ""
}

// permanentCode reports whether a Slack error code needs an operator:
// a bad or revoked credential, a channel driftd cannot post to, or a
// message Slack will never accept.
func permanentCode(code string) bool {
	switch code {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
		"no_permission", "missing_scope", "not_allowed_token_type", "team_access_not_granted",
		"ekm_access_denied", "restricted_action", "restricted_action_read_only_channel",
		"restricted_action_thread_only_channel", "restricted_action_non_threadable_channel",
		"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived",
		"invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "too_many_attachments",
		"invalid_arguments", "invalid_form_data", "invalid_charset", "invalid_payload",
		"invalid_post_type", "invalid_json", "json_not_object", "missing_post_type",
		// Incoming webhook errors.
		"no_service", "no_service_id", "no_team", "no_active_hooks", "invalid_token",
		"action_prohibited", "posting_to_general_channel_denied", "team_disabled", "user_not_found":
		return true
	}
	return false
}

func rateLimited(retryAfter time.Duration) *notify.SendError {
	return &notify.SendError{Reason: "rate_limited", RetryAfter: retryAfter}
}

// classify maps what slack-go returned to a SendError. It never copies an
// error's text, which for a transport failure contains the request URL
// (for a webhook, the secret): only status codes, Slack error codes and
// fixed phrases make up the reason.
func classify(err error, rec *recorder) *notify.SendError {
	var refused *transport.OriginError
	if errors.As(err, &refused) {
		// Names the location's host only; an operator must look at it.
		return &notify.SendError{Reason: refused.Error(), Permanent: true}
	}
	var limited *slackapi.RateLimitedError
	if errors.As(err, &limited) {
		return rateLimited(limited.RetryAfter)
	}
	if rec.status == http.StatusTooManyRequests {
		// slack-go fails to parse a Retry-After that is not whole seconds.
		return rateLimited(rec.retryAfter)
	}
	var status slackapi.StatusCodeError
	if errors.As(err, &status) {
		return httpStatus(status.Code, rec.code)
	}
	var api slackapi.SlackErrorResponse
	if errors.As(err, &api) {
		return slackCode(api.Err)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &notify.SendError{Reason: "canceled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &notify.SendError{Reason: "timeout"}
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		if urlErr.Op == "parse" {
			return &notify.SendError{Reason: "invalid URL", Permanent: true}
		}
		return network(urlErr.Err)
	}
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typeErr) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &notify.SendError{Reason: "unexpected response from Slack"}
	}
	return &notify.SendError{Reason: "delivery failed"}
}

func slackCode(code string) *notify.SendError {
	if !isCode(code) {
		code = "slack_error"
	}
	switch {
	case code == "ratelimited" || code == "rate_limited":
		return rateLimited(0)
	case permanentCode(code):
		return &notify.SendError{Reason: code, Permanent: true}
	}
	return &notify.SendError{Reason: code}
}

func httpStatus(status int, code string) *notify.SendError {
	reason := fmt.Sprintf("HTTP %d", status)
	switch {
	case status == http.StatusTooManyRequests:
		return rateLimited(0)
	case status >= 500:
		return &notify.SendError{Reason: reason}
	case code != "":
		// A webhook's 400/403/404/410 names its problem in the body.
		se := slackCode(code)
		if status >= 400 && status != http.StatusRequestTimeout && status != http.StatusTooEarly {
			se.Permanent = true
		}
		return se
	case status >= 400 && status != http.StatusRequestTimeout && status != http.StatusTooEarly:
		// A wrong api_url or webhook path: retrying soon will not help.
		return &notify.SendError{Reason: reason, Permanent: true}
	}
	return &notify.SendError{Reason: reason}
}

// network names a transport failure in a fixed phrase.
func network(err error) *notify.SendError { return notify.NetworkError(err) }
