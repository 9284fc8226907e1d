package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/notify/slack/slacktest"
)

// TestMain lets the test binary act as the driftd binary in a child
// process: the crash tests run the real program, signals and all.
func TestMain(m *testing.M) {
	if os.Getenv("DRIFTD_TEST_AS_DRIFTD") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// daemonConfig starts the simulator and writes a config with a fast
// schedule and its own state directory.
func daemonConfig(t *testing.T, schedule string) (*demo.Environment, string) {
	t.Helper()
	env := simtest.Start(t, demo.ScenarioDrifted, sim.Options{})
	stateDir := filepath.Join(t.TempDir(), "state")
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[daemon]\nschedule = %q\nstate_dir = %q\n", schedule, stateDir)
	f.Close()
	return env, stateDir
}

func startChild(t *testing.T, configPath string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "run", "--config", configPath)
	cmd.Env = append(os.Environ(), "DRIFTD_TEST_AS_DRIFTD=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// committed reads what the store holds right now.
func committed(t *testing.T, stateDir string) (runs map[int64]store.Run, findings map[string]store.Finding) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(stateDir, store.FileName)); err != nil {
		return map[int64]store.Run{}, map[string]store.Finding{}
	}
	st, err := store.Open(context.Background(), stateDir)
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	defer st.Close()
	if err := st.IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs, err := st.Runs(context.Background(), 100000)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := st.Findings(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	runs, findings = map[int64]store.Run{}, map[string]store.Finding{}
	for _, r := range rs {
		runs[r.ID] = r
	}
	for _, f := range fs {
		findings[f.Fingerprint] = f
	}
	return runs, findings
}

func TestKillLoopLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kill loop skipped in -short mode")
	}
	env, stateDir := daemonConfig(t, "@every 1s")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	const iterations = 20
	for i := 0; i < iterations; i++ {
		// Alternate the tenant so runs open and resolve findings.
		if i%3 == 1 {
			env.Server.Update(func(tn *sim.Tenant) { *tn = *sim.Healthy(time.Now()) })
		} else {
			env.Server.Update(func(tn *sim.Tenant) { *tn = *sim.Drifted(time.Now()) })
		}
		child := startChild(t, env.ConfigPath)
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		runsBefore, findingsBefore := committed(t, stateDir)
		if err := child.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = child.Wait()

		runsAfter, findingsAfter := committed(t, stateDir)
		for id, r := range runsBefore {
			after, ok := runsAfter[id]
			if !ok || after.Status != r.Status || after.Opened != r.Opened || after.Resolved != r.Resolved {
				t.Fatalf("iteration %d: run %d committed before the kill changed or vanished: %+v → %+v", i, id, r, after)
			}
		}
		for fp, f := range findingsBefore {
			after, ok := findingsAfter[fp]
			if !ok || after.LastRunID < f.LastRunID || after.Occurrences < f.Occurrences {
				t.Fatalf("iteration %d: finding %s committed before the kill was lost or went back", i, fp)
			}
		}
	}
	runs, _ := committed(t, stateDir)
	if len(runs) == 0 {
		t.Fatalf("no run recorded over %d iterations", iterations)
	}
	// After every kill the state directory still takes a daemon, which
	// records its run. (How many runs the loop itself recorded depends on
	// how loaded the machine is, so it is not asserted.)
	child := startChild(t, env.ConfigPath)
	defer func() {
		_ = child.Process.Kill()
		_ = child.Wait()
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		after, _ := committed(t, stateDir)
		if len(after) > len(runs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no run recorded after the last kill (%d runs before)", len(runs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSIGTERMExitsCleanly(t *testing.T) {
	env, stateDir := daemonConfig(t, "@every 1s")
	child := startChild(t, env.ConfigPath)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if runs, _ := committed(t, stateDir); len(runs) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			_ = child.Process.Kill()
			t.Fatal("no run recorded")
		}
		time.Sleep(100 * time.Millisecond)
	}
	start := time.Now()
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- child.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("driftd run exited with %v after SIGTERM, want status 0", err)
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("exit took %s", took)
		}
	case <-time.After(30 * time.Second):
		_ = child.Process.Kill()
		t.Fatal("driftd run did not exit within 30 s of SIGTERM")
	}
	// The store is intact and the run that was cancelled was recorded.
	committed(t, stateDir)
}

func TestPendingNotificationsSurviveAKill(t *testing.T) {
	srv := slacktest.NewServer(t)
	// Slack is down for the first two attempts.
	srv.Script(slacktest.Response{Status: 500}, slacktest.Response{Status: 500})
	env, stateDir := daemonConfig(t, "@every 1h")
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[[notify.slack]]\nname = \"security\"\ntoken = %q\nchannel = %q\napi_url = %q\n", slacktest.DefaultToken, slacktest.DefaultChannel, srv.URL())
	f.Close()

	pendingAttempted := func() bool {
		if _, err := os.Stat(filepath.Join(stateDir, store.FileName)); err != nil {
			return false
		}
		st, err := store.Open(context.Background(), stateDir)
		if err != nil {
			return false
		}
		defer st.Close()
		p, err := st.Pending(context.Background())
		return err == nil && len(p) > 0 && p[0].Attempts > 0
	}
	child := startChild(t, env.ConfigPath)
	deadline := time.Now().Add(20 * time.Second)
	for !pendingAttempted() {
		if time.Now().After(deadline) {
			_ = child.Process.Kill()
			t.Fatal("no failed delivery attempt recorded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages delivered while Slack was down", n)
	}

	// Restarted, the daemon delivers what was pending, once.
	child = startChild(t, env.ConfigPath)
	defer func() {
		_ = child.Process.Signal(syscall.SIGTERM)
		_ = child.Wait()
	}()
	deadline = time.Now().Add(30 * time.Second)
	for {
		st, err := store.Open(context.Background(), stateDir)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := st.Pending(context.Background())
		all, _ := st.Outbox(context.Background())
		st.Close()
		if len(p) == 0 && len(all) > 0 {
			if got, want := len(srv.Messages()), partsSent(all); got != want {
				t.Errorf("the outbox sent %d messages, Slack accepted %d", want, got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d pending after the restart", len(p))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The restart's own run found nothing new: no further message.
	time.Sleep(1500 * time.Millisecond)
	st, err := store.Open(context.Background(), stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all, _ := st.Outbox(context.Background())
	if got, want := len(srv.Messages()), partsSent(all); got != want {
		t.Errorf("duplicate delivery: outbox %d, delivered %d", want, got)
	}
}

// partsSent counts the messages the outbox items were delivered as (a
// batch may be split into several Slack messages).
func partsSent(items []store.OutboxItem) int {
	n := 0
	for _, it := range items {
		n += it.PartsSent
	}
	return n
}

func TestSecondDaemonProcessIsRefused(t *testing.T) {
	env, stateDir := daemonConfig(t, "@every 1h")
	first := startChild(t, env.ConfigPath)
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	defer func() {
		_ = first.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if runs, _ := committed(t, stateDir); len(runs) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first daemon recorded no run")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// driftd as a separate process, with a time limit.
	driftd := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], args...)
		cmd.Env = append(os.Environ(), "DRIFTD_TEST_AS_DRIFTD=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := driftd("run", "--config", env.ConfigPath)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("second driftd run: %v\n%s", err, out)
	}
	want := fmt.Sprintf("driftd run: another driftd run (PID %d) is using %s\n", first.Process.Pid, stateDir)
	if out != want {
		t.Errorf("second driftd run said %q, want %q", out, want)
	}
	select {
	case err := <-exited:
		exited <- err
		t.Fatalf("the first daemon exited: %v", err)
	case <-time.After(500 * time.Millisecond):
	}

	// The history commands work beside the running daemon.
	for _, args := range [][]string{{"findings", "--config", env.ConfigPath}, {"status", "--config", env.ConfigPath},
		{"findings", "--config", env.ConfigPath, "--format", "json"}} {
		if out, err := driftd(args...); err != nil {
			t.Errorf("driftd %s beside the daemon: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// So does a one-shot check that records into the same store.
	if out, err := driftd("check", "--config", env.ConfigPath, "--state-dir", stateDir); !errors.As(err, &exit) || exit.ExitCode() != exitFindings {
		t.Errorf("driftd check --state-dir beside the daemon: %v\n%s", err, out)
	}
}
