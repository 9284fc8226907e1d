package notify

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// eventRank orders a finding's events within one severity: new first.
func eventRank(event string) int {
	switch event {
	case EventOpened:
		return 0
	case EventReminder:
		return 1
	case EventAttributed:
		return 2
	}
	return 3
}

// SortItems orders by integration, severity (critical first), event,
// check, resource and fingerprint: a total order, so a message does not
// depend on the order the batch was built in. Every transport renders in
// this order.
func SortItems(in []Item) []Item {
	items := append([]Item(nil), in...)
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i].Finding, items[j].Finding
		switch {
		case a.Integration != b.Integration:
			return a.Integration < b.Integration
		case a.Severity != b.Severity:
			return a.Severity > b.Severity
		case items[i].Event != items[j].Event:
			return eventRank(items[i].Event) < eventRank(items[j].Event)
		case a.CheckID != b.CheckID:
			return a.CheckID < b.CheckID
		case a.Resource.Name != b.Resource.Name:
			return a.Resource.Name < b.Resource.Name
		case a.Resource.ID != b.Resource.ID:
			return a.Resource.ID < b.Resource.ID
		}
		return a.Fingerprint < b.Fingerprint
	})
	return items
}

// Counts are a batch's items by event.
type Counts struct{ Opened, Resolved, Reminders, Attributed int }

// CountEvents counts items by event.
func CountEvents(items []Item) Counts {
	var c Counts
	for _, it := range items {
		switch it.Event {
		case EventOpened:
			c.Opened++
		case EventResolved:
			c.Resolved++
		case EventReminder:
			c.Reminders++
		case EventAttributed:
			c.Attributed++
		}
	}
	return c
}

// Plural is "1 reminder" or "3 reminders".
func Plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// parts lists the non-zero counts, opened and resolved ones in the
// words given.
func (c Counts) parts(opened, resolved string) []string {
	var out []string
	if c.Opened > 0 {
		out = append(out, fmt.Sprintf("%d %s", c.Opened, opened))
	}
	if c.Resolved > 0 {
		out = append(out, fmt.Sprintf("%d %s", c.Resolved, resolved))
	}
	if c.Reminders > 0 {
		out = append(out, Plural(c.Reminders, "reminder", "reminders"))
	}
	if c.Attributed > 0 {
		out = append(out, Plural(c.Attributed, "attribution update", "attribution updates"))
	}
	return out
}

// Headline is "3 new, 1 resolved, 2 reminders", leaving out zeros ("no
// changes" when all are).
func (c Counts) Headline() string {
	if p := c.parts("new", "resolved"); len(p) > 0 {
		return strings.Join(p, ", ")
	}
	return "no changes"
}

// Tally is "3 opened · 1 resolved · 2 reminders", leaving out zeros.
func (c Counts) Tally() string { return strings.Join(c.parts("opened", "resolved"), " · ") }

// Span is a rough duration for people: "3d 4h", "5h 10m", "12m".
func Span(d time.Duration) string {
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	}
	return fmt.Sprintf("%dm", mins)
}
