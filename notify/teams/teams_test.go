package teams

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/notify"
)

var update = flag.Bool("update", false, "rewrite testdata/card.golden")

var runAt = time.Date(2026, 12, 7, 14, 30, 0, 0, time.UTC)

const accountID = "0123456789abcdef0123456789abcdef"

func route(url string) config.TeamsRoute {
	return config.TeamsRoute{Route: config.Route{Name: "sec-teams"}, WebhookURL: config.NewSecret(url)}
}

func appFinding(sev finding.Severity, check, appID, msg string) finding.Finding {
	r := finding.Resource{Side: snapshot.SideEntra, Kind: finding.KindAppRegistration, ID: appID, Name: "Cloudflare Access (" + appID[:4] + ")"}
	return finding.Finding{CheckID: check, Severity: sev, Integration: "corp-sso", Resource: r, Message: msg,
		Expected: "at least 30 days of validity", Actual: "expires 2026-12-13", Remediation: "Add a new client secret and update the Cloudflare IdP.",
		Fingerprint: finding.Fingerprint(check, "corp-sso", r, "")}
}

func change(actor string) finding.Change {
	return finding.Change{Source: snapshot.SideEntra, At: runAt.Add(-2 * time.Hour), Activity: "Update application", Actor: actor, ActorType: finding.ActorUser,
		IP: "203.0.113.7", Modified: []finding.ModifiedProperty{{Name: "PasswordCredentials", Old: "[2 secrets]", New: "[1 secret]"}}}
}

// representative is a batch with an opened finding with changes, a
// resolved one, an attribution update and the audit status.
func representative() notify.Batch {
	opened := appFinding(finding.Critical, "ENTRA-CRED-001", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "Client secret expires in 6 days")
	opened.Changes = []finding.Change{change("adele@contoso.com"), change("bob@contoso.com")}
	resolved := appFinding(finding.Medium, "ENTRA-APP-004", "11111111-bbbb-cccc-dddd-eeeeeeeeeeee", "Redirect URI is not https")
	who := appFinding(finding.High, "ENTRA-APP-002", "22222222-bbbb-cccc-dddd-eeeeeeeeeeee", "Implicit grant is enabled")
	who.Changes = []finding.Change{change("carol@contoso.com")}
	cf := finding.Finding{CheckID: "CF-IDP-001", Severity: finding.Low, Integration: "corp-sso", Message: "PKCE is off",
		Resource: finding.Resource{Side: snapshot.SideCloudflare, Kind: finding.KindIdentityProvider, ID: "idp-1", Name: "Entra ID"}}
	cf.Fingerprint = finding.Fingerprint(cf.CheckID, "corp-sso", cf.Resource, "")
	since := runAt.Add(-3 * time.Hour)
	return notify.Batch{Kind: notify.KindFindings, Route: "sec-teams", RunID: 42, RunAt: runAt, AccountID: accountID,
		Items: []notify.Item{
			{Event: notify.EventOpened, Finding: opened, FirstSeen: runAt},
			{Event: notify.EventResolved, Finding: resolved, FirstSeen: runAt.Add(-48 * time.Hour)},
			{Event: notify.EventAttributed, Finding: who, FirstSeen: runAt.Add(-time.Hour)},
			{Event: notify.EventReminder, Finding: cf, FirstSeen: runAt.Add(-72 * time.Hour)},
		},
		Integrations: []notify.IntegrationStatus{{Name: "corp-sso", Status: notify.StatusOK},
			{Name: "hr-sync", Status: notify.StatusIncomplete, Since: &since, Reason: "Graph answered 403 for servicePrincipals"}},
	}
}

func cannotAudit() notify.Batch {
	return notify.Batch{Kind: notify.KindCannotAudit, Route: "sec-teams", RunID: 42, RunAt: runAt, Integration: "hr-sync",
		Since: runAt.Add(-26 * time.Hour), Reason: "Graph answered 403 Forbidden for /servicePrincipals"}
}

func TestGoldenCard(t *testing.T) {
	var all []json.RawMessage
	for _, b := range []notify.Batch{representative(), cannotAudit()} {
		for _, body := range Render(b) {
			for _, p := range validate(body) {
				t.Errorf("%s: %s", b.Kind, p)
			}
			all = append(all, body)
		}
	}
	raw, _ := json.Marshal(all)
	var got bytes.Buffer
	if err := json.Indent(&got, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteString("\n")
	path := filepath.Join("testdata", "card.golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./notify/teams -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("cards differ from %s (go test ./notify/teams -update to accept):\n%s", path, got.String())
	}
}

func TestCardContent(t *testing.T) {
	bodies := Render(representative())
	if len(bodies) != 1 {
		t.Fatalf("%d posts, want 1", len(bodies))
	}
	text := texts(t, bodies[0])
	for _, want := range []string{
		"driftd: 1 new, 1 resolved, 1 reminder, 1 attribution update — corp-sso",
		"**CRITICAL** · ENTRA-CRED-001 · 🆕 opened",
		"Changed: 👤 changed by adele@contoso.com at 2026-12-07 12:30 UTC — Update application (from 203.0.113.7) (+1 more)",
		"Now: resolved, the expectation is met again.",
		"👤 **Who changed it** — ENTRA-APP-002",
		"PasswordCredentials: \\[2 secrets\\] → \\[1 secret\\]",
		"hr-sync: ⚠️ incomplete since 2026-12-07T11:30:00Z — Graph answered 403 for servicePrincipals",
		"🔁 still open since 2026-12-04",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("card lacks %q:\n%s", want, text)
		}
	}
	for _, link := range []string{"https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
		"https://one.dash.cloudflare.com/" + accountID + "/settings/authentication"} {
		if !strings.Contains(string(bodies[0]), `"type":"Action.OpenUrl","title":`) || !strings.Contains(string(bodies[0]), link) {
			t.Errorf("no Action.OpenUrl to %s", link)
		}
	}
	// Severity colours: critical and high attention, medium warning (here
	// resolved: good), low accent.
	for _, want := range []string{`"color":"attention"`, `"style":"attention"`, `"style":"good"`, `"style":"accent"`} {
		if !strings.Contains(string(bodies[0]), want) {
			t.Errorf("card lacks %s", want)
		}
	}
}

// hostile is text from API data that tries everything: mentions, markdown,
// HTML, links, Adaptive Card functions, control and bidi characters.
const hostile = "<at>Adele</at> @everyone @General **bold** _it_ [click](https://evil.example) `code` # head > quote ~~s~~ {{DATE(2017-02-14T06:08:39Z)}} \x1b[2J\u202e\n- list"

func TestHostileTextIsNeutralised(t *testing.T) {
	f := appFinding(finding.High, "ENTRA-APP-001", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", hostile)
	f.Resource.Name = "- " + hostile
	f.Changes = []finding.Change{change("<at>x</at>@everyone")}
	b := notify.Batch{Kind: notify.KindFindings, RunID: 1, RunAt: runAt, AccountID: accountID, Items: []notify.Item{{Event: notify.EventOpened, Finding: f}}}
	bodies := Render(b)
	for _, body := range bodies {
		for _, p := range validate(body) {
			t.Error(p)
		}
	}
	text := texts(t, bodies[0])
	for _, bad := range []string{"<at>", "<", ">", "@everyone", "@General", "**bold**", "[click]", "`code`", "{{", "\x1b", "\u202e", "\n- list", "~~s"} {
		msg := strings.ReplaceAll(text, "**CRITICAL**", "")
		msg = strings.ReplaceAll(msg, "**HIGH**", "")
		msg = strings.ReplaceAll(msg, "**Cloudflare", "")
		if strings.Contains(strings.ReplaceAll(msg, "**\\- ", ""), bad) && bad != "**bold**" {
			t.Errorf("%q survived:\n%s", bad, text)
		}
	}
	for _, want := range []string{`＜at＞Adele＜/at＞`, "＠everyone", "＠General", `\*\*bold\*\*`, `\_it\_`, `\[click\](https://evil.example)`, "\\`code\\`", `\# head ＞ quote \~\~s\~\~`, "｛｛DATE", `\\x1b`, `\\u202e\\n- list`, "**\\- ＜at＞"} {
		if !strings.Contains(text, want) {
			t.Errorf("escaped text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "adele＠") || !strings.Contains(texts(t, Render(representative())[0]), "adele@contoso.com") {
		t.Errorf("an e-mail address lost its @")
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":   "plain text",
		"a*b_c":        `a\*b\_c`,
		"- item":       `\- item`,
		"+ item":       `\+ item`,
		"12. item":     `12\. item`,
		"12 items.":    "12 items.",
		`back\slash`:   `back\\slash`,
		"[x](y)":       `\[x\](y)`,
		"#tag ~x~ `c`": "\\#tag \\~x\\~ \\`c\\`",
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// hostileBatch has n findings with long hostile texts over two
// integrations.
func hostileBatch(n int) notify.Batch {
	b := notify.Batch{Kind: notify.KindFindings, Route: "sec-teams", RunID: 7, RunAt: runAt, AccountID: accountID}
	long := strings.Repeat(hostile+" *_[]`#~\\ ", 40)
	for i := range n {
		f := appFinding(finding.Severity(1+i%4), fmt.Sprintf("CHK-%03d", i), fmt.Sprintf("%08d-bbbb-cccc-dddd-eeeeeeeeeeee", i), long)
		f.Integration = []string{"corp-sso", "hr-sync"}[i%2]
		f.Resource.Name = fmt.Sprintf("app %03d %s", i, long)
		f.Expected, f.Actual, f.Remediation = long, long, long
		f.Changes = []finding.Change{change(long), change("x")}
		event := []string{notify.EventOpened, notify.EventResolved, notify.EventReminder, notify.EventAttributed}[i%4]
		b.Items = append(b.Items, notify.Item{Event: event, Finding: f, FirstSeen: runAt})
	}
	return b
}

func TestLargeBatchIsSplitWithNothingDropped(t *testing.T) {
	for _, n := range []int{20, 200} { // detailed and one line each
		b := hostileBatch(n)
		recv := newReceiver(t)
		notifier := New(route(recv.URL()), nil)
		bodies, err := notifier.Render(b)
		if err != nil || len(bodies) < 2 {
			t.Fatalf("%d findings: %d posts (%v); want several", n, len(bodies), err)
		}
		for _, body := range bodies {
			if _, err := notifier.Deliver(t.Context(), body); err != nil {
				t.Fatal(err)
			}
		}
		posts := recv.Posts()
		if len(posts) != len(bodies) {
			t.Fatalf("%d posts received, %d sent", len(posts), len(bodies))
		}
		var all strings.Builder
		for i, p := range posts {
			if len(p) > MaxBody {
				t.Errorf("post %d is %d bytes", i+1, len(p))
			}
			if h, want := header(t, p), fmt.Sprintf("(%d/%d)", i+1, len(posts)); !strings.HasSuffix(h, want) {
				t.Errorf("post %d header %q lacks %s", i+1, h, want)
			}
			all.WriteString(texts(t, p))
		}
		for _, it := range b.Items {
			if c := strings.Count(all.String(), " "+it.Finding.CheckID+" "); c != 1 {
				t.Errorf("%d findings: %s appears %d times", n, it.Finding.CheckID, c)
			}
		}
	}
}

func TestHugeFindingIsClippedToFit(t *testing.T) {
	huge := strings.Repeat("\x01*", 200000)
	f := appFinding(finding.Critical, strings.Repeat("C", 5000), "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", huge)
	f.Integration = huge
	f.Resource.Name, f.Resource.Kind, f.Expected, f.Actual, f.Remediation = huge, huge, huge, huge, huge
	var changes []finding.Change
	for range 10 {
		c := change(huge)
		c.ActorID, c.ActorType, c.Activity, c.IP = huge, finding.ActorApp, huge, huge
		m := finding.ModifiedProperty{Name: huge, Old: huge, New: huge}
		c.Modified = []finding.ModifiedProperty{m, m, m, m}
		changes = append(changes, c)
	}
	f.Changes = changes
	for _, event := range []string{notify.EventOpened, notify.EventAttributed} {
		b := notify.Batch{Kind: notify.KindFindings, RunID: 1, RunAt: runAt, Items: []notify.Item{{Event: event, Finding: f}},
			Integrations: []notify.IntegrationStatus{{Name: huge, Status: notify.StatusIncomplete, Reason: huge}}}
		bodies := Render(b)
		if len(bodies) == 0 {
			t.Fatal("nothing rendered")
		}
		for _, body := range bodies {
			for _, p := range validate(body) {
				t.Errorf("%s: %s", event, p)
			}
		}
		if !strings.Contains(texts(t, bodies[len(bodies)-1]), "truncated, 400000 characters") {
			t.Errorf("%s: no truncation marker", event)
		}
	}
	for _, body := range Render(notify.Batch{Kind: notify.KindCannotAudit, Integration: huge, Reason: huge, RunAt: runAt}) {
		for _, p := range validate(body) {
			t.Errorf("cannot_audit: %s", p)
		}
	}
}

func TestTestMessage(t *testing.T) {
	bodies := Render(notify.Batch{Kind: notify.KindTest, Route: "sec-teams", RunAt: runAt})
	if len(bodies) != 1 || !strings.Contains(texts(t, bodies[0]), "driftd test message for route sec-teams") {
		t.Fatalf("test message: %s", bodies)
	}
	for _, p := range validate(bodies[0]) {
		t.Error(p)
	}
	if len(Render(notify.Batch{Kind: notify.KindFindings})) != 0 || len(Render(notify.Batch{Kind: "other"})) != 0 {
		t.Error("an empty batch or unknown kind rendered a post")
	}
}

// Rendering is a pure function of the batch, so a retried multi-post
// batch resumes with the same posts.
func TestRenderIsDeterministic(t *testing.T) {
	b := hostileBatch(60)
	first := Render(b)
	for i, j := 0, len(b.Items)-1; i < j; i, j = i+1, j-1 {
		b.Items[i], b.Items[j] = b.Items[j], b.Items[i]
	}
	again := Render(b)
	if len(first) != len(again) {
		t.Fatalf("%d then %d posts", len(first), len(again))
	}
	for i := range first {
		if !bytes.Equal(first[i], again[i]) {
			t.Errorf("post %d differs", i+1)
		}
	}
}

func sendError(t *testing.T, err error) *notify.SendError {
	t.Helper()
	se, ok := err.(*notify.SendError)
	if !ok {
		t.Fatalf("error %T %v, want *notify.SendError", err, err)
	}
	if strings.Contains(se.Error(), canary) || strings.Contains(se.Error(), "/workflows/") {
		t.Errorf("error names the webhook URL: %s", se.Error())
	}
	return se
}

func TestDeliverStatuses(t *testing.T) {
	body := Render(representative())[0]
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name       string
		reply      reply
		permanent  bool
		retryAfter time.Duration
		reason     string
	}{
		{"429 seconds", reply{status: 429, retryAfter: "17"}, false, 17 * time.Second, "rate_limited"},
		{"429 date", reply{status: 429, retryAfter: date}, false, 0, "rate_limited"},
		{"429 bare", reply{status: 429}, false, 0, "rate_limited"},
		{"503", reply{status: 503}, false, 0, "HTTP 503"},
		{"500", reply{status: 500}, false, 0, "HTTP 500"},
		{"408", reply{status: 408}, false, 0, "HTTP 408"},
		{"400", reply{status: 400}, true, 0, "HTTP 400: card refused"},
		{"401", reply{status: 401}, true, 0, "HTTP 401: webhook refused the request (check its URL and the workflow's permissions)"},
		{"403", reply{status: 403}, true, 0, "HTTP 403: webhook refused the request (check its URL and the workflow's permissions)"},
		{"404", reply{status: 404}, true, 0, "HTTP 404: webhook not found (was the workflow deleted or turned off?)"},
		{"413", reply{status: 413}, true, 0, "HTTP 413: card refused"},
		{"same-origin redirect", reply{status: 307, location: hookPath + "&moved=1"}, true, 0, "HTTP 307: redirect not followed"},
		{"off-origin redirect", reply{status: 308, location: "https://elsewhere.example" + hookPath}, true, 0, "refused a redirect to another origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recv := newReceiver(t, tc.reply)
			_, err := New(route(recv.URL()), nil).Deliver(t.Context(), body)
			se := sendError(t, err)
			if se.Reason != tc.reason || se.Permanent != tc.permanent {
				t.Errorf("got %+v, want %q permanent %v", *se, tc.reason, tc.permanent)
			}
			switch {
			case tc.name == "429 date":
				if se.RetryAfter < 80*time.Second || se.RetryAfter > 91*time.Second {
					t.Errorf("Retry-After from a date: %s", se.RetryAfter)
				}
			case se.RetryAfter != tc.retryAfter:
				t.Errorf("RetryAfter %s, want %s", se.RetryAfter, tc.retryAfter)
			}
			if recv.Requests() != 1 {
				t.Errorf("%d requests, want exactly 1 (no retry, no redirect followed)", recv.Requests())
			}
		})
	}
}

func TestDeliver503ThenSuccess(t *testing.T) {
	recv := newReceiver(t, reply{status: 503})
	n := New(route(recv.URL()), nil)
	body := Render(representative())[0]
	if _, err := n.Deliver(t.Context(), body); sendError(t, err).Permanent {
		t.Fatal("503 is permanent")
	}
	if _, err := n.Deliver(t.Context(), body); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	if posts := recv.Posts(); len(posts) != 1 || !bytes.Equal(posts[0], body) {
		t.Errorf("received %d posts", len(posts))
	}
}

// The webhook URL is the credential: no error names it, whatever fails.
func TestWebhookURLNeverInErrors(t *testing.T) {
	body := Render(representative())[0]
	closed := newReceiver(t)
	closedURL := closed.URL()
	closed.srv.Close()
	cases := map[string]string{
		"refused":     closedURL,
		"no such":     "https://no-such-host.invalid" + hookPath,
		"bad URL":     "https://exa mple.com" + hookPath,
		"not a URL":   "::" + canary,
		"bad scheme":  "ftp://example.com" + hookPath,
		"bad percent": "https://example.com/%zz" + canary,
	}
	for name, url := range cases {
		_, err := New(route(url), nil).Deliver(t.Context(), body)
		if err == nil {
			t.Errorf("%s: delivered", name)
			continue
		}
		sendError(t, err)
	}
	recv := newReceiver(t, reply{status: 404}, reply{status: 500}, reply{status: 429, retryAfter: "3"}, reply{status: 302, location: "https://login.example/?next=" + canary})
	n := New(route(recv.URL()), nil)
	for range 4 {
		_, err := n.Deliver(t.Context(), body)
		sendError(t, err)
	}
	if d := n.Destination(); strings.Contains(d, canary) || !strings.HasPrefix(d, "teams:") {
		t.Errorf("Destination %q", d)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", route(recv.URL()), n, n, n); strings.Contains(s, canary) {
		t.Errorf("printing the route or notifier shows the URL")
	}
}
