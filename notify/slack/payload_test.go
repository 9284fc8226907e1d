package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name; -update rewrites the file.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./notify/slack -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./notify/slack -update to accept):\n%s", name, got)
	}
}

// posted is one request as it reached the Slack endpoint.
type posted struct {
	path, contentType string
	body              []byte
}

// postedTo starts an endpoint answering as Slack does and recording
// every request exactly as it arrived.
func postedTo(t *testing.T) (*httptest.Server, func() []posted) {
	t.Helper()
	var mu sync.Mutex
	var got []posted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, posted{path: r.URL.Path, contentType: r.Header.Get("Content-Type"), body: b})
		mu.Unlock()
		if r.URL.Path == "/api/chat.postMessage" {
			_, _ = io.WriteString(w, `{"ok":true,"channel":"C123","ts":"1700000000.000100"}`)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []posted {
		mu.Lock()
		defer mu.Unlock()
		return append([]posted(nil), got...)
	}
}

// goldenBatch is a representative batch: a critical that opened (so the
// route's mention is added) with who changed it, a reminder, a resolved
// finding and an attribution update for a finding reported earlier.
func goldenBatch() notify.Batch {
	opened := appFinding(checks.Critical, "ENTRA-CRED-001", "client secret expired")
	opened.Changes = changesAt(2)
	opened.Changes[0].IP = "203.0.113.7"
	attributed := appFinding(checks.High, "ENTRA-APP-001", "the Web redirect URI is missing")
	attributed.Changes = []finding.Change{{Source: snapshot.SideEntra, At: firstSeen().Add(-20 * time.Minute), Activity: "Update application",
		Actor: "Terraform CI", ActorType: finding.ActorApp, ActorID: "99999999-8888-7777-6666-555555555555", Target: appID,
		Modified: []finding.ModifiedProperty{{Name: "AppAddress", Old: `["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]`, New: "[]"}}}}
	return batch(
		notify.Item{Event: notify.EventResolved, Finding: idpFinding(checks.Medium), FirstSeen: firstSeen()},
		notify.Item{Event: notify.EventReminder, Finding: scimFinding(checks.High), FirstSeen: firstSeen()},
		notify.Item{Event: notify.EventOpened, Finding: opened, FirstSeen: runAt()},
		notify.Item{Event: notify.EventAttributed, Finding: attributed, FirstSeen: firstSeen()},
	)
}

// deliver sends b the way the dispatcher does: the route's Render, then
// Deliver for each message.
func deliver(t *testing.T, route config.SlackRoute, b notify.Batch) {
	t.Helper()
	n := New(route, nil)
	msgs, err := n.Render(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if _, err := n.Deliver(t.Context(), msgs[0]); err != nil {
		t.Fatal(err)
	}
}

func indent(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// TestPayloadGolden pins the message as POSTed to Slack, for a bot token
// (chat.postMessage, a form whose blocks field is the Block Kit JSON)
// and for an incoming webhook (a JSON body). Both carry the same text and
// blocks; the golden files show each exactly as it travels.
func TestPayloadGolden(t *testing.T) {
	srv, requests := postedTo(t)
	route := testRoute()
	route.Token, route.Channel, route.APIURL = config.NewSecret(slacktest.DefaultToken), "#security-alerts", srv.URL+"/api/"
	deliver(t, route, goldenBatch())
	hook := testRoute()
	hook.WebhookURL = config.NewSecret(srv.URL + slacktest.DefaultWebhookPath)
	deliver(t, hook, goldenBatch())

	got := requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	bot, webhook := got[0], got[1]

	// The bot's form, as JSON with the blocks field decoded; the token is
	// checked here and kept out of the file.
	if bot.path != "/api/chat.postMessage" || bot.contentType != "application/x-www-form-urlencoded" {
		t.Fatalf("bot request to %s as %s", bot.path, bot.contentType)
	}
	form, err := url.ParseQuery(string(bot.body))
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("token") != slacktest.DefaultToken {
		t.Errorf("token %q", form.Get("token"))
	}
	keys := slices.Sorted(maps.Keys(form))
	if want := []string{"blocks", "channel", "text", "token"}; !slices.Equal(keys, want) {
		t.Errorf("form fields %v, want %v", keys, want)
	}
	fields, err := json.Marshal(struct {
		Channel string          `json:"channel"`
		Text    string          `json:"text"`
		Blocks  json.RawMessage `json:"blocks"`
	}{form.Get("channel"), form.Get("text"), json.RawMessage(form.Get("blocks"))})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "payload.golden", indent(t, fields))

	if webhook.path != slacktest.DefaultWebhookPath || webhook.contentType != "application/json" {
		t.Fatalf("webhook request to %s as %s", webhook.path, webhook.contentType)
	}
	golden(t, "payload_webhook.golden", indent(t, webhook.body))

	// One rendering, two envelopes: the same text and blocks, which
	// Slack accepts.
	var hookBody struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(webhook.body, &hookBody); err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal([]byte(form.Get("blocks")), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(hookBody.Blocks, &b); err != nil {
		t.Fatal(err)
	}
	if hookBody.Text != form.Get("text") || !reflect.DeepEqual(a, b) {
		t.Error("the bot and the webhook were sent different messages")
	}
	if problems := slacktest.Validate(hookBody.Text, hookBody.Blocks); problems != nil {
		t.Errorf("Slack would refuse the golden message: %v", problems)
	}
}
