package engine

import (
	"context"
	"log/slog"
	"os"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/store"
)

// CheckOptions are those of one audit on demand (`driftd check`).
type CheckOptions struct {
	// Integrations limits the audit to these; empty: all.
	Integrations []string
	// StateDir, when set, records the run in the store there and
	// compares with the baselines approved in it.
	StateDir string
	// Notify queues what each route must be told. Without StateDir the
	// run is recorded in a throwaway store, so every finding is new and
	// delivery has the daemon's outbox and retries.
	Notify bool
	Logger *slog.Logger
}

// Checked is a finished check: its outcome and, with a store, the store
// its notifications wait in. Close it.
type Checked struct {
	Outcome
	cfg   *config.Config
	store *store.Store
	close func()
}

// Check runs one audit of cfg as `driftd check` does.
func Check(ctx context.Context, cfg *config.Config, opts CheckOptions) (*Checked, error) {
	c := &Checked{cfg: cfg, close: func() {}}
	if opts.StateDir != "" || opts.Notify {
		dir := opts.StateDir
		if dir == "" {
			tmp, err := os.MkdirTemp("", "driftd-check-")
			if err != nil {
				return nil, err
			}
			c.close = func() { os.RemoveAll(tmp) }
			dir = tmp
		}
		st, err := store.Open(ctx, dir)
		if err != nil {
			c.close()
			return nil, err
		}
		c.store = st
		removeDir := c.close
		c.close = func() { st.Close(); removeDir() }
	}
	eng := &Engine{Store: c.store, Logger: opts.Logger, Notify: opts.Notify}
	out, err := eng.RunOnce(ctx, cfg, TriggerCheck, opts.Integrations)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.Outcome = out
	return c, nil
}

// Deliver sends the notifications the check queued; see DeliverPending.
func (c *Checked) Deliver(ctx context.Context, logger *slog.Logger) ([]RouteFailure, error) {
	if c.store == nil {
		return nil, nil
	}
	return DeliverPending(ctx, c.cfg, c.store, logger)
}

// Close closes the check's store and removes a throwaway one.
func (c *Checked) Close() { c.close() }
