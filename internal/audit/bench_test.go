package audit

import (
	"context"
	"testing"

	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
)

// BenchmarkAudit measures a full audit of the drifted simulated tenant (two
// integrations, one with SCIM) through the real SDKs over loopback HTTPS,
// and reports the API requests each run costs.
func BenchmarkAudit(b *testing.B) {
	cfg := simtest.Config(b, simtest.Start(b, demo.ScenarioDrifted, sim.Options{}))
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
