package engine

import (
	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
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
