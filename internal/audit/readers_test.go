package audit

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
)

// Readers kept across runs reuse the token and the connections: after
// the first run, no token request and no new connection; each run's
// counts are still exactly what it sent.
func TestReadersKeepTokenAndConnections(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioHealthy, sim.Options{})
	readers, err := NewReaders(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func() map[string]int {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		served := env.Server.Requests()
		res, err := Run(ctx, cfg, Options{Readers: readers})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Report.Gaps) != 0 || len(res.Report.Findings) != 0 {
			t.Fatalf("gaps %+v findings %v", res.Report.Gaps, keys(res.Report.Findings))
		}
		after := env.Server.Requests()
		for svc, n := range res.Report.Stats.APIRequests {
			if after[svc]-served[svc] != n {
				t.Errorf("%s: the run counted %d requests, the simulator served %d", svc, n, after[svc]-served[svc])
			}
		}
		return res.Report.Stats.APIRequests
	}
	first := run()
	if first["token"] == 0 {
		t.Fatalf("the first run fetched no token: %v", first)
	}
	conns := env.Server.Connections()
	for i := 0; i < 3; i++ {
		got := run()
		if got["token"] != 0 {
			t.Errorf("run %d: %d token requests though the token is valid", i+2, got["token"])
		}
		if got["graph"] != first["graph"] || got["cloudflare"] != first["cloudflare"] {
			t.Errorf("run %d: %v, first run %v", i+2, got, first)
		}
	}
	if now := env.Server.Connections(); !reflect.DeepEqual(now, conns) {
		t.Errorf("connections after the first run %v, after four %v: they should be reused", conns, now)
	}

	// Changed credentials, or another Cloudflare account, need new
	// clients; an unrelated change (schedule, integrations) does not.
	other := *cfg
	other.Daemon.Schedule = "@every 5m"
	other.Integrations = other.Integrations[:1]
	if !readers.Fits(&other, nil) {
		t.Error("a change outside [entra] and [cloudflare] should keep the clients")
	}
	other.Cloudflare.APIToken = config.NewSecret("another-token")
	if readers.Fits(&other, nil) {
		t.Error("a new Cloudflare token must rebuild the clients")
	}
}
