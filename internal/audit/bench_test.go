package audit

import (
	"context"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
)

// BenchmarkAudit measures a full audit of the drifted simulated tenant (two
// integrations, one with SCIM) through the real SDKs over loopback HTTPS,
// and reports the API requests each run costs.
func BenchmarkAudit(b *testing.B) {
	env, err := demo.Start(b.TempDir(), demo.ScenarioDrifted, time.Now(), sim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		b.Fatal(err)
	}
	var requests map[string]int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		requests = res.Report.Stats.APIRequests
	}
	b.ReportMetric(float64(requests["graph"]), "graph-requests/op")
	b.ReportMetric(float64(requests["cloudflare"]), "cloudflare-requests/op")
	b.ReportMetric(float64(requests["token"]), "token-requests/op")
}
