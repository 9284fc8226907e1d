package audit

import (
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
)

// manyIntegrationsConfig adds n copies of the corp integration to the
// scenario's config, so a Graph round needs several batches.
func manyIntegrationsConfig(t *testing.T, env *demo.Environment, n int) *config.Config {
	t.Helper()
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(f, "\n[[integration]]\nname = \"copy-%02d\"\nentra_app_id = %q\nscim_app_id = %q\n", i, sim.CorpAppID, sim.CorpSCIMAppID)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The batches of a round go out together, never more than
// entra.max_in_flight at once, and the audit reads exactly what it reads
// one batch at a time.
func TestBatchesOfARoundGoOutTogether(t *testing.T) {
	type outcome struct {
		findings, gaps []string
		graph, peak    int
	}
	audit := func(inFlight int) outcome {
		env, _ := startSim(t, demo.ScenarioDrifted, sim.Options{Latency: 20 * time.Millisecond})
		cfg := manyIntegrationsConfig(t, env, 48)
		cfg.Entra.MaxInFlight = inFlight
		r := runAudit(t, cfg)
		var gaps []string
		for _, g := range r.Gaps {
			gaps = append(gaps, g.Integration+" "+g.What)
		}
		return outcome{keys(r.Findings), gaps, r.Stats.APIRequests["graph"], env.Server.PeakConcurrency()["graph"]}
	}
	one, four := audit(1), audit(4)
	if one.peak != 1 {
		t.Errorf("max_in_flight 1: %d Graph requests at once", one.peak)
	}
	if four.peak < 2 || four.peak > 4 {
		t.Errorf("max_in_flight 4: %d Graph requests at once, want 2 to 4", four.peak)
	}
	if one.graph != four.graph {
		t.Errorf("Graph requests: %d one at a time, %d concurrently", one.graph, four.graph)
	}
	if !reflect.DeepEqual(one.findings, four.findings) || !reflect.DeepEqual(one.gaps, four.gaps) {
		t.Errorf("concurrent reading changed the result:\none at a time: %v %v\nconcurrently: %v %v", one.findings, one.gaps, four.findings, four.gaps)
	}
	if len(one.findings) == 0 {
		t.Error("no findings: the comparison proves nothing")
	}
}
