// Package dispatch delivers the notification outbox. It is the one place
// that decides about retrying: transports only report what happened.
//
// Delivery is at-least-once: an item is marked sent only after the service
// confirmed it, so a duplicate can only happen if the process dies between
// that confirmation and the commit.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/notify"
)

// Sender is one route's transport. The outbox holds transport-neutral
// batches; the sender renders one when it is due, into the messages it
// is delivered as, and delivers them one at a time so that pacing and
// retrying stay here.
type Sender interface {
	// Transport names the transport ("slack", "webhook").
	Transport() string
	// Render turns a batch into the messages it is delivered as, in
	// order. It must be a pure function of the batch and the route's
	// configuration: a retry sends the same messages.
	Render(b notify.Batch) ([][]byte, error)
	// Deliver sends one rendered message and returns the service's ID
	// of it (Slack's ts), if any. Every error should be a
	// *notify.SendError, whose text holds no secret.
	Deliver(ctx context.Context, msg []byte) (string, error)
}

// destination is implemented by senders that know where their messages
// land (a Slack channel); pacing is per destination, else per route.
type destination interface {
	Destination() string
}

// Observer is told about delivery outcomes (metrics); it may be nil.
type Observer interface {
	NotificationResult(ctx context.Context, route, outcome string)
	SetPendingNotifications(route string, n int)
}

// Retry timing.
const (
	// MinInterval keeps at most about one message per second per
	// destination (channel), Slack's limit.
	MinInterval = time.Second
	// backoffBase and backoffCap bound retries of 5xx and network errors.
	backoffBase = 2 * time.Second
	backoffCap  = 5 * time.Minute
	// permanentRetry is how long a route with a configuration error
	// (bad token, unknown channel) waits between attempts: no hot loop,
	// but it recovers by itself once fixed, and at once after a reload.
	permanentRetry = time.Hour
)

// Dispatcher sends pending outbox items, oldest first per route. An item
// that renders as several messages is sent message by message, each
// paced and recorded: a retry resumes after the last one delivered.
type Dispatcher struct {
	Store    *store.Store
	Senders  map[string]Sender
	Logger   *slog.Logger
	Observer Observer
	// Tracer, when set, gets one span per delivery attempt.
	Tracer trace.Tracer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Pacer keeps the pace per destination. A daemon gives the same one
	// to each dispatcher it starts (one per reload), so a restart of the
	// dispatcher does not forget when a channel last got a message. Nil:
	// the dispatcher keeps its own.
	Pacer *Pacer

	mu           sync.Mutex
	lastProblem  map[string]string // route → permanent reason already logged
	pendingCount map[string]int
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// Run delivers until ctx is cancelled: whenever something is due, and
// whenever wake fires (a run queued new items). It returns when ctx ends;
// a send in flight is cancelled with it and stays pending.
func (d *Dispatcher) Run(ctx context.Context, wake <-chan struct{}) {
	for {
		next := d.DeliverDue(ctx)
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(d.now()), 10*time.Millisecond)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// DeliverDue makes one pass over the outbox and returns when the next
// pending item is due (zero if none is pending).
func (d *Dispatcher) DeliverDue(ctx context.Context) time.Time {
	pending, err := d.Store.Pending(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.logger().Error("reading the notification outbox", "error", err)
		}
		return d.now().Add(time.Minute)
	}
	routes, byRoute := store.ByRoute(pending)
	d.reportPending(byRoute)

	var next time.Time
	earliest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, route := range routes {
		if due := d.deliverRoute(ctx, route, byRoute[route]); !due.IsZero() {
			earliest(due)
		}
		if ctx.Err() != nil {
			return next
		}
	}
	return next
}

// deliverRoute sends a route's items in order, stopping at the first one
// that is not due or fails (order matters to readers), and returns when
// the route should be looked at again.
func (d *Dispatcher) deliverRoute(ctx context.Context, route string, items []store.OutboxItem) time.Time {
	sender, ok := d.Senders[route]
	if !ok {
		d.noteProblem(route, "route is not configured any more; its messages stay pending")
		return time.Time{}
	}
	pace := route
	if dest, ok := sender.(destination); ok {
		pace = dest.Destination()
	}
	for _, it := range items {
		now := d.now()
		if it.NextAttemptAt.After(now) {
			return it.NextAttemptAt
		}
		msgs, problem := messages(sender, it)
		if problem != "" {
			// Cannot happen for items this program wrote; keep it visible.
			d.markFailed(ctx, route, it, problem, true, now.Add(permanentRetry))
			d.noteProblem(route, problem)
			return now.Add(permanentRetry)
		}
		var remoteID string
		for part := it.PartsSent; part < len(msgs); part++ {
			now := d.now()
			if gap := d.pacer().since(pace, now); gap < MinInterval {
				return now.Add(MinInterval - gap)
			}
			id, err := d.send(ctx, sender, route, it, msgs[part])
			d.pacer().sent(pace, d.now())
			if err != nil {
				if ctx.Err() != nil {
					return time.Time{} // shutting down: the item stays pending as it was
				}
				return d.failure(ctx, route, it, err)
			}
			remoteID = id
			if part+1 < len(msgs) {
				if err := d.Store.MarkPartSent(context.WithoutCancel(ctx), it.ID, part+1, id); err != nil {
					d.logger().Error("recording a delivered notification", "route", route, "id", it.ID, "error", err)
					return d.now().Add(time.Minute)
				}
				it.PartsSent = part + 1
			}
		}
		if err := d.Store.MarkSent(context.WithoutCancel(ctx), it.ID, len(msgs), remoteID, d.now()); err != nil {
			d.logger().Error("recording a delivered notification", "route", route, "id", it.ID, "error", err)
			return d.now().Add(time.Minute)
		}
		d.clearProblem(route)
		if d.Observer != nil {
			d.Observer.NotificationResult(ctx, route, "sent")
		}
		d.logger().Info("notification sent", "route", route, "id", it.ID, "kind", it.Kind, "attempts", it.Attempts+1)
	}
	return time.Time{}
}

// messages renders an outbox item for its route's transport, or says why
// it cannot be sent. A batch is rendered now, with the route's current
// configuration; a message stored rendered by an older driftd is sent as
// it is, by the transport it was rendered for.
func messages(sender Sender, it store.OutboxItem) ([][]byte, string) {
	switch it.Format {
	case store.FormatBatch:
		b, err := notify.DecodeBatch(it.Payload)
		if err != nil {
			return nil, err.Error()
		}
		msgs, err := sender.Render(b)
		if err != nil {
			return nil, "rendering the notification failed"
		}
		return msgs, ""
	case store.FormatSlackMessage:
		if sender.Transport() != "slack" {
			return nil, "stored message was rendered for Slack; the route now uses " + sender.Transport()
		}
		var p notify.Payload
		if err := json.Unmarshal(it.Payload, &p); err != nil {
			return nil, "stored payload is unreadable"
		}
		return [][]byte{it.Payload}, ""
	}
	return nil, "stored notification has an unknown format"
}

// send delivers one message inside a "notify <route>" span.
func (d *Dispatcher) send(ctx context.Context, sender Sender, route string, it store.OutboxItem, msg []byte) (string, error) {
	if d.Tracer == nil {
		return sender.Deliver(ctx, msg)
	}
	ctx, span := d.Tracer.Start(ctx, "notify "+route, trace.WithAttributes(
		attribute.String("driftd.route", route), attribute.String("driftd.notification.kind", it.Kind),
		attribute.String("driftd.notification.transport", sender.Transport()),
		attribute.Int64("driftd.outbox_id", it.ID), attribute.Int("driftd.attempt", it.Attempts+1)))
	defer span.End()
	id, err := sender.Deliver(ctx, msg)
	if err != nil {
		// SendError texts are secret-free by contract.
		span.SetStatus(codes.Error, err.Error())
	}
	return id, err
}

// failure classifies a send error and schedules the next attempt.
func (d *Dispatcher) failure(ctx context.Context, route string, it store.OutboxItem, err error) time.Time {
	now := d.now()
	var se *notify.SendError
	if !errors.As(err, &se) {
		se = &notify.SendError{Reason: "delivery failed"}
	}
	var next time.Time
	switch {
	case se.RetryAfter > 0:
		next = now.Add(max(se.RetryAfter, MinInterval))
	case se.Permanent:
		next = now.Add(permanentRetry)
	default:
		backoff := backoffBase << min(it.Attempts, 10)
		next = now.Add(min(backoff, backoffCap))
	}
	d.markFailed(ctx, route, it, se.Reason, se.Permanent, next)
	if d.Observer != nil {
		d.Observer.NotificationResult(ctx, route, "failed")
	}
	if se.Permanent {
		d.noteProblem(route, se.Reason)
	} else {
		d.logger().Warn("notification not delivered; will retry", "route", route, "id", it.ID, "reason", se.Error(), "next_attempt", next.UTC().Format(time.RFC3339))
	}
	return next
}

func (d *Dispatcher) markFailed(ctx context.Context, route string, it store.OutboxItem, reason string, permanent bool, next time.Time) {
	if err := d.Store.MarkFailed(context.WithoutCancel(ctx), it.ID, reason, permanent, next); err != nil {
		d.logger().Error("recording a failed notification", "route", route, "id", it.ID, "error", err)
	}
}

// noteProblem logs a configuration problem once per route and reason.
func (d *Dispatcher) noteProblem(route, reason string) {
	d.mu.Lock()
	if d.lastProblem == nil {
		d.lastProblem = map[string]string{}
	}
	seen := d.lastProblem[route] == reason
	d.lastProblem[route] = reason
	d.mu.Unlock()
	if !seen {
		d.logger().Error("notification route needs attention; messages stay pending and are retried hourly or after a reload",
			"route", route, "reason", reason)
	}
}

func (d *Dispatcher) clearProblem(route string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.lastProblem, route)
}

func (d *Dispatcher) pacer() *Pacer {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.Pacer == nil {
		d.Pacer = &Pacer{}
	}
	return d.Pacer
}

// Pacer remembers when each destination was last sent a message. It is
// safe for concurrent use; the zero value is ready.
type Pacer struct {
	mu       sync.Mutex
	lastSent map[string]time.Time
}

// since is how long ago dest was last sent a message (MinInterval if
// never).
func (p *Pacer) since(dest string, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	last, ok := p.lastSent[dest]
	if !ok {
		return MinInterval
	}
	return now.Sub(last)
}

func (p *Pacer) sent(dest string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastSent == nil {
		p.lastSent = map[string]time.Time{}
	}
	p.lastSent[dest] = at
}

func (d *Dispatcher) reportPending(byRoute map[string][]store.OutboxItem) {
	if d.Observer == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pendingCount == nil {
		d.pendingCount = map[string]int{}
	}
	for route := range d.pendingCount {
		if _, ok := byRoute[route]; !ok {
			d.pendingCount[route] = 0
			d.Observer.SetPendingNotifications(route, 0)
		}
	}
	for route, items := range byRoute {
		d.pendingCount[route] = len(items)
		d.Observer.SetPendingNotifications(route, len(items))
	}
}
