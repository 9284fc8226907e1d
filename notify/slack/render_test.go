package slack

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/textsafe"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

const (
	appID     = "11111111-2222-3333-4444-555555555555"
	scimID    = "66666666-7777-8888-9999-000000000000"
	idpID     = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	accountID = "0123456789abcdef0123456789abcdef"
	mention   = "<!subteam^S0123>"
)

func runAt() time.Time     { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }
func firstSeen() time.Time { return time.Date(2026, 2, 1, 23, 0, 0, 0, time.UTC) }

func appFinding(sev checks.Severity, check, msg string) checks.Finding {
	return checks.Finding{
		CheckID: check, Severity: sev, Integration: "corp-sso",
		Resource:    checks.Resource{Side: snapshot.SideEntra, Kind: checks.KindAppRegistration, ID: appID, Name: "Cloudflare Access"},
		Message:     msg,
		Expected:    "a client secret valid for more than 30 days",
		Actual:      "secret expires on 2026-03-10",
		Remediation: "Add a new client secret and update the Cloudflare identity provider.",
		Fingerprint: "fp-" + check,
	}
}

func scimFinding(sev checks.Severity) checks.Finding {
	return checks.Finding{
		CheckID: "ENTRA-SCIM-001", Severity: sev, Integration: "corp-sso",
		Resource: checks.Resource{Side: snapshot.SideEntra, Kind: checks.KindProvisioningApp, ID: scimID, Name: "Cloudflare SCIM"},
		Message:  "the email attribute mapping is missing", Expected: "userName ← userPrincipalName", Actual: "no mapping",
		Remediation: "Add the mapping in Provisioning → Mappings.", Fingerprint: "fp-scim",
	}
}

func idpFinding(sev checks.Severity) checks.Finding {
	return checks.Finding{
		CheckID: "CF-IDP-002", Severity: sev, Integration: "corp-sso",
		Resource: checks.Resource{Side: snapshot.SideCloudflare, Kind: checks.KindIdentityProvider, ID: idpID, Name: "Entra ID"},
		Message:  "PKCE is disabled", Expected: "pkce_enabled = true", Actual: "pkce_enabled = false",
		Remediation: "Enable PKCE on the identity provider.", Fingerprint: "fp-idp",
	}
}

func batch(items ...notify.Item) notify.Batch {
	return notify.Batch{Kind: notify.KindFindings, Route: "sec", RunID: 42, RunAt: runAt(), AccountID: accountID, Items: items}
}

func testRoute() config.SlackRoute {
	return config.SlackRoute{Route: config.Route{Name: "sec", Severity: checks.Medium}, Mention: mention}
}

// decoded is a payload's blocks as plain JSON values.
func decoded(t *testing.T, p notify.Payload) []map[string]any {
	t.Helper()
	var blocks []map[string]any
	if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
		t.Fatalf("blocks are not a JSON array: %v\n%s", err, p.Blocks)
	}
	return blocks
}

func blockText(b map[string]any) string {
	if t, ok := b["text"].(map[string]any); ok {
		s, _ := t["text"].(string)
		return s
	}
	if els, ok := b["elements"].([]any); ok {
		var parts []string
		for _, e := range els {
			if m, ok := e.(map[string]any); ok {
				s, _ := m["text"].(string)
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// texts returns each block's type and text.
func texts(t *testing.T, p notify.Payload) (types, text []string) {
	t.Helper()
	for _, b := range decoded(t, p) {
		typ, _ := b["type"].(string)
		types = append(types, typ)
		text = append(text, blockText(b))
	}
	return types, text
}

func mustValid(t *testing.T, p notify.Payload) {
	t.Helper()
	if problems := slacktest.Validate(p.Text, p.Blocks); problems != nil {
		t.Fatalf("Slack would refuse the payload: %v", problems)
	}
	if w := width(p.Text); w > maxFallbackText {
		t.Fatalf("fallback text is %d characters", w)
	}
}

func TestRenderOpened(t *testing.T) {
	f := appFinding(checks.High, "ENTRA-CRED-001", "client secret expires in 6 days")
	ps := Render(batch(notify.Item{Event: notify.EventOpened, Finding: f, FirstSeen: runAt()}), testRoute())
	if len(ps) != 1 {
		t.Fatalf("got %d payloads, want 1", len(ps))
	}
	mustValid(t, ps[0])
	types, text := texts(t, ps[0])
	if want := []string{"header", "section", "context"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("block types %v, want %v", types, want)
	}
	if text[0] != "driftd: 1 new — corp-sso" {
		t.Errorf("header %q", text[0])
	}
	wantSection := "🟧 *HIGH* · `ENTRA-CRED-001` · 🆕 opened\n" +
		"*Cloudflare Access* (app registration)\n" +
		"client secret expires in 6 days\n" +
		"*Expected:* a client secret valid for more than 30 days\n" +
		"*Found:* secret expires on 2026-03-10\n" +
		"*Fix:* Add a new client secret and update the Cloudflare identity provider.\n" +
		"<https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/" + appID + "|Open app registration>"
	if text[1] != wantSection {
		t.Errorf("section:\n%s\nwant:\n%s", text[1], wantSection)
	}
	if want := "corp-sso · run 42 · 2026-03-04T05:06:07Z · 1 opened"; text[2] != want {
		t.Errorf("context %q, want %q", text[2], want)
	}
	wantText := "driftd: 1 new — corp-sso\n[HIGH] ENTRA-CRED-001 corp-sso: client secret expires in 6 days\nrun 42 · 1 opened"
	if ps[0].Text != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", ps[0].Text, wantText)
	}
	if strings.Contains(string(ps[0].Blocks), "subteam") {
		t.Error("mention without a critical finding")
	}
}

func TestRenderEventsAndMention(t *testing.T) {
	b := batch(
		notify.Item{Event: notify.EventResolved, Finding: idpFinding(checks.Medium), FirstSeen: firstSeen()},
		notify.Item{Event: notify.EventReminder, Finding: scimFinding(checks.High), FirstSeen: firstSeen()},
		notify.Item{Event: notify.EventOpened, Finding: appFinding(checks.Critical, "ENTRA-CRED-001", "client secret expired"), FirstSeen: runAt()},
	)
	ps := Render(b, testRoute())
	if len(ps) != 1 {
		t.Fatalf("got %d payloads, want 1", len(ps))
	}
	mustValid(t, ps[0])
	types, text := texts(t, ps[0])
	if want := []string{"header", "section", "section", "section", "section", "context"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("block types %v, want %v", types, want)
	}
	if text[0] != "driftd: 1 new, 1 resolved, 1 reminder — corp-sso" {
		t.Errorf("header %q", text[0])
	}
	if !strings.HasPrefix(text[1], mention+" ") {
		t.Errorf("mention section %q does not start with the mention", text[1])
	}
	// Critical first, then high, then medium.
	if !strings.HasPrefix(text[2], "🟥 *CRITICAL* · `ENTRA-CRED-001` · 🆕 opened") {
		t.Errorf("first finding %q", text[2])
	}
	reminder := text[3]
	for _, want := range []string{
		"🟧 *HIGH* · `ENTRA-SCIM-001` · 🔁 still open since 2026-02-01",
		"*Fix:* Add the mapping in Provisioning → Mappings.",
		"<https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Provisioning/appId/" + scimID + "|Open provisioning>",
	} {
		if !strings.Contains(reminder, want) {
			t.Errorf("reminder section lacks %q:\n%s", want, reminder)
		}
	}
	resolved := text[4]
	for _, want := range []string{
		"🟨 *MEDIUM* · `CF-IDP-002` · ✅ resolved",
		"resolved",
		"<https://one.dash.cloudflare.com/" + accountID + "/settings/authentication|Open Zero Trust authentication settings>",
	} {
		if !strings.Contains(resolved, want) {
			t.Errorf("resolved section lacks %q:\n%s", want, resolved)
		}
	}
	for _, unwanted := range []string{"*Fix:*", "*Expected:*", "*Found:*"} {
		if strings.Contains(resolved, unwanted) {
			t.Errorf("resolved section has %q:\n%s", unwanted, resolved)
		}
	}
	if want := "corp-sso · run 42 · 2026-03-04T05:06:07Z · 1 opened · 1 resolved · 1 reminder"; text[5] != want {
		t.Errorf("context %q, want %q", text[5], want)
	}
	wantText := "driftd: 1 new, 1 resolved, 1 reminder — corp-sso\n" +
		"[CRITICAL] ENTRA-CRED-001 corp-sso: client secret expired\n" +
		"[HIGH] ENTRA-SCIM-001 corp-sso: the email attribute mapping is missing (still open)\n" +
		"[MEDIUM] CF-IDP-002 corp-sso: PKCE is disabled (resolved)\n" +
		"run 42 · 1 opened · 1 resolved · 1 reminder"
	if ps[0].Text != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", ps[0].Text, wantText)
	}
}

func TestRenderMentionOnlyWithOpenCriticals(t *testing.T) {
	for name, b := range map[string]notify.Batch{
		"high only":         batch(notify.Item{Event: notify.EventOpened, Finding: scimFinding(checks.High)}),
		"resolved critical": batch(notify.Item{Event: notify.EventResolved, Finding: scimFinding(checks.Critical)}),
	} {
		for _, p := range Render(b, testRoute()) {
			if strings.Contains(string(p.Blocks), "subteam") || strings.Contains(p.Text, "subteam") {
				t.Errorf("%s: mention sent", name)
			}
		}
	}
	noMention := testRoute()
	noMention.Mention = ""
	ps := Render(batch(notify.Item{Event: notify.EventReminder, Finding: scimFinding(checks.Critical)}), noMention)
	if types, _ := texts(t, ps[0]); len(types) != 3 {
		t.Errorf("without a mention configured: blocks %v", types)
	}
	ps = Render(batch(notify.Item{Event: notify.EventReminder, Finding: scimFinding(checks.Critical)}), testRoute())
	if _, text := texts(t, ps[0]); !strings.HasPrefix(text[1], mention) {
		t.Errorf("reminded critical: no mention in %q", text[1])
	}
}

func TestRenderEscapes(t *testing.T) {
	f := appFinding(checks.Critical, "ENTRA-CRED-001", "name is <!channel> & <https://evil.example|click>")
	f.Resource.Name = "A&B <app>"
	f.Actual = "x > y"
	f.Integration = "corp<sso>"
	ps := Render(batch(notify.Item{Event: notify.EventOpened, Finding: f}), testRoute())
	mustValid(t, ps[0])
	_, text := texts(t, ps[0])
	// The header is plain_text, which Slack shows literally.
	all := strings.Join(text[1:], "\n") + "\n" + ps[0].Text
	for _, raw := range []string{"<!channel>", "<https://evil", "<app>", "corp<sso>"} {
		if strings.Contains(all, raw) {
			t.Errorf("unescaped %q in\n%s", raw, all)
		}
	}
	for _, want := range []string{
		"name is &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;",
		"*A&amp;B &lt;app&gt;*",
		"*Found:* x &gt; y",
	} {
		if !strings.Contains(text[2], want) {
			t.Errorf("section lacks %q:\n%s", want, text[2])
		}
	}
	if !strings.Contains(ps[0].Text, "[CRITICAL] ENTRA-CRED-001 corp&lt;sso&gt;: name is &lt;!channel&gt;") {
		t.Errorf("fallback not escaped: %s", ps[0].Text)
	}
	if got := Text(ps); !strings.Contains(got, "corp<sso>: name is <!channel> & <https://evil.example|click>") {
		t.Errorf("Text does not unescape for the terminal: %s", got)
	}
	// The configured mention is markup and is kept as is.
	if !strings.HasPrefix(text[1], mention) {
		t.Errorf("mention was altered: %q", text[1])
	}
}

func TestRenderMultipleIntegrations(t *testing.T) {
	other := idpFinding(checks.High)
	other.Integration = "contractors"
	ps := Render(batch(
		notify.Item{Event: notify.EventOpened, Finding: appFinding(checks.Medium, "ENTRA-CRED-001", "expiring")},
		notify.Item{Event: notify.EventOpened, Finding: other},
	), testRoute())
	mustValid(t, ps[0])
	_, text := texts(t, ps[0])
	want := []string{"driftd: 2 new across 2 integrations", "*contractors*", "", "*corp-sso*", "", "contractors, corp-sso · run 42 · 2026-03-04T05:06:07Z · 2 opened"}
	if len(text) != len(want) {
		t.Fatalf("blocks %q", text)
	}
	for i, w := range want {
		if w != "" && text[i] != w {
			t.Errorf("block %d: %q, want %q", i, text[i], w)
		}
	}
	if !strings.Contains(text[2], "`CF-IDP-002`") || !strings.Contains(text[4], "`ENTRA-CRED-001`") {
		t.Errorf("findings not under their integration: %q", text)
	}
}

func TestRenderCannotAudit(t *testing.T) {
	b := notify.Batch{
		Kind: notify.KindCannotAudit, Route: "sec", RunID: 7, RunAt: runAt(), AccountID: accountID,
		Integration: "corp-sso", Since: runAt().Add(-50 * time.Hour),
		Reason: "Microsoft Graph returned 403 Authorization_RequestDenied for applications",
	}
	ps := Render(b, testRoute())
	if len(ps) != 1 {
		t.Fatalf("got %d payloads", len(ps))
	}
	mustValid(t, ps[0])
	types, text := texts(t, ps[0])
	if types[0] != "header" || text[0] != "driftd cannot audit corp-sso" {
		t.Errorf("header %q %q", types[0], text[0])
	}
	if want := "driftd cannot audit corp-sso: " + b.Reason; text[1] != want {
		t.Errorf("section %q, want %q", text[1], want)
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{"2026-03-02T03:06:07Z (2d 2h before this run)", "credentials and permissions", "`driftd status`", "corp-sso · run 7 · 2026-03-04T05:06:07Z"} {
		if !strings.Contains(all, want) {
			t.Errorf("message lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "subteam") {
		t.Error("cannot-audit message mentions")
	}
	if !strings.HasPrefix(ps[0].Text, "driftd cannot audit corp-sso: "+b.Reason+" (since 2026-03-02T03:06:07Z)") {
		t.Errorf("text %q", ps[0].Text)
	}

	// A runaway reason is capped, visibly, and stays in one section.
	b.Reason = strings.Repeat("permission denied reading the tenant ", 2000)
	ps = Render(b, testRoute())
	mustValid(t, ps[0])
	types, text = texts(t, ps[0])
	if want := []string{"header", "section", "section", "section", "context"}; !reflect.DeepEqual(types, want) {
		t.Errorf("long reason: blocks %v, want %v", types, want)
	}
	if !strings.HasPrefix(text[1], "driftd cannot audit corp-sso: permission denied") || !strings.HasSuffix(text[1], "…(truncated, 74000 characters)") {
		t.Errorf("long reason: section %q", text[1])
	}
}

func TestRenderTest(t *testing.T) {
	ps := Render(notify.Batch{Kind: notify.KindTest, Route: "sec", RunAt: runAt()}, testRoute())
	if len(ps) != 1 {
		t.Fatalf("got %d payloads", len(ps))
	}
	mustValid(t, ps[0])
	_, text := texts(t, ps[0])
	if !strings.HasPrefix(text[1], "driftd test message for route sec") || !strings.Contains(text[1], "2026-03-04T05:06:07Z") {
		t.Errorf("section %q", text[1])
	}
	if ps[0].Text != "driftd test message for route sec (2026-03-04T05:06:07Z)" {
		t.Errorf("text %q", ps[0].Text)
	}
}

func TestRenderNothing(t *testing.T) {
	if ps := Render(batch(), testRoute()); ps != nil {
		t.Errorf("empty batch rendered %d payloads", len(ps))
	}
	if ps := Render(notify.Batch{Kind: "other"}, testRoute()); ps != nil {
		t.Errorf("unknown kind rendered %d payloads", len(ps))
	}
}

// bigBatch has n findings over two integrations, every severity and
// event, and some very long messages.
func bigBatch(n int) notify.Batch {
	var items []notify.Item
	events := []string{notify.EventOpened, notify.EventResolved, notify.EventReminder}
	for i := range n {
		var f checks.Finding
		switch i % 3 {
		case 0:
			f = appFinding(checks.Severity(i%4+1), "", "")
		case 1:
			f = scimFinding(checks.Severity(i%4 + 1))
		default:
			f = idpFinding(checks.Severity(i%4 + 1))
		}
		f.CheckID = fmt.Sprintf("CHK-%03d", i)
		f.Resource.Name = fmt.Sprintf("Resource %03d", i)
		f.Fingerprint = fmt.Sprintf("fp-%03d", i)
		f.Message = fmt.Sprintf("finding %d is wrong", i)
		if i%7 == 0 {
			f.Message = strings.Repeat("a very long explanation & more ", 120)
		}
		if i%2 == 0 {
			f.Integration = "contractors"
		}
		items = append(items, notify.Item{Event: events[i%3], Finding: f, FirstSeen: firstSeen()})
	}
	return batch(items...)
}

// findingSection returns whether some section line of the payloads names
// both the check and the resource.
func findingShown(t *testing.T, ps []notify.Payload, f checks.Finding) bool {
	for _, p := range ps {
		_, text := texts(t, p)
		for _, s := range text {
			for line := range strings.SplitSeq(s, "\n") {
				if strings.Contains(line, "`"+f.CheckID+"`") && strings.Contains(line, f.Resource.Name) {
					return true
				}
			}
		}
	}
	return false
}

func TestRenderLongBatch(t *testing.T) {
	b := bigBatch(200)
	ps := Render(b, testRoute())
	if len(ps) < 2 {
		t.Fatalf("200 findings in %d message(s)", len(ps))
	}
	for i, p := range ps {
		mustValid(t, p)
		_, text := texts(t, p)
		if suffix := fmt.Sprintf("(%d/%d)", i+1, len(ps)); !strings.HasSuffix(text[0], suffix) {
			t.Errorf("message %d header %q lacks %s", i, text[0], suffix)
		}
		if !strings.HasPrefix(text[0], "driftd: 67 new, 67 resolved, 66 reminders across 2 integrations") {
			t.Errorf("header %q", text[0])
		}
	}
	_, first := texts(t, ps[0])
	if !strings.HasPrefix(first[1], mention) || !strings.HasPrefix(first[2], "*200 findings*: 🟥 50 critical · 🟧 50 high · 🟨 50 medium · 🟦 50 low.") {
		t.Errorf("first message opens with %q / %q", first[1], first[2])
	}
	for _, it := range b.Items {
		if !findingShown(t, ps, it.Finding) {
			t.Errorf("finding %s (%s) is in no message", it.Finding.CheckID, it.Finding.Resource.Name)
		}
	}
	// Every finding appears once in the fallback texts or in a "…and N
	// more".
	listed, more := 0, 0
	for _, p := range ps {
		for line := range strings.SplitSeq(p.Text, "\n") {
			if strings.HasPrefix(line, "[") {
				listed++
			}
			var n int
			if _, err := fmt.Sscanf(line, "…and %d more in this message", &n); err == nil {
				more += n
			}
		}
	}
	if listed+more != 200 {
		t.Errorf("fallback texts account for %d + %d findings, want 200", listed, more)
	}
}

func TestRenderLongDetailedFinding(t *testing.T) {
	var words []string
	for i := range 1500 {
		words = append(words, fmt.Sprintf("w%d", i))
	}
	f := appFinding(checks.High, "ENTRA-PERM-001", "too many permissions")
	f.Actual = strings.Join(words, " ")
	ps := Render(batch(notify.Item{Event: notify.EventOpened, Finding: f}), testRoute())
	if len(ps) != 1 {
		t.Fatalf("one finding in %d messages", len(ps))
	}
	mustValid(t, ps[0])
	types, text := texts(t, ps[0])
	if want := []string{"header", "section", "context"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("blocks %v, want %v", types, want)
	}
	// The value is capped with a visible marker; the rest of the finding
	// (the fix, the link) is all there.
	marker := fmt.Sprintf("…(truncated, %d characters)", len(f.Actual))
	for _, want := range []string{"*Found:* w0 w1 w2 ", marker + "\n*Fix:* ", "|Open app registration>"} {
		if !strings.Contains(text[1], want) {
			t.Errorf("section lacks %q:\n%s", want, text[1])
		}
	}
}

func TestRenderHeaderLimit(t *testing.T) {
	f := appFinding(checks.High, "ENTRA-CRED-001", "x")
	f.Integration = strings.Repeat("very-long-integration name ", 10)
	ps := Render(batch(notify.Item{Event: notify.EventOpened, Finding: f}), testRoute())
	mustValid(t, ps[0])
	_, text := texts(t, ps[0])
	if width(text[0]) > maxHeaderText || !strings.HasSuffix(text[0], "-integration…") {
		t.Errorf("header %q", text[0])
	}
}

func TestRenderDeterministic(t *testing.T) {
	b := bigBatch(60)
	want := Render(b, testRoute())
	r := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := b
		shuffled.Items = append([]notify.Item(nil), b.Items...)
		r.Shuffle(len(shuffled.Items), func(i, j int) { shuffled.Items[i], shuffled.Items[j] = shuffled.Items[j], shuffled.Items[i] })
		if got := Render(shuffled, testRoute()); !reflect.DeepEqual(got, want) {
			t.Fatal("rendering depends on the order of the batch")
		}
	}
}

func TestSplitText(t *testing.T) {
	link := "<https://example.com/a|Open the thing>"
	s := strings.Repeat("word &amp; "+link+" more\n", 400)
	pieces := splitText(s, 200)
	for _, p := range pieces {
		if width(p) > 200 {
			t.Fatalf("piece of width %d", width(p))
		}
		if strings.Count(p, "<") != strings.Count(p, ">") {
			t.Fatalf("link cut: %q", p)
		}
	}
	if got, want := strings.Fields(strings.Join(pieces, " ")), strings.Fields(s); !reflect.DeepEqual(got, want) {
		t.Fatal("words changed by splitting")
	}

	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var b strings.Builder
		for range r.IntN(400) {
			b.WriteString([]string{"a", "ü", "🟥", " ", "\n", "&amp;", "long-word"}[r.IntN(7)])
		}
		in := b.String()
		limit := 20 + r.IntN(60)
		pieces := splitText(in, limit)
		for _, p := range pieces {
			if width(p) > limit || p == "" {
				t.Fatalf("limit %d: piece %q", limit, p)
			}
		}
		// Only whitespace at the cuts is dropped, and words are cut only
		// when longer than the limit.
		squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
		if got, want := squash(strings.Join(pieces, "")), squash(in); got != want {
			t.Fatalf("limit %d: text changed:\n%q\n%q", limit, got, want)
		}
		fits := true
		for _, w := range strings.Fields(in) {
			fits = fits && width(w) <= limit
		}
		if got, want := strings.Fields(strings.Join(pieces, " ")), strings.Fields(in); fits && !reflect.DeepEqual(got, want) {
			t.Fatalf("limit %d: words changed:\n%q\n%q", limit, got, want)
		}
	}
}

func TestShorten(t *testing.T) {
	if got := shorten("short", 10); got != "short" {
		t.Errorf("%q", got)
	}
	if got := shorten("one two three four", 12); got != "one two…" {
		t.Errorf("%q", got)
	}
	// The trailing-punctuation trim must not take the ";" off an entity.
	if got := shorten("a&lt;b&gt; a&lt;b&gt; more words", 12); got != "a&lt;b…" {
		t.Errorf("%q", got)
	}
}

// hugeFinding carries 100,000 characters in every field that comes from
// API data, heavy in what escaping expands.
func hugeFinding(i int) checks.Finding {
	huge := strings.Repeat("a&<b> ", 100000/6)
	f := appFinding(checks.High, "ENTRA-CRED-001", huge)
	f.Resource.Name, f.Expected, f.Actual, f.Remediation = huge, huge, huge, huge
	f.Fingerprint = fmt.Sprintf("fp-huge-%d", i)
	return f
}

func TestRenderCapsHugeValues(t *testing.T) {
	ps := Render(batch(notify.Item{Event: notify.EventOpened, Finding: hugeFinding(0)}), testRoute())
	if len(ps) != 1 {
		t.Fatalf("a finding with 100,000-character values became %d messages", len(ps))
	}
	mustValid(t, ps[0])
	types, text := texts(t, ps[0])
	if want := []string{"header", "section", "context"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("blocks %v, want %v", types, want)
	}
	if got := strings.Count(text[1], "…(truncated, 99996 characters)"); got != 5 {
		t.Errorf("%d truncation markers, want 5 (name, message, expected, found, fix):\n%s", got, text[1])
	}
	if !strings.Contains(text[1], "|Open app registration>") {
		t.Error("deep link lost")
	}

	// A full detailed batch of such findings: one section per finding.
	var items []notify.Item
	for i := range detailedLimit {
		items = append(items, notify.Item{Event: notify.EventOpened, Finding: hugeFinding(i)})
	}
	ps = Render(batch(items...), testRoute())
	sections := 0
	for _, p := range ps {
		mustValid(t, p)
		types, _ := texts(t, p)
		for _, typ := range types {
			if typ == "section" {
				sections++
			}
		}
	}
	if sections != detailedLimit || len(ps) > detailedLimit/3+1 {
		t.Errorf("%d huge findings: %d sections in %d messages", detailedLimit, sections, len(ps))
	}
}

func TestRenderNeutralisesData(t *testing.T) {
	f := appFinding(checks.High, "ENTRA-CRED-001", "@here @Channel \x1b]0;pwned\x07\x1b[2J\rAll checks passed <!everyone> <@U0123> <#C1|x> &amp; \u202eevil")
	f.Resource.ID = "x|<https://evil.example|click>"
	f.Resource.Name = "name\nwith *lines*"
	f.Integration = "corp\tsso @everyone"
	ps := Render(batch(notify.Item{Event: notify.EventOpened, Finding: f}), testRoute())
	mustValid(t, ps[0])
	_, text := texts(t, ps[0])
	all := strings.Join(text, "\n") + "\n" + ps[0].Text
	for _, want := range []string{
		"＠here ＠Channel", `\x1b]0;pwned\x07\x1b[2J\rAll checks passed`, "&lt;!everyone&gt;", "&lt;@U0123&gt;", "&lt;#C1|x&gt;", "&amp;amp;", `\u202eevil`, `name\nwith`,
	} {
		if !strings.Contains(text[1], want) {
			t.Errorf("section lacks %q:\n%s", want, text[1])
		}
	}
	for _, raw := range []string{"\x1b", "\r", "\t", "\u202e", "@here", "@everyone", "<!everyone>", "<@U0123>", "evil.example|click>"} {
		if strings.Contains(all, raw) {
			t.Errorf("%q reaches the message:\n%s", raw, all)
		}
	}
	if strings.Contains(text[1], "|Open app registration>") {
		t.Error("deep link built from an ID that is not an ID")
	}
	for _, b := range decoded(t, ps[0]) {
		if b["type"] == "section" && b["text"].(map[string]any)["verbatim"] != true {
			t.Errorf("section is not verbatim: %v", b)
		}
	}
	if got := Text(ps); strings.ContainsAny(got, "\x1b\r\t\u202e") {
		t.Errorf("Text for a terminal has control characters: %q", got)
	}
}

// link and mention are the markup the renderer itself writes.
var ownMarkup = regexp.MustCompile(`<https://(entra\.microsoft\.com|one\.dash\.cloudflare\.com)/[A-Za-z0-9_./~#-]*\|[A-Za-z ]+>|` + regexp.QuoteMeta(mention))

// checkSlackText fails if text holds a control character other than the
// renderer's newlines, or a "<", ">" or "&" that is not the renderer's own
// markup or an entity.
func checkSlackText(t *testing.T, where, text string) {
	t.Helper()
	for _, r := range text {
		if r != '\n' && textsafe.Unsafe(r) {
			t.Fatalf("%s: raw %U in %q", where, r, text)
		}
	}
	s := ownMarkup.ReplaceAllString(text, "")
	if strings.ContainsAny(s, "<>") {
		t.Fatalf("%s: unescaped < or > in %q", where, text)
	}
	for i := strings.IndexByte(s, '&'); i >= 0; i = strings.IndexByte(s, '&') {
		rest := s[i:]
		if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
			t.Fatalf("%s: unescaped & at %q in %q", where, rest[:min(len(rest), 60)], text)
		}
		s = rest[1:]
	}
}

// FuzzRender renders batches whose API-derived text is fuzzed: rendering
// never panics, every message is one Slack accepts, and data never adds
// markup or a control character.
func FuzzRender(f *testing.F) {
	f.Add("\x1b]0;pwned\x07\x1b[2J\rAll checks passed", "Cloudflare Access", "corp-sso")
	f.Add("<!channel> <@U123> <https://evil.example|click> &amp; @here", "a|b>c", "x&y")
	f.Add(strings.Repeat("&<>", 2000), "\u202e\xff\xfe", "")
	f.Fuzz(func(t *testing.T, message, name, integration string) {
		var items []notify.Item
		for i, ev := range []string{notify.EventOpened, notify.EventReminder, notify.EventResolved, notify.EventAttributed, message} {
			fd := appFinding(checks.Severity(i%4+1), name, message)
			fd.Changes = []finding.Change{{Actor: name, ActorType: finding.ActorApp, ActorID: integration, Activity: message, IP: name,
				Modified: []finding.ModifiedProperty{{Name: name, Old: message, New: integration}}}, {Actor: message}}
			fd.Resource.Name, fd.Resource.ID, fd.Expected, fd.Actual, fd.Remediation = name, name, message, name, message
			fd.Integration = integration
			if i%2 == 1 {
				fd.Integration = name
			}
			fd.Fingerprint = fmt.Sprintf("fp-%d", i)
			items = append(items, notify.Item{Event: ev, Finding: fd, FirstSeen: firstSeen()})
		}
		many := append([]notify.Item(nil), items...)
		for len(many) <= detailedLimit {
			it := items[len(many)%len(items)]
			it.Finding.Fingerprint = fmt.Sprintf("fp-many-%d", len(many))
			many = append(many, it)
		}
		route := testRoute()
		route.Name = name
		batches := []notify.Batch{
			batch(items...),
			batch(many...),
			{Kind: notify.KindCannotAudit, Route: name, RunID: 1, RunAt: runAt(), Since: firstSeen(), Integration: integration, Reason: message},
			{Kind: notify.KindTest, Route: name, RunAt: runAt()},
		}
		for _, b := range batches {
			for _, p := range Render(b, route) {
				if problems := slacktest.Validate(p.Text, p.Blocks); problems != nil {
					t.Fatalf("%s: Slack would refuse the payload: %v", b.Kind, problems)
				}
				checkSlackText(t, b.Kind+" text", p.Text)
				for _, bl := range decoded(t, p) {
					txt := blockText(bl)
					if bl["type"] == "header" {
						if strings.ContainsFunc(txt, textsafe.Unsafe) {
							t.Fatalf("header %q", txt)
						}
						continue
					}
					checkSlackText(t, b.Kind+" "+bl["type"].(string), txt)
				}
			}
		}
	})
}

func changesAt(n int) []finding.Change {
	base := time.Date(2026, 3, 4, 4, 50, 0, 0, time.UTC)
	var out []finding.Change
	for i := range n {
		out = append(out, finding.Change{Source: snapshot.SideEntra, At: base.Add(-time.Duration(i) * time.Hour), Activity: "Update application",
			Actor: fmt.Sprintf("user%d@contoso.com", i), ActorType: finding.ActorUser, Target: appID})
	}
	return out
}

// hostileChanges is attribution an attacker wrote: a broadcast, a
// mention and markup in the actor, control and bidi characters, markup
// in the activity and the changed property.
func hostileChanges() []finding.Change {
	return []finding.Change{
		{Source: snapshot.SideEntra, At: time.Date(2026, 3, 4, 4, 50, 0, 0, time.UTC), Activity: "Update <https://evil.example|application> & more",
			Actor: "<!channel> @here eve\x1b[2J\u202e", ActorType: finding.ActorApp, ActorID: "<@U0123>", IP: "203.0.113.7",
			Modified: []finding.ModifiedProperty{{Name: "<!everyone>", Old: "@channel", New: "a\rb"}}},
		{Source: snapshot.SideEntra, At: time.Date(2026, 3, 3, 4, 50, 0, 0, time.UTC), Activity: "Add application", Actor: "adele@contoso.com", ActorType: finding.ActorUser},
	}
}

func TestRenderOpenedWithChanges(t *testing.T) {
	f := appFinding(checks.High, "ENTRA-CRED-001", "client secret expires in 6 days")
	f.Changes = hostileChanges()
	ps := Render(batch(notify.Item{Event: notify.EventOpened, Finding: f, FirstSeen: runAt()}), testRoute())
	if len(ps) != 1 {
		t.Fatalf("got %d payloads, want 1", len(ps))
	}
	mustValid(t, ps[0])
	types, text := texts(t, ps[0])
	if want := []string{"header", "section", "context"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("block types %v, want %v", types, want)
	}
	if text[0] != "driftd: 1 new — corp-sso" {
		t.Errorf("header %q", text[0])
	}
	wantLine := "👤 changed by &lt;!channel&gt; ＠here eve\\x1b[2J\\u202e (app &lt;@U0123&gt;) at 2026-03-04 04:50 UTC — " +
		"Update &lt;https://evil.example|application&gt; &amp; more (from 203.0.113.7) (+1 more)"
	if !strings.Contains(text[1], "\n*Fix:* Add a new client secret and update the Cloudflare identity provider.\n"+wantLine+"\n<https://entra.microsoft.com/") {
		t.Errorf("section lacks the changed-by line %q after the fix:\n%s", wantLine, text[1])
	}
	// One line for the newest change: no property values, no second change.
	if strings.Contains(text[1], "adele@") || strings.Contains(text[1], "everyone") {
		t.Errorf("opened item shows more than the newest change's summary:\n%s", text[1])
	}
	all := strings.Join(text, "\n") + "\n" + ps[0].Text
	for _, raw := range []string{"<!channel>", "@here", "<@U0123>", "\x1b", "\u202e", "evil.example|application>"} {
		if strings.Contains(all, raw) {
			t.Errorf("%q reaches the message:\n%s", raw, all)
		}
	}
	checkSlackText(t, "section", text[1])
	if ps[0].Text != "driftd: 1 new — corp-sso\n[HIGH] ENTRA-CRED-001 corp-sso: client secret expires in 6 days\nrun 42 · 1 opened" {
		t.Errorf("text %q", ps[0].Text)
	}

	// A reminder carries the line too; a resolved finding does not.
	ps = Render(batch(notify.Item{Event: notify.EventReminder, Finding: f, FirstSeen: firstSeen()}), testRoute())
	if _, text := texts(t, ps[0]); !strings.Contains(text[1], wantLine) {
		t.Errorf("reminder lacks the changed-by line:\n%s", text[1])
	}
	ps = Render(batch(notify.Item{Event: notify.EventResolved, Finding: f, FirstSeen: firstSeen()}), testRoute())
	if _, text := texts(t, ps[0]); strings.Contains(text[1], "changed by") {
		t.Errorf("resolved item shows who changed it:\n%s", text[1])
	}
}

func TestRenderAttributed(t *testing.T) {
	f := appFinding(checks.Critical, "ENTRA-APP-001", "the Web redirect URI is missing")
	f.Changes = changesAt(4)
	f.Changes[0].IP = "203.0.113.7"
	f.Changes[0].Modified = []finding.ModifiedProperty{
		{Name: "AppAddress", Old: `["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]`, New: "[]"},
		{Name: "SpaRedirectUris", New: `["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]`},
		{Name: "p3", Old: "a", New: "b"}, {Name: "p4", Old: "a", New: "b"}, {Name: "p5", Old: "a", New: "b"},
	}
	ps := Render(batch(notify.Item{Event: notify.EventAttributed, Finding: f, FirstSeen: firstSeen()}), testRoute())
	if len(ps) != 1 {
		t.Fatalf("got %d payloads, want 1", len(ps))
	}
	mustValid(t, ps[0])
	types, text := texts(t, ps[0])
	// An update about a finding already announced: no mention, even for
	// a critical one.
	if want := []string{"header", "section", "context"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("block types %v, want %v", types, want)
	}
	if text[0] != "driftd: 1 attribution update — corp-sso" {
		t.Errorf("header %q", text[0])
	}
	wantSection := "👤 *Who changed it* — `ENTRA-APP-001` *Cloudflare Access* (app registration) · corp-sso\n" +
		"🟥 CRITICAL · the Web redirect URI is missing · reported since 2026-02-01\n" +
		"• changed by user0@contoso.com at 2026-03-04 04:50 UTC — Update application (from 203.0.113.7)\n" +
		"    AppAddress: [\"https://acme.cloudflareaccess.com/cdn-cgi/access/callback\"] → []\n" +
		"    SpaRedirectUris: (none) → [\"https://acme.cloudflareaccess.com/cdn-cgi/access/callback\"]\n" +
		"    p3: a → b\n" +
		"    …and 2 more properties\n" +
		"• changed by user1@contoso.com at 2026-03-04 03:50 UTC — Update application\n" +
		"• changed by user2@contoso.com at 2026-03-04 02:50 UTC — Update application\n" +
		"…and 1 more\n" +
		"<https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/" + appID + "|Open app registration>"
	if text[1] != wantSection {
		t.Errorf("section:\n%s\nwant:\n%s", text[1], wantSection)
	}
	if want := "corp-sso · run 42 · 2026-03-04T05:06:07Z · 1 attribution update"; text[2] != want {
		t.Errorf("context %q, want %q", text[2], want)
	}
	wantText := "driftd: 1 attribution update — corp-sso\n" +
		"[CRITICAL] ENTRA-APP-001 corp-sso: who changed it: changed by user0@contoso.com at 2026-03-04 04:50 UTC — Update application (from 203.0.113.7)\n" +
		"run 42 · 1 attribution update"
	if ps[0].Text != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", ps[0].Text, wantText)
	}
	all := strings.ToLower(strings.Join(text, "\n") + "\n" + ps[0].Text)
	for _, unwanted := range []string{"opened", "🆕", " new", "subteam", "*fix:*", "*expected:*"} {
		if strings.Contains(all, unwanted) {
			t.Errorf("an attribution update reads like a new finding (%q):\n%s", unwanted, all)
		}
	}

	// Hostile attribution is neutralised in the update too.
	f.Changes = hostileChanges()
	ps = Render(batch(notify.Item{Event: notify.EventAttributed, Finding: f, FirstSeen: firstSeen()}), testRoute())
	mustValid(t, ps[0])
	_, text = texts(t, ps[0])
	for _, want := range []string{
		"• changed by &lt;!channel&gt; ＠here eve\\x1b[2J\\u202e (app &lt;@U0123&gt;) at 2026-03-04 04:50 UTC — Update &lt;https://evil.example|application&gt; &amp; more (from 203.0.113.7)",
		"    &lt;!everyone&gt;: ＠channel → a\\rb",
		"• changed by adele@contoso.com at 2026-03-03 04:50 UTC — Add application",
	} {
		if !strings.Contains(text[1], want) {
			t.Errorf("section lacks %q:\n%s", want, text[1])
		}
	}
	checkSlackText(t, "section", text[1])
	checkSlackText(t, "text", ps[0].Text)
	for _, raw := range []string{"<!channel>", "@here", "<!everyone>", "@channel", "\x1b", "\r", "\u202e"} {
		if strings.Contains(text[1]+ps[0].Text, raw) {
			t.Errorf("%q reaches the message", raw)
		}
	}
}

// Attribution updates go through the same splitting as every finding:
// a long batch of them, mixed with other events and with huge values,
// stays within Slack's limits and shows every finding.
func TestRenderAttributedLongBatch(t *testing.T) {
	for _, n := range []int{detailedLimit, 120} {
		var items []notify.Item
		for i := range n {
			f := hugeFinding(i)
			f.CheckID = fmt.Sprintf("CHK-%03d", i)
			f.Resource.Name = fmt.Sprintf("Resource %03d", i)
			huge := strings.Repeat("<!channel> & ", 100000/13)
			f.Changes = []finding.Change{{Actor: huge, Activity: huge, ActorType: finding.ActorApp, ActorID: huge, IP: huge,
				Modified: []finding.ModifiedProperty{{Name: huge, Old: huge, New: huge}, {Name: huge, Old: huge, New: huge}, {Name: huge, Old: huge, New: huge}, {Name: huge}}}}
			f.Changes = append(f.Changes, f.Changes[0], f.Changes[0], f.Changes[0])
			ev := notify.EventAttributed
			if i%3 == 1 {
				ev = notify.EventOpened
			}
			items = append(items, notify.Item{Event: ev, Finding: f, FirstSeen: firstSeen()})
		}
		b := batch(items...)
		ps := Render(b, testRoute())
		sections := 0
		for _, p := range ps {
			mustValid(t, p)
			checkSlackText(t, "text", p.Text)
			for _, bl := range decoded(t, p) {
				if bl["type"] == "section" {
					sections++
				}
				if bl["type"] != "header" {
					checkSlackText(t, bl["type"].(string), blockText(bl))
				}
			}
		}
		for _, it := range b.Items {
			if !sectionShows(t, ps, "`"+it.Finding.CheckID+"`", it.Finding.Resource.Name) {
				t.Errorf("%d items: %s is in no message", n, it.Finding.CheckID)
			}
		}
		if n == detailedLimit && sections < n {
			t.Errorf("%d detailed items in %d sections", n, sections)
		}
	}
}

// sectionShows reports whether one section of the payloads holds all of
// want.
func sectionShows(t *testing.T, ps []notify.Payload, want ...string) bool {
	for _, p := range ps {
		_, text := texts(t, p)
		for _, s := range text {
			all := true
			for _, w := range want {
				all = all && strings.Contains(s, w)
			}
			if all {
				return true
			}
		}
	}
	return false
}
