// Package simtest starts the simulated tenant for a test, exactly as
// `driftd demo` does, and loads driftd's configuration for it.
package simtest

import (
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
)

// Start runs the simulator with scenario (demo.ScenarioDrifted or
// demo.ScenarioHealthy) until the test ends. The CLOUDFLARE_* variables
// that cloudflare.NewClient would obey point nowhere, so a test fails if
// driftd ever read them.
func Start(t testing.TB, scenario string, opts sim.Options) *demo.Environment {
	t.Helper()
	t.Setenv("CLOUDFLARE_BASE_URL", "https://cloudflare-env.invalid/")
	t.Setenv("CLOUDFLARE_API_TOKEN", "from-the-environment")
	env, err := demo.Start(t.TempDir(), scenario, time.Now(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

// Config loads the configuration the environment wrote.
func Config(t testing.TB, env *demo.Environment) *config.Config {
	t.Helper()
	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
