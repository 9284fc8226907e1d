// Package teams renders notification batches as Adaptive Cards and posts
// them to a Microsoft Teams Workflows incoming webhook.
//
// The outbox stores the batch; the notifier renders it when it is sent.
// Rendering is a pure function of the batch, so every retry sends exactly
// the same posts, and a batch that needs several posts resumes after the
// last one delivered.
package teams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/textsafe"
	"github.com/driftd/driftd/notify"
)

// MaxBody is the most bytes one POST body may have: Teams refuses
// messages over about 28 KB, envelope included.
const MaxBody = 28000

// suffixRoom is kept free in every post for the " (12/34)" its header
// gets once the number of posts is known.
const suffixRoom = len(" (999/999)")

// How much attribution a card shows, as in Slack: an attributed item
// lists its newest changes and the newest one's changed properties;
// other items show the newest change only, with a count of the rest.
const (
	changesShown  = 3
	modifiedShown = 3
)

const (
	// detailedLimit is the largest batch whose findings each get a full
	// container; larger batches get one line per finding.
	detailedLimit = 20
	maxHeader     = 150
)

// Caps for values from API data, in characters, at full size; a finding
// that would not fit one post even so is rendered with all of them
// scaled down (see entryFor).
const (
	capCheckID     = 40
	capName        = 150
	capKind        = 40
	capEvent       = 40
	capMessage     = 800
	capValue       = 300 // expected and found
	capFix         = 500
	capReason      = 1500
	capStatus      = 300 // an integration's incomplete reason
	capChange      = 300
	capChangeName  = 60
	capChangeValue = 100
	compactMessage = 300
	// minCap is the floor of a scaled-down cap.
	minCap = 16
)

// Render turns a batch into the POST bodies sent to the webhook, each at
// most MaxBody bytes. A long batch is split across posts: every finding
// appears in one of them. An empty findings batch or an unknown kind
// renders nothing.
func Render(b notify.Batch) [][]byte {
	switch b.Kind {
	case notify.KindFindings:
		return renderFindings(b)
	case notify.KindCannotAudit:
		return renderCannotAudit(b)
	case notify.KindTest:
		return renderTest(b)
	}
	return nil
}

// encode is the JSON of v without HTML escaping, so a size measured here
// is the size sent. Cards are plain structs of strings: it cannot fail.
func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func post(body []element) []byte {
	return encode(message{Type: messageType, Attachments: []attachment{{
		ContentType: cardContentType,
		Content:     card{Schema: cardSchema, Type: cardType, Version: CardVersion, Body: body, Actions: []action{}},
	}}})
}

// severityStyle is a severity's label and colour; Adaptive Cards colour
// both the container (style) and the text (color) with the same names.
func severityStyle(s finding.Severity) (label, color string) {
	label = strings.ToUpper(s.String())
	switch s {
	case finding.Critical, finding.High:
		return label, colorAttention
	case finding.Medium:
		return label, colorWarning
	case finding.Low:
		return label, colorAccent
	}
	return label, colorDefault
}

// itemStyle is the colour of an item: its severity's, or good once
// resolved.
func itemStyle(it notify.Item) (label, color string) {
	label, color = severityStyle(it.Finding.Severity)
	if it.Event == notify.EventResolved {
		color = colorGood
	}
	return label, color
}

func runTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func resourceName(r finding.Resource) string {
	if r.Name != "" {
		return r.Name
	}
	if r.ID != "" {
		return r.ID
	}
	return r.Kind
}

// caps are the field caps an item is rendered with, scaled down for a
// finding that would not fit one post at full size.
type caps struct{ scale float64 }

func (c caps) of(n int) int { return max(int(float64(n)*c.scale), minCap) }

func (c caps) field(s string, n int) string { return field(s, c.of(n)) }

// eventText describes why a finding is in the batch.
func eventText(it notify.Item, c caps) string {
	switch it.Event {
	case notify.EventOpened:
		return "🆕 opened"
	case notify.EventResolved:
		return "✅ resolved"
	case notify.EventReminder:
		if it.FirstSeen.IsZero() {
			return "🔁 still open"
		}
		return "🔁 still open since " + day(it.FirstSeen)
	}
	return c.field(it.Event, capEvent)
}

// resourceLine is "**name** (app registration)".
func resourceLine(r finding.Resource, c caps) string {
	line := "**" + c.field(resourceName(r), capName) + "**"
	if kind := strings.ReplaceAll(r.Kind, "_", " "); kind != "" {
		line += " (" + c.field(kind, capKind) + ")"
	}
	return line
}

// changeSummary is a change's one-line summary from API data as card
// text: each part capped, then the whole made plain, escaped and capped.
func changeSummary(ch finding.Change, limit int, c caps) string {
	ch.Actor = textsafe.Clip(ch.Actor, c.of(capName))
	ch.ActorID = textsafe.Clip(ch.ActorID, c.of(capName))
	ch.Activity = textsafe.Clip(ch.Activity, c.of(capName))
	ch.IP = textsafe.Clip(ch.IP, c.of(capName))
	return c.field(ch.Summary(), limit)
}

// detailed is a finding's full container.
func detailed(it notify.Item, accountID string, c caps) element {
	if it.Event == notify.EventAttributed {
		return attributed(it, accountID, c)
	}
	f := it.Finding
	label, color := itemStyle(it)
	head := textBlock(fmt.Sprintf("**%s** · %s · %s", label, c.field(f.CheckID, capCheckID), eventText(it, c)))
	head.Color, head.Weight = color, "bolder"
	items := []element{head, textBlock(resourceLine(f.Resource, c))}
	if f.Message != "" {
		items = append(items, textBlock(c.field(f.Message, capMessage)))
	}
	var facts []fact
	if it.Event == notify.EventResolved {
		facts = append(facts, fact{"Now", "resolved, the expectation is met again."})
	} else {
		if f.Expected != "" {
			facts = append(facts, fact{"Expected", c.field(f.Expected, capValue)})
		}
		if f.Actual != "" {
			facts = append(facts, fact{"Found", c.field(f.Actual, capValue)})
		}
		if f.Remediation != "" {
			facts = append(facts, fact{"Fix", c.field(f.Remediation, capFix)})
		}
		if len(f.Changes) > 0 {
			v := "👤 " + changeSummary(f.Changes[0], capChange, c)
			if n := len(f.Changes) - 1; n > 0 {
				v += fmt.Sprintf(" (+%d more)", n)
			}
			facts = append(facts, fact{"Changed", v})
		}
	}
	if len(facts) > 0 {
		items = append(items, factSet(facts))
	}
	if link, title := finding.Link(f.Resource, accountID); link != "" {
		items = append(items, openURL(title, link))
	}
	return container(color, items...)
}

// attributed is the container of an attributed item: an update saying who
// changed an already reported finding's objects, not a new finding.
func attributed(it notify.Item, accountID string, c caps) element {
	f := it.Finding
	label, color := itemStyle(it)
	head := fmt.Sprintf("👤 **Who changed it** — %s %s", c.field(f.CheckID, capCheckID), resourceLine(f.Resource, c))
	if f.Integration != "" {
		head += " · " + c.field(f.Integration, capName)
	}
	items := []element{textBlock(head)}
	sub := "**" + label + "**"
	if f.Message != "" {
		sub += " · " + c.field(f.Message, capMessage)
	}
	if !it.FirstSeen.IsZero() {
		sub += " · reported since " + day(it.FirstSeen)
	}
	line := textBlock(sub)
	line.Color = color
	items = append(items, line)
	for i, ch := range f.Changes {
		if i == changesShown {
			items = append(items, textBlock(fmt.Sprintf("…and %d more", len(f.Changes)-changesShown)))
			break
		}
		items = append(items, textBlock("• "+changeSummary(ch, capChange, c)))
		if i > 0 || len(ch.Modified) == 0 {
			continue
		}
		var facts []fact
		for j, m := range ch.Modified {
			if j == modifiedShown {
				facts = append(facts, fact{"…", fmt.Sprintf("and %d more properties", len(ch.Modified)-modifiedShown)})
				break
			}
			facts = append(facts, fact{c.field(m.Name, capChangeName), changedValue(m.Old, c) + " → " + changedValue(m.New, c)})
		}
		items = append(items, factSet(facts))
	}
	if len(f.Changes) == 0 {
		items = append(items, textBlock("No audit-log entry found."))
	}
	if link, title := finding.Link(f.Resource, accountID); link != "" {
		items = append(items, openURL(title, link))
	}
	return container(color, items...)
}

// changedValue is a changed property's old or new value as card text.
func changedValue(v string, c caps) string {
	if v == "" {
		return "(none)"
	}
	return c.field(v, capChangeValue)
}

// compact is a finding as one line, for long batches.
func compact(it notify.Item, accountID string, c caps) element {
	f := it.Finding
	label, color := itemStyle(it)
	event := "🆕"
	switch it.Event {
	case notify.EventResolved:
		event = "✅ resolved:"
	case notify.EventReminder:
		event = "🔁"
	case notify.EventAttributed:
		event = "👤 who changed it:"
	}
	line := fmt.Sprintf("**%s** %s %s **%s**", label, c.field(f.CheckID, capCheckID), event, c.field(oneLine(resourceName(f.Resource)), 100))
	switch {
	case it.Event == notify.EventAttributed && len(f.Changes) > 0:
		line += ": " + changeSummary(f.Changes[0], compactMessage, c)
		if n := len(f.Changes) - 1; n > 0 {
			line += fmt.Sprintf(" (+%d more)", n)
		}
	case f.Message != "":
		line += ": " + c.field(oneLine(f.Message), compactMessage)
	}
	if it.Event != notify.EventResolved && it.Event != notify.EventAttributed && len(f.Changes) > 0 {
		line += " · 👤 " + c.field(oneLine(f.Changes[0].Actor), 100)
	}
	text := textBlock(line)
	text.Color = color
	items := []element{text}
	if link, _ := finding.Link(f.Resource, accountID); link != "" {
		items = append(items, openURL("Open", link))
	}
	out := container(color, items...)
	out.Spacing = "small"
	return out
}

// entry is one element of a findings card's content with its encoded
// size: a finding's container, an integration heading, or the lead.
type entry struct {
	group string // integration
	el    element
	size  int
}

func newEntry(group string, el element) entry {
	return entry{group: group, el: el, size: len(encode(el))}
}

// fixedSize is the size of a post with only header and context: the
// envelope every post pays for.
func fixedSize(header, context element) int {
	return len(post([]element{header, context}))
}

// entryFor renders an item at full size or, if it would not fit a post
// on its own, with every cap halved until it does: a finding is clipped
// field by field, never dropped.
func entryFor(it notify.Item, accountID string, detailedMode bool, budget int) entry {
	c := caps{scale: 1}
	for {
		var el element
		if detailedMode {
			el = detailed(it, accountID, c)
		} else {
			el = compact(it, accountID, c)
		}
		e := newEntry(it.Finding.Integration, el)
		if e.size <= budget || c.of(capMessage) == minCap && c.of(capCheckID) == minCap {
			return e
		}
		c.scale /= 2
	}
}

func heading(group string, continued bool) element {
	name := group
	if name == "" {
		name = "(no integration)"
	}
	text := "**" + field(name, capName) + "**"
	if continued {
		text += " (continued)"
	}
	el := textBlock(text)
	el.Separator = true
	return el
}

// statusEntry is the audit health of the route's integrations, its
// reasons clipped shorter until it takes at most budget.
func statusEntry(statuses []notify.IntegrationStatus, budget int) entry {
	c := caps{scale: 1}
	for {
		e := newEntry("", statusBlock(statuses, c))
		if e.size <= budget || c.of(capStatus) == minCap && c.of(capName) == minCap {
			return e
		}
		c.scale /= 2
	}
}

func statusBlock(statuses []notify.IntegrationStatus, c caps) element {
	var facts []fact
	for _, st := range statuses {
		v := "✅ fully audited"
		if st.Status != notify.StatusOK {
			v = "⚠️ " + field(st.Status, capEvent)
			if st.Since != nil {
				v += " since " + runTime(*st.Since)
			}
			if st.Reason != "" {
				v += " — " + c.field(oneLine(st.Reason), capStatus)
			}
		}
		facts = append(facts, fact{c.field(st.Name, capName), v})
	}
	title := textBlock("**Audit status**")
	title.Spacing = "none"
	return container(colorDefault, title, factSet(facts))
}

func renderFindings(b notify.Batch) [][]byte {
	items := notify.SortItems(b.Items)
	if len(items) == 0 {
		return nil
	}
	c := notify.CountEvents(items)
	var groups []string
	bySeverity := map[finding.Severity]int{}
	for _, it := range items {
		if len(groups) == 0 || groups[len(groups)-1] != it.Finding.Integration {
			groups = append(groups, it.Finding.Integration)
		}
		bySeverity[it.Finding.Severity]++
	}
	multi := len(groups) > 1
	detailedMode := len(items) <= detailedLimit

	where := ""
	switch {
	case multi:
		where = fmt.Sprintf(" across %d integrations", len(groups))
	case groups[0] != "":
		where = " — " + plain(textsafe.Clip(oneLine(groups[0]), capName))
	}
	headline := shorten("driftd: "+c.Headline()+where, maxHeader)
	shown := make([]string, len(groups))
	for i, g := range groups {
		shown[i] = field(oneLine(g), capName)
	}
	names := strings.Join(shown, ", ")
	if len(groups) > 3 {
		names = fmt.Sprintf("%d integrations", len(groups))
	}
	context := fmt.Sprintf("%s · run %d · %s", names, b.RunID, runTime(b.RunAt))
	if t := c.Tally(); t != "" {
		context += " · " + t
	}
	contextEl := textBlock(context)
	contextEl.IsSubtle, contextEl.Spacing = true, "none"
	headerFor := func(suffix string) element {
		h := textBlock(escape(headline) + suffix)
		h.Size, h.Weight = "large", "bolder"
		return h
	}
	budget := MaxBody - fixedSize(headerFor(""), contextEl) - suffixRoom

	// The first post opens with the audit status and, for long batches,
	// a summary.
	var lead []entry
	if len(b.Integrations) > 0 {
		lead = append(lead, statusEntry(b.Integrations, budget/2))
	}
	if !detailedMode {
		var sev []string
		for s := finding.Critical; s >= finding.Low; s-- {
			if n := bySeverity[s]; n > 0 {
				sev = append(sev, fmt.Sprintf("%d %s", n, s))
			}
		}
		lead = append(lead, newEntry("", textBlock(fmt.Sprintf("**%d findings**: %s. One line each; driftd findings shows what was expected, what was found and how to fix it.",
			len(items), strings.Join(sev, " · ")))))
	}

	type draft struct {
		body  []element
		size  int // of body, commas included
		group string
		items int
	}
	add := func(d *draft, e entry) {
		d.body = append(d.body, e.el)
		d.size += e.size + 1
	}
	cur := &draft{}
	drafts := []*draft{cur}
	for _, e := range lead {
		add(cur, e)
	}
	started := map[string]bool{}
	for i := range items {
		room := budget
		if multi {
			room -= len(encode(heading(items[i].Finding.Integration, true))) + 1
		}
		e := entryFor(items[i], b.AccountID, detailedMode, room)
		var h *entry
		if multi && cur.group != e.group {
			he := newEntry(e.group, heading(e.group, started[e.group]))
			h = &he
		}
		need := e.size + 1
		if h != nil {
			need += h.size + 1
		}
		if cur.size+need > budget && len(cur.body) > 0 {
			cur = &draft{}
			drafts = append(drafts, cur)
			if multi {
				he := newEntry(e.group, heading(e.group, started[e.group]))
				h = &he
			}
		}
		if h != nil {
			add(cur, *h)
		}
		add(cur, e)
		cur.group = e.group
		cur.items++
		started[e.group] = true
	}

	out := make([][]byte, 0, len(drafts))
	for i, d := range drafts {
		suffix := ""
		if len(drafts) > 1 {
			suffix = fmt.Sprintf(" (%d/%d)", i+1, len(drafts))
		}
		out = append(out, post(append([]element{headerFor(suffix), contextEl}, d.body...)))
	}
	return out
}

func renderCannotAudit(b notify.Batch) [][]byte {
	name := field(b.Integration, capName)
	header := textBlock(escape(shorten("driftd cannot audit "+plain(textsafe.Clip(oneLine(b.Integration), capName)), maxHeader)))
	header.Size, header.Weight = "large", "bolder"
	reason := textBlock("driftd cannot audit " + name + ": " + field(b.Reason, capReason))
	reason.Color = colorAttention
	items := []element{reason}
	if !b.Since.IsZero() {
		v := runTime(b.Since)
		if d := b.RunAt.Sub(b.Since); d > 0 {
			v += " (" + notify.Span(d) + " before this run)"
		}
		items = append(items, factSet([]fact{{"Not fully audited since", v}}))
	}
	items = append(items, textBlock("**What to do:** check driftd's own credentials and permissions: its Entra app registration's secret or certificate and Microsoft Graph application permissions (with admin consent), and the Cloudflare API token's read access to Zero Trust. Then run driftd status to see what could not be read. Until then, findings for this integration may be out of date."))
	context := textBlock(fmt.Sprintf("%s · run %d · %s", name, b.RunID, runTime(b.RunAt)))
	context.IsSubtle, context.Spacing = true, "none"
	return [][]byte{post([]element{header, context, container(colorAttention, items...)})}
}

func renderTest(b notify.Batch) [][]byte {
	name := field(b.Route, capName)
	at := runTime(b.RunAt)
	header := textBlock("driftd test message")
	header.Size, header.Weight = "large", "bolder"
	context := textBlock("route " + name + " · " + at)
	context.IsSubtle, context.Spacing = true, "none"
	return [][]byte{post([]element{header, context,
		textBlock("driftd test message for route " + name + " — sent " + at + ". Findings for this route will arrive here.")})}
}
