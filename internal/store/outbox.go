package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Outbox item states.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
)

// Outbox payload formats.
const (
	// FormatBatch is a transport-neutral batch (notify.EncodeBatch),
	// rendered by the route's transport when it is sent.
	FormatBatch = "batch"
	// FormatSlackMessage is one rendered Slack message (notify.Payload),
	// as versions of driftd before FormatBatch stored them.
	FormatSlackMessage = "slack_message"
)

// OutboxItem is one batch (or, from older versions, one rendered
// message) waiting for (or done with) delivery.
type OutboxItem struct {
	ID        int64
	Route     string
	Kind      string
	RunID     int64
	CreatedAt time.Time
	// Format says what Payload holds: FormatBatch or FormatSlackMessage.
	Format  string
	Payload []byte
	// PartsSent counts the messages of the item already delivered: a
	// transport may send a batch as several messages.
	PartsSent     int
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	Permanent     bool
	RemoteID      string
	SentAt        *time.Time
}

// NewOutboxItem is a batch (or message) to enqueue.
type NewOutboxItem struct {
	Route string
	Kind  string
	// Format is FormatBatch, or FormatSlackMessage for a rendered Slack
	// message.
	Format  string
	Payload []byte
}

func (it NewOutboxItem) check() error {
	switch it.Format {
	case FormatBatch, FormatSlackMessage:
		return nil
	}
	return fmt.Errorf("queueing a notification: unknown format %q", it.Format)
}

// LogEntry is the last notification a route got about a subject (a
// finding's fingerprint, or "cannot-audit:<integration>").
type LogEntry struct {
	Event string
	At    time.Time
}

// LogUpdate sets a route's log entry for a subject; Delete removes it.
type LogUpdate struct {
	Route, Subject, Event string
	Delete                bool
}

// Health is whether an integration was fully audited lately.
type Health struct {
	// IncompleteSince is the start of the current stretch of incomplete
	// runs, or nil while the integration is fully audited.
	IncompleteSince *time.Time
	Reason          string
}

// PlanInput is what the notification planner sees, inside the run's
// transaction, after the lifecycle was applied.
type PlanInput struct {
	Run         Run
	Transitions []Transition
	// Open holds every finding open after this run.
	Open   []Finding
	Log    map[string]map[string]LogEntry // route → subject → entry
	Health map[string]Health              // integration → health
}

// Plan decides the messages to enqueue for a run; it must be a pure
// function of its input (it runs inside the transaction).
type Plan func(PlanInput) ([]NewOutboxItem, []LogUpdate)

// planInTx loads the rest of the planner's input, runs it and stores its
// output in tx.
func planInTx(ctx context.Context, tx *sql.Tx, plan Plan, run Run, transitions []Transition, open []Finding) error {
	log, err := loadLog(ctx, tx)
	if err != nil {
		return err
	}
	health, err := loadHealth(ctx, tx)
	if err != nil {
		return err
	}
	items, updates := plan(PlanInput{Run: run, Transitions: transitions, Open: open, Log: log, Health: health})
	at := formatTime(run.FinishedAt)
	for _, it := range items {
		if err := it.check(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (route, kind, run_id, created_at, format, payload, state, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			it.Route, it.Kind, run.ID, at, it.Format, it.Payload, OutboxPending, at); err != nil {
			return fmt.Errorf("queueing a notification: %w", err)
		}
	}
	for _, u := range updates {
		var err error
		if u.Delete {
			_, err = tx.ExecContext(ctx, `DELETE FROM notification_log WHERE route = ? AND subject = ?`, u.Route, u.Subject)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO notification_log (route, subject, last_event, last_notified_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (route, subject) DO UPDATE SET last_event = excluded.last_event, last_notified_at = excluded.last_notified_at`,
				u.Route, u.Subject, u.Event, at)
		}
		if err != nil {
			return fmt.Errorf("updating the notification log: %w", err)
		}
	}
	return nil
}

func loadLog(ctx context.Context, q queryer) (map[string]map[string]LogEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT route, subject, last_event, last_notified_at FROM notification_log`)
	if err != nil {
		return nil, fmt.Errorf("reading the notification log: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]LogEntry{}
	for rows.Next() {
		var route, subject, event, at string
		if err := rows.Scan(&route, &subject, &event, &at); err != nil {
			return nil, err
		}
		if out[route] == nil {
			out[route] = map[string]LogEntry{}
		}
		out[route][subject] = LogEntry{Event: event, At: parseTime(at)}
	}
	return out, rows.Err()
}

func loadHealth(ctx context.Context, q queryer) (map[string]Health, error) {
	rows, err := q.QueryContext(ctx, `SELECT integration, incomplete_since, reason FROM integration_health`)
	if err != nil {
		return nil, fmt.Errorf("reading integration health: %w", err)
	}
	defer rows.Close()
	out := map[string]Health{}
	for rows.Next() {
		var name, reason string
		var since sql.NullString
		if err := rows.Scan(&name, &since, &reason); err != nil {
			return nil, err
		}
		h := Health{Reason: reason}
		if since.Valid {
			t := parseTime(since.String)
			h.IncompleteSince = &t
		}
		out[name] = h
	}
	return out, rows.Err()
}

// updateHealth records, per integration, since when it has not been fully
// audited and why.
func updateHealth(ctx context.Context, tx *sql.Tx, at time.Time, status map[string]string) error {
	for name, reason := range status {
		var err error
		if reason == "" {
			_, err = tx.ExecContext(ctx, `INSERT INTO integration_health (integration, incomplete_since, reason) VALUES (?, NULL, '')
				ON CONFLICT (integration) DO UPDATE SET incomplete_since = NULL, reason = ''`, name)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO integration_health (integration, incomplete_since, reason) VALUES (?, ?, ?)
				ON CONFLICT (integration) DO UPDATE SET incomplete_since = COALESCE(integration_health.incomplete_since, excluded.incomplete_since), reason = excluded.reason`,
				name, formatTime(at), reason)
		}
		if err != nil {
			return fmt.Errorf("updating integration health: %w", err)
		}
	}
	return nil
}

// Enqueue queues messages that no run produced.
func (s *Store) Enqueue(ctx context.Context, at time.Time, items []NewOutboxItem) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, it := range items {
			if err := it.check(); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (route, kind, created_at, format, payload, state, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				it.Route, it.Kind, formatTime(at), it.Format, it.Payload, OutboxPending, formatTime(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

const outboxColumns = `id, route, kind, run_id, created_at, format, payload, parts_sent, state, attempts, next_attempt_at, last_error, permanent_error, remote_id, sent_at`

func scanOutbox(rows *sql.Rows) ([]OutboxItem, error) {
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		var it OutboxItem
		var created, next string
		var sent sql.NullString
		if err := rows.Scan(&it.ID, &it.Route, &it.Kind, &it.RunID, &created, &it.Format, &it.Payload, &it.PartsSent, &it.State, &it.Attempts, &next,
			&it.LastError, &it.Permanent, &it.RemoteID, &sent); err != nil {
			return nil, err
		}
		it.CreatedAt, it.NextAttemptAt = parseTime(created), parseTime(next)
		if sent.Valid {
			t := parseTime(sent.String)
			it.SentAt = &t
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Pending returns every undelivered message, oldest first.
func (s *Store) Pending(ctx context.Context) ([]OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE state = ? ORDER BY id`, OutboxPending)
	if err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	return scanOutbox(rows)
}

// ByRoute groups outbox items by route; routes come in the order of their
// first item, and each route's items keep their order.
func ByRoute(items []OutboxItem) (routes []string, byRoute map[string][]OutboxItem) {
	byRoute = map[string][]OutboxItem{}
	for _, it := range items {
		if _, ok := byRoute[it.Route]; !ok {
			routes = append(routes, it.Route)
		}
		byRoute[it.Route] = append(byRoute[it.Route], it)
	}
	return routes, byRoute
}

// Outbox returns every message, oldest first (for tests and tools).
func (s *Store) Outbox(ctx context.Context) ([]OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	return scanOutbox(rows)
}

// MarkSent records a delivery of all parts messages of an item. It is
// called only after the service confirmed the last of them.
func (s *Store) MarkSent(ctx context.Context, id int64, parts int, remoteID string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, parts_sent = ?, remote_id = ?, sent_at = ?, attempts = attempts + 1, last_error = '', permanent_error = 0
			WHERE id = ? AND state = ?`, OutboxSent, parts, remoteID, formatTime(at), id, OutboxPending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errors.New("outbox item is not pending")
		}
		return nil
	})
}

// MarkPartSent records that the first parts messages of a pending item
// were delivered (the last with remoteID); the item stays pending for
// the rest. It is called only after the service confirmed the message.
func (s *Store) MarkPartSent(ctx context.Context, id int64, parts int, remoteID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET parts_sent = ?, remote_id = ?, last_error = '', permanent_error = 0 WHERE id = ? AND state = ?`,
			parts, remoteID, id, OutboxPending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errors.New("outbox item is not pending")
		}
		return nil
	})
}

// MarkFailed records a failed attempt and when to try again.
func (s *Store) MarkFailed(ctx context.Context, id int64, reason string, permanent bool, next time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?, permanent_error = ?, next_attempt_at = ? WHERE id = ? AND state = ?`,
			reason, permanent, formatTime(next), id, OutboxPending)
		return err
	})
}

// RetryNow makes the pending messages of a route that failed with a
// configuration error due immediately (after an operator fixed the
// route). Messages waiting out a Retry-After or a backoff keep their
// time: a reload must never shorten a wait the server asked for.
func (s *Store) RetryNow(ctx context.Context, route string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = ? WHERE route = ? AND state = ? AND permanent_error = 1`, formatTime(at), route, OutboxPending)
		return err
	})
}
