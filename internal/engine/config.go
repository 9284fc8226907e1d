package engine

import (
	"context"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/store"
)

// LoadConfig loads the configuration file at path as every command that
// talks to the APIs needs it: resolved, validated, and with every check ID
// it names known to the catalog.
func LoadConfig(path string) (*config.Config, error) {
	return knownChecks(path, config.Load)
}

// LoadConfigForState loads what the history commands need ([daemon] and
// [[suppress]]), without credentials; see config.LoadForState.
func LoadConfigForState(path string) (*config.Config, error) {
	return knownChecks(path, config.LoadForState)
}

func knownChecks(path string, load func(string) (*config.Config, error)) (*config.Config, error) {
	cfg, err := load(path)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckIDsKnown(path, func(id string) bool { _, ok := checks.ByID(id); return ok }); err != nil {
		return nil, err
	}
	return cfg, nil
}

// OpenState loads what the history commands need from the configuration
// at path and opens its state store: read-only, so these commands never
// create or migrate the database and work beside a running daemon, or
// writable for the one that writes (baseline approve; SQLite's locking
// lets it run beside the daemon).
func OpenState(ctx context.Context, path string, writable bool) (*config.Config, *store.Store, error) {
	cfg, err := LoadConfigForState(path)
	if err != nil {
		return nil, nil, err
	}
	open := store.OpenReadOnly
	if writable {
		open = store.Open
	}
	st, err := open(ctx, cfg.Daemon.StateDir)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}
