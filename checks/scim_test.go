package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/snapshot"
)

func job(snap *snapshot.Snapshot) *snapshot.SyncJob {
	return &snap.Integrations[0].Provisioning.Jobs[0]
}

// wantFindings fails unless the outcome has n findings, each with the
// severity and every text fragment given.
func wantFindings(t *testing.T, name string, got Outcome, n int, sev Severity, fragments ...string) {
	t.Helper()
	if len(got.Findings) != n {
		t.Fatalf("%s: %d findings, want %d: %+v", name, len(got.Findings), n, got)
	}
	for _, f := range got.Findings {
		if f.Severity != sev {
			t.Errorf("%s: severity %s, want %s", name, f.Severity, sev)
		}
		text := f.Message + " | " + f.Actual
		for _, frag := range fragments {
			if !strings.Contains(text, frag) {
				t.Errorf("%s: %q lacks %q", name, text, frag)
			}
		}
	}
}

func TestSCIMJobRunning(t *testing.T) {
	snap := healthy()
	j := job(snap)
	j.Status, j.ScheduleState = "Quarantine", "Active"
	j.Quarantine = &snapshot.SyncQuarantine{Reason: "EncounteredQuarantineException", CurrentBegan: at(-72 * time.Hour),
		ErrorCode: "SystemForCrossDomainIdentityManagementCredentialsNotValid", ErrorMessage: "401 Unauthorized"}
	wantFindings(t, "quarantined", run(t, "ENTRA-SCIM-003", snap), 1, High,
		"status Quarantine", "EncounteredQuarantineException", "CredentialsNotValid", now.Add(-72*time.Hour).Format(time.RFC3339))

	snap = healthy()
	job(snap).ScheduleState = "Paused"
	wantFindings(t, "schedule paused", run(t, "ENTRA-SCIM-003", snap), 1, High, "schedule Paused")

	// A code this build does not know is reported as Graph sent it.
	snap = healthy()
	job(snap).Status = "SuspendedForMaintenance"
	wantFindings(t, "unknown status", run(t, "ENTRA-SCIM-003", snap), 1, High, "status SuspendedForMaintenance")

	// Values Graph did not send are unknown, not a stopped job.
	snap = healthy()
	job(snap).Status, job(snap).ScheduleState = "", ""
	wantFindings(t, "unknown", run(t, "ENTRA-SCIM-003", snap), 0, High)

	snap = healthy()
	snap.Integrations[0].Provisioning.Jobs = []snapshot.SyncJob{}
	if got := run(t, "ENTRA-SCIM-003", snap); got.NotApplicable == "" || len(got.Findings) > 0 {
		t.Errorf("no job: %+v, want not applicable (ENTRA-SCIM-001 reports it)", got)
	}
}

func TestSCIMJobFailing(t *testing.T) {
	snap := healthy()
	j := job(snap)
	j.LastExecution = &snapshot.SyncExecution{State: "EntryLevelErrors", Began: at(-30 * time.Minute), Ended: at(-29 * time.Minute),
		CountEntitled: 40, CountExported: 3, ErrorCode: "DuplicateTargetEntries", ErrorMessage: "2 users share an email"}
	wantFindings(t, "entry errors", run(t, "ENTRA-SCIM-004", snap), 1, Medium, "EntryLevelErrors", "DuplicateTargetEntries", "40 entitled, 3 exported")

	snap = healthy()
	job(snap).SuccessiveFailures = 4
	wantFindings(t, "successive failures", run(t, "ENTRA-SCIM-004", snap), 1, Medium, "4 successive complete failures")

	snap = healthy()
	job(snap).LastSuccess.Ended = at(-50 * time.Hour)
	wantFindings(t, "stale", run(t, "ENTRA-SCIM-004", snap), 1, Medium, "2 days ago", "scim_stale_after")
	snap.Integrations[0].Expiry.SCIMStaleAfter = 0
	wantFindings(t, "stale check off", run(t, "ENTRA-SCIM-004", snap), 0, Medium)

	snap = healthy()
	job(snap).LastSuccess = nil
	wantFindings(t, "never succeeded", run(t, "ENTRA-SCIM-004", snap), 1, Medium, "no successful run")

	// A quarantined job is ENTRA-SCIM-003's alone.
	snap = healthy()
	job(snap).Status, job(snap).SuccessiveFailures = "Quarantine", 9
	wantFindings(t, "quarantined", run(t, "ENTRA-SCIM-004", snap), 0, Medium)
}

func TestSCIMNobodyAssigned(t *testing.T) {
	snap := healthy()
	prov := snap.Integrations[0].Provisioning
	prov.Assigned = ptr(false)
	// Sync-all tenants have no assignments but entitle users.
	wantFindings(t, "sync all", run(t, "ENTRA-SCIM-005", snap), 0, Medium)
	job(snap).LastExecution.CountEntitled = 0
	wantFindings(t, "nobody", run(t, "ENTRA-SCIM-005", snap), 1, Medium, "No user or group is assigned")
	prov.Assigned = ptr(true)
	wantFindings(t, "assigned", run(t, "ENTRA-SCIM-005", snap), 0, Medium)
	prov.Assigned = ptr(false)
	job(snap).LastExecution = nil
	wantFindings(t, "never ran", run(t, "ENTRA-SCIM-005", snap), 0, Medium)
}

func TestSCIMNotReachingCloudflare(t *testing.T) {
	idp := func(snap *snapshot.Snapshot) *snapshot.IdentityProvider { return &snap.IdentityProviders[1] }

	snap := healthy()
	idp(snap).SCIMLog.Latest = at(-3 * 24 * time.Hour)
	wantFindings(t, "silent", run(t, "ENTRA-SCIM-006", snap), 1, High, "exported 2 changes", "Entra ID", "newest at")
	if f := run(t, "ENTRA-SCIM-006", snap).Findings[0]; !strings.Contains(f.Expected, "/populate/abc") {
		t.Errorf("expected names the SCIM endpoint: %q", f.Expected)
	}
	idp(snap).SCIMLog.Latest = nil
	wantFindings(t, "nothing logged", run(t, "ENTRA-SCIM-006", snap), 1, High, "none since")

	// Not judged: a run too recent for the log, one older than the
	// window read, a job that exported nothing, a job not running.
	snap = healthy()
	idp(snap).SCIMLog.Latest = nil
	job(snap).LastExport.Ended, job(snap).LastExecution.Ended = at(-2*time.Minute), at(-2*time.Minute)
	wantFindings(t, "too recent", run(t, "ENTRA-SCIM-006", snap), 0, High)

	snap = healthy()
	idp(snap).SCIMLog.Latest = nil
	for _, run := range []*snapshot.SyncExecution{job(snap).LastExport, job(snap).LastExecution} {
		run.Began, run.Ended = at(-9*24*time.Hour), at(-9*24*time.Hour+time.Minute)
	}
	wantFindings(t, "before the window", run(t, "ENTRA-SCIM-006", snap), 0, High)

	snap = healthy()
	idp(snap).SCIMLog.Latest = nil
	job(snap).LastExport, job(snap).LastExecution.CountExported = nil, 0
	wantFindings(t, "no exports", run(t, "ENTRA-SCIM-006", snap), 0, High)

	snap = healthy()
	idp(snap).SCIMLog.Latest = nil
	job(snap).Status = "Quarantine"
	wantFindings(t, "not running", run(t, "ENTRA-SCIM-006", snap), 0, High)

	// A log entry a little before the run's start (clock skew) counts.
	snap = healthy()
	idp(snap).SCIMLog.Latest = at(-29 * time.Minute)
	wantFindings(t, "skew", run(t, "ENTRA-SCIM-006", snap), 0, High)

	snap = healthy()
	idp(snap).SCIMLog = nil
	if got := run(t, "ENTRA-SCIM-006", snap); got.NotApplicable == "" {
		t.Errorf("log not read: %+v, want not applicable", got)
	}
}
