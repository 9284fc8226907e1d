package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/driftd/driftd/internal/snapshot"
)

// Baseline is an approved snapshot for one integration.
type Baseline struct {
	Integration string
	RunID       int64
	ApprovedAt  time.Time
	Snapshot    *snapshot.Snapshot
}

// ApproveBaseline stores the snapshot of runID as the approved baseline of
// each named integration, replacing earlier approvals.
//
// On a store from OpenReadOnly (the history commands share one open) the
// approval is written through a read-write connection of its own.
func (s *Store) ApproveBaseline(ctx context.Context, runID int64, integrations []string, at time.Time) error {
	if s.readOnly {
		return errors.New("the state database is open read-only")
	}
	snap, err := s.Snapshot(ctx, runID)
	if err != nil {
		return err
	}
	blob, err := compress(snap)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, name := range integrations {
			if _, err := tx.ExecContext(ctx, `INSERT INTO baselines (integration, run_id, approved_at, snapshot) VALUES (?, ?, ?, ?)
				ON CONFLICT (integration) DO UPDATE SET run_id = excluded.run_id, approved_at = excluded.approved_at, snapshot = excluded.snapshot`,
				name, runID, formatTime(at), blob); err != nil {
				return fmt.Errorf("storing the baseline of %s: %w", name, err)
			}
		}
		return nil
	})
}

// Baselines returns every approved baseline by integration name.
func (s *Store) Baselines(ctx context.Context) (map[string]Baseline, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT integration, run_id, approved_at, snapshot FROM baselines`)
	if err != nil {
		return nil, fmt.Errorf("reading baselines: %w", err)
	}
	defer rows.Close()
	out := map[string]Baseline{}
	for rows.Next() {
		var b Baseline
		var at string
		var blob []byte
		if err := rows.Scan(&b.Integration, &b.RunID, &at, &blob); err != nil {
			return nil, err
		}
		b.ApprovedAt = parseTime(at)
		if b.Snapshot, err = decompress(blob); err != nil {
			return nil, fmt.Errorf("baseline of %s: %w", b.Integration, err)
		}
		out[b.Integration] = b
	}
	return out, rows.Err()
}

// Baseline returns the approved baseline of one integration.
func (s *Store) Baseline(ctx context.Context, integration string) (Baseline, error) {
	all, err := s.Baselines(ctx)
	if err != nil {
		return Baseline{}, err
	}
	b, ok := all[integration]
	if !ok {
		return Baseline{}, fmt.Errorf("integration %q has no approved baseline (run driftd baseline approve): %w", integration, ErrNotFound)
	}
	return b, nil
}

// IsNotFound reports whether err means a missing run, snapshot or baseline.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
