// Package slacktest is a fake Slack for tests: chat.postMessage and
// incoming webhooks over real HTTP, validating every message against
// Slack's Block Kit limits as Slack would.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults the server accepts until told otherwise.
const (
	// DefaultToken is the bot token the server accepts.
	DefaultToken = "xoxb-0000-slacktest"
	// DefaultChannel is a channel ID the server knows; "#security-alerts"
	// and "security-alerts" are its names.
	DefaultChannel = "C123"
	// DefaultWebhookPath is the incoming webhook the server knows.
	DefaultWebhookPath = "/services/T0SLACKTEST/B0SLACKTEST/slacktestwebhooksecret"
)

// Transports, as recorded in Message.
const (
	TransportBot     = "bot"
	TransportWebhook = "webhook"
)

// Response is a scripted answer, used once, before normal handling. The
// zero Response means "handle this request normally".
type Response struct {
	// Status is the HTTP status (default 200, or 400 for a webhook
	// SlackError).
	Status int
	// RetryAfter, if set, is sent as the Retry-After header.
	RetryAfter string
	// SlackError, if set, is the error code: {"ok":false,"error":…} for
	// the Web API, the plain-text body for a webhook.
	SlackError string
}

// Message is one message the server accepted or rejected.
type Message struct {
	Transport string // TransportBot or TransportWebhook
	// Channel is the channel as sent (bot only).
	Channel string
	Text    string
	Blocks  []map[string]any
	At      time.Time
	// Error is the Slack error code of a rejected message.
	Error string
	// Problems says what about a rejected message broke Slack's limits.
	Problems []string
}

// Server is a fake Slack. It is safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	token    string
	channels map[string]string // name or ID → ID
	webhooks map[string]bool   // paths
	script   []Response
	messages []Message
	rejected []Message
	requests int
	posted   int
}

// NewServer starts a fake Slack, closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		token: DefaultToken,
		channels: map[string]string{
			DefaultChannel:     DefaultChannel,
			"#security-alerts": DefaultChannel,
			"security-alerts":  DefaultChannel,
		},
		webhooks: map[string]bool{DefaultWebhookPath: true},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/services/", s.handleWebhook)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down; later requests fail to connect.
func (s *Server) Close() { s.srv.Close() }

// URL is the Web API base, ending in "/api/".
func (s *Server) URL() string { return s.srv.URL + "/api/" }

// WebhookURL is the URL of the default incoming webhook.
func (s *Server) WebhookURL() string { return s.srv.URL + DefaultWebhookPath }

// AddWebhook makes the server accept an incoming webhook whose URL ends
// in secret, and returns that URL.
func (s *Server) AddWebhook(secret string) string {
	path := "/services/T0SLACKTEST/B0SLACKTEST/" + url.PathEscape(secret)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhooks[path] = true
	return s.srv.URL + path
}

// SetToken changes the one bot token the server accepts.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// AddChannel makes the server know a channel by its ID and names.
func (s *Server) AddChannel(id string, names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[id] = id
	for _, n := range names {
		s.channels[n] = id
	}
}

// Script queues responses used, one per request, before normal handling.
func (s *Server) Script(responses ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, responses...)
}

// Messages returns the accepted messages in arrival order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Rejected returns the messages refused for a bad token, an unknown
// channel or broken limits (not the scripted failures).
func (s *Server) Rejected() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.rejected...)
}

// Requests is how many HTTP requests arrived, scripted ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// next counts a request and returns its scripted response, if any.
func (s *Server) next() (Response, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if len(s.script) == 0 {
		return Response{}, false
	}
	r := s.script[0]
	s.script = s.script[1:]
	return r, r != Response{}
}

func (s *Server) reject(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected = append(s.rejected, m)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func apiError(w http.ResponseWriter, code string, problems []string) {
	body := map[string]any{"ok": false, "error": code}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = "[ERROR] " + p
		}
		body["errors"] = problems
		body["response_metadata"] = map[string]any{"messages": msgs}
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	scripted, ok := s.next()
	if ok {
		status := scripted.Status
		if status == 0 {
			status = http.StatusOK
		}
		if scripted.RetryAfter != "" {
			w.Header().Set("Retry-After", scripted.RetryAfter)
		}
		switch {
		case scripted.SlackError != "":
			writeJSON(w, status, map[string]any{"ok": false, "error": scripted.SlackError})
		case status == http.StatusTooManyRequests:
			writeJSON(w, status, map[string]any{"ok": false, "error": "ratelimited"})
		case status == http.StatusOK:
			writeJSON(w, status, map[string]any{"ok": true})
		default:
			// Slack answers 5xx with an HTML page.
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			_, _ = fmt.Fprintf(w, "<html><body>%d %s</body></html>", status, http.StatusText(status))
		}
		return
	}

	if r.URL.Path != "/api/chat.postMessage" {
		writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	if r.Method != http.MethodPost {
		apiError(w, "invalid_request_method", nil)
		return
	}

	var token, channel, text string
	var blocksRaw []byte
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body struct {
			Channel string          `json:"channel"`
			Text    string          `json:"text"`
			Blocks  json.RawMessage `json:"blocks"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			apiError(w, "invalid_json", nil)
			return
		}
		channel, text, blocksRaw = body.Channel, body.Text, body.Blocks
	} else {
		if err := r.ParseForm(); err != nil {
			apiError(w, "invalid_form_data", nil)
			return
		}
		token = r.PostForm.Get("token")
		channel, text = r.PostForm.Get("channel"), r.PostForm.Get("text")
		if b := r.PostForm.Get("blocks"); b != "" {
			blocksRaw = []byte(b)
		}
	}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && token == "" {
		token = bearer
	}

	m := Message{Transport: TransportBot, Channel: channel, Text: text, At: time.Now()}
	blocks, problems, code := parse(text, blocksRaw)
	m.Blocks = blocks

	s.mu.Lock()
	wantToken := s.token
	channelID, known := s.channels[channel]
	s.mu.Unlock()
	switch {
	case token == "":
		code, problems = "not_authed", nil
	case token != wantToken:
		code, problems = "invalid_auth", nil
	case channel == "":
		code, problems = "channel_not_found", nil
	case !known:
		code, problems = "channel_not_found", nil
	}
	if code != "" {
		m.Error, m.Problems = code, problems
		s.reject(m)
		apiError(w, code, problems)
		return
	}

	s.mu.Lock()
	s.posted++
	micros := 1_700_000_000_000_000 + int64(s.posted)*100
	ts := fmt.Sprintf("%d.%06d", micros/1_000_000, micros%1_000_000)
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": channelID, "ts": ts, "message": map[string]any{"text": text, "ts": ts}})
}

func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	scripted, ok := s.next()
	if ok {
		status := scripted.Status
		if status == 0 {
			status = http.StatusOK
			if scripted.SlackError != "" {
				status = http.StatusBadRequest
			}
		}
		if scripted.RetryAfter != "" {
			w.Header().Set("Retry-After", scripted.RetryAfter)
		}
		body := scripted.SlackError
		if body == "" {
			body = http.StatusText(status)
			if status == http.StatusOK {
				body = "ok"
			}
		}
		writeText(w, status, body)
		return
	}

	s.mu.Lock()
	known := s.webhooks[r.URL.EscapedPath()] || s.webhooks[r.URL.Path]
	s.mu.Unlock()
	if !known {
		writeText(w, http.StatusNotFound, "no_service")
		return
	}
	if r.Method != http.MethodPost {
		writeText(w, http.StatusMethodNotAllowed, "invalid_request_method")
		return
	}
	var body struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeText(w, http.StatusBadRequest, "invalid_payload")
		return
	}
	m := Message{Transport: TransportWebhook, Text: body.Text, At: time.Now()}
	blocks, problems, code := parse(body.Text, body.Blocks)
	m.Blocks = blocks
	if code != "" {
		m.Error, m.Problems = code, problems
		s.reject(m)
		writeText(w, http.StatusBadRequest, code)
		return
	}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	writeText(w, http.StatusOK, "ok")
}

// parse decodes and validates a message, returning its blocks and, when
// Slack would refuse it, the error code and the problems found.
func parse(text string, raw []byte) (blocks []map[string]any, problems []string, code string) {
	if s := strings.TrimSpace(string(raw)); s != "" && s != "null" {
		if err := json.Unmarshal(raw, &blocks); err != nil {
			return nil, []string{"blocks: not a JSON array of objects"}, "invalid_blocks_format"
		}
	}
	problems, code = check(text, blocks)
	return blocks, problems, code
}
