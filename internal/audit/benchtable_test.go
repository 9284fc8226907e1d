package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
)

// TestBenchTable measures complete audits of the healthy simulated
// tenant in the steady state the daemon runs in (Readers kept across
// runs: the token and the connections are reused) and prints one row
// per case: wall time against the round-trip lower bound for the
// simulator's latency, requests, CPU, allocations and peak RSS. It
// asserts nothing about time; it only measures. `make bench` runs it:
//
//	DRIFTD_BENCH=1 go test -run '^TestBenchTable$' -v -count=1 ./internal/audit/
//
// The lower bound of a run is (dependent request levels) × L, the levels
// counted from what the simulator served in that run (benchAnalyse):
//
//   - Entra side, a chain: one level per token request (the cold run
//     only; the steady state has none), then rounds 1 and 2. A round
//     of B $batch requests needs ceil(B / [entra] max_in_flight) levels
//     (getAll sends at most max_in_flight batches at once), plus, for
//     the next-page fetches that follow it, the longest chain of pages
//     of one collection (pages of one collection depend on each other;
//     different collections' pages do not).
//   - Cloudflare side, a chain: each page of the identity-provider list,
//     then the SCIM log reads (ceil(S / 4): up to 4 at once, as
//     cloudflare.scimLogReads allows). The other lists (organization,
//     policies, applications, groups, Gateway rules) run concurrently
//     with it and with each other, each needing one level per page.
//   - The two sides run concurrently: max(Entra, Cloudflare).
//   - Round 3 (the jobs' schemas and the referenced groups' lookups)
//     comes after both: ceil(B3 / max_in_flight) levels for its B3
//     batches (plus any page chain).
//
// levels = max(entra, cloudflare) + round 3. A $batch request is put in
// the round of its sub-requests, classified as graphRound does
// (groups_test.go). This is the bound for this configuration
// (max_in_flight, batch size 20): with more batches in flight a round
// would need fewer levels.
func TestBenchTable(t *testing.T) {
	if os.Getenv("DRIFTD_BENCH") != "1" {
		t.Skip("a measurement, not a test: set DRIFTD_BENCH=1 (make bench) to print the audit latency table")
	}
	runs := func(l time.Duration, n int) int {
		if s := os.Getenv("DRIFTD_BENCH_RUNS"); s != "" {
			if v, err := strconv.Atoi(s); err == nil && v > 0 {
				return v
			}
		}
		switch {
		case l == 0:
			return 10 // CPU-bound and quick: more runs, steadier medians
		case l >= 100*time.Millisecond && n >= 200:
			return 3
		}
		return 5
	}
	var cases []benchCase
	for _, l := range []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond} {
		for _, n := range []int{1, 10, 50, 200} {
			name := fmt.Sprintf("%d integrations", n)
			if n == 1 {
				name = "1 integration"
			}
			cases = append(cases, benchCase{name: name, integrations: n, latency: l, runs: runs(l, n)})
		}
		cases = append(cases, benchCase{name: "1 int + 1000 groups", integrations: 1, groups: 1000, latency: l, runs: runs(l, 1)})
	}

	started := time.Now()
	var rows []benchRow
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/L=%s", strings.ReplaceAll(c.name, " ", "_"), c.latency), func(t *testing.T) {
			rows = append(rows, benchMeasure(t, c))
		})
	}
	benchPrint(os.Stdout, rows, time.Since(started))
}

type benchCase struct {
	name         string
	integrations int
	groups       int // 0: the scenario's own rules
	latency      time.Duration
	runs         int // measured runs, after one cold run
}

type benchRow struct {
	c            benchCase
	cold, wall   time.Duration // the cold run; the median measured run
	requests     map[string]int
	levels       benchLevels // of the measured run with the median wall
	levelsVary   bool        // the measured runs did not all need the same levels
	cpuTotal     time.Duration
	clientShare  float64 // of the process CPU, from the profile labels; <0 unknown
	mallocs      uint64
	maxRSSKiB    int64
	requestsVary bool
}

// benchEvent is a request (or $batch sub-request) as the simulator
// served it, when it was handed to the handler (after the latency).
type benchEvent struct {
	at          time.Time
	service     string
	path, query string
	batch, item bool
}

// benchLog records every request the simulator serves. It is installed
// as the server's FaultFunc, a pure observer: it never faults anything.
// It runs under the server's lock and so must not call the server.
type benchLog struct {
	mu     sync.Mutex
	events []benchEvent
}

func (l *benchLog) observe(r sim.FaultRequest) (sim.Fault, bool) {
	e := benchEvent{at: time.Now(), service: r.Service, path: r.Path, query: r.Query, batch: r.Batch, item: r.BatchItem}
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
	return sim.Fault{}, false
}

func (l *benchLog) take() []benchEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

// benchSCIMLogInFlight is how many SCIM log reads the Cloudflare source
// sends at once (cloudflare.scimLogReads).
const benchSCIMLogInFlight = 4

// benchLevels is the dependency structure of one run, from its request
// log.
type benchLevels struct {
	token             int
	items, batches    [4]int // per Graph round 1–3
	pageDepth         [4]int // the longest chain of next pages after each round
	pages             int    // next-page requests in all
	idpPages          int
	scimLogs          int
	otherListPages    int // the most pages of any other Cloudflare list
	entra, cf, round3 int
	total             int
	waves             int // observed: clusters of requests separated by more than L/2
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// benchAnalyse counts the dependent levels of one run (see
// TestBenchTable) and the waves actually observed.
func benchAnalyse(events []benchEvent, inFlight int, latency time.Duration) benchLevels {
	var lv benchLevels
	// A $batch is served (and logged) before its sub-requests; batches
	// of one round may interleave, but rounds never overlap, so each
	// pending batch takes the round of the next sub-request logged.
	pending, round := 0, 1
	pageQueries := map[int]map[string]map[string]bool{}
	cfPages := map[string]map[string]bool{}
	var times []time.Time
	for _, e := range events {
		if !e.item {
			times = append(times, e.at)
		}
		switch {
		case e.service == sim.ServiceToken:
			lv.token++
		case e.service == sim.ServiceGraph && e.batch:
			pending++
		case e.service == sim.ServiceGraph && e.item:
			r := graphRound(strings.TrimPrefix(e.path, "/v1.0"))
			lv.items[r]++
			if pending > 0 {
				pending--
				lv.batches[r]++
				round = r
			}
		case e.service == sim.ServiceGraph: // a next page of the latest round
			lv.pages++
			if pageQueries[round] == nil {
				pageQueries[round] = map[string]map[string]bool{}
			}
			if pageQueries[round][e.path] == nil {
				pageQueries[round][e.path] = map[string]bool{}
			}
			pageQueries[round][e.path][e.query] = true
		case e.service == sim.ServiceCloudflare && strings.Contains(e.path, "/logs/scim/"):
			lv.scimLogs++
		case e.service == sim.ServiceCloudflare:
			page := "1"
			if q, err := url.ParseQuery(e.query); err == nil && q.Get("page") != "" {
				page = q.Get("page")
			}
			if cfPages[e.path] == nil {
				cfPages[e.path] = map[string]bool{}
			}
			cfPages[e.path][page] = true
		}
	}
	for r, paths := range pageQueries {
		for _, queries := range paths {
			lv.pageDepth[r] = max(lv.pageDepth[r], len(queries))
		}
	}
	for path, pages := range cfPages {
		if strings.HasSuffix(path, "/access/identity_providers") {
			lv.idpPages = len(pages)
		} else {
			lv.otherListPages = max(lv.otherListPages, len(pages))
		}
	}
	lv.entra = lv.token
	for r := 1; r <= 2; r++ {
		lv.entra += ceilDiv(lv.batches[r], inFlight) + lv.pageDepth[r]
	}
	lv.cf = max(lv.idpPages+ceilDiv(lv.scimLogs, benchSCIMLogInFlight), lv.otherListPages)
	lv.round3 = ceilDiv(lv.batches[3], inFlight) + lv.pageDepth[3]
	lv.total = max(lv.entra, lv.cf) + lv.round3

	if latency > 0 && len(times) > 0 {
		sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
		lv.waves = 1
		for i := 1; i < len(times); i++ {
			if times[i].Sub(times[i-1]) > latency/2 {
				lv.waves++
			}
		}
	}
	return lv
}

func (lv benchLevels) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "entra %d = token %d", lv.entra, lv.token)
	for r := 1; r <= 2; r++ {
		fmt.Fprintf(&b, " + r%d %d items/%d batches", r, lv.items[r], lv.batches[r])
		if lv.pageDepth[r] > 0 {
			fmt.Fprintf(&b, " (+%d page levels)", lv.pageDepth[r])
		}
	}
	fmt.Fprintf(&b, "; cloudflare %d = idp pages %d + scim logs %d (other lists ≤ %d pages); round 3 %d = %d items/%d batches",
		lv.cf, lv.idpPages, lv.scimLogs, lv.otherListPages, lv.round3, lv.items[3], lv.batches[3])
	if lv.pages > 0 {
		fmt.Fprintf(&b, "; %d Graph next-page requests", lv.pages)
	}
	fmt.Fprintf(&b, "; levels %d, waves %d", lv.total, lv.waves)
	return b.String()
}

// benchSetup starts the healthy tenant (its goroutines labelled "sim"
// for the CPU profile) and configures c.integrations integrations: the
// scenario's first (corp-sso, with SCIM) and copies of it.
func benchSetup(t *testing.T, c benchCase) (*demo.Environment, *config.Config) {
	var env *demo.Environment
	pprof.Do(context.Background(), pprof.Labels(benchLabel, "sim"), func(context.Context) {
		env = simtest.Start(t, demo.ScenarioHealthy, sim.Options{Latency: c.latency})
	})
	if c.groups > 0 {
		env.Server.Update(func(tn *sim.Tenant) { manyRulesTenant(tn, c.groups) })
	}
	cfg := manyIntegrationsConfig(t, env, c.integrations-1)
	kept := []config.Integration{cfg.Integrations[0]}
	for _, in := range cfg.Integrations[1:] {
		if strings.HasPrefix(in.Name, "copy-") {
			kept = append(kept, in)
		}
	}
	cfg.Integrations = kept
	if len(kept) != c.integrations || kept[0].SCIMAppID == "" {
		t.Fatalf("%d integrations (the first with SCIM app %q), want %d", len(kept), kept[0].SCIMAppID, c.integrations)
	}
	return env, cfg
}

const benchLabel = "driftd"

func benchMeasure(t *testing.T, c benchCase) benchRow {
	env, cfg := benchSetup(t, c)
	log := &benchLog{}
	env.Server.SetFaultFunc(log.observe)
	readers, err := NewReaders(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func() (time.Duration, map[string]int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var (
			res  *Result
			err  error
			wall time.Duration
		)
		pprof.Do(ctx, pprof.Labels(benchLabel, "client"), func(ctx context.Context) {
			start := time.Now()
			res, err = Run(ctx, cfg, Options{Readers: readers})
			wall = time.Since(start)
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := res.Report; len(r.Gaps) != 0 || len(r.Findings) != 0 || !r.Complete() {
			t.Fatalf("the run is not a complete, clean audit: gaps %+v findings %v", r.Gaps, keys(r.Findings))
		}
		return wall, res.Report.Stats.APIRequests
	}

	row := benchRow{c: c, clientShare: -1}
	row.cold, _ = run()
	log.take()

	var prof bytes.Buffer
	profiling := pprof.StartCPUProfile(&prof) == nil
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := benchCPU()
	walls := make([]time.Duration, c.runs)
	logs := make([][]benchEvent, c.runs)
	for i := range walls {
		var req map[string]int
		walls[i], req = run()
		logs[i] = log.take()
		if row.requests == nil {
			row.requests = req
		} else if fmt.Sprint(req) != fmt.Sprint(row.requests) {
			row.requestsVary = true
		}
	}
	row.cpuTotal = benchCPU() - cpu0
	runtime.ReadMemStats(&ms1)
	if profiling {
		pprof.StopCPUProfile()
		if by, err := benchCPUByLabel(prof.Bytes(), benchLabel); err != nil {
			t.Logf("reading the CPU profile: %v", err)
		} else if by["client"]+by["sim"] > 0 {
			row.clientShare = float64(by["client"]) / float64(by["client"]+by["sim"])
		}
	}
	row.mallocs = (ms1.Mallocs - ms0.Mallocs) / uint64(c.runs)
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		row.maxRSSKiB = int64(ru.Maxrss) // KiB on Linux
	}

	order := make([]int, c.runs)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return walls[order[a]] < walls[order[b]] })
	median := order[len(order)/2]
	row.wall = walls[median]
	row.levels = benchAnalyse(logs[median], cfg.Entra.MaxInFlight, c.latency)
	for _, l := range logs {
		if benchAnalyse(l, cfg.Entra.MaxInFlight, c.latency).total != row.levels.total {
			row.levelsVary = true
		}
	}
	t.Logf("%s, L=%s: cold %s, median %s of %d; %s", c.name, c.latency, benchMS(row.cold), benchMS(row.wall), c.runs, row.levels)
	return row
}

// benchCPU is the process's user+system CPU time so far.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

func benchPrint(w io.Writer, rows []benchRow, took time.Duration) {
	fmt.Fprintf(w, "\ndriftd audit latency: healthy simulated tenant, steady state (Readers reused across runs, as the daemon does)\n")
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s%s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), benchCPUModel())
	fmt.Fprintf(w, "command: DRIFTD_BENCH=1 go test -run '^TestBenchTable$' -v -count=1 ./internal/audit/   (make bench); the table took %s\n\n", took.Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tL\truns\tcold\twall\tgraph/cf/token\tlevels\tlower bound\tratio\twaves\tCPU/int/run\tclient est.\tallocs/run\tpeak RSS\t")
	for _, r := range rows {
		lb := time.Duration(r.levels.total) * r.c.latency
		ratio, bound, waves := "–", "–", "–"
		if lb > 0 {
			ratio = strconv.FormatFloat(float64(r.wall)/float64(lb), 'f', 2, 64)
			bound = benchMS(lb)
			waves = strconv.Itoa(r.levels.waves)
		}
		levels := strconv.Itoa(r.levels.total)
		if r.levelsVary {
			levels += "*"
		}
		reqs := fmt.Sprintf("%d/%d/%d", r.requests["graph"], r.requests["cloudflare"], r.requests["token"])
		if r.requestsVary {
			reqs += "*"
		}
		perIntRun := r.cpuTotal / time.Duration(r.c.runs*r.c.integrations)
		client := "?"
		if r.clientShare >= 0 {
			client = benchMS(time.Duration(float64(perIntRun) * r.clientShare))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.0f MiB\t\n",
			r.c.name, strconv.FormatInt(r.c.latency.Milliseconds(), 10)+" ms", r.c.runs, benchMS(r.cold), benchMS(r.wall), reqs, levels, bound, ratio, waves,
			benchMS(perIntRun), client, r.mallocs, float64(r.maxRSSKiB)/1024)
	}
	tw.Flush()
	fmt.Fprint(w, `
cold: the first run with new Readers (token request, TLS handshakes); not counted in wall.
wall: median of the measured runs that follow it. graph/cf/token: requests per run (stats.api_requests).
levels: dependent request levels the run needed, from its request log (see TestBenchTable);
  lower bound = levels × L; ratio = wall / lower bound. waves: groups of requests the simulator
  saw separated by more than L/2, i.e. the round trips the run actually took one after another.
CPU/int/run: process user+sys CPU (getrusage) of the measured runs ÷ runs ÷ integrations. The
  simulator runs in the same process, so this includes its CPU (TLS, JSON rendering); client est.
  is that figure times the client's share of the CPU profile samples labelled client or sim
  (unlabelled runtime/GC time split in the same proportion): a crude estimate.
allocs/run: runtime.MemStats.Mallocs per measured run, client and simulator together.
peak RSS: getrusage Maxrss after the case: the process's high-water mark so far, never lower
  than an earlier case's. * : the value differed between measured runs.
`)
}

// benchCPUModel names the CPU on Linux, best effort.
func benchCPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return ", " + strings.TrimSpace(v)
		}
	}
	return ""
}

// benchCPUByLabel sums the CPU nanoseconds of a runtime/pprof CPU
// profile (gzipped profile.proto) by the value of one label key; samples
// without the label go under "".
func benchCPUByLabel(data []byte, key string) (map[string]int64, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	type sample struct {
		values []int64
		labels [][2]int64 // key, str (string table indexes)
	}
	var (
		strs    []string
		types   []int64
		samples []sample
	)
	err = benchProtoFields(raw, func(field, wire int, v uint64, b []byte) error {
		switch {
		case field == 1 && wire == 2: // sample_type
			var typ int64
			err := benchProtoFields(b, func(f, w int, v uint64, _ []byte) error {
				if f == 1 && w == 0 {
					typ = int64(v)
				}
				return nil
			})
			types = append(types, typ)
			return err
		case field == 2 && wire == 2: // sample
			var s sample
			err := benchProtoFields(b, func(f, w int, v uint64, bb []byte) error {
				switch {
				case f == 2 && w == 0:
					s.values = append(s.values, int64(v))
				case f == 2 && w == 2: // packed
					for len(bb) > 0 {
						x, n := binary.Uvarint(bb)
						if n <= 0 {
							return errors.New("bad packed value")
						}
						s.values = append(s.values, int64(x))
						bb = bb[n:]
					}
				case f == 3 && w == 2:
					var l [2]int64
					err := benchProtoFields(bb, func(f, w int, v uint64, _ []byte) error {
						if w == 0 && (f == 1 || f == 2) {
							l[f-1] = int64(v)
						}
						return nil
					})
					s.labels = append(s.labels, l)
					return err
				}
				return nil
			})
			samples = append(samples, s)
			return err
		case field == 6 && wire == 2: // string_table
			strs = append(strs, string(b))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	str := func(i int64) string {
		if i < 0 || int(i) >= len(strs) {
			return ""
		}
		return strs[i]
	}
	idx := len(types) - 1
	for i, typ := range types {
		if str(typ) == "cpu" {
			idx = i
		}
	}
	out := map[string]int64{}
	for _, s := range samples {
		if idx < 0 || idx >= len(s.values) {
			continue
		}
		label := ""
		for _, l := range s.labels {
			if str(l[0]) == key {
				label = str(l[1])
			}
		}
		out[label] += s.values[idx]
	}
	return out, nil
}

// benchProtoFields calls fn for each field of a protobuf message:
// varints (wire 0) as v, length-delimited fields (wire 2) as b.
func benchProtoFields(b []byte, fn func(field, wire int, v uint64, b []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad protobuf key")
		}
		b = b[n:]
		field, wire := int(key>>3), int(key&7)
		switch wire {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return errors.New("bad protobuf varint")
			}
			b = b[n:]
			if err := fn(field, wire, v, nil); err != nil {
				return err
			}
		case 1:
			if len(b) < 8 {
				return errors.New("short protobuf fixed64")
			}
			b = b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errors.New("bad protobuf length")
			}
			data := b[n : n+int(l)]
			b = b[n+int(l):]
			if err := fn(field, wire, 0, data); err != nil {
				return err
			}
		case 5:
			if len(b) < 4 {
				return errors.New("short protobuf fixed32")
			}
			b = b[4:]
		default:
			return fmt.Errorf("protobuf wire type %d", wire)
		}
	}
	return nil
}
