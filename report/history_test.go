package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/drift"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
)

func historyTime(min int) time.Time { return time.Date(2026, 11, 26, 9, 30+min, 0, 0, time.UTC) }

func fixtureFindings() FindingsDocument {
	open := StoredFinding{Fingerprint: "5c0b1f", CheckID: "CF-IDP-003", Severity: "medium", Integration: "corp-sso", State: "open",
		FirstSeen: historyTime(0), LastSeen: historyTime(10), Message: `Identity provider "Entra ID" has prompt = "select_account"; the baseline is "login"`,
		Expected: `"login"`, Actual: `"select_account"`, Occurrences: 3}
	open.Changes = []finding.Change{
		{Source: snapshot.SideCloudflare, At: historyTime(-20), Activity: "update", Actor: "ops@contoso.com\x1b[2J", ActorType: finding.ActorUser, IP: "203.0.113.7", Target: "f1a2"},
		{Source: snapshot.SideCloudflare, At: historyTime(-90), Activity: "create", Actor: "terraform", ActorType: finding.ActorApp, ActorID: "tok-1", Target: "f1a2"},
	}
	open.Resource.Side, open.Resource.Kind, open.Resource.ID, open.Resource.Name = "cloudflare", "identity_provider", "f1a2", "Entra ID"
	resolvedAt := historyTime(20)
	resolved := StoredFinding{Fingerprint: "9d1e2a", CheckID: "ENTRA-CRED-001", Severity: "high", Integration: "corp-sso", State: "resolved",
		FirstSeen: historyTime(0), LastSeen: historyTime(10), ResolvedAt: &resolvedAt, Occurrences: 2,
		Message: "Client secret \"cf\x1b]0;pwned\x07\" expires in 5 days"}
	resolved.Resource.Side, resolved.Resource.Kind, resolved.Resource.ID, resolved.Resource.Name = "entra", "app_registration", "a1", "Cloudflare Access"
	suppressed := StoredFinding{Fingerprint: "77aa01", CheckID: "ENTRA-SCIM-002", Severity: "low", Integration: "corp-sso", State: "suppressed",
		FirstSeen: historyTime(0), LastSeen: historyTime(10), Occurrences: 3, Message: "Recommended SCIM mapping name.givenName ← givenName is missing",
		Suppressed: "HR system owns names"}
	suppressed.Resource.Side, suppressed.Resource.Kind = "entra", "provisioning"
	return FindingsDocument{Findings: []StoredFinding{open, resolved, suppressed}}
}

func fixtureStatus() Status {
	return Status{
		StatePath: "/var/lib/driftd/driftd.db",
		Runs: []RunSummary{
			{ID: 2, StartedAt: historyTime(10), FinishedAt: historyTime(10).Add(412 * time.Millisecond), Status: "incomplete", Trigger: "schedule",
				Findings: 2, Opened: 0, Resolved: 1, Gaps: 1, APIRequests: map[string]int{"graph": 3, "cloudflare": 1, "token": 2}},
			{ID: 1, StartedAt: historyTime(0), FinishedAt: historyTime(0).Add(380 * time.Millisecond), Status: "failed", Error: "audit panicked: boom",
				Trigger: "startup", APIRequests: map[string]int{}},
		},
		OpenFindings: 2, OpenBy: map[string]int{"high": 1, "medium": 1}, Suppressed: 1,
		Pending:   []PendingRoute{{Route: "security", Count: 2, Since: historyTime(10), Attempts: 3, LastError: "invalid_auth", Permanent: true}},
		Baselines: []BaselineInfo{{Integration: "corp-sso", RunID: 1, ApprovedAt: historyTime(5)}},
	}
}

func fixtureChanges() []drift.Change {
	return []drift.Change{
		{Integration: "", Side: snapshot.SideEntra, ResourceKind: "graph_permissions", ResourceName: "Microsoft Graph", Field: "permission", Before: "(none)", After: "User.Read"},
		{Integration: "corp-sso", Side: snapshot.SideCloudflare, ResourceKind: "identity_provider", ResourceID: "f1a2", ResourceName: "Entra ID", Field: "email_claim_name", Before: `"email"`, After: `"preferred_username"`},
	}
}

// The history commands' outputs are public interfaces: pinned here.
func TestHistoryGoldenFiles(t *testing.T) {
	for _, format := range []string{"table", "json"} {
		ext := map[string]string{"table": ".txt", "json": ".json"}[format]
		var b bytes.Buffer
		if err := WriteFindings(&b, fixtureFindings(), format); err != nil {
			t.Fatal(err)
		}
		golden(t, "findings"+ext, b.Bytes())
		b.Reset()
		if err := WriteStatus(&b, fixtureStatus(), format); err != nil {
			t.Fatal(err)
		}
		golden(t, "status"+ext, b.Bytes())
		b.Reset()
		if err := WriteChanges(&b, fixtureChanges(), format); err != nil {
			t.Fatal(err)
		}
		golden(t, "diff"+ext, b.Bytes())
	}
}

func TestHistoryEmptyDocuments(t *testing.T) {
	for name, write := range map[string]func(*bytes.Buffer, string) error{
		"findings": func(b *bytes.Buffer, f string) error { return WriteFindings(b, FindingsDocument{}, f) },
		"status":   func(b *bytes.Buffer, f string) error { return WriteStatus(b, Status{StatePath: "/x"}, f) },
		"diff":     func(b *bytes.Buffer, f string) error { return WriteChanges(b, nil, f) },
	} {
		var b bytes.Buffer
		if err := write(&b, "json"); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b.Bytes(), []byte("null")) {
			t.Errorf("%s: an empty JSON document holds null:\n%s", name, b.String())
		}
		if err := write(&b, "yaml"); err == nil {
			t.Errorf("%s: an unknown format was accepted", name)
		}
	}
}
