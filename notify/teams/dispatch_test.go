package teams

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/dispatch"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/storetest"
	"github.com/driftd/driftd/notify"
)

func enqueue(t *testing.T, st *store.Store, routeName string, b notify.Batch) {
	t.Helper()
	data, err := notify.EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Enqueue(t.Context(), time.Now(), []store.NewOutboxItem{{Route: routeName, Kind: b.Kind, Format: store.FormatBatch, Payload: data}}); err != nil {
		t.Fatal(err)
	}
}

// A batch Teams gets as several posts is one outbox row: a failure
// part-way resumes after the last post delivered, none sent twice.
func TestDispatcherResumesAMultiPartBatch(t *testing.T) {
	st := storetest.Open(t)
	recv := newReceiver(t, reply{}, reply{status: 503})
	var sender dispatch.Sender = New(route(recv.URL()), nil)
	senders := map[string]dispatch.Sender{"sec-teams": sender}
	b := hostileBatch(20)
	parts, _ := sender.Render(b)
	if len(parts) < 2 {
		t.Fatalf("%d parts; the test needs several", len(parts))
	}
	enqueue(t, st, "sec-teams", b)
	d := &dispatch.Dispatcher{Store: st, Senders: senders}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	go d.Run(ctx, nil)
	for {
		items, _ := st.Outbox(t.Context())
		if items[0].State == store.OutboxSent {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not delivered: %+v", items[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	posts := recv.Posts()
	if len(posts) != len(parts) || recv.Requests() != len(parts)+1 {
		t.Fatalf("%d posts in %d requests for %d parts", len(posts), recv.Requests(), len(parts))
	}
	for i := range posts {
		if !bytes.Equal(posts[i], parts[i]) {
			t.Errorf("post %d out of order or changed", i+1)
		}
	}
}

// A deleted workflow is a permanent error that `driftd status` shows:
// the outbox row carries its reason, and never the URL.
func TestDispatcherRecordsAPermanentError(t *testing.T) {
	st := storetest.Open(t)
	recv := newReceiver(t, reply{status: 404})
	sender := New(route(recv.URL()), nil)
	enqueue(t, st, "sec-teams", representative())
	d := &dispatch.Dispatcher{Store: st, Senders: map[string]dispatch.Sender{"sec-teams": sender}}
	d.DeliverDue(t.Context())
	items, err := st.Pending(t.Context())
	if err != nil || len(items) != 1 {
		t.Fatalf("pending %v, %v", items, err)
	}
	it := items[0]
	if !it.Permanent || !strings.HasPrefix(it.LastError, "HTTP 404") || strings.Contains(it.LastError, canary) || it.NextAttemptAt.Before(time.Now().Add(50*time.Minute)) {
		t.Errorf("outbox row %+v", it)
	}
}
