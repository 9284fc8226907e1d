package notify

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/driftd/driftd/internal/finding"
)

// Batch kinds.
const (
	// KindFindings reports opened, resolved and reminded findings.
	KindFindings = "findings"
	// KindCannotAudit says an integration has not been fully audited for
	// longer than the route's repeat interval.
	KindCannotAudit = "cannot_audit"
	// KindTest is `driftd notify test`.
	KindTest = "test"
)

// Item events.
const (
	EventOpened   = "opened"
	EventResolved = "resolved"
	EventReminder = "reminder"
	// EventAttributed announces, once, who changed an already reported
	// finding's objects: the audit log had no entry yet when it opened
	// (Entra's lags by minutes) and a later run found one. The item's
	// Finding.Changes holds it.
	EventAttributed = "attributed"
)

// Item is one finding in a batch and why it is being sent.
type Item struct {
	Event     string          `json:"event"`
	Finding   finding.Finding `json:"finding"`
	FirstSeen time.Time       `json:"first_seen"`
}

// Batch is what one route is told after one run.
type Batch struct {
	Kind  string    `json:"kind"`
	Route string    `json:"route"`
	RunID int64     `json:"run_id"`
	RunAt time.Time `json:"run_at"`
	// AccountID is the Cloudflare account, for dashboard links.
	AccountID string `json:"account_id"`
	Items     []Item `json:"items,omitempty"`
	// For KindCannotAudit: the integration, since when it could not be
	// audited, and why.
	Integration string    `json:"integration,omitempty"`
	Since       time.Time `json:"since,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	// Integrations is the audit health, at this run, of every
	// integration the route covers, by name.
	Integrations []IntegrationStatus `json:"integrations,omitempty"`
}

// Integration health statuses.
const (
	// StatusOK: the integration was fully audited.
	StatusOK = "ok"
	// StatusIncomplete: some of its data could not be read, since Since.
	StatusIncomplete = "incomplete"
)

// IntegrationStatus is whether an integration was fully audited.
type IntegrationStatus struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// Since and Reason are set while the status is incomplete.
	Since  *time.Time `json:"since,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

// Payload is one rendered Slack message: the plain-text fallback and the
// Block Kit blocks (a JSON array). Versions of driftd before the outbox
// stored batches stored these; such rows are still sent as they are.
type Payload struct {
	Text   string          `json:"text"`
	Blocks json.RawMessage `json:"blocks,omitempty"`
}

// SendError is how a transport reports a failed delivery. The dispatcher
// alone decides what to do with it.
type SendError struct {
	// Reason is short and secret-free: "rate_limited", "HTTP 503",
	// "invalid_auth", "channel_not_found", "connection refused".
	Reason string
	// RetryAfter is the wait the service asked for (HTTP 429).
	RetryAfter time.Duration
	// Permanent errors (bad token, unknown channel, invalid payload) will
	// not succeed by retrying soon; they need an operator.
	Permanent bool
}

func (e *SendError) Error() string {
	switch {
	case e.RetryAfter > 0:
		return fmt.Sprintf("%s (retry after %s)", e.Reason, e.RetryAfter)
	case e.Permanent:
		return e.Reason + " (needs an operator)"
	}
	return e.Reason
}
