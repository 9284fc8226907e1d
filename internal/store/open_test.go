package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/report"
)

// makeDB writes a database at the given schema version the way an older
// (or newer) driftd would have left it.
func makeDB(t *testing.T, dir string, version int) string {
	t.Helper()
	path := filepath.Join(dir, FileName)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all := migrations()
	for v := 0; v < version && v < len(all); v++ {
		for _, stmt := range strings.Split(all[v], ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := db.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		t.Fatal(err)
	}
	return path
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// openConcurrently opens dir from several goroutines at once, as a daemon
// and a driftd check --state-dir started together do.
func openConcurrently(t *testing.T, dir string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, err := Open(context.Background(), dir)
			if err != nil {
				errs <- err
				return
			}
			errs <- st.Close()
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentOpensOfAFreshDirectory(t *testing.T) {
	for i := range 50 {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(i))
		openConcurrently(t, dir, 4)
		if v := userVersion(t, filepath.Join(dir, FileName)); v != len(migrations()) {
			t.Fatalf("iteration %d: schema version %d", i, v)
		}
		// Nothing is left behind from building the database aside.
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".new-") {
				t.Errorf("iteration %d: left behind %s", i, e.Name())
			}
		}
	}
}

func TestConcurrentMigrationsOfAnOldDatabase(t *testing.T) {
	for i := range 50 {
		dir := t.TempDir()
		path := makeDB(t, dir, 1)
		openConcurrently(t, dir, 4)
		if v := userVersion(t, path); v != len(migrations()) {
			t.Fatalf("iteration %d: schema version %d", i, v)
		}
	}
}

func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// A write makes sure the -wal and -shm files exist.
	record(t, st, t0, []checks.Finding{finding("ENTRA-PERM-001", "corp", "email")}, []report.CheckResult{result("ENTRA-PERM-001", "corp", report.StatusFail)}, 5)
	path := filepath.Join(dir, FileName)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), perm)
		}
	}
	st.Close()

	// A database an older driftd left readable by others is tightened.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("reopened: mode %o, want 600", info.Mode().Perm())
	}
}

func TestEmptyDatabaseIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("state database %s is empty (0 bytes)", path)
	if _, err := Open(context.Background(), dir); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Open: %v", err)
	}
	if _, err := OpenReadOnly(context.Background(), dir); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("OpenReadOnly: %v", err)
	}
	if info, _ := os.Stat(path); info.Size() != 0 {
		t.Errorf("the empty file was written to: %d bytes", info.Size())
	}
}

func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	if _, err := OpenReadOnly(ctx, dir); err == nil || err.Error() != fmt.Sprintf("no state in %s yet: driftd run or driftd check --state-dir has not recorded a run", dir) {
		t.Errorf("missing database: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("OpenReadOnly created %s", dir)
	}

	// Beside an open writer, and again once nobody has it open.
	w, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := record(t, w, t0, []checks.Finding{finding("ENTRA-PERM-001", "corp", "email")}, []report.CheckResult{result("ENTRA-PERM-001", "corp", report.StatusFail)}, 5)
	for _, writerOpen := range []bool{true, false} {
		if !writerOpen {
			w.Close()
		}
		r, err := OpenReadOnly(ctx, dir)
		if err != nil {
			t.Fatalf("writer open %v: %v", writerOpen, err)
		}
		runs, err := r.Runs(ctx, 10)
		if err != nil || len(runs) != 1 {
			t.Errorf("writer open %v: runs %v, %v", writerOpen, runs, err)
		}
		if err := r.MarkSent(ctx, 1, 1, "", t0); err == nil {
			t.Errorf("writer open %v: a read-only store wrote", writerOpen)
		}
		if err := r.ApproveBaseline(ctx, rec.Run.ID, []string{"corp"}, t0); err == nil {
			t.Errorf("writer open %v: a read-only store approved a baseline", writerOpen)
		}
		r.Close()
	}
}

func TestSchemaVersionMessages(t *testing.T) {
	ctx := context.Background()
	known := len(migrations())

	old := t.TempDir()
	path := makeDB(t, old, 1)
	want := fmt.Sprintf("%s is at schema version 1 (this driftd uses %d): run driftd run or driftd check --state-dir once to upgrade it", path, known)
	if _, err := OpenReadOnly(ctx, old); err == nil || err.Error() != want {
		t.Errorf("old schema, read-only: %v", err)
	}
	if v := userVersion(t, path); v != 1 {
		t.Errorf("a read-only open migrated the database to %d", v)
	}

	newer := t.TempDir()
	path = makeDB(t, newer, 7)
	want = fmt.Sprintf("%s has schema version 7 but this driftd knows %d: upgrade driftd", path, known)
	if _, err := OpenReadOnly(ctx, newer); err == nil || err.Error() != want {
		t.Errorf("newer schema, read-only: %v", err)
	}
	if _, err := Open(ctx, newer); err == nil || err.Error() != want {
		t.Errorf("newer schema: %v", err)
	}
}
