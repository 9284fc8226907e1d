package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/snapshot"
)

// A panic in either reader goroutine is outside every caller's recover:
// it must come back as an error (a failed run), not kill the process.
func TestReaderPanicFailsTheRun(t *testing.T) {
	_, cfg := startSim(t, "drifted", sim.Options{})
	for _, side := range []snapshot.Side{snapshot.SideEntra, snapshot.SideCloudflare} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := Run(ctx, cfg, Options{beforeRead: func(s snapshot.Side) {
			if s == side {
				panic("boom with secret " + cfg.Entra.ClientSecret.Reveal())
			}
		}})
		cancel()
		if err == nil || res != nil {
			t.Fatalf("%s: Run = %v, %v; want an error and no result", side, res, err)
		}
		if !strings.Contains(err.Error(), "reading "+string(side)+" failed: internal error: boom") {
			t.Errorf("%s: error %q does not say which reader failed", side, err)
		}
		if strings.Contains(err.Error(), cfg.Entra.ClientSecret.Reveal()) {
			t.Errorf("%s: error leaks the client secret: %q", side, err)
		}
	}
}
