package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/sim"
)

// TestDaemonSurvivesEveryFaultMode runs the real `driftd run` process
// while the simulated services answer in one hostile way after another.
// The daemon must record a run for each and keep going (no crash, no
// restart), never record a finding the fault-free tenant does not have,
// never send anything to a foreign origin, and exit 0 on SIGTERM.
func TestDaemonSurvivesEveryFaultMode(t *testing.T) {
	if testing.Short() {
		t.Skip("fault-mode process test skipped in -short mode")
	}
	env, stateDir := daemonConfig(t, "@every 1s")
	capture, err := env.Server.StartCapture("https")
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()

	child := startChild(t, env.ConfigPath)
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	stop := func() {
		_ = child.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("driftd run exited with %v after SIGTERM, want status 0", err)
			}
		case <-time.After(30 * time.Second):
			_ = child.Process.Kill()
			t.Error("driftd run did not exit within 30 s of SIGTERM")
		}
	}

	// waitForRun waits for a run newer than after and returns its ID.
	waitForRun := func(what string, after int64) int64 {
		deadline := time.Now().Add(40 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case err := <-exited:
				t.Fatalf("%s: driftd run exited: %v", what, err)
			default:
			}
			runs, _ := committed(t, stateDir)
			var newest int64
			for id := range runs {
				newest = max(newest, id)
			}
			// The run in flight when the fault was injected may have
			// missed it: wait for the one after.
			if newest > after+1 {
				return newest
			}
			time.Sleep(100 * time.Millisecond)
		}
		stop()
		t.Fatalf("%s: no run recorded within 40 s", what)
		return 0
	}

	last := waitForRun("fault-free", -1)
	_, clean := committed(t, stateDir)
	if len(clean) == 0 {
		t.Fatal("the fault-free runs found nothing to compare with")
	}

	faults := []sim.Fault{
		{Service: sim.ServiceGraph, Kind: sim.KindNullElements},
		{Service: sim.ServiceGraph, PathContains: "$batch", Kind: sim.KindWrongType, JSON: "[null]"},
		{Service: sim.ServiceGraph, Kind: sim.KindWrongType, Member: "@item.body"},
		{Service: sim.ServiceGraph, Kind: sim.KindErrorBody200},
		{Service: sim.ServiceGraph, Kind: sim.KindHugeStrings},
		{Service: sim.ServiceGraph, Kind: sim.KindEndlessPaging},
		{Service: sim.ServiceGraph, Kind: sim.KindRepeatPaging},
		{Service: sim.ServiceGraph, Kind: sim.KindForeignNextLink, Target: capture.URL},
		{Service: sim.ServiceGraph, Kind: sim.KindOversized},
		{Service: sim.ServiceGraph, Kind: sim.KindTruncated},
		{Service: sim.ServiceGraph, Kind: sim.KindReset},
		{Service: sim.ServiceGraph, Kind: sim.KindEchoRequest},
		{Service: sim.ServiceGraph, Kind: sim.KindStatus, Status: 429, RetryAfter: "1"},
		{Service: sim.ServiceToken, Kind: sim.KindRedirect, Status: 307, Target: capture.URL},
		{Service: sim.ServiceToken, Kind: sim.KindEchoRequest},
		{Service: sim.ServiceCloudflare, Kind: sim.KindErrorBody200},
		{Service: sim.ServiceCloudflare, Kind: sim.KindWrongType, JSON: "null"},
		{Service: sim.ServiceCloudflare, Kind: sim.KindRedirect, Status: 302, Target: capture.URL},
		{Service: sim.ServiceCloudflare, Kind: sim.KindEndlessPaging},
		{Service: sim.ServiceCloudflare, Kind: sim.KindHugeStrings},
		{Service: sim.ServiceCloudflare, Kind: sim.KindMalformed},
	}
	for _, f := range faults {
		what := fmt.Sprintf("%s %s %d", f.Service, f.Kind, f.Status)
		env.Server.ClearFaults()
		env.Server.InjectFault(f)
		last = waitForRun(what, last)
	}
	env.Server.ClearFaults()
	last = waitForRun("fault-free again", last)
	stop()

	served := env.Server.FaultsServed()
	for _, f := range faults {
		label := string(f.Kind)
		if f.Kind == sim.KindStatus {
			label = fmt.Sprintf("status-%d", f.Status)
		}
		if served[label] == 0 {
			t.Errorf("fault %s was never served: the daemon did not meet it", label)
		}
	}

	runs, findings := committed(t, stateDir)
	for fp, f := range findings {
		if _, ok := clean[fp]; !ok {
			t.Errorf("a finding the fault-free tenant does not have was recorded: %s %s %q", f.CheckID, f.Integration, f.Message)
		}
	}
	if n := len(capture.Requests()); n != 0 {
		t.Errorf("the foreign origin received %d requests", n)
	}
	if r := runs[last]; r.Status != "complete" {
		t.Errorf("the last, fault-free run is %s, want complete", r.Status)
	}
	for _, r := range runs {
		if r.Status == "failed" {
			t.Errorf("run %d failed (%s): a fault must be a gap, not a failed run", r.ID, r.Error)
		}
	}
}
