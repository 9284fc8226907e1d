package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/storetest"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/slack"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

// A batch that Slack gets as several messages is one outbox row: a
// failure part-way resumes after the last message delivered, so no part
// is sent twice and none is lost, each paced.
func TestABatchOfSeveralMessagesResumesAfterTheLastDelivered(t *testing.T) {
	st := storetest.Open(t)
	srv := slacktest.NewServer(t)
	route := config.SlackRoute{Route: config.Route{Name: "security", Severity: checks.Medium}, Token: config.NewSecret(slacktest.DefaultToken),
		Channel: slacktest.DefaultChannel, APIURL: srv.URL()}
	b := notify.Batch{Kind: notify.KindFindings, Route: "security", RunID: 3, RunAt: time.Now().UTC()}
	for i := range 150 {
		r := checks.Resource{Side: snapshot.SideEntra, Kind: checks.KindAppRegistration, ID: fmt.Sprintf("app-%03d", i)}
		b.Items = append(b.Items, notify.Item{Event: notify.EventOpened, FirstSeen: b.RunAt, Finding: checks.Finding{
			CheckID: "ENTRA-APP-001", Severity: checks.High, Integration: "corp", Resource: r, Message: fmt.Sprintf("finding %03d", i),
			Fingerprint: checks.Fingerprint("ENTRA-APP-001", "corp", r, "")}})
	}
	sender := slack.New(route, nil)
	parts, err := sender.Render(b)
	if err != nil || len(parts) < 3 {
		t.Fatalf("rendered %d parts (%v); the test needs several", len(parts), err)
	}
	data, err := notify.EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Enqueue(context.Background(), time.Now(), []store.NewOutboxItem{{Route: "security", Kind: b.Kind, Format: store.FormatBatch, Payload: data}}); err != nil {
		t.Fatal(err)
	}
	// The first part goes through, the second fails once.
	srv.Script(slacktest.Response{}, slacktest.Response{Status: 500})
	d := &Dispatcher{Store: st, Senders: map[string]Sender{"security": sender}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go d.Run(ctx, nil)
	for {
		items, _ := st.Outbox(context.Background())
		if items[0].State == store.OutboxSent {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not delivered: %+v", items[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	msgs := srv.Messages()
	if len(msgs) != len(parts) {
		t.Fatalf("Slack got %d messages for %d parts", len(msgs), len(parts))
	}
	for i, m := range msgs {
		var want notify.Payload
		if err := json.Unmarshal(parts[i], &want); err != nil {
			t.Fatal(err)
		}
		if m.Text != want.Text {
			t.Errorf("part %d out of order or changed: %q", i, m.Text)
		}
		if i > 0 && m.At.Sub(msgs[i-1].At) < 900*time.Millisecond {
			t.Errorf("parts %d and %d only %s apart", i-1, i, m.At.Sub(msgs[i-1].At))
		}
	}
	if got := srv.Requests(); got != len(parts)+1 {
		t.Errorf("%d requests, want %d (one retry)", got, len(parts)+1)
	}
}
