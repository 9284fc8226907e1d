package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/internal/store"
)

// TestBenchDaemon runs the real program, `driftd run` at `@every 1s`, in a
// child process against the healthy simulated tenant with one
// integration (corp-sso, with SCIM) for DRIFTD_BENCH_DAEMON_RUNS runs
// (default 200), and prints after chosen runs the child's resident set,
// its open file descriptors, and the store's database and WAL sizes;
// then, from the store, the requests per run. A measurement for
// `make bench` (BENCHMARKS.md), skipped unless DRIFTD_BENCH=1; it asserts
// nothing about memory or time.
func TestBenchDaemon(t *testing.T) {
	if os.Getenv("DRIFTD_BENCH") != "1" {
		t.Skip("a measurement, not a test: set DRIFTD_BENCH=1 (make bench)")
	}
	runs := 200
	if s := os.Getenv("DRIFTD_BENCH_DAEMON_RUNS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			runs = v
		}
	}
	env := simtest.Start(t, demo.ScenarioHealthy, sim.Options{})
	stateDir := filepath.Join(t.TempDir(), "state")
	raw, err := os.ReadFile(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	// One integration: the scenario's second (contractors-sso) is cut off.
	text := string(raw)
	if i := strings.Index(text, "[[integration]]\nname = \"contractors-sso\""); i > 0 {
		text = text[:i]
	}
	text += fmt.Sprintf("\n[daemon]\nschedule = \"@every 1s\"\nstate_dir = %q\n", stateDir)
	if err := os.WriteFile(env.ConfigPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(runs)*3*time.Second+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "run", "--config", env.ConfigPath)
	cmd.Env = append(os.Environ(), "DRIFTD_TEST_AS_DRIFTD=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid

	type sample struct {
		run              int
		rssKB, fds       int64
		dbBytes, walByte int64
		cpu              time.Duration
	}
	report := map[int]bool{1: true, 2: true, 10: true, 50: true, 100: true, 200: true, 500: true, runs: true}
	var samples []sample
	var rss []int64
	var fds []int64
	done := 0
	lines := bufio.NewScanner(stderr)
	for done < runs && lines.Scan() {
		line := lines.Text()
		if !strings.Contains(line, `msg="run finished"`) && !strings.Contains(line, `msg="run incomplete"`) && !strings.Contains(line, `msg="run failed"`) {
			continue
		}
		done++
		s := sample{run: done, rssKB: procStatusKB(pid, "VmRSS"), fds: countFDs(pid), cpu: procCPU(pid),
			dbBytes: fileSize(filepath.Join(stateDir, store.FileName)), walByte: fileSize(filepath.Join(stateDir, store.FileName+"-wal"))}
		if done >= 10 {
			rss, fds = append(rss, s.rssKB), append(fds, s.fds)
		}
		if report[done] {
			samples = append(samples, s)
		}
	}
	// Idle CPU: what the child uses in the second between runs.
	before := procCPU(pid)
	time.Sleep(500 * time.Millisecond)
	idle := procCPU(pid) - before
	_ = cmd.Process.Signal(syscall.SIGTERM)
	go func() { _, _ = bufio.NewReader(stderr).WriteTo(discard{}) }()
	if err := cmd.Wait(); err != nil {
		t.Logf("driftd exited: %v", err)
	}
	if done < runs {
		t.Fatalf("only %d of %d runs finished", done, runs)
	}

	st, err := store.Open(context.Background(), stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recorded, err := st.Runs(context.Background(), runs+10)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(recorded, func(i, j int) bool { return recorded[i].ID < recorded[j].ID })
	perRun := map[string]int{}
	tokenAfterFirst := 0
	for i, r := range recorded {
		if i == 0 {
			perRun = r.APIRequests
			continue
		}
		tokenAfterFirst += r.APIRequests["token"]
	}
	steady := map[string]int{}
	if len(recorded) > 1 {
		steady = recorded[len(recorded)-1].APIRequests
	}

	var b strings.Builder
	fmt.Fprintf(&b, "driftd run at @every 1s, healthy simulated tenant, one integration (corp-sso, with SCIM), %d runs\n", runs)
	fmt.Fprintf(&b, "%8s %10s %6s %10s %10s %10s\n", "run", "RSS", "fds", "database", "WAL", "CPU total")
	for _, s := range samples {
		fmt.Fprintf(&b, "%8d %7.1f MB %6d %7.0f KB %7.0f KB %10v\n", s.run, float64(s.rssKB)/1024, s.fds, float64(s.dbBytes)/1024, float64(s.walByte)/1024, s.cpu.Round(time.Millisecond))
	}
	lo, hi := minMax(rss)
	flo, fhi := minMax(fds)
	fmt.Fprintf(&b, "after run 10: RSS %.1f–%.1f MB, fds %d–%d\n", float64(lo)/1024, float64(hi)/1024, flo, fhi)
	fmt.Fprintf(&b, "requests: first run %v; last run %v; token requests after the first run: %d\n", perRun, steady, tokenAfterFirst)
	fmt.Fprintf(&b, "idle CPU between runs: %v in 500 ms after the last run\n", idle.Round(time.Millisecond))
	t.Log("\n" + b.String())
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func minMax(v []int64) (lo, hi int64) {
	for i, x := range v {
		if i == 0 || x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	return lo, hi
}

// procStatusKB reads a "kB" field of /proc/<pid>/status.
func procStatusKB(pid int, field string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	return -1
}

func countFDs(pid int) int64 {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return int64(len(entries))
}

// procCPU is the user+system CPU the process has used (/proc/<pid>/stat,
// in clock ticks of 10 ms).
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name is in parentheses and may hold spaces: fields
	// count from after it.
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return -1
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
