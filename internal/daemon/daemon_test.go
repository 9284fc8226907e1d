package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/dispatch"
	"github.com/driftd/driftd/internal/logtest"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/notify/slack"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

// notifySocket listens where $NOTIFY_SOCKET points, as systemd does, and
// collects the states the daemon sends.
type notifySocket struct {
	mu     sync.Mutex
	states []string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	ns := &notifySocket{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			ns.mu.Lock()
			ns.states = append(ns.states, string(buf[:n]))
			ns.mu.Unlock()
		}
	}()
	return ns
}

func (n *notifySocket) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.states...)
}

type fixture struct {
	t          *testing.T
	env        *demo.Environment
	configPath string
	stateDir   string
	logs       *logtest.Buffer
	reload     chan struct{}
	cancel     context.CancelFunc
	done       chan error
}

// daemonSection renders a [daemon] table.
func daemonSection(schedule, stateDir, listen string) string {
	s := fmt.Sprintf("\n[daemon]\nschedule = %q\nrun_timeout = \"30s\"\nstate_dir = %q\nlog_level = \"debug\"\n", schedule, stateDir)
	if listen != "" {
		s += fmt.Sprintf("listen = %q\n", listen)
	}
	return s
}

func (f *fixture) writeConfig(extra string) {
	f.t.Helper()
	base, err := os.ReadFile(f.configPath + ".base")
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(f.configPath, append(base, extra...), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func startDaemon(t *testing.T, opts sim.Options, schedule, listen string) *fixture {
	t.Helper()
	return startDaemonWith(t, opts, schedule, listen, "")
}

// startDaemonWith starts a daemon whose configuration ends with extra;
// with [[notify.slack]] routes in extra, it notifies through them.
func startDaemonWith(t *testing.T, opts sim.Options, schedule, listen, extra string) *fixture {
	t.Helper()
	env := simtest.Start(t, demo.ScenarioDrifted, opts)
	f := &fixture{t: t, env: env, configPath: env.ConfigPath, stateDir: t.TempDir(), logs: &logtest.Buffer{}, reload: make(chan struct{}, 1), done: make(chan error, 1)}
	base, err := os.ReadFile(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(env.ConfigPath+".base", base, 0o600); err != nil {
		t.Fatal(err)
	}
	f.writeConfig(daemonSection(schedule, f.stateDir, listen) + extra)
	cfg, err := config.Load(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	dopts := Options{ConfigPath: f.configPath, Config: cfg, Reload: f.reload, LogOutput: f.logs}
	if len(cfg.Notify.Slack) > 0 {
		dopts.Senders = func(c *config.Config) (map[string]dispatch.Sender, error) {
			out := map[string]dispatch.Sender{}
			for _, r := range c.Notify.Slack {
				out[r.Name] = slack.New(r, nil)
			}
			return out, nil
		}
	}
	d, err := New(ctx, dopts)
	if err != nil {
		t.Fatal(err)
	}
	go func() { f.done <- d.Run(ctx) }()
	t.Cleanup(func() { f.stop(30 * time.Second) })
	return f
}

// stop cancels the daemon and waits for it to return.
func (f *fixture) stop(limit time.Duration) time.Duration {
	start := time.Now()
	f.cancel()
	select {
	case err := <-f.done:
		if err != nil {
			f.t.Errorf("daemon returned %v", err)
		}
		f.done <- nil // later stops return at once
	case <-time.After(limit):
		f.t.Fatalf("daemon did not stop within %s", limit)
	}
	return time.Since(start)
}

// runs reads the recorded runs from the store, oldest first.
func (f *fixture) runs() []store.Run {
	f.t.Helper()
	st, err := store.Open(context.Background(), f.stateDir)
	if err != nil {
		f.t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(context.Background(), 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	return runs
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDaemonSchedulesRecordsAndStops(t *testing.T) {
	ns := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "400000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	f := startDaemon(t, sim.Options{}, "@every 1s", "")
	waitFor(t, "three runs", 20*time.Second, func() bool { return len(f.runs()) >= 3 })

	if took := f.stop(30 * time.Second); took > 5*time.Second {
		t.Errorf("shutdown took %s", took)
	}
	runs := f.runs()
	if runs[0].Trigger != "startup" || runs[1].Trigger != "schedule" {
		t.Errorf("triggers %q, %q", runs[0].Trigger, runs[1].Trigger)
	}
	for _, r := range runs {
		if r.Status != store.RunComplete || r.Findings == 0 {
			t.Errorf("run %d: %s with %d findings", r.ID, r.Status, r.Findings)
		}
	}
	if runs[0].Opened == 0 || runs[1].Opened != 0 {
		t.Errorf("findings should open once: run 1 opened %d, run 2 opened %d", runs[0].Opened, runs[1].Opened)
	}
	states := strings.Join(ns.all(), "|")
	for _, want := range []string{"READY=1", "WATCHDOG=1", "STOPPING=1"} {
		if !strings.Contains(states, want) {
			t.Errorf("systemd was not sent %s (got %s)", want, states)
		}
	}
	if !strings.Contains(f.logs.String(), "msg=\"run finished\"") {
		t.Errorf("no per-run log line:\n%s", f.logs)
	}
}

func TestReload(t *testing.T) {
	ns := listenNotify(t)
	f := startDaemon(t, sim.Options{}, "@every 1h", "")
	waitFor(t, "the start-up run", 20*time.Second, func() bool { return len(f.runs()) == 1 })

	// A valid reload changes the schedule.
	f.writeConfig(daemonSection("@every 1s", f.stateDir, ""))
	f.reload <- struct{}{}
	waitFor(t, "runs on the new schedule", 20*time.Second, func() bool { return len(f.runs()) >= 3 })
	if !strings.Contains(f.logs.String(), "configuration reloaded") {
		t.Errorf("no reload log line")
	}
	if states := strings.Join(ns.all(), "|"); !strings.Contains(states, "RELOADING=1") {
		t.Errorf("systemd was not told about the reload: %s", states)
	}

	// An expired suppression is logged when the configuration is loaded.
	f.writeConfig(daemonSection("@every 1s", f.stateDir, "") + "\n[[suppress]]\ncheck = \"ENTRA-SCIM-002\"\nreason = \"temporary\"\nexpires = \"2020-01-01\"\n")
	f.reload <- struct{}{}
	waitFor(t, "the expiry log line", 10*time.Second, func() bool { return strings.Contains(f.logs.String(), "suppression expired") })

	// An invalid reload is rejected in one line and the old config keeps running.
	f.writeConfig(daemonSection("every now and then", f.stateDir, ""))
	f.reload <- struct{}{}
	waitFor(t, "the rejection", 10*time.Second, func() bool { return strings.Contains(f.logs.String(), "reload rejected") })
	n := len(f.runs())
	waitFor(t, "runs to continue", 20*time.Second, func() bool { return len(f.runs()) >= n+2 })
	for _, line := range strings.Split(f.logs.String(), "\n") {
		if strings.Contains(line, "reload rejected") && !strings.Contains(line, "daemon.schedule") {
			t.Errorf("rejection does not name the field: %s", line)
		}
	}
}

func TestRunsNeverOverlap(t *testing.T) {
	// Each request takes 300 ms, so a run (several sequential requests)
	// takes longer than the 1 s interval.
	f := startDaemon(t, sim.Options{Latency: 300 * time.Millisecond}, "@every 1s", "")
	waitFor(t, "a skipped run", 30*time.Second, func() bool { return strings.Contains(f.logs.String(), "skipping a scheduled run") })
	waitFor(t, "three runs", 30*time.Second, func() bool { return len(f.runs()) >= 3 })
	f.stop(30 * time.Second)
	runs := f.runs()
	for i := 1; i < len(runs); i++ {
		if runs[i].StartedAt.Before(runs[i-1].FinishedAt) {
			t.Errorf("run %d started %s before run %d finished %s", runs[i].ID, runs[i].StartedAt, runs[i-1].ID, runs[i-1].FinishedAt)
		}
	}
}

func TestHealthEndpoints(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := startDaemon(t, sim.Options{Latency: 200 * time.Millisecond}, "@every 1h", addr)
	get := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "/healthz", 10*time.Second, func() bool { return get("/healthz") == http.StatusOK })
	if code := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the first run finished: %d", code)
	}
	waitFor(t, "the first run", 30*time.Second, func() bool { return len(f.runs()) == 1 })
	waitFor(t, "/readyz", 5*time.Second, func() bool { return get("/readyz") == http.StatusOK })
}

func TestSecondDaemonOnOneStateDirectoryFails(t *testing.T) {
	f := startDaemon(t, sim.Options{}, "@every 1h", "")
	waitFor(t, "the start-up run", 20*time.Second, func() bool { return len(f.runs()) == 1 })
	cfg, err := config.Load(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(context.Background(), Options{ConfigPath: f.configPath, Config: cfg, LogOutput: &logtest.Buffer{}})
	want := fmt.Sprintf("another driftd run (PID %d) is using %s", os.Getpid(), f.stateDir)
	if err == nil || err.Error() != want {
		t.Fatalf("second daemon: %v, want %q", err, want)
	}

	// Once the first one stopped, the directory is free again.
	f.stop(30 * time.Second)
	d, err := New(context.Background(), Options{ConfigPath: f.configPath, Config: cfg, LogOutput: &logtest.Buffer{}})
	if err != nil {
		t.Fatalf("after the first daemon stopped: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run returns at once and releases the lock
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestFrequentReloadsKeepTheSchedule(t *testing.T) {
	// Counted from each reload, "@every 2s" would always be at least a
	// second away, and reloads every 300 ms would stop scheduled runs.
	f := startDaemon(t, sim.Options{}, "@every 2s", "")
	waitFor(t, "the start-up run", 20*time.Second, func() bool { return len(f.runs()) == 1 })
	until := time.Now().Add(7 * time.Second)
	for time.Now().Before(until) {
		f.reload <- struct{}{}
		time.Sleep(300 * time.Millisecond)
	}
	f.stop(30 * time.Second)
	scheduled := 0
	for _, r := range f.runs() {
		if r.Trigger == "schedule" {
			scheduled++
		}
	}
	if scheduled < 2 {
		t.Errorf("%d scheduled runs in 7 s of reloads at @every 2s, want about 3", scheduled)
	}
	if n := strings.Count(f.logs.String(), "configuration reloaded"); n < 15 {
		t.Errorf("only %d reloads were applied", n)
	}
}

func TestReloadKeepsSlacksRetryAfter(t *testing.T) {
	srv := slacktest.NewServer(t)
	limited := slacktest.Response{Status: http.StatusTooManyRequests, RetryAfter: "86400"}
	srv.Script(limited, limited, limited, limited, limited, limited)
	route := fmt.Sprintf("\n[[notify.slack]]\nname = \"security\"\ntoken = %q\nchannel = %q\napi_url = %q\n", slacktest.DefaultToken, slacktest.DefaultChannel, srv.URL())
	f := startDaemonWith(t, sim.Options{}, "@every 1h", "", route)
	waitFor(t, "the first delivery attempt", 20*time.Second, func() bool { return srv.Requests() == 1 })

	for range 5 {
		f.reload <- struct{}{}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if got := srv.Requests(); got != 1 {
		t.Errorf("Slack asked for a day's wait; after 5 reloads it got %d requests", got)
	}
	if n := strings.Count(f.logs.String(), "configuration reloaded"); n != 5 {
		t.Errorf("%d reloads applied, want 5", n)
	}
}

func TestHealthServerTimeouts(t *testing.T) {
	srv := newHealthServer(http.NotFoundHandler())
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout} {
		if d <= 0 {
			t.Errorf("%s is not set", name)
		}
	}
}

// The daemon keeps its API clients between runs: one token for its life
// (it is valid for an hour) and the connections of its first run; a
// reload that changes only the schedule keeps them.
func TestDaemonReusesTokenAndConnections(t *testing.T) {
	f := startDaemon(t, sim.Options{}, "@every 1h", "")
	waitFor(t, "the start-up run", 20*time.Second, func() bool { return len(f.runs()) == 1 })
	conns := f.env.Server.Connections()
	f.writeConfig(daemonSection("@every 1s", f.stateDir, ""))
	f.reload <- struct{}{}
	waitFor(t, "three more runs", 20*time.Second, func() bool { return len(f.runs()) >= 4 })
	f.stop(30 * time.Second)
	runs := f.runs()
	if runs[0].APIRequests["token"] == 0 {
		t.Fatalf("the first run fetched no token: %v", runs[0].APIRequests)
	}
	// The first run opens the drifted tenant's findings and asks the
	// audit logs who changed them, the next asks again for the one whose
	// entry comes late; later runs (seconds apart, before the back-off's
	// first minute) read the same as each other, audit logs aside.
	steady := runs[2].APIRequests
	for _, r := range runs[1:] {
		if r.APIRequests["token"] != 0 {
			t.Errorf("run %d (%s) sent %d token requests", r.ID, r.Trigger, r.APIRequests["token"])
		}
		if r.ID > runs[2].ID && (r.APIRequests["graph"] != steady["graph"] || r.APIRequests["cloudflare"] != steady["cloudflare"]) {
			t.Errorf("run %d: %v, run %d %v", r.ID, r.APIRequests, runs[2].ID, steady)
		}
		if r.APIRequests["graph"] > runs[0].APIRequests["graph"] || r.APIRequests["cloudflare"] > runs[0].APIRequests["cloudflare"] {
			t.Errorf("run %d: %v, more than the first run %v", r.ID, r.APIRequests, runs[0].APIRequests)
		}
	}
	if steady["graph"]+1 != runs[0].APIRequests["graph"] || steady["cloudflare"]+1 != runs[0].APIRequests["cloudflare"] {
		t.Errorf("steady runs %v, first run %v: want one Graph and one Cloudflare audit-log request more in the first", steady, runs[0].APIRequests)
	}
	if served := f.env.Server.Requests()["token"]; served != runs[0].APIRequests["token"] {
		t.Errorf("the token endpoint served %d requests over %d runs, want %d", served, len(runs), runs[0].APIRequests["token"])
	}
	if now := f.env.Server.Connections(); !reflect.DeepEqual(now, conns) {
		t.Errorf("connections after the first run %v, after %d runs %v: they should be reused", conns, len(runs), now)
	}
}
