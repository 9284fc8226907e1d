package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// scriptMigrations are migrations whose statements hold ";" followed by a
// line break where it does not end a statement: inside a trigger body and
// inside string literals.
var scriptMigrations = []string{
	`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
	CREATE TABLE note_log (note_id INTEGER NOT NULL, what TEXT NOT NULL);
	CREATE TRIGGER notes_logged AFTER INSERT ON notes
	BEGIN
		INSERT INTO note_log (note_id, what) VALUES (NEW.id, 'inserted;
with a line break');
		INSERT INTO note_log (note_id, what) VALUES (NEW.id, 'second');
	END;
	INSERT INTO notes (id, body) VALUES (1, 'first;
second;
');`,
	`CREATE TABLE tags (name TEXT PRIMARY KEY);
	INSERT INTO tags (name) VALUES ('a;
b');`,
}

func openMigrationTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := openDB(filepath.Join(t.TempDir(), FileName), writeParams)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Close() })
	return s
}

func TestMigrateRunsEachMigrationAsAWholeScript(t *testing.T) {
	ctx := context.Background()
	s := openMigrationTestStore(t)
	if err := s.migrateTo(ctx, scriptMigrations); err != nil {
		t.Fatal(err)
	}
	if v, err := s.schemaVersion(ctx, s.db); err != nil || v != len(scriptMigrations) {
		t.Fatalf("user_version %d (%v), want %d", v, err, len(scriptMigrations))
	}
	var body string
	if err := s.db.QueryRowContext(ctx, "SELECT body FROM notes WHERE id = 1").Scan(&body); err != nil {
		t.Fatal(err)
	}
	if want := "first;\nsecond;\n"; body != want {
		t.Errorf("string literal stored as %q, want %q", body, want)
	}
	// The trigger was created whole: both statements of its body ran for
	// the insert in the migration and run for a later one.
	if _, err := s.db.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (2, 'x')"); err != nil {
		t.Fatal(err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT note_id, what FROM note_log ORDER BY rowid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id int
		var what string
		if err := rows.Scan(&id, &what); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %q", id, what))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{`1 "inserted;\nwith a line break"`, `1 "second"`, `2 "inserted;\nwith a line break"`, `2 "second"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("trigger log %q, want %q", got, want)
	}
	var tag string
	if err := s.db.QueryRowContext(ctx, "SELECT name FROM tags").Scan(&tag); err != nil || tag != "a;\nb" {
		t.Errorf("tag %q (%v), want %q", tag, err, "a;\nb")
	}
}

func TestMigrateAppliesOnlyPendingMigrations(t *testing.T) {
	ctx := context.Background()
	s := openMigrationTestStore(t)
	if err := s.migrateTo(ctx, scriptMigrations[:1]); err != nil {
		t.Fatal(err)
	}
	// The first migration's INSERT would fail on its primary key if it ran
	// again.
	if err := s.migrateTo(ctx, scriptMigrations); err != nil {
		t.Fatal(err)
	}
	if err := s.migrateTo(ctx, scriptMigrations); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.schemaVersion(ctx, s.db); v != len(scriptMigrations) {
		t.Errorf("user_version %d, want %d", v, len(scriptMigrations))
	}
	// A database past the known migrations is refused, not downgraded.
	err := s.migrateTo(ctx, scriptMigrations[:1])
	if err == nil || !strings.Contains(err.Error(), "upgrade driftd") {
		t.Errorf("migrating back to version 1: %v, want a refusal", err)
	}
	if v, _ := s.schemaVersion(ctx, s.db); v != len(scriptMigrations) {
		t.Errorf("user_version %d after the refusal, want %d", v, len(scriptMigrations))
	}
}

func TestMigrateFailingScriptChangesNothing(t *testing.T) {
	ctx := context.Background()
	s := openMigrationTestStore(t)
	bad := append(append([]string{}, scriptMigrations...), `CREATE TABLE later (x TEXT);
	INSERT INTO no_such_table VALUES (1);`)
	err := s.migrateTo(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "applying schema migration 3") {
		t.Fatalf("migrate: %v, want migration 3 to fail", err)
	}
	if v, _ := s.schemaVersion(ctx, s.db); v != 0 {
		t.Errorf("user_version %d after a failed migration, want 0", v)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d schema objects (%v) after a failed migration, want none", n, err)
	}
}

// The shipped migrations still build the schema the store uses.
func TestMigrateShippedMigrations(t *testing.T) {
	ctx := context.Background()
	s := openMigrationTestStore(t)
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"runs", "snapshots", "findings", "finding_events", "baselines", "outbox", "notification_log", "integration_health"} {
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: %d (%v)", table, n, err)
		}
	}
	for _, index := range []string{"findings_state", "finding_events_fp", "outbox_pending"} {
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?", index).Scan(&n); err != nil || n != 1 {
			t.Errorf("index %s: %d (%v)", index, n, err)
		}
	}
}
