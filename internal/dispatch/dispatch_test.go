package dispatch

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/logtest"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/storetest"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/slack"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

func setup(t *testing.T, token string) (*store.Store, *slacktest.Server, *Dispatcher, *logtest.Buffer) {
	t.Helper()
	st := storetest.Open(t)
	srv := slacktest.NewServer(t)
	route := config.SlackRoute{Route: config.Route{Name: "security", Severity: checks.Medium}, Token: config.NewSecret(token), Channel: slacktest.DefaultChannel, APIURL: srv.URL()}
	data, err := notify.EncodeBatch(notify.Batch{Kind: notify.KindTest, Route: "security", RunAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	items := []store.NewOutboxItem{{Route: "security", Kind: notify.KindTest, Format: store.FormatBatch, Payload: data}}
	if err := st.Enqueue(context.Background(), time.Now(), items); err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	d := &Dispatcher{Store: st, Senders: map[string]Sender{"security": slack.New(route, nil)}, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	return st, srv, d, logs
}

func TestRetriesHonourRetryAfterAndBackoff(t *testing.T) {
	st, srv, d, _ := setup(t, slacktest.DefaultToken)
	srv.Script(slacktest.Response{Status: 429, RetryAfter: "1"}, slacktest.Response{Status: 500}, slacktest.Response{})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { d.Run(ctx, nil); close(done) }()
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
	<-done

	if got := srv.Requests(); got != 3 {
		t.Errorf("want 3 attempts (429, 500, ok), got %d", got)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Errorf("want exactly one delivery, got %d", got)
	}
	items, _ := st.Outbox(context.Background())
	it := items[0]
	if it.RemoteID == "" || it.Attempts != 3 || it.SentAt == nil {
		t.Errorf("sent item: %+v", it)
	}
	// 429 asked for 1 s; the 500 was followed by a 2 s backoff.
	if took := it.SentAt.Sub(it.CreatedAt); took < 3*time.Second {
		t.Errorf("delivered after %s: retries came too fast", took)
	}
}

func TestConfigurationErrorsAreNotRetriedInAHotLoop(t *testing.T) {
	st, srv, d, logs := setup(t, "xoxb-wrong-token")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	d.Run(ctx, nil)

	if got := srv.Requests(); got != 1 {
		t.Errorf("invalid_auth retried %d times within 3 s", got)
	}
	pending, err := st.Pending(context.Background())
	if err != nil || len(pending) != 1 {
		t.Fatalf("the message must stay pending: %v %d", err, len(pending))
	}
	if !pending[0].Permanent || pending[0].LastError != "invalid_auth" || !pending[0].NextAttemptAt.After(time.Now().Add(50*time.Minute)) {
		t.Errorf("pending item %+v", pending[0])
	}
	if n := strings.Count(logs.String(), "needs attention"); n != 1 {
		t.Errorf("the problem should be logged once, logged %d times:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), "xoxb-wrong-token") {
		t.Errorf("log leaks the token")
	}

	// After the operator fixes the route (a reload), it goes out at once.
	if err := st.RetryNow(context.Background(), "security", time.Now()); err != nil {
		t.Fatal(err)
	}
	srv.SetToken("xoxb-wrong-token")
	d.DeliverDue(context.Background())
	if pending, _ := st.Pending(context.Background()); len(pending) != 0 {
		t.Errorf("not delivered after the fix: %+v", pending)
	}
}

func TestOnePerSecondPerRoute(t *testing.T) {
	st, srv, d, _ := setup(t, slacktest.DefaultToken)
	// Two more messages for the same route.
	p, _ := json.Marshal(notify.Payload{Text: "second"})
	q, _ := json.Marshal(notify.Payload{Text: "third"})
	if err := st.Enqueue(context.Background(), time.Now(), []store.NewOutboxItem{{Route: "security", Kind: "test", Format: store.FormatSlackMessage, Payload: p}, {Route: "security", Kind: "test", Format: store.FormatSlackMessage, Payload: q}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go d.Run(ctx, nil)
	for len(srv.Messages()) < 3 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	msgs := srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("delivered %d of 3", len(msgs))
	}
	for i := 1; i < len(msgs); i++ {
		if gap := msgs[i].At.Sub(msgs[i-1].At); gap < 900*time.Millisecond {
			t.Errorf("messages %d and %d only %s apart", i-1, i, gap)
		}
	}
	if msgs[1].Text != "second" || msgs[2].Text != "third" {
		t.Errorf("order not kept: %q, %q", msgs[1].Text, msgs[2].Text)
	}
}

func TestPacingIsPerChannelAcrossRoutes(t *testing.T) {
	st, srv, d, _ := setup(t, slacktest.DefaultToken)
	// A second route posting to the same channel.
	other := config.SlackRoute{Route: config.Route{Name: "other", Severity: checks.Medium}, Token: config.NewSecret(slacktest.DefaultToken), Channel: slacktest.DefaultChannel, APIURL: srv.URL()}
	d.Senders["other"] = slack.New(other, nil)
	p, _ := json.Marshal(notify.Payload{Text: "from the other route"})
	if err := st.Enqueue(context.Background(), time.Now(), []store.NewOutboxItem{{Route: "other", Kind: "test", Format: store.FormatSlackMessage, Payload: p}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go d.Run(ctx, nil)
	for len(srv.Messages()) < 2 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("delivered %d of 2", len(msgs))
	}
	if gap := msgs[1].At.Sub(msgs[0].At); gap < 900*time.Millisecond {
		t.Errorf("two routes posted to one channel %s apart", gap)
	}
}

func TestPaceSurvivesANewDispatcher(t *testing.T) {
	st, srv, d, _ := setup(t, slacktest.DefaultToken)
	p, _ := json.Marshal(notify.Payload{Text: "second"})
	if err := st.Enqueue(context.Background(), time.Now(), []store.NewOutboxItem{{Route: "security", Kind: "test", Format: store.FormatSlackMessage, Payload: p}}); err != nil {
		t.Fatal(err)
	}
	d.Pacer = &Pacer{}
	d.DeliverDue(context.Background())
	if got := len(srv.Messages()); got != 1 {
		t.Fatalf("first pass delivered %d, want 1", got)
	}
	// A reload replaces the dispatcher; the pace is handed over.
	next := &Dispatcher{Store: st, Senders: d.Senders, Pacer: d.Pacer}
	if due := next.DeliverDue(context.Background()); due.IsZero() || len(srv.Messages()) != 1 {
		t.Errorf("a new dispatcher sent to the channel at once (%d messages)", len(srv.Messages()))
	}
}

func TestRetryNowKeepsARetryAfter(t *testing.T) {
	st, srv, d, _ := setup(t, slacktest.DefaultToken)
	srv.Script(slacktest.Response{Status: 429, RetryAfter: "86400"}, slacktest.Response{Status: 429, RetryAfter: "86400"})
	d.DeliverDue(context.Background())
	// What a reload does: configuration errors are retried at once…
	if err := st.RetryNow(context.Background(), "security", time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(MinInterval)
	d.DeliverDue(context.Background())
	// …but the wait Slack asked for stands.
	if got := srv.Requests(); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
	pending, _ := st.Pending(context.Background())
	if len(pending) != 1 || !pending[0].NextAttemptAt.After(time.Now().Add(23*time.Hour)) {
		t.Errorf("pending %+v", pending)
	}
}
