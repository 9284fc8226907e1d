package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/internal/storetest"
)

type harness struct {
	t     *testing.T
	env   *demo.Environment
	cfg   *config.Config
	store *store.Store
	eng   *Engine
	now   time.Time
}

func newHarness(t *testing.T, scenario string) *harness {
	t.Helper()
	now := time.Now()
	env := simtest.Start(t, scenario, sim.Options{})
	cfg := simtest.Config(t, env)
	st := storetest.Open(t)
	return &harness{t: t, env: env, cfg: cfg, store: st, eng: &Engine{Store: st}, now: now}
}

func (h *harness) run() Outcome {
	h.t.Helper()
	out, err := h.eng.RunOnce(context.Background(), h.cfg, TriggerSchedule, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// setScenario replaces the simulated tenant's state.
func (h *harness) setScenario(build func(time.Time) *sim.Tenant) {
	h.env.Server.Update(func(t *sim.Tenant) { *t = *build(h.now) })
}

func (h *harness) findings(all bool) map[string]store.Finding {
	h.t.Helper()
	fs, err := h.store.Findings(context.Background(), all)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]store.Finding{}
	for _, f := range fs {
		out[f.Fingerprint] = f
	}
	return out
}

func events(tr []store.Transition, kind string) int {
	n := 0
	for _, t := range tr {
		if t.Event == kind {
			n++
		}
	}
	return n
}

func TestLifecycleOverConsecutiveRuns(t *testing.T) {
	h := newHarness(t, demo.ScenarioHealthy)
	if out := h.run(); len(out.Recorded.Transitions) != 0 || out.Recorded.Run.Status != store.RunComplete {
		t.Fatalf("healthy run: %+v", out.Recorded)
	}

	// Drift introduced: every finding opens once.
	h.setScenario(sim.Drifted)
	first := h.run()
	opened := events(first.Recorded.Transitions, store.EventOpened)
	if opened == 0 || opened != len(first.Result.Report.Findings) {
		t.Fatalf("drift: opened %d of %d findings", opened, len(first.Result.Report.Findings))
	}
	before := h.findings(false)

	// Still there: same fingerprints, last_seen advances, nothing new.
	second := h.run()
	if len(second.Recorded.Transitions) != 0 {
		t.Fatalf("unchanged drift produced transitions: %+v", second.Recorded.Transitions)
	}
	after := h.findings(false)
	if len(after) != len(before) {
		t.Fatalf("open findings %d → %d", len(before), len(after))
	}
	for fp, f := range after {
		b, ok := before[fp]
		if !ok || !f.LastSeen.After(b.LastSeen) || !f.FirstSeen.Equal(b.FirstSeen) || f.Occurrences != 2 {
			t.Errorf("%s %s: first %v→%v last %v→%v occurrences %d", f.CheckID, fp, b.FirstSeen, f.FirstSeen, b.LastSeen, f.LastSeen, f.Occurrences)
		}
	}

	// Fixed: everything resolves.
	h.setScenario(sim.Healthy)
	third := h.run()
	if got := events(third.Recorded.Transitions, store.EventResolved); got != len(before) {
		t.Errorf("fixed: resolved %d of %d", got, len(before))
	}
	if open := h.findings(false); len(open) != 0 {
		t.Errorf("still open after the fix: %d", len(open))
	}

	// Broken again, fixed again: one entry per fingerprint, reopened then resolved.
	h.setScenario(sim.Drifted)
	fourth := h.run()
	if got := events(fourth.Recorded.Transitions, store.EventReopened); got != len(before) {
		t.Errorf("reintroduced: reopened %d of %d", got, len(before))
	}
	h.setScenario(sim.Healthy)
	h.run()
	all := h.findings(true)
	if len(all) != len(before) {
		t.Errorf("want one entry per fingerprint (%d), got %d", len(before), len(all))
	}
	for fp, f := range all {
		if f.State != store.StateResolved || f.Reopened != 1 || f.Occurrences != 3 {
			t.Errorf("%s: state %s reopened %d occurrences %d", f.CheckID, f.State, f.Reopened, f.Occurrences)
		}
		evs, err := h.store.Events(context.Background(), fp)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range evs {
			kinds = append(kinds, e.Event)
		}
		if len(kinds) != 4 || kinds[0] != "opened" || kinds[1] != "resolved" || kinds[2] != "reopened" || kinds[3] != "resolved" {
			t.Errorf("%s events %v", f.CheckID, kinds)
		}
	}
}

func TestGapKeepsItsFindingsOpen(t *testing.T) {
	h := newHarness(t, demo.ScenarioDrifted)
	h.run()
	open := h.findings(false)
	// The SCIM findings: the two mappings and the job that never
	// reaches Cloudflare, all read from the provisioning jobs.
	isSCIM := func(id string) bool { return strings.HasPrefix(id, "ENTRA-SCIM-") }
	scim := 0
	for _, f := range open {
		if isSCIM(f.CheckID) {
			scim++
		}
	}
	if scim != 3 {
		t.Fatalf("want the three SCIM findings open, got %d", scim)
	}

	// Everything fixed, but synchronization cannot be read.
	h.setScenario(sim.Healthy)
	h.env.Server.InjectFault(sim.Fault{Service: "graph", PathContains: "/synchronization", Status: 403})
	out := h.run()
	if out.Recorded.Run.Status != store.RunIncomplete {
		t.Errorf("run status %s, want incomplete", out.Recorded.Run.Status)
	}
	still := h.findings(false)
	if len(still) != scim {
		t.Errorf("want exactly the %d SCIM findings open, got %d", scim, len(still))
	}
	for _, f := range still {
		if !isSCIM(f.CheckID) {
			t.Errorf("%s stayed open though its data was read", f.CheckID)
		}
	}
	if got := events(out.Recorded.Transitions, store.EventResolved); got != len(open)-scim {
		t.Errorf("resolved %d, want %d", got, len(open)-scim)
	}

	// Readable again: they resolve.
	h.env.Server.ClearFaults()
	h.run()
	if n := len(h.findings(false)); n != 0 {
		t.Errorf("%d findings open after a complete healthy run", n)
	}
}

func TestNothingResolvesWhenNothingCanBeRead(t *testing.T) {
	h := newHarness(t, demo.ScenarioDrifted)
	h.run()
	open := len(h.findings(false))
	h.setScenario(sim.Healthy)
	// Denied everywhere (denials are not retried, so the test is quick).
	h.env.Server.InjectFault(sim.Fault{Service: "token", Status: 401})
	h.env.Server.InjectFault(sim.Fault{Service: "graph", Status: 403})
	h.env.Server.InjectFault(sim.Fault{Service: "cloudflare", Status: 403})
	out := h.run()
	if out.Recorded.Run.Status != store.RunIncomplete || len(out.Recorded.Transitions) != 0 {
		t.Errorf("unreadable run: status %s, transitions %d", out.Recorded.Run.Status, len(out.Recorded.Transitions))
	}
	if n := len(h.findings(false)); n != open {
		t.Errorf("open findings %d → %d", open, n)
	}
}

func TestPanicIsAFailedRun(t *testing.T) {
	h := newHarness(t, demo.ScenarioHealthy)
	h.run()
	h.eng.auditFunc = func(context.Context, *config.Config, audit.Options) (*audit.Result, error) {
		var empty []int
		i := len(empty) + 1
		empty[i]++ // an index out of range: a real runtime panic
		return nil, nil
	}
	_, err := h.eng.RunOnce(context.Background(), h.cfg, TriggerSchedule, nil)
	if err == nil {
		t.Fatal("want an error from a panicking run")
	}
	runs, err := h.store.Runs(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != store.RunFailed || runs[0].Error == "" {
		t.Errorf("want a recorded failed run, got %+v", runs)
	}
}

// Without a store the engine audits and records nothing: what `driftd
// check` without --state-dir and `driftd demo` run.
func TestRunWithoutAStore(t *testing.T) {
	h := newHarness(t, demo.ScenarioDrifted)
	eng := &Engine{}
	out, err := eng.RunOnce(context.Background(), h.cfg, TriggerCheck, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Result == nil || len(out.Result.Report.Findings) == 0 || out.Recorded.Run.ID != 0 {
		t.Fatalf("outcome %+v: want a report with findings and no recorded run", out)
	}
	if runs, err := h.store.Runs(context.Background(), 10); err != nil || len(runs) != 0 {
		t.Fatalf("runs %v, %v: nothing should be recorded", runs, err)
	}
	if _, err := eng.RunOnce(context.Background(), h.cfg, TriggerCheck, []string{"nope"}); err == nil {
		t.Fatal("an unknown integration was accepted")
	}
}
