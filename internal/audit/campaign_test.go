package audit

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/snapshot"
)

var soak = flag.Bool("soak", false, "run the fault campaign for 2000 cycles (also DRIFTD_SOAK=1)")

// campaignWorkers audit in parallel, each against its own simulator:
// most of a cycle is waiting (Retry-After, slow bodies), not computing.
const campaignWorkers = 4

// campaignCycleTimeout bounds one audit of the campaign: a stalled body
// costs one cycle this long, never the whole campaign.
const campaignCycleTimeout = 3 * time.Second

// campaignFault picks, for one request, whether and how it fails. About
// one request in sixteen fails; the second and later pages of a Graph
// collection fail more often. Waits stay at 0–1 s so a campaign is fast.
func campaignFault(rng *rand.Rand, fr sim.FaultRequest) (sim.Fault, bool) {
	odds := 16
	if fr.Service == sim.ServiceToken {
		odds = 40 // the credential's own retries back off for seconds
	}
	if strings.Contains(fr.Query, "$skiptoken") {
		odds = 4 // page 2 failing
	}
	if rng.IntN(odds) != 0 {
		return sim.Fault{}, false
	}
	retryAfter := "0"
	if rng.IntN(3) == 0 {
		retryAfter = "1"
	}
	switch n := rng.IntN(100); {
	case n < 22:
		return sim.Fault{Status: 429, RetryAfter: retryAfter}, true
	case n < 32:
		return sim.Fault{Status: 429, RetryAfterDate: time.Second}, true
	case n < 46:
		return sim.Fault{Status: 503, RetryAfter: retryAfter}, true
	case n < 56:
		return sim.Fault{Status: 504, RetryAfter: "0"}, true
	case n < 66:
		return sim.Fault{Kind: sim.KindReset}, true
	case n < 76:
		return sim.Fault{Kind: sim.KindTruncated}, true
	case n < 86:
		return sim.Fault{Kind: sim.KindMalformed}, true
	case n < 97:
		// Slow, but done well within the cycle.
		return sim.Fault{Kind: sim.KindSlowBody, Duration: 300 * time.Millisecond}, true
	default:
		// A body that stalls past the cycle's deadline: a timeout.
		return sim.Fault{Kind: sim.KindSlowBody, Duration: time.Minute}, true
	}
}

// TestCampaignRandomFaults audits the simulated tenant over and over
// with random faults on every service and holds each run to the promise:
// complete with exactly the fault-free findings, or incomplete with a
// gap; never an invented finding, never a check passing or failing on
// data it did not see, never a request before its Retry-After. Set
// DRIFTD_CAMPAIGN_SEED to replay a campaign.
func TestCampaignRandomFaults(t *testing.T) {
	cycles := 200
	if *soak || os.Getenv("DRIFTD_SOAK") == "1" {
		cycles = 2000
	}
	if testing.Short() {
		cycles = 20
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("DRIFTD_CAMPAIGN_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("DRIFTD_CAMPAIGN_SEED: %v", err)
		}
	}
	t.Logf("campaign: %d cycles, DRIFTD_CAMPAIGN_SEED=%d", cycles, seed)

	const pageSize = 2 // so grant lists have a page 2
	want := faultFree(t, pageSize)
	allKinds := append(append([]snapshot.DataKind{}, entraKinds...), cfKinds...)

	var (
		mu                                 sync.Mutex // guards the figures and the per-cycle verdicts
		complete, incomplete, failedCycles int
		gapsByKind                         = map[string]int{}
		slowest                            time.Duration
		served                             = map[string]int{}
		requests                           = map[string]int{}
		next                               int
	)
	// Each worker has its own simulator, so the Retry-After book of one
	// cycle is never disturbed by another's requests.
	envs := make([]*demo.Environment, campaignWorkers)
	cfgs := make([]*config.Config, campaignWorkers)
	for w := range campaignWorkers {
		envs[w], cfgs[w] = startCanarySim(t, pageSize)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range campaignWorkers {
		env, cfg := envs[w], cfgs[w]
		wg.Go(func() {
			for {
				mu.Lock()
				cycle := next
				next++
				stop := cycle >= cycles || failedCycles >= 5
				mu.Unlock()
				if stop {
					return
				}
				// One generator per cycle: a failing cycle replays from
				// the seed and its number (request order across the two
				// sides and the workers aside).
				rng := rand.New(rand.NewPCG(seed, uint64(cycle)))
				env.Server.SetFaultFunc(func(fr sim.FaultRequest) (sim.Fault, bool) { return campaignFault(rng, fr) })
				env.Server.ResetRetryAfter()
				before := env.Server.Requests()
				servedBefore := env.Server.FaultsServed()

				began := time.Now()
				res := runGuarded(t, cfg, campaignCycleTimeout)
				took := time.Since(began)
				if res == nil {
					mu.Lock()
					failedCycles++
					mu.Unlock()
					t.Errorf("cycle %d did not return: replay with DRIFTD_CAMPAIGN_SEED=%d", cycle, seed)
					continue
				}
				after := env.Server.Requests()
				r := res.Report
				out, _ := json.Marshal(res.Report)
				snap, _ := json.Marshal(res.Snapshot)

				mu.Lock()
				wasFailed := t.Failed()
				slowest = max(slowest, took)
				checkOutcome(t, r, want, allKinds)
				if r.Complete() {
					complete++
				} else {
					incomplete++
					if len(r.Gaps) == 0 {
						t.Errorf("incomplete run without a gap")
					}
				}
				for _, g := range r.Gaps {
					gapsByKind[g.What]++
				}
				for _, secret := range []string{canaryClientSecret, canaryAPIToken} {
					if strings.Contains(string(out), secret) || strings.Contains(string(snap), secret) {
						t.Errorf("a canary credential is in the report or snapshot")
					}
				}
				for svc, n := range after {
					requests[svc] += n - before[svc]
				}
				for k, n := range env.Server.FaultsServed() {
					served[k] += n - servedBefore[k]
				}
				if d := after[sim.ServiceGraph] - before[sim.ServiceGraph]; d > maxGraphCalls {
					t.Errorf("%d Graph requests in one run", d)
				}
				if d := after[sim.ServiceCloudflare] - before[sim.ServiceCloudflare]; d > maxCloudflareCalls {
					t.Errorf("%d Cloudflare requests in one run", d)
				}
				for _, v := range env.Server.RetryAfterViolations() {
					t.Errorf("%s came %v before its Retry-After", v.Request, v.Early.Round(time.Millisecond))
				}
				if t.Failed() && !wasFailed {
					failedCycles++
					t.Errorf("cycle %d failed: replay with DRIFTD_CAMPAIGN_SEED=%d (gaps %d, complete %v)", cycle, seed, len(r.Gaps), r.Complete())
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, env := range envs {
		env.Server.SetFaultFunc(nil)
	}
	if failedCycles >= 5 {
		t.Fatalf("stopped after %d failed cycles", failedCycles)
	}

	total := 0
	var kinds []string
	for k, n := range served {
		total += n
		kinds = append(kinds, k+"="+strconv.Itoa(n))
	}
	sort.Strings(kinds)
	var gapKinds []string
	for k, n := range gapsByKind {
		gapKinds = append(gapKinds, k+"="+strconv.Itoa(n))
	}
	sort.Strings(gapKinds)
	t.Logf("campaign: %d cycles in %v (slowest %v), seed %d", cycles, time.Since(start).Round(time.Millisecond), slowest.Round(time.Millisecond), seed)
	t.Logf("campaign: %d faults injected: %s", total, strings.Join(kinds, " "))
	t.Logf("campaign: outcomes complete=%d incomplete=%d; gaps %s", complete, incomplete, strings.Join(gapKinds, " "))
	t.Logf("campaign: requests served %v; findings invented 0, Retry-After violations 0 unless reported above", requests)
	if total == 0 || incomplete == 0 || complete == 0 {
		t.Errorf("the campaign did not exercise both outcomes (faults %d, complete %d, incomplete %d)", total, complete, incomplete)
	}
}
