package report

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
)

// HTMLDocument is what the one-file HTML audit report shows: a report,
// and optionally the snapshot it was made from (the credential timeline,
// Cloudflare deep links) and the recent runs (the history chart).
type HTMLDocument struct {
	Report *Report
	// Snapshot is the run's snapshot; nil: no credential timeline.
	Snapshot *snapshot.Snapshot
	// Runs are recent runs, newest first, as `driftd status` lists them;
	// empty: no history section.
	Runs []RunSummary
	// Source says where the report comes from ("state store, run 12").
	Source string
}

// WriteHTML writes doc as one self-contained HTML page: inline CSS and
// SVG, no script, nothing fetched. "Today" is the report's start, so the
// page depends on nothing but doc. Every value goes through html/template
// and is escaped for its context.
func WriteHTML(w io.Writer, doc HTMLDocument) error {
	t, err := htmlTemplate()
	if err != nil {
		return err
	}
	return t.Execute(w, buildHTMLView(doc))
}

// htmlView is the page's data, every string already capped and with
// control characters made visible; the template escapes it.
type htmlView struct {
	Generated    string
	Source       string
	Summary      string
	Complete     bool
	Tiles        []htmlTile
	Integrations []htmlIntegration
	Gaps         []htmlGap
	Timeline     *htmlTimeline
	History      *htmlHistory
	Stats        string
}

type htmlTile struct {
	Value, Label, Class string
}

type htmlIntegration struct {
	Name, Status     string
	Complete         bool
	Counts           string
	Severities       []htmlSeverity
	Suppressed       []htmlFinding
	CouldNotEvaluate []htmlResult
}

type htmlSeverity struct {
	Name, Class string
	Checks      []htmlCheck
}

type htmlCheck struct {
	ID, Title, Fix string
	Findings       []htmlFinding
}

type htmlFinding struct {
	CheckID, Message, Expected, Actual, Resource, Note string
	Link, LinkLabel                                    string
	Changes                                            []htmlChange
	MoreChanges                                        string
}

type htmlChange struct {
	Summary      string
	Modified     []string
	MoreModified string
}

type htmlResult struct{ CheckID, Reason string }

type htmlGap struct{ Scope, Side, What, Error string }

func buildHTMLView(doc HTMLDocument) htmlView {
	r := doc.Report
	v := htmlView{Generated: r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"), Source: safeText(doc.Source), Summary: summaryLine(r),
		Complete: r.Complete(), Stats: statsLine(r)}
	counts, suppressed := countBySeverity(r.Findings)
	complete := 0
	for _, in := range r.Integrations {
		if in.Status == Complete {
			complete++
		}
	}
	v.Tiles = append(v.Tiles, htmlTile{fmt.Sprint(len(r.Integrations)), "integrations", "neutral"})
	for sev := checks.Critical; sev >= checks.Low; sev-- {
		v.Tiles = append(v.Tiles, htmlTile{fmt.Sprint(counts[sev]), sev.String(), "sev-" + sev.String()})
	}
	v.Tiles = append(v.Tiles, htmlTile{fmt.Sprint(suppressed), "suppressed", "neutral"})
	state := htmlTile{fmt.Sprintf("%d/%d", complete, len(r.Integrations)), "complete", "ok"}
	if complete < len(r.Integrations) {
		state.Label, state.Class = "complete — audit incomplete", "warn"
	}
	v.Tiles = append(v.Tiles, state)

	accountID := ""
	if doc.Snapshot != nil {
		accountID = doc.Snapshot.AccountID
	}
	for _, g := range group(r) {
		in := htmlIntegration{Name: safeName(g.Name), Status: safeName(g.Status), Complete: g.Status == Complete}
		n := 0
		for _, sg := range g.Severities {
			hs := htmlSeverity{Name: strings.ToUpper(sg.Severity.String()), Class: "sev-" + sg.Severity.String()}
			for _, cg := range sg.Checks {
				hc := htmlCheck{ID: safeName(cg.CheckID), Title: safeText(cg.Title), Fix: safeText(cg.Remediation)}
				for _, f := range cg.Findings {
					hc.Findings = append(hc.Findings, htmlFindingOf(f, accountID))
					n++
				}
				hs.Checks = append(hs.Checks, hc)
			}
			in.Severities = append(in.Severities, hs)
		}
		in.Counts = plural(n, "finding")
		for _, f := range g.Suppressed {
			hf := htmlFindingOf(f, accountID)
			hf.Note = safeText(suppressionNote(f.Suppression))
			in.Suppressed = append(in.Suppressed, hf)
		}
		for _, res := range g.CouldNotEvaluate {
			in.CouldNotEvaluate = append(in.CouldNotEvaluate, htmlResult{safeName(res.CheckID), safeText(res.Reason)})
		}
		v.Integrations = append(v.Integrations, in)
	}
	for _, gap := range r.Gaps {
		scope := gap.Integration
		if scope == "" {
			scope = "all integrations"
		}
		v.Gaps = append(v.Gaps, htmlGap{safeName(scope), safeName(gap.Side), safeName(gap.What), safeText(gap.Error)})
	}
	if doc.Snapshot != nil {
		v.Timeline = buildTimeline(doc.Snapshot, r.StartedAt)
	}
	if len(doc.Runs) > 0 {
		v.History = buildHistory(doc.Runs)
	}
	return v
}

func htmlFindingOf(f checks.Finding, accountID string) htmlFinding {
	name := f.Resource.Name
	if name == "" {
		name = f.Resource.ID
	}
	hf := htmlFinding{CheckID: safeName(f.CheckID), Message: safeText(f.Message), Expected: safeText(f.Expected), Actual: safeText(f.Actual),
		Resource: safeName(f.Resource.Kind) + " " + safeName(name)}
	// finding.Link builds only https links to the two portals, from IDs
	// it has checked; html/template escapes them again as URLs.
	if link, _ := finding.Link(f.Resource, accountID); link != "" {
		hf.Link = link
		hf.LinkLabel = "Open in the Entra admin center"
		if f.Resource.Side == snapshot.SideCloudflare {
			hf.LinkLabel = "Open in the Cloudflare dashboard"
		}
	}
	shown, more := showChanges(f.Changes)
	for _, c := range shown {
		hc := htmlChange{Summary: safeText(c.Summary)}
		for _, m := range c.Modified {
			hc.Modified = append(hc.Modified, safeText(m))
		}
		if c.MoreModified > 0 {
			hc.MoreModified = moreProperties(c.MoreModified)
		}
		hf.Changes = append(hf.Changes, hc)
	}
	if more > 0 {
		hf.MoreChanges = moreChanges(more)
	}
	return hf
}

// The credential timeline's geometry, in SVG user units.
const (
	tlWidth   = 1000
	tlLabel   = 330 // the label column
	tlRight   = 20
	tlTop     = 34
	tlRow     = 26
	tlBar     = 14
	tlBottom  = 12
	tlMaxBack = 2 * 365 * 24 * time.Hour // how far back (and forward ×1.5) the axis reaches at most
)

type htmlTimeline struct {
	Width, Height         int
	ChartLeft, ChartRight int
	TodayX                int
	Today                 string
	Ticks                 []htmlTick
	Rows                  []htmlCredRow
	AxisBottom            int
	Warning, Critical     string
	SingleWindow          bool
	Empty                 string
}

type htmlTick struct {
	X     int
	Label string
}

type htmlCredRow struct {
	Y, BarY, TextY      int
	X, W                int
	WarnX, WarnW, CritW int
	Label, Title, Class string
	Integration, Kind   string
	Name, Ends, Left    string
	State, Start        string
	HasStart            bool
}

// buildTimeline lays out one bar per client secret and certificate of
// each integration's app registration, from its start to its end,
// against today and the integration's warning and critical windows.
func buildTimeline(snap *snapshot.Snapshot, today time.Time) *htmlTimeline {
	type cred struct {
		integration, kind string
		c                 snapshot.Credential
		exp               snapshot.Expiry
	}
	var creds []cred
	for _, in := range snap.Integrations {
		if in.Application == nil {
			continue
		}
		for _, c := range in.Application.PasswordCredentials {
			creds = append(creds, cred{in.Name, "client secret", c, in.Expiry})
		}
		for _, c := range in.Application.KeyCredentials {
			creds = append(creds, cred{in.Name, "certificate", c, in.Expiry})
		}
	}
	t := &htmlTimeline{Width: tlWidth, ChartLeft: tlLabel, ChartRight: tlWidth - tlRight, Today: today.UTC().Format("2006-01-02")}
	if len(creds) == 0 {
		t.Empty = "No client secrets or certificates were read."
		t.Height = tlTop + tlBottom
		return t
	}
	sort.SliceStable(creds, func(i, j int) bool {
		a, b := creds[i], creds[j]
		if a.integration != b.integration {
			return a.integration < b.integration
		}
		return endOf(a.c).Before(endOf(b.c))
	})
	// The axis spans every credential and both windows, within limits so
	// one 99-year secret cannot squash the rest.
	from, to := today.Add(-30*24*time.Hour), today.Add(60*24*time.Hour)
	first := true
	for _, c := range creds {
		if from2 := today.Add(c.exp.Warning + 14*24*time.Hour); from2.After(to) {
			to = from2
		}
		if c.c.Start != nil && c.c.Start.Before(from) {
			from = *c.c.Start
		}
		if c.c.End != nil && c.c.End.After(to) {
			to = *c.c.End
		}
		if first {
			t.Warning, t.Critical = days(c.exp.Warning), days(c.exp.Critical)
			t.SingleWindow, first = true, false
		} else if days(c.exp.Warning) != t.Warning || days(c.exp.Critical) != t.Critical {
			t.SingleWindow = false
		}
	}
	if earliest := today.Add(-tlMaxBack); from.Before(earliest) {
		from = earliest
	}
	if latest := today.Add(tlMaxBack * 3 / 2); to.After(latest) {
		to = latest
	}
	span := to.Sub(from)
	x := func(at time.Time) int {
		if at.Before(from) {
			at = from
		}
		if at.After(to) {
			at = to
		}
		return t.ChartLeft + int(float64(t.ChartRight-t.ChartLeft)*float64(at.Sub(from))/float64(span))
	}
	t.TodayX = x(today)
	t.Ticks = ticks(from, to, x)
	for i, c := range creds {
		y := tlTop + i*tlRow
		end := endOf(c.c)
		row := htmlCredRow{Y: y, BarY: y + (tlRow-tlBar)/2, TextY: y + tlRow/2 + 4, Integration: safeName(c.integration), Kind: c.kind}
		row.Name = credName(c.c)
		// The label column fits about 50 characters; the full name is in
		// the bar's tooltip and the table below.
		row.Label = shorten(row.Integration+" · "+c.kind+" "+row.Name, 50)
		critEnd, warnEnd := x(today.Add(c.exp.Critical)), x(today.Add(c.exp.Warning))
		row.WarnX, row.WarnW, row.CritW = t.TodayX, max(warnEnd-t.TodayX, 0), max(critEnd-t.TodayX, 0)
		start := from
		if c.c.Start != nil {
			start, row.HasStart = *c.c.Start, true
			row.Start = c.c.Start.UTC().Format("2006-01-02")
		}
		if c.c.End == nil {
			row.State, row.Class, row.Ends, row.Left = "no end date", "ok", "never", ""
			end = to
		} else {
			row.Ends = end.UTC().Format("2006-01-02")
			left := end.Sub(today)
			switch {
			case left < 0:
				row.State, row.Class, row.Left = "expired", "expired", fmt.Sprintf("expired %s ago", days(-left))
			case left <= c.exp.Critical:
				row.State, row.Class, row.Left = "critical", "crit", fmt.Sprintf("expires in %s", days(left))
			case left <= c.exp.Warning:
				row.State, row.Class, row.Left = "warning", "warn", fmt.Sprintf("expires in %s", days(left))
			default:
				row.State, row.Class, row.Left = "ok", "ok", fmt.Sprintf("expires in %s", days(left))
			}
		}
		row.X = x(start)
		row.W = max(x(end)-row.X, 2)
		row.Title = row.Integration + " · " + c.kind + " " + row.Name + ": " + row.Left + " (ends " + row.Ends + ")"
		t.Rows = append(t.Rows, row)
	}
	t.AxisBottom = tlTop + len(creds)*tlRow
	t.Height = t.AxisBottom + tlBottom + 14
	return t
}

func endOf(c snapshot.Credential) time.Time {
	if c.End == nil {
		return time.Time{}.Add(1<<62 - 1)
	}
	return *c.End
}

// credName is how a credential is named on the timeline: its display
// name (or, for none, its key ID), and a secret's hint.
func credName(c snapshot.Credential) string {
	name := c.DisplayName
	if name == "" {
		name = "key " + c.KeyID
	}
	s := fmt.Sprintf("%q", safeName(name))
	if c.Hint != "" {
		s += " (" + safeName(c.Hint) + "…)"
	}
	return s
}

// shorten cuts s to n characters, ending in "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// days is a duration in whole days: "1 day", "30 days".
func days(d time.Duration) string {
	return plural(int(d.Round(time.Hour).Hours()/24), "day")
}

// ticks puts a labelled tick on the first of each month, quarter or year
// of [from, to], whichever gives at most a dozen.
func ticks(from, to time.Time, x func(time.Time) int) []htmlTick {
	months := 1
	for _, step := range []int{1, 3, 6, 12} {
		months = step
		if int(to.Sub(from).Hours()/24/30)/step <= 12 {
			break
		}
	}
	t := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	for int(t.Month()-1)%months != 0 {
		t = t.AddDate(0, 1, 0)
	}
	var out []htmlTick
	for ; !t.After(to); t = t.AddDate(0, months, 0) {
		if t.Before(from) {
			continue
		}
		label := t.Format("Jan 2006")
		if months == 12 {
			label = t.Format("2006")
		}
		out = append(out, htmlTick{x(t), label})
	}
	return out
}

// The history chart's geometry.
const (
	hiWidth  = 1000
	hiLeft   = 40
	hiTop    = 14
	hiHeight = 160
	hiStrip  = 10
)

type htmlHistory struct {
	Width, Height  int
	Left, Right    int
	Top, Base      int
	StripY, StripH int
	LabelY         int
	Max            int
	Bars           []htmlRunBar
	Runs           []htmlRun
	First, Last    string
}

type htmlRunBar struct {
	X, W, Y, H int
	Class      string
	Title      string
	Label      string
	LabelX     int
}

type htmlRun struct {
	ID                         int64
	Started, Duration, Trigger string
	Status, Class, Error       string
	Findings, Opened, Resolved int
	Gaps                       int
}

// buildHistory charts the findings of each run, oldest on the left, the
// bar coloured by the run's status, and lists the runs.
func buildHistory(runs []RunSummary) *htmlHistory {
	h := &htmlHistory{Width: hiWidth, Left: hiLeft, Right: hiWidth - 10, Top: hiTop, Base: hiTop + hiHeight}
	h.StripY, h.StripH = h.Base+4, hiStrip
	h.LabelY = h.StripY + h.StripH + 14
	h.Height = h.LabelY + 6
	for _, r := range runs {
		h.Max = max(h.Max, r.Findings)
	}
	scale := max(h.Max, 1)
	slot := float64(h.Right-h.Left) / float64(len(runs))
	w := min(max(int(slot*0.7), 2), 36)
	for i := range runs {
		r := runs[len(runs)-1-i] // oldest first
		class := runClass(r.Status)
		bh := int(float64(hiHeight) * float64(r.Findings) / float64(scale))
		x := h.Left + int(slot*float64(i)+(slot-float64(w))/2)
		bar := htmlRunBar{X: x, W: w, Y: h.Base - bh, H: bh, Class: class, LabelX: x + w/2,
			Title: fmt.Sprintf("run %d, %s: %s, %s", r.ID, r.StartedAt.UTC().Format("2006-01-02 15:04"), safeName(r.Status), plural(r.Findings, "finding"))}
		if len(runs) <= 40 {
			bar.Label = fmt.Sprint(r.ID)
		}
		h.Bars = append(h.Bars, bar)
	}
	for _, r := range runs {
		hr := htmlRun{ID: r.ID, Started: r.StartedAt.UTC().Format("2006-01-02 15:04:05"), Duration: r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String(),
			Trigger: safeName(r.Trigger), Status: safeName(r.Status), Class: runClass(r.Status), Error: safeText(r.Error),
			Findings: r.Findings, Opened: r.Opened, Resolved: r.Resolved, Gaps: r.Gaps}
		h.Runs = append(h.Runs, hr)
	}
	h.First = runs[len(runs)-1].StartedAt.UTC().Format("2006-01-02")
	h.Last = runs[0].StartedAt.UTC().Format("2006-01-02")
	return h
}

func runClass(status string) string {
	switch status {
	case Complete:
		return "ok"
	case Incomplete:
		return "warn"
	}
	return "fail"
}

// htmlTemplate parses the page template; it is parsed per call (no
// package state), which costs well under a millisecond.
func htmlTemplate() (*template.Template, error) {
	return template.New("report").Parse(htmlPage)
}
