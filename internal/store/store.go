// Package store keeps driftd's durable state in an embedded SQLite
// database: runs, their snapshots, every finding's lifecycle and the
// approved baselines. Every state change is one transaction, so a crash
// at any moment leaves the last committed state intact.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	// The pure-Go SQLite driver: nothing to install, no cgo.
	_ "modernc.org/sqlite"
)

// FileName is the database file inside the state directory.
const FileName = "driftd.db"

// Store is an open state database.
type Store struct {
	db   *sql.DB
	path string
	// readOnly is set by OpenReadOnly: SQLite refuses this connection's writes.
	readOnly bool
}

// MaxWALBytes is what the write-ahead log is kept within between runs.
const MaxWALBytes = 1 << 20

// Connection settings. WAL lets readers (driftd status) run beside the
// writer; FULL makes every commit durable before it returns; busy_timeout
// makes a second writer (driftd check --state-dir beside the daemon) wait
// for the lock instead of failing; _txlock=immediate makes every
// transaction take the write lock at BEGIN, so a transaction that reads
// and then writes never fails half-way on a lock another writer holds.
const (
	writeParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate" +
		// A checkpoint truncates the WAL back to this size (1 MiB), so it
		// does not stay at its high-water mark between runs.
		"&_pragma=journal_size_limit(1048576)"
	// mode=ro opens the file read-only, and query_only refuses every
	// statement that would write.
	readParams = "mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)"
)

// Open opens the database in dir for reading and writing, creating it if
// it does not exist, checks its integrity and applies pending schema
// migrations. An empty (0-byte) file is refused: only a missing file is a
// new database.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := create(ctx, dir, path); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("state database: %w", err)
	case info.Size() == 0:
		return nil, emptyError(path)
	}
	s, err := openDB(path, writeParams)
	if err != nil {
		return nil, err
	}
	if err := s.checkIntegrity(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := restrictPermissions(path); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// OpenReadOnly opens the existing database in dir for the history
// commands: it never creates, migrates or writes, and works beside a
// running daemon. A missing or empty file, and a schema this driftd does
// not know or that needs a migration first, are clear errors.
func OpenReadOnly(ctx context.Context, dir string) (*Store, error) {
	path := filepath.Join(dir, FileName)
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no state in %s yet: driftd run or driftd check --state-dir has not recorded a run", dir)
	case err != nil:
		return nil, fmt.Errorf("state database: %w", err)
	case info.Size() == 0:
		return nil, emptyError(path)
	}
	s, err := openDB(path, readParams)
	if err != nil {
		return nil, err
	}
	s.readOnly = true
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("reading the schema version of %s: %w", path, err)
	}
	if err := checkVersion(path, version); err != nil {
		s.db.Close()
		return nil, err
	}
	if known := len(migrations()); version < known {
		s.db.Close()
		return nil, fmt.Errorf("%s is at schema version %d (this driftd uses %d): run driftd run or driftd check --state-dir once to upgrade it", path, version, known)
	}
	return s, nil
}

func openDB(path, params string) (*Store, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	// One connection: a single writer, and no surprise between pooled
	// connections with different pragmas.
	db.SetMaxOpenConns(1)
	return &Store{db: db, path: path}, nil
}

func emptyError(path string) error {
	return fmt.Errorf("state database %s is empty (0 bytes): a previous crash or a copy went wrong; move it away to start fresh", path)
}

// create builds a new, fully migrated database beside path and links it
// into place, so that no other process ever sees a half-made (or empty)
// driftd.db. If another process linked its own first, that one is used.
func create(ctx context.Context, dir, path string) error {
	f, err := os.CreateTemp(dir, "."+FileName+".new-*") // mode 0600
	if err != nil {
		return fmt.Errorf("creating the state database: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
			_ = os.Remove(p)
		}
	}()
	s, err := openDB(tmp, writeParams)
	if err != nil {
		return err
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return err
	}
	// Closing the last connection checkpoints the WAL into the file.
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("creating the state database: %w", err)
	}
	// link(2), unlike rename, fails rather than replace an existing file.
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating the state database: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// restrictPermissions makes the database and its -wal and -shm files
// readable by their owner only: they hold tenant configuration. SQLite
// gives -wal and -shm the mode of the database file; this also fixes
// files made by older versions of driftd.
func restrictPermissions(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("state database: %w", err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("state database: %w", err)
			}
		}
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) checkIntegrity(ctx context.Context) error {
	var result string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("checking %s: %w", s.path, err)
	}
	if result != "ok" {
		return fmt.Errorf("%s failed its integrity check: %s", s.path, result)
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity check.
func (s *Store) IntegrityCheck(ctx context.Context) error { return s.checkIntegrity(ctx) }

// migrations are applied in order; the database's user_version is the
// number applied. Never edit one that has shipped: append a new one.
func migrations() []string {
	return []string{
		`CREATE TABLE runs (
		id            INTEGER PRIMARY KEY AUTOINCREMENT,
		started_at    TEXT NOT NULL,
		finished_at   TEXT NOT NULL,
		status        TEXT NOT NULL,
		error         TEXT NOT NULL DEFAULT '',
		trigger       TEXT NOT NULL DEFAULT '',
		requests      TEXT NOT NULL DEFAULT '{}',
		findings      INTEGER NOT NULL DEFAULT 0,
		gaps          INTEGER NOT NULL DEFAULT 0,
		opened        INTEGER NOT NULL DEFAULT 0,
		resolved      INTEGER NOT NULL DEFAULT 0,
		integrations  TEXT NOT NULL DEFAULT '[]'
	);
	CREATE TABLE snapshots (
		run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
		data   BLOB NOT NULL
	);
	CREATE TABLE findings (
		fingerprint   TEXT PRIMARY KEY,
		check_id      TEXT NOT NULL,
		severity      TEXT NOT NULL,
		integration   TEXT NOT NULL,
		resource_side TEXT NOT NULL,
		resource_kind TEXT NOT NULL,
		resource_id   TEXT NOT NULL,
		resource_name TEXT NOT NULL,
		message       TEXT NOT NULL,
		expected      TEXT NOT NULL,
		actual        TEXT NOT NULL,
		remediation   TEXT NOT NULL,
		needs         TEXT NOT NULL,
		state         TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
		first_seen    TEXT NOT NULL,
		last_seen     TEXT NOT NULL,
		resolved_at   TEXT,
		occurrences   INTEGER NOT NULL,
		reopened      INTEGER NOT NULL DEFAULT 0,
		last_run_id   INTEGER NOT NULL
	);
	CREATE INDEX findings_state ON findings(state);
	CREATE TABLE finding_events (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		fingerprint TEXT NOT NULL REFERENCES findings(fingerprint),
		run_id      INTEGER NOT NULL,
		at          TEXT NOT NULL,
		event       TEXT NOT NULL CHECK (event IN ('opened', 'reopened', 'resolved'))
	);
	CREATE INDEX finding_events_fp ON finding_events(fingerprint);
	CREATE TABLE baselines (
		integration TEXT PRIMARY KEY,
		run_id      INTEGER NOT NULL,
		approved_at TEXT NOT NULL,
		snapshot    BLOB NOT NULL
	);`,
		// 2: notifications. The outbox row is written in the same
		// transaction as the finding change that causes it.
		`CREATE TABLE outbox (
		id              INTEGER PRIMARY KEY AUTOINCREMENT,
		route           TEXT NOT NULL,
		kind            TEXT NOT NULL,
		run_id          INTEGER NOT NULL DEFAULT 0,
		created_at      TEXT NOT NULL,
		payload         BLOB NOT NULL,
		state           TEXT NOT NULL CHECK (state IN ('pending', 'sent')),
		attempts        INTEGER NOT NULL DEFAULT 0,
		next_attempt_at TEXT NOT NULL,
		last_error      TEXT NOT NULL DEFAULT '',
		permanent_error INTEGER NOT NULL DEFAULT 0,
		remote_id       TEXT NOT NULL DEFAULT '',
		sent_at         TEXT
	);
	CREATE INDEX outbox_pending ON outbox(state, route, id);
	CREATE TABLE notification_log (
		route            TEXT NOT NULL,
		subject          TEXT NOT NULL,
		last_event       TEXT NOT NULL,
		last_notified_at TEXT NOT NULL,
		PRIMARY KEY (route, subject)
	);
	CREATE TABLE integration_health (
		integration      TEXT PRIMARY KEY,
		incomplete_since TEXT,
		reason           TEXT NOT NULL DEFAULT ''
	);`,
		// 3: the outbox stores the transport-neutral batch, which each
		// transport renders when it sends it. Rows written before hold
		// a rendered Slack message (format 'slack_message') and are
		// sent as they are; parts_sent counts the messages of a batch
		// already delivered, so a retry resumes after them.
		`ALTER TABLE outbox ADD COLUMN format TEXT NOT NULL DEFAULT 'slack_message';
	ALTER TABLE outbox ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;`,
		// 4: attribution. changes holds the audit-log entries attributed
		// to the finding (JSON, as long as the finding is kept);
		// opened_at is when its current episode opened and
		// attribute_since where its attribution window starts, so a run
		// can look again for an entry that was late.
		`ALTER TABLE findings ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';
	ALTER TABLE findings ADD COLUMN opened_at TEXT NOT NULL DEFAULT '';
	ALTER TABLE findings ADD COLUMN attribute_since TEXT NOT NULL DEFAULT '';`,
	}
}

func (s *Store) migrate(ctx context.Context) error { return s.migrateTo(ctx, migrations()) }

// migrateTo applies the migrations in all that the database lacks. Each
// migration is one SQL script, executed whole: SQLite parses it statement
// by statement, so a ';' inside a string literal or a trigger body is
// never mistaken for the end of a statement.
func (s *Store) migrateTo(ctx context.Context, all []string) error {
	version, err := s.schemaVersion(ctx, s.db)
	if err != nil {
		return err
	}
	if err := checkVersionOf(s.path, version, len(all)); err != nil {
		return err
	}
	if version == len(all) {
		return nil
	}
	// Another process may be migrating the same file right now: the
	// transaction takes the write lock at BEGIN (IMMEDIATE) and reads the
	// version again under it, so each migration is applied exactly once.
	return s.inTx(ctx, func(tx *sql.Tx) error {
		version, err := s.schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if err := checkVersionOf(s.path, version, len(all)); err != nil {
			return err
		}
		for v := version; v < len(all); v++ {
			if _, err := tx.ExecContext(ctx, all[v]); err != nil {
				return fmt.Errorf("applying schema migration %d: %w", v+1, err)
			}
		}
		// PRAGMA takes no bind parameters; the number is ours.
		_, err = tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(all)))
		return err
	})
}

func (s *Store) schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var version int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, fmt.Errorf("reading the schema version of %s: %w", s.path, err)
	}
	return version, nil
}

// checkVersion refuses a database written by a newer driftd.
func checkVersion(path string, version int) error {
	return checkVersionOf(path, version, len(migrations()))
}

// checkVersionOf refuses a database past the known number of migrations.
func checkVersionOf(path string, version, known int) error {
	if version > known {
		return fmt.Errorf("%s has schema version %d but this driftd knows %d: upgrade driftd", path, version, known)
	}
	return nil
}

// inTx runs fn in a transaction and commits it, or rolls back on error.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ErrNotFound is returned when a run, snapshot or baseline does not exist.
var ErrNotFound = errors.New("not found")

const timeFormat = time.RFC3339Nano

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}
