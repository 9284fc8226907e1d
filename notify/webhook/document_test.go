package webhook

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/notify"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	appID     = "11111111-2222-3333-4444-555555555555"
	scimID    = "66666666-7777-8888-9999-000000000000"
	idpID     = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	accountID = "0123456789abcdef0123456789abcdef"
)

// cet is not UTC: every time in the document must come out in UTC.
var cet = time.FixedZone("CET", 3600)

func runAt() time.Time     { return time.Date(2026, 3, 4, 6, 6, 7, 0, cet) }
func firstSeen() time.Time { return time.Date(2026, 2, 1, 23, 0, 0, 0, time.UTC) }

func appFinding(sev finding.Severity, check, msg, expected, actual, fix string) finding.Finding {
	r := finding.Resource{Side: snapshot.SideEntra, Kind: finding.KindAppRegistration, ID: appID, Name: "Cloudflare Access"}
	return finding.Finding{
		CheckID: check, Severity: sev, Integration: "corp-sso", Resource: r,
		Message: msg, Expected: expected, Actual: actual, Remediation: fix,
		Fingerprint: finding.Fingerprint(check, "corp-sso", r, check),
	}
}

func scimFinding() finding.Finding {
	r := finding.Resource{Side: snapshot.SideEntra, Kind: finding.KindProvisioningApp, ID: scimID, Name: "Cloudflare SCIM"}
	return finding.Finding{
		CheckID: "ENTRA-SCIM-001", Severity: finding.High, Integration: "corp-sso", Resource: r,
		Message: "the email attribute mapping is missing", Expected: "emails[type eq \"work\"].value ← mail", Actual: "no mapping",
		Remediation: "Add the mapping in Provisioning → Mappings.", Fingerprint: finding.Fingerprint("ENTRA-SCIM-001", "corp-sso", r, "emails"),
	}
}

func idpFinding() finding.Finding {
	r := finding.Resource{Side: snapshot.SideCloudflare, Kind: finding.KindIdentityProvider, ID: idpID, Name: "Entra ID (contractors)"}
	return finding.Finding{
		CheckID: "CF-IDP-002", Severity: finding.Medium, Integration: "contractors", Resource: r,
		Message: `Identity provider "Entra ID (contractors)" has PKCE disabled`, Expected: "pkce_enabled = true", Actual: "pkce_enabled = false",
		Remediation: "Enable PKCE on the identity provider.", Fingerprint: finding.Fingerprint("CF-IDP-002", "contractors", r, "pkce_enabled"),
	}
}

func attributed(f finding.Finding, c []finding.Change) finding.Finding {
	f.Changes = c
	return f
}

// findingsBatch is a representative batch: findings that opened, one
// reminded and one resolved, over two integrations, one of which could
// not be fully audited.
func findingsBatch() notify.Batch {
	since := time.Date(2026, 3, 3, 23, 0, 0, 0, cet)
	return notify.Batch{
		Kind: notify.KindFindings, Route: "pagerduty", RunID: 42, RunAt: runAt(), AccountID: accountID,
		Items: []notify.Item{
			{Event: notify.EventOpened, FirstSeen: runAt(), Finding: attributed(appFinding(finding.Critical, "ENTRA-APP-001",
				`App registration "Cloudflare Access" lacks the Web redirect URI https://acme.cloudflareaccess.com/cdn-cgi/access/callback`,
				"https://acme.cloudflareaccess.com/cdn-cgi/access/callback", "Web redirect URIs: none",
				"Add the redirect URI to the app registration's Web platform."), appChanges())},
			{Event: notify.EventOpened, FirstSeen: runAt(), Finding: appFinding(finding.High, "ENTRA-CRED-001",
				`Client secret "cloudflare-access" of app registration "Cloudflare Access" expires in 5 days (2026-03-09)`,
				"valid for more than 7 days", "ends 2026-03-09T05:06:07Z (expires in 5 days)",
				"Add a new client secret and update the Cloudflare identity provider.")},
			{Event: notify.EventReminder, FirstSeen: firstSeen(), Finding: scimFinding()},
			{Event: notify.EventResolved, FirstSeen: firstSeen(), Finding: idpFinding()},
		},
		Integrations: []notify.IntegrationStatus{
			{Name: "contractors", Status: notify.StatusIncomplete, Since: &since, Reason: "reading synchronization jobs: HTTP 403 Authorization_RequestDenied"},
			{Name: "corp-sso", Status: notify.StatusOK},
		},
	}
}

// appChanges is who changed the app registration: a user in the
// portal, with the property's old and new values, and earlier an
// automation; the times are not in UTC.
func appChanges() []finding.Change {
	return []finding.Change{
		{Source: snapshot.SideEntra, At: time.Date(2026, 3, 4, 5, 50, 0, 0, cet), Activity: "Update application", Actor: "adele@contoso.com",
			ActorType: finding.ActorUser, IP: "203.0.113.7", Target: appID, Modified: []finding.ModifiedProperty{
				{Name: "AppAddress", Old: `["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]`, New: "[]"},
				{Name: "SpaRedirectUris", New: `["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]`},
			}},
		{Source: snapshot.SideEntra, At: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Activity: "Update application", Actor: "Terraform CI",
			ActorType: finding.ActorApp, ActorID: "99999999-8888-7777-6666-555555555555", Target: appID},
	}
}

// attributedBatch is the later update saying who changed an already
// reported finding's objects, with an actor string an attacker chose.
func attributedBatch() notify.Batch {
	f := scimFinding()
	f.Changes = []finding.Change{{Source: snapshot.SideEntra, At: time.Date(2026, 3, 4, 5, 0, 0, 0, cet), Activity: "Update synchronization job",
		Actor: "<!channel> @here \x1b[2Jeve\u202e", ActorType: finding.ActorUser, Target: scimID,
		Modified: []finding.ModifiedProperty{{Name: "emails[type eq \"work\"].value", Old: "mail", New: ""}}}}
	return notify.Batch{
		Kind: notify.KindFindings, Route: "pagerduty", RunID: 43, RunAt: runAt(), AccountID: accountID,
		Items:        []notify.Item{{Event: notify.EventAttributed, FirstSeen: firstSeen(), Finding: f}},
		Integrations: []notify.IntegrationStatus{{Name: "corp-sso", Status: notify.StatusOK}},
	}
}

func cannotAuditBatch() notify.Batch {
	since := time.Date(2026, 3, 2, 4, 6, 7, 0, cet)
	return notify.Batch{
		Kind: notify.KindCannotAudit, Route: "pagerduty", RunID: 43, RunAt: runAt(), AccountID: accountID,
		Integration: "corp-sso", Since: since,
		Reason: "token endpoint: AADSTS7000222: the provided client secret keys for app '66666666-7777-8888-9999-000000000000' are expired",
		Integrations: []notify.IntegrationStatus{
			{Name: "corp-sso", Status: notify.StatusIncomplete, Since: &since, Reason: "token endpoint: AADSTS7000222: the provided client secret keys are expired"},
		},
	}
}

// golden compares got with testdata/name; -update rewrites the file.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./notify/webhook -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./notify/webhook -update to accept):\n%s", name, got)
	}
}

// indented is the body POSTed for b, indented: what the golden files
// hold, so they pin the exact bytes a receiver gets, up to whitespace.
func indented(t *testing.T, b notify.Batch) []byte {
	t.Helper()
	body, err := Render(b)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(body) || bytes.ContainsAny(body, "\n") {
		t.Fatalf("the body is not compact JSON:\n%s", body)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func TestDocumentGolden(t *testing.T) {
	golden(t, "document.golden", indented(t, findingsBatch()))
	golden(t, "cannot_audit.golden", indented(t, cannotAuditBatch()))
	golden(t, "attributed.golden", indented(t, attributedBatch()))
}

func TestDocumentVersion(t *testing.T) {
	for _, b := range []notify.Batch{findingsBatch(), cannotAuditBatch(), {Kind: notify.KindTest, Route: "pagerduty", RunAt: runAt()}} {
		body, err := Render(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(body, []byte(`{"version":1,`)) {
			t.Errorf("%s: the document does not open with \"version\":1: %.40s", b.Kind, body)
		}
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc["version"] != float64(1) || doc["kind"] != b.Kind || doc["route"] != "pagerduty" {
			t.Errorf("%s: version %v, kind %v, route %v", b.Kind, doc["version"], doc["kind"], doc["route"])
		}
	}
	if Version != 1 {
		t.Errorf("Version = %d: a new schema version needs new golden files, a README entry and a release note", Version)
	}
}

// TestDocumentIsDeterministic: a retry re-renders the stored batch, and
// the receiver must get the same bytes under the same signature.
func TestDocumentIsDeterministic(t *testing.T) {
	for _, b := range []notify.Batch{findingsBatch(), cannotAuditBatch(), attributedBatch()} {
		first, err := Render(b)
		if err != nil {
			t.Fatal(err)
		}
		// Through the outbox encoding and back, as the dispatcher does.
		stored, err := notify.EncodeBatch(b)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := notify.DecodeBatch(stored)
		if err != nil {
			t.Fatal(err)
		}
		n := New(route("https://hooks.example.com/x"), nil)
		for i := range 3 {
			msgs, err := n.Render(decoded)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || !bytes.Equal(msgs[0], first) {
				t.Fatalf("%s: rendering %d differs:\n%s\n%s", b.Kind, i+2, msgs[0], first)
			}
		}
	}
}

func TestDocumentFields(t *testing.T) {
	doc := NewDocument(findingsBatch())
	if doc.Run.At.Location() != time.UTC || doc.Run.At.Format(time.RFC3339) != "2026-03-04T05:06:07Z" {
		t.Errorf("run time %s, want 2026-03-04T05:06:07Z in UTC", doc.Run.At)
	}
	var events []string
	for _, f := range doc.Findings {
		events = append(events, f.Event)
	}
	if want := []string{"opened", "opened", "reminder", "resolved"}; !reflect.DeepEqual(events, want) {
		t.Errorf("events %v, want %v (the batch's order)", events, want)
	}
	links := map[string]string{
		"ENTRA-APP-001":  "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/" + appID,
		"ENTRA-SCIM-001": "https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Provisioning/appId/" + scimID,
		"CF-IDP-002":     "https://one.dash.cloudflare.com/" + accountID + "/settings/authentication",
	}
	for _, f := range doc.Findings {
		if want, ok := links[f.CheckID]; ok && f.Link != want {
			t.Errorf("%s: link %q, want %q", f.CheckID, f.Link, want)
		}
		if f.Fingerprint == "" || f.FirstSeen.IsZero() || f.FirstSeen.Location() != time.UTC {
			t.Errorf("%s: fingerprint %q, first seen %s", f.CheckID, f.Fingerprint, f.FirstSeen)
		}
	}
	if doc.CannotAudit != nil {
		t.Error("a findings document has cannot_audit set")
	}
	in := doc.Integrations[0]
	if in.Status != notify.StatusIncomplete || in.Since == nil || in.Since.Location() != time.UTC || in.Reason == "" {
		t.Errorf("incomplete integration %+v", in)
	}
	if ok := doc.Integrations[1]; ok.Status != notify.StatusOK || ok.Since != nil || ok.Reason != "" {
		t.Errorf("healthy integration %+v", ok)
	}

	ca := NewDocument(cannotAuditBatch())
	if ca.CannotAudit == nil || ca.CannotAudit.Integration != "corp-sso" || ca.CannotAudit.Since.Location() != time.UTC || !strings.Contains(ca.CannotAudit.Reason, "AADSTS7000222") {
		t.Errorf("cannot_audit %+v", ca.CannotAudit)
	}

	// An ID that is not an ID gets no link rather than a crafted one.
	b := findingsBatch()
	b.Items[0].Finding.Resource.ID = "x/../../evil?"
	if got := NewDocument(b).Findings[0].Link; got != "" {
		t.Errorf("link %q built from an odd ID", got)
	}
}

// Receivers index into the lists: an empty one is [], never null, and
// cannot_audit is absent unless the kind is cannot_audit.
func TestDocumentEmptyLists(t *testing.T) {
	body, err := Render(notify.Batch{Kind: notify.KindTest, Route: "pagerduty", RunAt: runAt()})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"kind":"test","route":"pagerduty","run":{"id":0,"at":"2026-03-04T05:06:07Z"},"integrations":[],"findings":[]}`
	if string(body) != want {
		t.Errorf("test document:\n got %s\nwant %s", body, want)
	}
}

// The golden document decodes into Document with no field left over:
// every key a receiver sees is a documented field.
func TestGoldenMatchesTheTypes(t *testing.T) {
	for _, name := range []string{"document.golden", "cannot_audit.golden", "attributed.golden"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var doc Document
		if err := dec.Decode(&doc); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if doc.Version != Version {
			t.Errorf("%s: version %d", name, doc.Version)
		}
	}
}

// Attribution: every change with every field, times in UTC, lists never
// null, and API text passed through exactly (the receiver escapes it for
// wherever it shows it).
func TestDocumentChanges(t *testing.T) {
	body, err := Render(findingsBatch())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Findings []struct {
			Event   string           `json:"event"`
			Changes []map[string]any `json:"changes"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	got := doc.Findings[0].Changes
	if len(got) != 2 {
		t.Fatalf("changes %v, want 2", got)
	}
	for key, want := range map[string]any{"source": "entra", "at": "2026-03-04T04:50:00Z", "activity": "Update application", "actor": "adele@contoso.com",
		"actor_type": "user", "actor_id": "", "ip": "203.0.113.7", "target": appID} {
		if got[0][key] != want {
			t.Errorf("change %s = %#v, want %#v", key, got[0][key], want)
		}
	}
	mod := got[0]["modified"].([]any)
	if len(mod) != 2 || !reflect.DeepEqual(mod[1], map[string]any{"name": "SpaRedirectUris", "old": "", "new": `["https://acme.cloudflareaccess.com/cdn-cgi/access/callback"]`}) {
		t.Errorf("modified %v", mod)
	}
	if got[1]["actor_type"] != "app" || got[1]["actor_id"] != "99999999-8888-7777-6666-555555555555" || !reflect.DeepEqual(got[1]["modified"], []any{}) {
		t.Errorf("app change %v", got[1])
	}
	for _, f := range doc.Findings[1:] {
		if f.Changes == nil || len(f.Changes) != 0 {
			t.Errorf("%s finding without attribution: changes %v, want []", f.Event, f.Changes)
		}
	}

	ad := NewDocument(attributedBatch())
	if len(ad.Findings) != 1 || ad.Findings[0].Event != "attributed" || ad.Findings[0].CheckID != "ENTRA-SCIM-001" {
		t.Fatalf("attributed document findings %+v", ad.Findings)
	}
	c := ad.Findings[0].Changes[0]
	if c.Actor != "<!channel> @here \x1b[2Jeve\u202e" || c.At.Location() != time.UTC || c.At.Format(time.RFC3339) != "2026-03-04T04:00:00Z" {
		t.Errorf("attributed change %+v", c)
	}
	body, err = Render(attributedBatch())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(body, "<>\x1b") {
		t.Errorf("raw markup or control character in the body: %s", body)
	}
	var back Document
	if err := json.Unmarshal(body, &back); err != nil || back.Findings[0].Changes[0].Actor != c.Actor {
		t.Errorf("actor does not round-trip: %v %q", err, back.Findings[0].Changes[0].Actor)
	}
}
