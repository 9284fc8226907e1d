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
	"os"
	"path/filepath"
	"strings"
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
}

// Open opens (creating if needed) the database in dir, checks its
// integrity and applies pending schema migrations.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// WAL lets readers (driftd status) run beside the writer; FULL makes
	// every commit durable before it returns.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	// One connection: a single writer, and no surprise between pooled
	// connections with different pragmas.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path}
	if err := s.checkIntegrity(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
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
	}
}

func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	all := migrations()
	if version > len(all) {
		return fmt.Errorf("%s has schema version %d, newer than this driftd knows (%d); upgrade driftd", s.path, version, len(all))
	}
	for v := version; v < len(all); v++ {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			for _, stmt := range strings.Split(all[v], ";\n") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			// PRAGMA takes no bind parameters; v is an int we control.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("applying schema migration %d: %w", v+1, err)
		}
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
