package engine

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/dispatch"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/notify/slack"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

// withSlack adds a Slack route pointing at the fake and reloads the config.
func (h *harness) withSlack(t *testing.T, route string) {
	t.Helper()
	f, err := os.OpenFile(h.env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, route)
	f.Close()
	cfg, err := config.Load(h.env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	h.cfg = cfg
	h.eng.Notify = true
}

// deliverAll runs the dispatcher until the outbox is empty.
func deliverAll(t *testing.T, st *store.Store, cfg *config.Config) {
	t.Helper()
	senders := map[string]dispatch.Sender{}
	for _, r := range cfg.Notify.Slack {
		senders[r.Name] = slack.New(r, nil)
	}
	d := &dispatch.Dispatcher{Store: st, Senders: senders}
	deadline := time.Now().Add(20 * time.Second)
	for {
		d.DeliverDue(context.Background())
		pending, err := st.Pending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications still pending: %s", len(pending), pending[0].LastError)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSlackMessagesOverASequenceOfRuns(t *testing.T) {
	srv := slacktest.NewServer(t)
	h := newHarness(t, "drifted")
	h.withSlack(t, fmt.Sprintf(`
[[notify.slack]]
name = "security"
token = %q
channel = "#security-alerts"
api_url = %q
min_severity = "medium"
repeat_interval = "24h"
mention = "<!subteam^S0SEC>"
`, slacktest.DefaultToken, srv.URL()))

	// The runs' clock: in the past, so queued messages are due at once.
	clock := time.Now().Add(-10 * 24 * time.Hour)
	h.eng.Now = func() time.Time { return clock }
	step := func(name string, advance time.Duration) []slacktest.Message {
		t.Helper()
		before := len(srv.Messages())
		clock = clock.Add(advance)
		h.run()
		deliverAll(t, h.store, h.cfg)
		msgs := srv.Messages()[before:]
		t.Logf("%s: %d message(s)", name, len(msgs))
		return msgs
	}

	opened := step("drift found", 0)
	if batches(opened) != 1 {
		t.Fatalf("want one message (possibly split into parts) for the opened findings, got %d", len(opened))
	}
	var text, blocks string
	for _, m := range opened {
		text += m.Text + "\n"
		blocks += fmt.Sprint(m.Blocks)
	}
	if !strings.Contains(text, "ENTRA-APP-001") || !strings.Contains(text, "CF-IDP-001") || strings.Contains(text, "ENTRA-SCIM-002") {
		t.Errorf("opened message should hold medium+ findings only:\n%s", text)
	}
	if !strings.Contains(blocks, "<!subteam^S0SEC>") {
		t.Errorf("criticals should mention the team")
	}
	if got := step("unchanged", time.Hour); len(got) != 0 {
		t.Errorf("unchanged findings were sent again: %d messages", len(got))
	}
	h.setScenario(sim.Healthy)
	resolved := step("fixed", time.Hour)
	if len(resolved) != 1 || !strings.Contains(strings.ToLower(resolved[0].Text), "resolved") {
		t.Fatalf("want one resolved message, got %d", len(resolved))
	}
	h.setScenario(sim.Drifted)
	if got := step("broken again", time.Hour); batches(got) != 1 {
		t.Errorf("reopened: %d messages", len(got))
	}
	if got := step("next hour", time.Hour); len(got) != 0 {
		t.Errorf("no reminder before the repeat interval: %d", len(got))
	}
	reminder := step("a day later", 24*time.Hour)
	if batches(reminder) != 1 || !strings.Contains(reminder[0].Text, "reminder") {
		t.Errorf("want one reminder (possibly split into parts), got %d messages", len(reminder))
	}

	// driftd's own credentials stop working: after the repeat interval,
	// one "cannot audit" message per integration, then nothing.
	h.env.Server.InjectFault(sim.Fault{Service: "token", Status: 401})
	if got := step("auditor locked out", time.Hour); len(got) != 0 {
		t.Errorf("incomplete run must not notify right away: %d", len(got))
	}
	var cannot []slacktest.Message
	for _, m := range step("still locked out a day later", 25*time.Hour) {
		// The still-open findings are reminded too: they were not fixed.
		if strings.Contains(m.Text, "cannot audit") {
			cannot = append(cannot, m)
		}
	}
	if len(cannot) != 2 {
		t.Fatalf("want one cannot-audit message per integration, got %d", len(cannot))
	}
	for _, m := range cannot {
		if !strings.Contains(m.Text, "driftd cannot audit") || !strings.Contains(m.Text, "AADSTS") {
			t.Errorf("cannot-audit message should give the reason:\n%s", m.Text)
		}
	}
	if got := step("and the next run", time.Hour); len(got) != 0 {
		t.Errorf("cannot-audit repeated: %d", len(got))
	}
	if rejected := srv.Rejected(); len(rejected) != 0 {
		t.Errorf("Slack rejected %d messages: %v", len(rejected), rejected[0].Problems)
	}
}

// batches counts messages that start a batch: a long batch is split into
// parts headed "(1/N)", "(2/N)", ….
func batches(msgs []slacktest.Message) int {
	part := regexp.MustCompile(`\((\d+)/\d+\)`)
	n := 0
	for _, m := range msgs {
		header, _, _ := strings.Cut(m.Text, "\n")
		if p := part.FindStringSubmatch(header); p == nil || p[1] == "1" {
			n++
		}
	}
	return n
}
