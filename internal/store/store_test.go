package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/report"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func finding(check, integration, setting string, needs ...snapshot.DataKind) checks.Finding {
	r := checks.Resource{Side: snapshot.SideEntra, Kind: checks.KindAppRegistration, ID: "app", Name: "App"}
	return checks.Finding{CheckID: check, Severity: checks.High, Integration: integration, Resource: r, Message: check + " " + setting,
		Fingerprint: checks.Fingerprint(check, integration, r, setting), Needs: needs}
}

func result(check, integration, status string) report.CheckResult {
	return report.CheckResult{CheckID: check, Integration: integration, Status: status}
}

func TestDecide(t *testing.T) {
	perm := finding("ENTRA-PERM-001", "corp", "email", snapshot.EntraApplication)
	scim := finding("ENTRA-SCIM-001", "corp", "emails", snapshot.EntraProvisioning)
	drift := finding("DRIFT-001", "corp", "prompt", snapshot.CloudflareIdPs)
	complete := &snapshot.Snapshot{}
	stored := map[string]Finding{
		perm.Fingerprint:  {Finding: perm, State: StateOpen, FirstSeen: t0, LastSeen: t0, Occurrences: 1},
		scim.Fingerprint:  {Finding: scim, State: StateOpen, FirstSeen: t0, LastSeen: t0, Occurrences: 1},
		drift.Fingerprint: {Finding: drift, State: StateResolved, FirstSeen: t0, LastSeen: t0, Occurrences: 1},
	}
	at := t0.Add(time.Hour)

	// perm seen again, scim's check passes (fixed), drift back (reopened).
	updated, tr := decide(stored, Evaluation{At: at, Snapshot: complete,
		Findings: []checks.Finding{perm, drift},
		Results:  []report.CheckResult{result("ENTRA-PERM-001", "corp", report.StatusFail), result("ENTRA-SCIM-001", "corp", report.StatusPass), result("DRIFT-001", "corp", report.StatusFail)},
	}, 2)
	events := map[string]string{}
	for _, x := range tr {
		events[x.Finding.CheckID] = x.Event
	}
	if len(tr) != 2 || events["ENTRA-SCIM-001"] != EventResolved || events["DRIFT-001"] != EventReopened {
		t.Errorf("transitions %+v", events)
	}
	for _, f := range updated {
		switch f.CheckID {
		case "ENTRA-PERM-001":
			if !f.LastSeen.Equal(at) || !f.FirstSeen.Equal(t0) || f.Occurrences != 2 {
				t.Errorf("seen again: %+v", f)
			}
		case "DRIFT-001":
			if f.State != StateOpen || f.Reopened != 1 || f.ResolvedAt != nil || f.Occurrences != 2 {
				t.Errorf("reopened: %+v", f)
			}
		}
	}

	// scim's check could not be evaluated: it stays open.
	_, tr = decide(stored, Evaluation{At: at, Snapshot: complete,
		Results: []report.CheckResult{result("ENTRA-PERM-001", "corp", report.StatusPass), result("ENTRA-SCIM-001", "corp", report.StatusCouldNotEvaluate)}}, 3)
	if len(tr) != 1 || tr[0].Finding.CheckID != "ENTRA-PERM-001" {
		t.Errorf("only perm may resolve: %+v", tr)
	}

	// A check evaluated while the finding's own data had a gap (DRIFT-001
	// compares field by field) does not resolve it.
	stored[drift.Fingerprint] = Finding{Finding: drift, State: StateOpen, FirstSeen: t0, LastSeen: t0, Occurrences: 1}
	gappy := &snapshot.Snapshot{Gaps: []snapshot.Gap{{Side: snapshot.SideCloudflare, What: snapshot.CloudflareIdPs, Error: "HTTP 403"}}}
	_, tr = decide(map[string]Finding{drift.Fingerprint: stored[drift.Fingerprint]}, Evaluation{At: at, Snapshot: gappy,
		Results: []report.CheckResult{result("DRIFT-001", "corp", report.StatusPass)}}, 4)
	if len(tr) != 0 {
		t.Errorf("resolved from missing data: %+v", tr)
	}

	// An integration the run did not audit (--integration) resolves nothing.
	_, tr = decide(stored, Evaluation{At: at, Snapshot: complete}, 5)
	if len(tr) != 0 {
		t.Errorf("resolved without an evaluation: %+v", tr)
	}
}

func openStore(t *testing.T) *Store {
	t.Helper()
	st, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func record(t *testing.T, st *Store, at time.Time, findings []checks.Finding, results []report.CheckResult, retain int) Recorded {
	t.Helper()
	rep := &report.Report{Version: 1, StartedAt: at, FinishedAt: at.Add(time.Second), Findings: findings, Results: results,
		Integrations: []report.IntegrationStatus{{Name: "corp", Status: report.Complete}}, Stats: report.Stats{APIRequests: map[string]int{"graph": 7}}}
	rec, err := st.RecordRun(context.Background(), RunRecord{StartedAt: at, FinishedAt: at.Add(time.Second), Trigger: "schedule",
		Report: rep, Snapshot: &snapshot.Snapshot{TakenAt: at, Integrations: []snapshot.Integration{{Name: "corp"}}}}, retain)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRecordRunAndRetention(t *testing.T) {
	st := openStore(t)
	f := finding("ENTRA-PERM-001", "corp", "email", snapshot.EntraApplication)
	fail := []report.CheckResult{result("ENTRA-PERM-001", "corp", report.StatusFail)}
	first := record(t, st, t0, []checks.Finding{f}, fail, 2)
	if first.Run.Status != RunComplete || first.Run.Opened != 1 {
		t.Fatalf("first run %+v", first.Run)
	}
	if err := st.ApproveBaseline(context.Background(), first.Run.ID, []string{"corp"}, t0); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		record(t, st, t0.Add(time.Duration(i)*time.Hour), []checks.Finding{f}, fail, 2)
	}
	// Only the last two snapshots are kept; the approved baseline survives.
	if _, err := st.Snapshot(context.Background(), first.Run.ID); !IsNotFound(err) {
		t.Errorf("snapshot of run 1 should be pruned, got %v", err)
	}
	if _, err := st.Snapshot(context.Background(), 4); err != nil {
		t.Errorf("latest snapshot: %v", err)
	}
	if b, err := st.Baseline(context.Background(), "corp"); err != nil || b.RunID != first.Run.ID || !b.Snapshot.TakenAt.Equal(t0) {
		t.Errorf("baseline after pruning: %+v %v", b, err)
	}
	runs, err := st.Runs(context.Background(), 10)
	if err != nil || len(runs) != 4 || runs[0].ID != 4 || runs[0].APIRequests["graph"] != 7 {
		t.Errorf("runs: %+v %v", runs, err)
	}
	open, _ := st.Findings(context.Background(), false)
	if len(open) != 1 || open[0].Occurrences != 4 || !open[0].FirstSeen.Equal(t0.Add(time.Second)) {
		t.Errorf("finding after 4 runs: %+v", open)
	}

	// A failed run is recorded and resolves nothing.
	failed, err := st.RecordRun(context.Background(), RunRecord{StartedAt: t0.Add(5 * time.Hour), FinishedAt: t0.Add(5 * time.Hour), Error: "audit panicked"}, 2)
	if err != nil || failed.Run.Status != RunFailed || len(failed.Transitions) != 0 {
		t.Errorf("failed run: %+v %v", failed, err)
	}
	if open, _ := st.Findings(context.Background(), false); len(open) != 1 {
		t.Errorf("a failed run resolved findings")
	}
	if id, err := st.LatestCompleteRun(context.Background()); err != nil || id != 4 {
		t.Errorf("latest complete run %d %v", id, err)
	}
}

func TestReopenIsIdempotentAndMigrated(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	record(t, st, t0, nil, nil, 5)
	st.Close()
	st, err = Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var version int
	if err := st.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(migrations()) {
		t.Errorf("schema version %d %v", version, err)
	}
	var mode string
	if err := st.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q %v", mode, err)
	}
	var sync int
	if err := st.db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d (want 2, FULL) %v", sync, err)
	}
	if runs, _ := st.Runs(context.Background(), 10); len(runs) != 1 {
		t.Errorf("runs lost across reopen: %d", len(runs))
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+dir+"/"+FileName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(context.Background(), dir); err == nil {
		t.Error("a database from a newer driftd must be refused")
	}
}

// The WAL is truncated after each run and the database stops growing once
// retention prunes old snapshots.
func TestStoreFilesStayBounded(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A snapshot of a few dozen KB, like a real one with a handful of
	// integrations.
	var ins []snapshot.Integration
	for i := 0; i < 200; i++ {
		ins = append(ins, snapshot.Integration{Name: fmt.Sprintf("corp-%03d", i), EntraAppID: strings.Repeat("a", 36), SCIMAppID: strings.Repeat("b", 36)})
	}
	size := func(name string) int64 {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return 0
		}
		return info.Size()
	}
	const retain = 10
	var afterRetention int64
	for i := 0; i < 120; i++ {
		at := t0.Add(time.Duration(i) * time.Hour)
		rep := &report.Report{Version: 1, StartedAt: at, FinishedAt: at, Integrations: []report.IntegrationStatus{{Name: "corp", Status: report.Complete}}}
		if _, err := st.RecordRun(context.Background(), RunRecord{StartedAt: at, FinishedAt: at, Trigger: "schedule", Report: rep,
			Snapshot: &snapshot.Snapshot{TakenAt: at, Integrations: ins}}, retain); err != nil {
			t.Fatal(err)
		}
		if wal := size(FileName + "-wal"); wal > MaxWALBytes {
			t.Fatalf("run %d: WAL is %d bytes, over %d", i, wal, MaxWALBytes)
		}
		if i == 2*retain {
			afterRetention = size(FileName)
		}
	}
	if end := size(FileName); end > afterRetention*3/2 {
		t.Errorf("database grew from %d to %d bytes though only %d snapshots are kept", afterRetention, end, retain)
	}
}
