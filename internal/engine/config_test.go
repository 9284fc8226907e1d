package engine

import (
	"os"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
)

// A suppression of a check the catalog does not have is a configuration
// error, for the commands that audit and for the history commands alike.
func TestLoadConfigKnowsTheCatalog(t *testing.T) {
	env := simtest.Start(t, demo.ScenarioHealthy, sim.Options{})
	if _, err := LoadConfig(env.ConfigPath); err != nil {
		t.Fatalf("the simulator's config: %v", err)
	}
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\n[[suppress]]\ncheck = \"ENTRA-SCIM-002\"\nreason = \"accepted\"\n[[suppress]]\ncheck = \"ENTRA-FOO-001\"\nreason = \"typo\"\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	for name, load := range map[string]func(string) (any, error){
		"LoadConfig":         func(p string) (any, error) { return LoadConfig(p) },
		"LoadConfigForState": func(p string) (any, error) { return LoadConfigForState(p) },
	} {
		_, err := load(env.ConfigPath)
		if err == nil || !strings.Contains(err.Error(), `suppress[1].check: "ENTRA-FOO-001" is not a check ID`) {
			t.Errorf("%s: %v, want the unknown check named", name, err)
		}
	}
}
