// Package slack renders notification batches as Slack Block Kit messages
// and delivers them with a bot token (chat.postMessage) or an incoming
// webhook.
//
// The outbox stores the batch; the notifier renders it when it is sent.
// Rendering is a pure function of the batch and the route, so every retry
// sends exactly the same messages.
package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/textsafe"
	"github.com/driftd/driftd/notify"
)

// How much attribution a message shows: an attributed item lists its
// newest changes and the newest one's changed properties; other items
// show the newest change only, with a count of the rest.
const (
	changesShown  = 3
	modifiedShown = 3
)

// Slack's documented limits, and the tighter ones driftd keeps to.
const (
	maxBlocks      = 50
	maxSectionText = 3000
	maxHeaderText  = 150
	// maxFallbackText keeps the notification text short; Slack itself
	// only truncates at 40,000.
	maxFallbackText = 4000
	// maxContentText bounds the text of one message's finding sections,
	// so a long batch becomes several readable messages rather than one
	// wall of text.
	maxContentText = 10000
	// detailedLimit is the largest batch whose findings each get a full
	// section; larger batches list one line per finding.
	detailedLimit = 20
	// fallbackLines is how many findings one message's fallback lists.
	fallbackLines = 10
	// compactMessage bounds a finding's message in a one-line listing.
	compactMessage = 300
	// fallbackMessage bounds a finding's message in the fallback text.
	fallbackMessage = 200
)

// Caps for values from API data, in characters as Slack counts them after
// escaping (see field). With the fixed text around them, a finding's
// section stays well within maxSectionText whatever the data, so a
// finding never needs a second section or message.
const (
	capCheckID = 40
	capName    = 150
	capKind    = 40
	capEvent   = 40
	capMessage = 800
	capValue   = 300 // expected and found
	capFix     = 500
	// capReason bounds why an integration cannot be audited.
	capReason = 1500
	// capChange bounds one change's summary ("changed by … at … — …");
	// capChangeName and capChangeValue a changed property's name and its
	// old and new values.
	capChange      = 300
	capChangeName  = 60
	capChangeValue = 100
)

// Render turns a batch into the messages sent to route, each within
// Slack's limits. A long batch is split across messages: every finding
// appears in one of them. An empty findings batch or an unknown kind
// renders nothing.
func Render(b notify.Batch, route config.SlackRoute) []notify.Payload {
	switch b.Kind {
	case notify.KindFindings:
		return renderFindings(b, route)
	case notify.KindCannotAudit:
		return renderCannotAudit(b)
	case notify.KindTest:
		return renderTest(b, route)
	}
	return nil
}

// Text joins the fallback texts of payloads for a terminal.
func Text(p []notify.Payload) string {
	parts := make([]string, 0, len(p))
	for _, m := range p {
		lines := strings.Split(unescape(m.Text), "\n")
		for i, l := range lines {
			lines[i] = textsafe.Line(l)
		}
		parts = append(parts, strings.Join(lines, "\n"))
	}
	return strings.Join(parts, "\n\n")
}

// severityLabel returns the emoji and upper-case label of a severity;
// Block Kit has no colours, so the emoji carries them.
func severityLabel(s finding.Severity) (emoji, label string) {
	switch s {
	case finding.Critical:
		emoji = "🟥"
	case finding.High:
		emoji = "🟧"
	case finding.Medium:
		emoji = "🟨"
	case finding.Low:
		emoji = "🟦"
	default:
		emoji = "⬜"
	}
	return emoji, strings.ToUpper(s.String())
}

func runTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func resourceName(r finding.Resource) string {
	if r.Name != "" {
		return r.Name
	}
	if r.ID != "" {
		return r.ID
	}
	return r.Kind
}

// eventText describes why a finding is in the batch.
func eventText(it notify.Item) string {
	switch it.Event {
	case notify.EventOpened:
		return "🆕 opened"
	case notify.EventResolved:
		return "✅ resolved"
	case notify.EventReminder:
		if it.FirstSeen.IsZero() {
			return "🔁 still open"
		}
		return "🔁 still open since " + it.FirstSeen.UTC().Format("2006-01-02")
	}
	return field(it.Event, capEvent)
}

// detailedText is a finding's full section text (possibly over the
// section limit; the caller splits it).
func detailedText(it notify.Item, accountID string) string {
	if it.Event == notify.EventAttributed {
		return attributedText(it, accountID)
	}
	f := it.Finding
	emoji, label := severityLabel(f.Severity)
	var b strings.Builder
	fmt.Fprintf(&b, "%s *%s* · `%s` · %s\n", emoji, label, field(f.CheckID, capCheckID), eventText(it))
	fmt.Fprintf(&b, "*%s*", field(resourceName(f.Resource), capName))
	if kind := strings.ReplaceAll(f.Resource.Kind, "_", " "); kind != "" {
		fmt.Fprintf(&b, " (%s)", field(kind, capKind))
	}
	b.WriteString("\n")
	if f.Message != "" {
		b.WriteString(field(f.Message, capMessage) + "\n")
	}
	if it.Event == notify.EventResolved {
		b.WriteString("*Now:* resolved, the expectation is met again.\n")
	} else {
		if f.Expected != "" {
			b.WriteString("*Expected:* " + field(f.Expected, capValue) + "\n")
		}
		if f.Actual != "" {
			b.WriteString("*Found:* " + field(f.Actual, capValue) + "\n")
		}
		if f.Remediation != "" {
			b.WriteString("*Fix:* " + field(f.Remediation, capFix) + "\n")
		}
		if line := changedByLine(f.Changes); line != "" {
			b.WriteString(line + "\n")
		}
	}
	if link, label := finding.Link(f.Resource, accountID); link != "" {
		fmt.Fprintf(&b, "<%s|%s>", link, label)
	}
	return strings.TrimSpace(b.String())
}

// changeSummary is a change's one-line summary from API data as mrkdwn:
// each part capped, then the whole made plain, escaped and capped.
func changeSummary(c finding.Change, limit int) string {
	c.Actor = textsafe.Clip(c.Actor, capName)
	c.ActorID = textsafe.Clip(c.ActorID, capName)
	c.Activity = textsafe.Clip(c.Activity, capName)
	c.IP = textsafe.Clip(c.IP, capName)
	return field(c.Summary(), limit)
}

// changedByLine is who last changed an opened or reminded finding's
// objects: "👤 changed by … at … — … (+2 more)"; "" without changes.
func changedByLine(changes []finding.Change) string {
	if len(changes) == 0 {
		return ""
	}
	line := "👤 " + changeSummary(changes[0], capChange)
	if n := len(changes) - 1; n > 0 {
		line += fmt.Sprintf(" (+%d more)", n)
	}
	return line
}

// attributedText is the section of an attributed item: an update saying
// who changed an already reported finding's objects, not a new finding.
func attributedText(it notify.Item, accountID string) string {
	f := it.Finding
	emoji, label := severityLabel(f.Severity)
	var b strings.Builder
	fmt.Fprintf(&b, "👤 *Who changed it* — `%s` *%s*", field(f.CheckID, capCheckID), field(resourceName(f.Resource), capName))
	if kind := strings.ReplaceAll(f.Resource.Kind, "_", " "); kind != "" {
		fmt.Fprintf(&b, " (%s)", field(kind, capKind))
	}
	if f.Integration != "" {
		b.WriteString(" · " + field(f.Integration, capName))
	}
	b.WriteString("\n" + emoji + " " + label)
	if f.Message != "" {
		b.WriteString(" · " + field(f.Message, capMessage))
	}
	if !it.FirstSeen.IsZero() {
		b.WriteString(" · reported since " + it.FirstSeen.UTC().Format("2006-01-02"))
	}
	b.WriteString("\n")
	for i, c := range f.Changes {
		if i == changesShown {
			fmt.Fprintf(&b, "…and %d more\n", len(f.Changes)-changesShown)
			break
		}
		b.WriteString("• " + changeSummary(c, capChange) + "\n")
		if i > 0 {
			continue
		}
		for j, m := range c.Modified {
			if j == modifiedShown {
				fmt.Fprintf(&b, "    …and %d more properties\n", len(c.Modified)-modifiedShown)
				break
			}
			fmt.Fprintf(&b, "    %s: %s → %s\n", field(m.Name, capChangeName), changedValue(m.Old), changedValue(m.New))
		}
	}
	if len(f.Changes) == 0 {
		b.WriteString("No audit-log entry found.\n")
	}
	if link, label := finding.Link(f.Resource, accountID); link != "" {
		fmt.Fprintf(&b, "<%s|%s>", link, label)
	}
	return strings.TrimSpace(b.String())
}

// changedValue is a changed property's old or new value as mrkdwn.
func changedValue(v string) string {
	if v == "" {
		return "(none)"
	}
	return field(v, capChangeValue)
}

// compactText is a finding as one line, for long batches.
func compactText(it notify.Item, accountID string) string {
	f := it.Finding
	emoji, label := severityLabel(f.Severity)
	event := "🆕"
	switch it.Event {
	case notify.EventResolved:
		event = "✅ resolved:"
	case notify.EventReminder:
		event = "🔁"
	case notify.EventAttributed:
		event = "👤 who changed it:"
	}
	line := fmt.Sprintf("%s *%s* `%s` %s *%s*", emoji, label, field(f.CheckID, capCheckID), event, field(oneLine(resourceName(f.Resource)), 100))
	switch {
	case it.Event == notify.EventAttributed && len(f.Changes) > 0:
		line += ": " + changeSummary(f.Changes[0], compactMessage)
		if n := len(f.Changes) - 1; n > 0 {
			line += fmt.Sprintf(" (+%d more)", n)
		}
	case f.Message != "":
		line += ": " + field(oneLine(f.Message), compactMessage)
	}
	if it.Event != notify.EventResolved && it.Event != notify.EventAttributed && len(f.Changes) > 0 {
		line += " · 👤 " + field(oneLine(textsafe.Clip(f.Changes[0].Actor, capName)), 100)
	}
	if link, _ := finding.Link(f.Resource, accountID); link != "" {
		line += fmt.Sprintf(" · <%s|open>", link)
	}
	return line
}

// fallbackLine is a finding in the plain-text fallback (escaped, since
// Slack reads that text as mrkdwn too).
func fallbackLine(it notify.Item) string {
	f := it.Finding
	_, label := severityLabel(f.Severity)
	line := fmt.Sprintf("[%s] %s %s: %s", label, plain(textsafe.Clip(f.CheckID, capCheckID)), plain(textsafe.Clip(oneLine(f.Integration), capName)),
		shorten(plain(oneLine(f.Message)), fallbackMessage))
	switch it.Event {
	case notify.EventResolved:
		line += " (resolved)"
	case notify.EventReminder:
		line += " (still open)"
	case notify.EventAttributed:
		line = fmt.Sprintf("[%s] %s %s: who changed it", label, plain(textsafe.Clip(f.CheckID, capCheckID)), plain(textsafe.Clip(oneLine(f.Integration), capName)))
		if len(f.Changes) > 0 {
			c := f.Changes[0]
			c.Actor, c.ActorID, c.Activity, c.IP = oneLine(c.Actor), oneLine(c.ActorID), oneLine(c.Activity), oneLine(c.IP)
			line += ": " + shorten(plain(c.Summary()), fallbackMessage)
		}
	}
	return escape(line)
}

// entry is one piece of a findings message: a finding's section (or a
// piece of one) or, for long batches, a finding's line.
type entry struct {
	group string // integration
	text  string // mrkdwn, within the section limit
	// line entries of one group may share a section.
	line bool
	// item is set on the first piece of each finding.
	item *notify.Item
}

// draft is a message being filled.
type draft struct {
	sections []string
	lastLine bool // the last section holds line entries
	chars    int
	entries  int
	group    string
	items    []notify.Item
}

func renderFindings(b notify.Batch, route config.SlackRoute) []notify.Payload {
	items := notify.SortItems(b.Items)
	if len(items) == 0 {
		return nil
	}
	c := notify.CountEvents(items)
	var groups []string
	critical := 0
	bySeverity := map[finding.Severity]int{}
	for _, it := range items {
		if len(groups) == 0 || groups[len(groups)-1] != it.Finding.Integration {
			groups = append(groups, it.Finding.Integration)
		}
		// An attribution update is about a finding already announced.
		if it.Finding.Severity == finding.Critical && it.Event != notify.EventResolved && it.Event != notify.EventAttributed {
			critical++
		}
		bySeverity[it.Finding.Severity]++
	}
	multi := len(groups) > 1
	detailed := len(items) <= detailedLimit

	var entries []entry
	for i := range items {
		it := &items[i]
		if !detailed {
			for j, piece := range splitText(compactText(*it, b.AccountID), maxSectionText) {
				e := entry{group: it.Finding.Integration, text: piece, line: true}
				if j == 0 {
					e.item = it
				}
				entries = append(entries, e)
			}
			continue
		}
		for j, piece := range splitText(detailedText(*it, b.AccountID), maxSectionText) {
			e := entry{group: it.Finding.Integration, text: piece}
			if j == 0 {
				e.item = it
			}
			entries = append(entries, e)
		}
	}

	// The first message opens with the mention and, for long batches, a
	// summary; these count against its budget like any section.
	var lead []string
	if critical > 0 && route.Mention != "" {
		// The mention is configured Slack markup: it is not escaped.
		lead = append(lead, splitText(route.Mention+" "+notify.Plural(critical, "critical finding needs", "critical findings need")+" attention.", maxSectionText)[0])
	}
	if !detailed {
		var sev []string
		for s := finding.Critical; s >= finding.Low; s-- {
			if n := bySeverity[s]; n > 0 {
				emoji, _ := severityLabel(s)
				sev = append(sev, fmt.Sprintf("%s %d %s", emoji, n, s))
			}
		}
		lead = append(lead, fmt.Sprintf("*%d findings*: %s. One line each; `driftd findings` shows what was expected, what was found and how to fix it.", len(items), strings.Join(sev, " · ")))
	}

	// Header and context are added to every message afterwards.
	const contentBlocks = maxBlocks - 2
	started := map[string]bool{}
	var drafts []*draft
	cur := &draft{}
	for _, s := range lead {
		cur.sections = append(cur.sections, s)
		cur.chars += width(s)
	}
	drafts = append(drafts, cur)
	for _, e := range entries {
		heading := func(d *draft) string {
			if !multi || d.group == e.group {
				return ""
			}
			name := e.group
			if name == "" {
				name = "(no integration)"
			}
			if started[e.group] {
				return "*" + field(name, capName) + "* (continued)"
			}
			return "*" + field(name, capName) + "*"
		}
		h := heading(cur)
		if h == "" && e.line && cur.lastLine && cur.group == e.group {
			last := cur.sections[len(cur.sections)-1]
			if width(last)+1+width(e.text) <= maxSectionText && cur.chars+1+width(e.text) <= maxContentText {
				cur.sections[len(cur.sections)-1] = last + "\n" + e.text
				cur.chars += 1 + width(e.text)
				if e.item != nil {
					cur.items = append(cur.items, *e.item)
				}
				continue
			}
		}
		need := 1
		if h != "" {
			need = 2
		}
		if len(cur.sections)+need > contentBlocks || cur.chars+width(h)+width(e.text) > maxContentText {
			if cur.entries > 0 {
				cur = &draft{}
				drafts = append(drafts, cur)
				h = heading(cur)
			}
		}
		if h != "" {
			cur.sections = append(cur.sections, h)
			cur.chars += width(h)
		}
		cur.group = e.group
		cur.entries++
		started[e.group] = true
		cur.sections = append(cur.sections, e.text)
		cur.chars += width(e.text)
		cur.lastLine = e.line
		if e.item != nil {
			cur.items = append(cur.items, *e.item)
		}
	}

	where := ""
	switch {
	case multi:
		where = fmt.Sprintf(" across %d integrations", len(groups))
	case groups[0] != "":
		// The header is plain text, which Slack shows literally.
		where = " — " + plain(textsafe.Clip(oneLine(groups[0]), capName))
	}
	shown := make([]string, len(groups))
	for i, g := range groups {
		shown[i] = field(g, capName)
	}
	names := strings.Join(shown, ", ")
	if len(groups) > 3 {
		names = fmt.Sprintf("%d integrations", len(groups))
	}
	context := fmt.Sprintf("%s · run %d · %s", names, b.RunID, runTime(b.RunAt))
	if t := c.Tally(); t != "" {
		context += " · " + t
	}
	context = shorten(context, maxSectionText)

	out := make([]notify.Payload, 0, len(drafts))
	for i, d := range drafts {
		suffix := ""
		if len(drafts) > 1 {
			suffix = fmt.Sprintf(" (%d/%d)", i+1, len(drafts))
		}
		header := shorten("driftd: "+c.Headline()+where, maxHeaderText-width(suffix)) + suffix

		blocks := []slackapi.Block{headerBlock(header)}
		for _, s := range d.sections {
			blocks = append(blocks, sectionBlock(s))
		}
		blocks = append(blocks, contextBlock(context))

		lines := []string{escape(header)}
		for j, it := range d.items {
			if j == fallbackLines {
				lines = append(lines, fmt.Sprintf("…and %d more in this message", len(d.items)-fallbackLines))
				break
			}
			lines = append(lines, fallbackLine(it))
		}
		lines = append(lines, fmt.Sprintf("run %d · %s", b.RunID, c.Tally()))
		out = append(out, payload(shorten(strings.Join(lines, "\n"), maxFallbackText), blocks))
	}
	return out
}

func renderCannotAudit(b notify.Batch) []notify.Payload {
	name := field(b.Integration, capName)
	header := shorten("driftd cannot audit "+plain(textsafe.Clip(oneLine(b.Integration), capName)), maxHeaderText)
	blocks := []slackapi.Block{headerBlock(header)}
	// Capped, this fits one section; splitting is a safety net.
	for _, s := range splitText("driftd cannot audit "+name+": "+field(b.Reason, capReason), maxSectionText) {
		blocks = append(blocks, sectionBlock(s))
	}
	since := ""
	if !b.Since.IsZero() {
		since = runTime(b.Since)
		s := "*Not fully audited since:* " + since
		if d := b.RunAt.Sub(b.Since); d > 0 {
			s += " (" + notify.Span(d) + " before this run)"
		}
		blocks = append(blocks, sectionBlock(s))
	}
	blocks = append(blocks,
		sectionBlock("*What to do:* check driftd's own credentials and permissions: its Entra app registration's secret or certificate and Microsoft Graph application permissions (with admin consent), and the Cloudflare API token's read access to Zero Trust. Then run `driftd status` to see what could not be read. Until then, findings for this integration may be out of date."),
		contextBlock(fmt.Sprintf("%s · run %d · %s", name, b.RunID, runTime(b.RunAt))),
	)
	text := "driftd cannot audit " + plain(textsafe.Clip(oneLine(b.Integration), capName)) + ": " + plain(oneLine(b.Reason))
	if since != "" {
		text += " (since " + since + ")"
	}
	text = escape(shorten(text, 1000)) + "\nCheck driftd's credentials and permissions; run `driftd status`."
	return []notify.Payload{payload(text, blocks)}
}

func renderTest(b notify.Batch, route config.SlackRoute) []notify.Payload {
	name := route.Name
	if name == "" {
		name = b.Route
	}
	at := runTime(b.RunAt)
	blocks := []slackapi.Block{
		headerBlock("driftd test message"),
		sectionBlock("driftd test message for route " + field(name, capName) + " — sent " + at + ". Findings for this route will arrive here."),
		contextBlock("route " + field(name, capName) + " · " + at),
	}
	return []notify.Payload{payload(escape(shorten("driftd test message for route "+plain(name), 1000))+" ("+at+")", blocks)}
}

func headerBlock(text string) slackapi.Block {
	return slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, text, true, false))
}

// Section and context text is verbatim: Slack does not preprocess it
// (auto-linking names, parsing bare mentions); the explicit "<url|label>"
// links and the configured mention still work.
func sectionBlock(text string) slackapi.Block {
	return slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, true), nil, nil)
}

func contextBlock(text string) slackapi.Block {
	return slackapi.NewContextBlock("", slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, true))
}

func payload(text string, blocks []slackapi.Block) notify.Payload {
	// Without HTML escaping, the stored payload reads as Slack will see
	// it ("<url|label>", not "\u003curl|label\u003e").
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(blocks); err != nil {
		// Blocks built here are plain structs of strings: this cannot
		// fail, and the fallback text still carries the message.
		return notify.Payload{Text: text}
	}
	return notify.Payload{Text: text, Blocks: bytes.TrimSpace(buf.Bytes())}
}
