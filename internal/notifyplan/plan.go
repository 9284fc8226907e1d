// Package notifyplan decides what each notification route is told after a
// run. The decision is a pure function of the finding lifecycle, the
// notification log and the run's time: notify on opened, on resolved, and
// when a route's repeat interval has elapsed — nothing else.
package notifyplan

import (
	"sort"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/notify"
)

// cannotAuditAfter is how long an integration may go without a complete
// audit before a route that never reminds (repeat_interval 0) is told.
const cannotAuditAfter = 24 * time.Hour

// cannotAuditSubject is the notification-log subject of an integration's
// "cannot audit" message.
func cannotAuditSubject(integration string) string { return "cannot-audit:" + integration }

// attributionSubject is the notification-log subject that records a route
// was told who changed a finding (in its opened message or in a later
// update), so the update goes out once.
func attributionSubject(fingerprint string) string { return "attribution:" + fingerprint }

// Options are the planner's fixed inputs.
type Options struct {
	// Routes are the shared blocks of the configured routes, of every
	// transport: what each is told does not depend on how it is sent.
	Routes    []config.Route
	AccountID string
	// Suppressed reports whether a finding is covered by an active
	// suppression at the given time; suppressed findings are not sent.
	Suppressed func(f checks.Finding, at time.Time) bool
}

// New returns the store.Plan for the configured routes.
func New(opts Options) store.Plan {
	return func(in store.PlanInput) ([]store.NewOutboxItem, []store.LogUpdate) {
		var items []store.NewOutboxItem
		var updates []store.LogUpdate
		for _, route := range opts.Routes {
			it, up := planRoute(opts, route, in)
			items = append(items, it...)
			updates = append(updates, up...)
		}
		return items, updates
	}
}

func planRoute(opts Options, route config.Route, in store.PlanInput) ([]store.NewOutboxItem, []store.LogUpdate) {
	now := in.Run.FinishedAt
	log := in.Log[route.Name]
	events := map[string]string{}
	for _, t := range in.Transitions {
		events[t.Finding.Fingerprint] = t.Event
	}
	var batch []notify.Item
	var updates []store.LogUpdate
	record := func(subject, event string) {
		updates = append(updates, store.LogUpdate{Route: route.Name, Subject: subject, Event: event})
	}

	open := append([]store.Finding(nil), in.Open...)
	sortFindings(open)
	for _, f := range open {
		if !route.Covers(f.Integration) || f.Severity < route.Severity {
			continue
		}
		if opts.Suppressed != nil && opts.Suppressed(f.Finding, now) {
			continue
		}
		entry, known := log[f.Fingerprint]
		var event string
		switch {
		case events[f.Fingerprint] == store.EventOpened || events[f.Fingerprint] == store.EventReopened:
			event = notify.EventOpened
		case !known || entry.Event == notify.EventResolved:
			// New to this route: it rose above min_severity, a
			// suppression ended, or the route was just added.
			event = notify.EventOpened
		case route.Repeat > 0 && now.Sub(entry.At) >= route.Repeat:
			event = notify.EventReminder
		}
		_, told := log[attributionSubject(f.Fingerprint)]
		switch {
		case event != "" && len(f.Changes) > 0:
			// The message itself says who changed it.
			record(attributionSubject(f.Fingerprint), notify.EventAttributed)
		case event == notify.EventOpened && told:
			// A new episode: who changed it this time is not yet known.
			updates = append(updates, store.LogUpdate{Route: route.Name, Subject: attributionSubject(f.Fingerprint), Delete: true})
		case event == "" && len(f.Changes) > 0 && !told:
			// The route was told of the finding before its audit-log
			// entry arrived: announce who changed it, once.
			event = notify.EventAttributed
			record(attributionSubject(f.Fingerprint), notify.EventAttributed)
			batch = append(batch, notify.Item{Event: event, Finding: f.Finding, FirstSeen: f.FirstSeen})
			continue
		}
		if event == "" {
			continue
		}
		batch = append(batch, notify.Item{Event: event, Finding: f.Finding, FirstSeen: f.FirstSeen})
		record(f.Fingerprint, event)
	}

	var resolved []store.Transition
	for _, t := range in.Transitions {
		if t.Event == store.EventResolved {
			resolved = append(resolved, t)
		}
	}
	sort.Slice(resolved, func(i, j int) bool { return less(resolved[i].Finding, resolved[j].Finding) })
	for _, t := range resolved {
		entry, known := log[t.Finding.Fingerprint]
		// Only a route that was told about a finding hears it is fixed.
		if !known || entry.Event == notify.EventResolved {
			continue
		}
		if route.ResolvedEnabled() {
			batch = append(batch, notify.Item{Event: notify.EventResolved, Finding: t.Finding.Finding, FirstSeen: t.Finding.FirstSeen})
		}
		record(t.Finding.Fingerprint, notify.EventResolved)
	}

	var items []store.NewOutboxItem
	if len(batch) > 0 {
		b := notify.Batch{Kind: notify.KindFindings, Route: route.Name, RunID: in.Run.ID, RunAt: now, AccountID: opts.AccountID, Items: batch,
			Integrations: integrationStatus(route, in)}
		items = append(items, enqueue(b)...)
	}

	threshold := route.Repeat
	if threshold <= 0 {
		threshold = cannotAuditAfter
	}
	names := make([]string, 0, len(in.Health))
	for name := range in.Health {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		h := in.Health[name]
		if !route.Covers(name) {
			continue
		}
		subject := cannotAuditSubject(name)
		entry, known := log[subject]
		if h.IncompleteSince == nil {
			if known {
				updates = append(updates, store.LogUpdate{Route: route.Name, Subject: subject, Delete: true})
			}
			continue
		}
		if now.Sub(*h.IncompleteSince) < threshold || (known && !entry.At.Before(*h.IncompleteSince)) {
			continue
		}
		b := notify.Batch{Kind: notify.KindCannotAudit, Route: route.Name, RunID: in.Run.ID, RunAt: now, AccountID: opts.AccountID,
			Integration: name, Since: *h.IncompleteSince, Reason: h.Reason, Integrations: integrationStatus(route, in)}
		items = append(items, enqueue(b)...)
		record(subject, notify.KindCannotAudit)
	}
	return items, updates
}

// enqueue stores the batch itself: the route's transport renders it when
// it sends it.
func enqueue(b notify.Batch) []store.NewOutboxItem {
	data, err := notify.EncodeBatch(b)
	if err != nil {
		return nil // a Batch is plain strings, numbers and times: this cannot fail
	}
	return []store.NewOutboxItem{{Route: b.Route, Kind: b.Kind, Format: store.FormatBatch, Payload: data}}
}

// integrationStatus is the audit health of the integrations of the run
// (of every integration with a recorded health, when the run lists none)
// that route covers, by name.
func integrationStatus(route config.Route, in store.PlanInput) []notify.IntegrationStatus {
	names := map[string]bool{}
	for _, st := range in.Run.Integrations {
		names[st.Name] = true
	}
	if len(names) == 0 {
		for name := range in.Health {
			names[name] = true
		}
	}
	var out []notify.IntegrationStatus
	for name := range names {
		if !route.Covers(name) {
			continue
		}
		st := notify.IntegrationStatus{Name: name, Status: notify.StatusOK}
		if h := in.Health[name]; h.IncompleteSince != nil {
			since := *h.IncompleteSince
			st.Status, st.Since, st.Reason = notify.StatusIncomplete, &since, h.Reason
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sortFindings(fs []store.Finding) {
	sort.Slice(fs, func(i, j int) bool { return less(fs[i], fs[j]) })
}

// less orders by integration, severity (highest first), check, fingerprint.
func less(a, b store.Finding) bool {
	if a.Integration != b.Integration {
		return a.Integration < b.Integration
	}
	if a.Severity != b.Severity {
		return a.Severity > b.Severity
	}
	if a.CheckID != b.CheckID {
		return a.CheckID < b.CheckID
	}
	return a.Fingerprint < b.Fingerprint
}
