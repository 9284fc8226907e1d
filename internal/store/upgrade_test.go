package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/dispatch"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/slack"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

// outboxV2Version is the schema version whose outbox held rendered Slack
// messages, one row per message.
const outboxV2Version = 2

// writeV2Database creates, in dir, the database a driftd at schema
// version 2 left: its migrations only, and the rows its planner queued
// (one per rendered Slack message, as json.Marshal(notify.Payload)) and
// its dispatcher marked sent.
func writeV2Database(t *testing.T, dir string, rows [][]byte, sent int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName)+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, m := range store.MigrationsForTest()[:outboxV2Version] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", outboxV2Version)); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	for i, payload := range rows {
		state, remote := "pending", ""
		var sentAt any
		if i < sent {
			state, remote, sentAt = "sent", fmt.Sprintf("1700000000.%06d", i), at
		}
		// The INSERT of version 2's planner, and MarkSent's columns.
		if _, err := db.Exec(`INSERT INTO outbox (route, kind, run_id, created_at, payload, state, next_attempt_at, remote_id, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			"security", notify.KindFindings, 7, at, payload, state, at, remote, sentAt); err != nil {
			t.Fatal(err)
		}
	}
}

func legacyFindings(n int) notify.Batch {
	b := notify.Batch{Kind: notify.KindFindings, Route: "security", RunID: 7, RunAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), AccountID: "0123456789abcdef0123456789abcdef"}
	for i := range n {
		r := checks.Resource{Side: snapshot.SideEntra, Kind: checks.KindAppRegistration, ID: fmt.Sprintf("11111111-2222-3333-4444-%012d", i), Name: fmt.Sprintf("App %d", i)}
		f := checks.Finding{CheckID: "ENTRA-APP-001", Severity: checks.High, Integration: "corp-sso", Resource: r,
			Message: fmt.Sprintf("App registration %d lacks the redirect URI", i), Expected: "the callback", Actual: "none",
			Remediation: "Add the redirect URI.", Fingerprint: checks.Fingerprint("ENTRA-APP-001", "corp-sso", r, "")}
		b.Items = append(b.Items, notify.Item{Event: notify.EventOpened, Finding: f, FirstSeen: b.RunAt})
	}
	return b
}

// Rows queued by driftd at schema version 2 — rendered Slack messages —
// are delivered after the upgrade exactly as that version would have sent
// them: each once, in order, unchanged; rows already sent are not sent
// again.
func TestOutboxRowsOfSchemaVersion2AreDeliveredAfterTheUpgrade(t *testing.T) {
	srv := slacktest.NewServer(t)
	route := config.SlackRoute{Route: config.Route{Name: "security", Severity: checks.Medium}, Token: config.NewSecret(slacktest.DefaultToken),
		Channel: slacktest.DefaultChannel, APIURL: srv.URL(), Mention: "<!subteam^S0SEC>"}
	// A batch long enough to be split into several messages, rendered
	// as version 2 rendered it before queueing.
	payloads := slack.Render(legacyFindings(150), route)
	if len(payloads) < 3 {
		t.Fatalf("the batch rendered as %d messages; the test needs several", len(payloads))
	}
	var rows [][]byte
	for _, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, data)
	}
	dir := t.TempDir()
	writeV2Database(t, dir, rows, 1)

	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pending, err := st.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != len(rows)-1 {
		t.Fatalf("%d rows pending after the upgrade, want %d", len(pending), len(rows)-1)
	}
	for _, it := range pending {
		if it.Format != store.FormatSlackMessage || it.PartsSent != 0 {
			t.Errorf("upgraded row %d: format %q, parts sent %d", it.ID, it.Format, it.PartsSent)
		}
	}

	d := &dispatch.Dispatcher{Store: st, Senders: map[string]dispatch.Sender{"security": slack.New(route, nil)}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		d.DeliverDue(ctx)
		if p, _ := st.Pending(ctx); len(p) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("upgraded rows not delivered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	msgs := srv.Messages()
	if len(msgs) != len(rows)-1 {
		t.Fatalf("Slack got %d messages, want %d", len(msgs), len(rows)-1)
	}
	for i, m := range msgs {
		want := payloads[i+1]
		if m.Text != want.Text {
			t.Errorf("message %d text changed:\n got %q\nwant %q", i, m.Text, want.Text)
		}
		var blocks []map[string]any
		if err := json.Unmarshal(want.Blocks, &blocks); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.Blocks, blocks) {
			t.Errorf("message %d blocks changed", i)
		}
	}
	if rejected := srv.Rejected(); len(rejected) != 0 {
		t.Errorf("Slack rejected %d messages", len(rejected))
	}
	all, _ := st.Outbox(ctx)
	for _, it := range all {
		if it.State != store.OutboxSent || it.RemoteID == "" {
			t.Errorf("row %d: %+v", it.ID, it)
		}
	}
}
