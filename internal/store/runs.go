package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/driftd/driftd/checks"
	vocab "github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/report"
)

// Run statuses.
const (
	RunComplete   = vocab.RunComplete
	RunIncomplete = vocab.RunIncomplete
	// RunFailed is a run that produced no usable evaluation (it could not
	// start, or it panicked): it resolves nothing.
	RunFailed = vocab.RunFailed
)

// Run is a stored run.
type Run struct {
	ID           int64                      `json:"id"`
	StartedAt    time.Time                  `json:"started_at"`
	FinishedAt   time.Time                  `json:"finished_at"`
	Status       string                     `json:"status"`
	Error        string                     `json:"error,omitempty"`
	Trigger      string                     `json:"trigger"`
	APIRequests  map[string]int             `json:"api_requests"`
	Findings     int                        `json:"findings"`
	Gaps         int                        `json:"gaps"`
	Opened       int                        `json:"opened"`
	Resolved     int                        `json:"resolved"`
	Integrations []report.IntegrationStatus `json:"integrations"`
}

// RunRecord is a finished run to store.
type RunRecord struct {
	// AttributeSince is where the attribution window of the findings this
	// run opens starts (the start of the run before it); zero: unknown.
	AttributeSince time.Time
	StartedAt      time.Time
	FinishedAt     time.Time
	Trigger        string
	// Report and Snapshot are nil for a failed run; Error says why.
	Report   *report.Report
	Snapshot *snapshot.Snapshot
	Error    string
	// Integrations names the audited integrations; a failed run marks
	// them all as not fully audited.
	Integrations []string
	// Plan, when set, queues notifications in the same transaction.
	Plan Plan
}

// Recorded is what RecordRun stored.
type Recorded struct {
	Run         Run
	Transitions []Transition
	// Open is every finding open after the run.
	Open []Finding
}

// RecordRun stores a run, its snapshot and the lifecycle of every finding
// in one transaction, and prunes snapshots beyond retain.
func (s *Store) RecordRun(ctx context.Context, rec RunRecord, retain int) (Recorded, error) {
	var out Recorded
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		run := Run{StartedAt: rec.StartedAt.UTC(), FinishedAt: rec.FinishedAt.UTC(), Trigger: rec.Trigger, Error: rec.Error, APIRequests: map[string]int{}}
		switch {
		case rec.Report == nil || rec.Snapshot == nil:
			run.Status = RunFailed
		case rec.Report.Complete():
			run.Status = RunComplete
		default:
			run.Status = RunIncomplete
		}
		if rec.Report != nil {
			run.APIRequests = rec.Report.Stats.APIRequests
			run.Findings, run.Gaps = len(rec.Report.Findings), len(rec.Report.Gaps)
			run.Integrations = rec.Report.Integrations
		}
		requests, _ := json.Marshal(run.APIRequests)
		integrations, _ := json.Marshal(run.Integrations)
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (started_at, finished_at, status, error, trigger, requests, findings, gaps, integrations)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			formatTime(run.StartedAt), formatTime(run.FinishedAt), run.Status, run.Error, run.Trigger, string(requests), run.Findings, run.Gaps, string(integrations))
		if err != nil {
			return fmt.Errorf("storing the run: %w", err)
		}
		if run.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if run.Status == RunFailed {
			health := map[string]string{}
			for _, name := range rec.Integrations {
				health[name] = "the run failed: " + rec.Error
			}
			if err := updateHealth(ctx, tx, run.FinishedAt, health); err != nil {
				return err
			}
			open, err := loadFindings(ctx, tx, StateOpen)
			if err != nil {
				return err
			}
			if rec.Plan != nil {
				if err := planInTx(ctx, tx, rec.Plan, run, nil, open); err != nil {
					return err
				}
			}
			out = Recorded{Run: run, Open: open}
			return nil
		}

		blob, err := compress(rec.Snapshot)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO snapshots (run_id, data) VALUES (?, ?)`, run.ID, blob); err != nil {
			return fmt.Errorf("storing the snapshot: %w", err)
		}
		if err := pruneSnapshots(ctx, tx, retain); err != nil {
			return err
		}

		stored, err := loadFindings(ctx, tx, "")
		if err != nil {
			return err
		}
		byFP := make(map[string]Finding, len(stored))
		for _, f := range stored {
			byFP[f.Fingerprint] = f
		}
		updated, transitions := decide(byFP, Evaluation{At: run.FinishedAt, Findings: rec.Report.Findings, Results: rec.Report.Results, Snapshot: rec.Snapshot,
			AttributeSince: rec.AttributeSince}, run.ID)
		for _, f := range updated {
			if err := upsertFinding(ctx, tx, f); err != nil {
				return err
			}
			byFP[f.Fingerprint] = f
		}
		open := openFindings(byFP)
		for _, t := range transitions {
			if _, err := tx.ExecContext(ctx, `INSERT INTO finding_events (fingerprint, run_id, at, event) VALUES (?, ?, ?, ?)`,
				t.Finding.Fingerprint, run.ID, formatTime(run.FinishedAt), t.Event); err != nil {
				return fmt.Errorf("storing a finding event: %w", err)
			}
			if t.Event == EventResolved {
				run.Resolved++
			} else {
				run.Opened++
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET opened = ?, resolved = ? WHERE id = ?`, run.Opened, run.Resolved, run.ID); err != nil {
			return err
		}
		if err := updateHealth(ctx, tx, run.FinishedAt, healthOf(rec.Report)); err != nil {
			return err
		}
		if rec.Plan != nil {
			if err := planInTx(ctx, tx, rec.Plan, run, transitions, open); err != nil {
				return err
			}
		}
		out = Recorded{Run: run, Transitions: transitions, Open: open}
		return nil
	})
	if err != nil {
		return Recorded{}, err
	}
	s.checkpoint(ctx)
	return out, nil
}

// checkpoint copies the WAL into the database once per run, without
// waiting for readers (PASSIVE): the next write then starts the WAL over
// and journal_size_limit cuts the file back. It is housekeeping — the run
// is already durable — so a checkpoint a reader holds up is simply left
// for the next run.
func (s *Store) checkpoint(ctx context.Context) {
	_, _ = s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
}

// openFindings lists the open ones of fs in the order loadFindings uses.
func openFindings(fs map[string]Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.State == StateOpen {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Integration != b.Integration {
			return a.Integration < b.Integration
		}
		if a.CheckID != b.CheckID {
			return a.CheckID < b.CheckID
		}
		return a.Fingerprint < b.Fingerprint
	})
	return out
}

// healthOf maps each integration of a report to "" (fully audited) or the
// first reason it was not.
func healthOf(r *report.Report) map[string]string {
	out := map[string]string{}
	for _, in := range r.Integrations {
		if in.Status == report.Complete {
			out[in.Name] = ""
			continue
		}
		out[in.Name] = "some data could not be read"
		for _, g := range r.Gaps {
			if g.Integration == in.Name || g.Integration == "" {
				out[in.Name] = fmt.Sprintf("could not read %s: %s", g.What, g.Error)
				break
			}
		}
	}
	return out
}

func pruneSnapshots(ctx context.Context, tx *sql.Tx, retain int) error {
	if retain < 1 {
		retain = 1
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM snapshots WHERE run_id NOT IN (SELECT run_id FROM snapshots ORDER BY run_id DESC LIMIT ?)`, retain)
	if err != nil {
		return fmt.Errorf("pruning snapshots: %w", err)
	}
	return nil
}

// optionalTime stores a zero time as "".
func optionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

func upsertFinding(ctx context.Context, tx *sql.Tx, f Finding) error {
	var resolved any
	if f.ResolvedAt != nil {
		resolved = formatTime(*f.ResolvedAt)
	}
	changes, err := json.Marshal(f.Changes)
	if err != nil || f.Changes == nil {
		changes = []byte("[]")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO findings (fingerprint, check_id, severity, integration, resource_side, resource_kind, resource_id, resource_name,
			message, expected, actual, remediation, needs, state, first_seen, last_seen, resolved_at, occurrences, reopened, last_run_id,
			changes, opened_at, attribute_since)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (fingerprint) DO UPDATE SET check_id = excluded.check_id, severity = excluded.severity, integration = excluded.integration,
			resource_side = excluded.resource_side, resource_kind = excluded.resource_kind, resource_id = excluded.resource_id,
			resource_name = excluded.resource_name, message = excluded.message, expected = excluded.expected, actual = excluded.actual,
			remediation = excluded.remediation, needs = excluded.needs, state = excluded.state, first_seen = excluded.first_seen,
			last_seen = excluded.last_seen, resolved_at = excluded.resolved_at, occurrences = excluded.occurrences,
			reopened = excluded.reopened, last_run_id = excluded.last_run_id,
			changes = excluded.changes, opened_at = excluded.opened_at, attribute_since = excluded.attribute_since`,
		f.Fingerprint, f.CheckID, f.Severity.String(), f.Integration, string(f.Resource.Side), f.Resource.Kind, f.Resource.ID, f.Resource.Name,
		f.Message, f.Expected, f.Actual, f.Remediation, joinKinds(f.Needs), f.State, formatTime(f.FirstSeen), formatTime(f.LastSeen), resolved,
		f.Occurrences, f.Reopened, f.LastRunID, string(changes), optionalTime(f.OpenedAt), optionalTime(f.AttributeSince))
	if err != nil {
		return fmt.Errorf("storing finding %s: %w", f.Fingerprint, err)
	}
	return nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// loadFindings reads findings, all or those in one state.
func loadFindings(ctx context.Context, q queryer, state string) ([]Finding, error) {
	query := `SELECT fingerprint, check_id, severity, integration, resource_side, resource_kind, resource_id, resource_name,
		message, expected, actual, remediation, needs, state, first_seen, last_seen, resolved_at, occurrences, reopened, last_run_id,
		changes, opened_at, attribute_since
		FROM findings`
	var args []any
	if state != "" {
		query += ` WHERE state = ?`
		args = append(args, state)
	}
	query += ` ORDER BY integration, check_id, fingerprint`
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reading findings: %w", err)
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var (
			f                             Finding
			sev, side, needs, first, last string
			changes, openedAt, since      string
			resolved                      sql.NullString
		)
		if err := rows.Scan(&f.Fingerprint, &f.CheckID, &sev, &f.Integration, &side, &f.Resource.Kind, &f.Resource.ID, &f.Resource.Name,
			&f.Message, &f.Expected, &f.Actual, &f.Remediation, &needs, &f.State, &first, &last, &resolved, &f.Occurrences, &f.Reopened, &f.LastRunID,
			&changes, &openedAt, &since); err != nil {
			return nil, fmt.Errorf("reading findings: %w", err)
		}
		// A changes column that does not decode is no attribution, not
		// a failed read: it only ever held what driftd wrote.
		if json.Unmarshal([]byte(changes), &f.Changes) != nil || len(f.Changes) == 0 {
			f.Changes = nil
		}
		f.OpenedAt, f.AttributeSince = parseTime(openedAt), parseTime(since)
		f.Severity, _ = checks.ParseSeverity(sev)
		f.Resource.Side = snapshot.Side(side)
		f.Needs = splitKinds(needs)
		f.FirstSeen, f.LastSeen = parseTime(first), parseTime(last)
		if resolved.Valid {
			t := parseTime(resolved.String)
			f.ResolvedAt = &t
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Findings returns stored findings: open ones, or all with all=true.
func (s *Store) Findings(ctx context.Context, all bool) ([]Finding, error) {
	state := StateOpen
	if all {
		state = ""
	}
	return loadFindings(ctx, s.db, state)
}

// Event is one stored lifecycle transition.
type Event struct {
	Fingerprint string
	RunID       int64
	At          time.Time
	Event       string
}

// Events returns the lifecycle history of one finding, oldest first.
func (s *Store) Events(ctx context.Context, fingerprint string) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT fingerprint, run_id, at, event FROM finding_events WHERE fingerprint = ? ORDER BY id`, fingerprint)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at string
		if err := rows.Scan(&e.Fingerprint, &e.RunID, &at, &e.Event); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Runs returns the most recent runs, newest first.
func (s *Store) Runs(ctx context.Context, limit int) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, started_at, finished_at, status, error, trigger, requests, findings, gaps, opened, resolved, integrations
		FROM runs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("reading runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started, finished, requests, integrations string
		if err := rows.Scan(&r.ID, &started, &finished, &r.Status, &r.Error, &r.Trigger, &requests, &r.Findings, &r.Gaps, &r.Opened, &r.Resolved, &integrations); err != nil {
			return nil, fmt.Errorf("reading runs: %w", err)
		}
		r.StartedAt, r.FinishedAt = parseTime(started), parseTime(finished)
		_ = json.Unmarshal([]byte(requests), &r.APIRequests)
		_ = json.Unmarshal([]byte(integrations), &r.Integrations)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Snapshot returns the stored snapshot of a run.
func (s *Store) Snapshot(ctx context.Context, runID int64) (*snapshot.Snapshot, error) {
	var blob []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM snapshots WHERE run_id = ?`, runID).Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %d: no stored snapshot (unknown run, a failed run, or pruned by retain_snapshots): %w", runID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return decompress(blob)
}

// LatestCompleteRun returns the newest run whose audit was complete and
// whose snapshot is still stored.
func (s *Store) LatestCompleteRun(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT r.id FROM runs r JOIN snapshots s ON s.run_id = r.id WHERE r.status = ? ORDER BY r.id DESC LIMIT 1`, RunComplete).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("no complete run with a stored snapshot yet: %w", ErrNotFound)
	}
	return id, err
}

// LatestSnapshotRun is the newest run whose snapshot is still stored
// (complete or incomplete; a failed run has none).
func (s *Store) LatestSnapshotRun(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT run_id FROM snapshots ORDER BY run_id DESC LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("no run with a snapshot yet: %w", ErrNotFound)
	}
	return id, err
}

func compress(snap *snapshot.Snapshot) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(snap); err != nil {
		return nil, fmt.Errorf("encoding the snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decompress(blob []byte) (*snapshot.Snapshot, error) {
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		return nil, fmt.Errorf("reading a stored snapshot: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("reading a stored snapshot: %w", err)
	}
	var snap snapshot.Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return nil, fmt.Errorf("decoding a stored snapshot: %w", err)
	}
	return &snap, nil
}

func joinKinds(kinds []snapshot.DataKind) string {
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = string(k)
	}
	return strings.Join(parts, ",")
}

func splitKinds(s string) []snapshot.DataKind {
	if s == "" {
		return nil
	}
	var out []snapshot.DataKind
	for _, p := range strings.Split(s, ",") {
		out = append(out, snapshot.DataKind(p))
	}
	return out
}
