package teams

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// canary is the secret part of the test webhook URL; it must never
// appear in an error.
const canary = "CANARY-teams-5ig-9d1e"

// hookPath is a Workflows-like webhook path holding the canary.
const hookPath = "/workflows/6f1c/triggers/manual/paths/invoke?api-version=1&sig=" + canary

// reply is one scripted answer of the receiver.
type reply struct {
	status     int
	retryAfter string
	location   string
}

// receiver is a fake Teams Workflows webhook: it validates every POST as
// Teams would need it and answers from a script (then 202).
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	script   []reply
	requests int
	posts    [][]byte // accepted bodies
}

func newReceiver(t *testing.T, script ...reply) *receiver {
	r := &receiver{t: t, script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + hookPath }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || req.URL.Query().Get("sig") != canary {
		r.t.Errorf("request %s %s (Content-Type %q)", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	if req.Header.Get("Referer") != "" {
		r.t.Errorf("Referer sent")
	}
	for _, p := range validate(body) {
		r.t.Errorf("post %d: %s", r.requests, p)
	}
	if len(r.script) > 0 {
		next := r.script[0]
		r.script = r.script[1:]
		if next.retryAfter != "" {
			w.Header().Set("Retry-After", next.retryAfter)
		}
		if next.location != "" {
			w.Header().Set("Location", next.location)
		}
		if next.status != 0 && next.status != http.StatusAccepted {
			w.WriteHeader(next.status)
			// Teams' error bodies may echo the request; driftd must not
			// copy them.
			fmt.Fprintf(w, `{"error":{"code":"WorkflowNotFound","message":"%s"}}`, req.URL.String())
			return
		}
	}
	r.posts = append(r.posts, body)
	w.WriteHeader(http.StatusAccepted)
}

func (r *receiver) Posts() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.posts...)
}

func (r *receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// The Adaptive Card 1.4 elements and actions driftd uses, with the
// properties schema 1.4 defines for them (the subset driftd sets).
var allowedKeys = map[string][]string{
	"AdaptiveCard":   {"$schema", "type", "version", "body", "actions"},
	"TextBlock":      {"type", "text", "wrap", "weight", "size", "color", "isSubtle", "spacing", "separator"},
	"Container":      {"type", "items", "style", "spacing", "separator"},
	"FactSet":        {"type", "facts", "spacing", "separator"},
	"ActionSet":      {"type", "actions", "spacing", "separator"},
	"Action.OpenUrl": {"type", "title", "url"},
}

var allowedValues = map[string][]string{
	"color":   {"default", "dark", "light", "accent", "good", "warning", "attention"},
	"style":   {"default", "emphasis", "good", "attention", "warning", "accent"},
	"weight":  {"default", "lighter", "bolder"},
	"size":    {"default", "small", "medium", "large", "extraLarge"},
	"spacing": {"default", "none", "small", "medium", "large", "extraLarge", "padding"},
}

var atTag = regexp.MustCompile(`(?i)<\s*/?\s*at\b`)

// validate lists what is wrong with a POST body for a Teams Workflows
// webhook expecting an Adaptive Card 1.4 message.
func validate(body []byte) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(body) > MaxBody {
		bad("body is %d bytes, over %d", len(body), MaxBody)
	}
	if atTag.Match(body) {
		bad("body holds an <at> mention")
	}
	var msg map[string]any
	if err := json.Unmarshal(body, &msg); err != nil {
		return append(problems, "not JSON: "+err.Error())
	}
	if len(msg) != 2 || msg["type"] != "message" {
		bad("envelope is not {type: message, attachments}: %v", keys(msg))
	}
	atts, _ := msg["attachments"].([]any)
	if len(atts) != 1 {
		return append(problems, fmt.Sprintf("%d attachments, want 1", len(atts)))
	}
	att, _ := atts[0].(map[string]any)
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" {
		bad("contentType %v", att["contentType"])
	}
	if v, ok := att["contentUrl"]; !ok || v != nil {
		bad("contentUrl is %v, want null", v)
	}
	if len(att) != 3 {
		bad("attachment keys %v", keys(att))
	}
	c, _ := att["content"].(map[string]any)
	if c["type"] != "AdaptiveCard" || c["version"] != "1.4" || c["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
		bad("card type %v version %v schema %v", c["type"], c["version"], c["$schema"])
	}
	checkKeys := func(typ string, obj map[string]any) {
		allowed, ok := allowedKeys[typ]
		if !ok {
			bad("element type %q is not one driftd uses", typ)
			return
		}
		for k, v := range obj {
			if !contains(allowed, k) {
				bad("%s has property %q", typ, k)
			}
			if vals, ok := allowedValues[k]; ok && !contains(vals, fmt.Sprint(v)) {
				bad("%s.%s is %v", typ, k, v)
			}
		}
	}
	checkKeys("AdaptiveCard", c)
	walkActions := func(list any, where string) {
		arr, ok := list.([]any)
		if !ok {
			bad("%s.actions is not an array", where)
			return
		}
		for _, a := range arr {
			obj, _ := a.(map[string]any)
			typ, _ := obj["type"].(string)
			if typ != "Action.OpenUrl" {
				bad("action type %q", typ)
			}
			checkKeys(typ, obj)
			if u, _ := obj["url"].(string); !strings.HasPrefix(u, "https://") {
				bad("action url %q", u)
			}
			if t, _ := obj["title"].(string); t == "" {
				bad("action without title")
			}
		}
	}
	var walk func(list any, where string)
	walk = func(list any, where string) {
		arr, ok := list.([]any)
		if !ok || len(arr) == 0 {
			bad("%s is not a non-empty array", where)
			return
		}
		for _, e := range arr {
			obj, _ := e.(map[string]any)
			typ, _ := obj["type"].(string)
			checkKeys(typ, obj)
			switch typ {
			case "TextBlock":
				if t, _ := obj["text"].(string); strings.TrimSpace(t) == "" {
					bad("empty TextBlock")
				}
			case "Container":
				walk(obj["items"], "Container.items")
			case "FactSet":
				facts, _ := obj["facts"].([]any)
				if len(facts) == 0 {
					bad("empty FactSet")
				}
				for _, f := range facts {
					fm, _ := f.(map[string]any)
					if _, ok := fm["title"].(string); !ok || len(fm) != 2 {
						bad("fact %v", fm)
					}
					if v, _ := fm["value"].(string); v == "" {
						bad("fact without value")
					}
				}
			case "ActionSet":
				walkActions(obj["actions"], "ActionSet")
			}
		}
	}
	walk(c["body"], "body")
	walkActions(c["actions"], "card")
	return problems
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// texts is every TextBlock text and fact of a post, in order, one per
// line.
func texts(t *testing.T, body []byte) string {
	t.Helper()
	var msg struct {
		Attachments []struct {
			Content card `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func([]element)
	walk = func(els []element) {
		for _, e := range els {
			if e.Text != "" {
				b.WriteString(e.Text + "\n")
			}
			for _, f := range e.Facts {
				b.WriteString(f.Title + ": " + f.Value + "\n")
			}
			walk(e.Items)
		}
	}
	walk(msg.Attachments[0].Content.Body)
	return b.String()
}

// header is a post's first TextBlock.
func header(t *testing.T, body []byte) string {
	t.Helper()
	return strings.SplitN(texts(t, body), "\n", 2)[0]
}
