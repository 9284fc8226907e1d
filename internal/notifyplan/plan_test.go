package notifyplan

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/notify"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// textRender renders a batch as "kind route: event check integration; …"
// so the tests can read what a route is told.
func textRender(b notify.Batch) string {
	var parts []string
	for _, it := range b.Items {
		parts = append(parts, fmt.Sprintf("%s %s %s", it.Event, it.Finding.CheckID, it.Finding.Integration))
	}
	if b.Kind == notify.KindCannotAudit {
		parts = append(parts, b.Integration+": "+b.Reason)
	}
	return b.Kind + " " + b.Route + ": " + strings.Join(parts, "; ")
}

func finding(check, integration string, sev checks.Severity) store.Finding {
	r := checks.Resource{Side: snapshot.SideEntra, Kind: checks.KindAppRegistration, ID: "app-" + integration}
	f := checks.Finding{CheckID: check, Severity: sev, Integration: integration, Resource: r, Fingerprint: checks.Fingerprint(check, integration, r, "")}
	return store.Finding{Finding: f, State: store.StateOpen, FirstSeen: t0}
}

func route(name string, mut ...func(*config.Route)) config.Route {
	r := config.Route{Name: name, Severity: checks.Medium, Repeat: 24 * time.Hour}
	for _, m := range mut {
		m(&r)
	}
	return r
}

type world struct {
	routes []config.Route
	log    map[string]map[string]store.LogEntry
	health map[string]store.Health
	supp   func(checks.Finding, time.Time) bool
}

// step runs the planner for one run and applies its log updates, as the
// store would.
func (w *world) step(t *testing.T, at time.Time, open []store.Finding, transitions []store.Transition) []string {
	t.Helper()
	plan := New(Options{Routes: w.routes, AccountID: "acct", Suppressed: w.supp})
	items, updates := plan(store.PlanInput{Run: store.Run{ID: 1, FinishedAt: at}, Transitions: transitions, Open: open, Log: w.log, Health: w.health})
	for _, u := range updates {
		if w.log[u.Route] == nil {
			w.log[u.Route] = map[string]store.LogEntry{}
		}
		if u.Delete {
			delete(w.log[u.Route], u.Subject)
		} else {
			w.log[u.Route][u.Subject] = store.LogEntry{Event: u.Event, At: at}
		}
	}
	var out []string
	for _, it := range items {
		if it.Format != store.FormatBatch || it.Route == "" {
			t.Fatalf("queued %+v, want a batch for a route", it)
		}
		b, err := notify.DecodeBatch(it.Payload)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, textRender(b))
	}
	sort.Strings(out)
	return out
}

func newWorld(routes ...config.Route) *world {
	return &world{routes: routes, log: map[string]map[string]store.LogEntry{}, health: map[string]store.Health{}}
}

func opened(f store.Finding) store.Transition {
	return store.Transition{Event: store.EventOpened, Finding: f}
}
func resolved(f store.Finding) store.Transition {
	f.State = store.StateResolved
	return store.Transition{Event: store.EventResolved, Finding: f}
}

func TestOpenedStillOpenReminderResolved(t *testing.T) {
	w := newWorld(route("sec"))
	cred := finding("ENTRA-CRED-001", "corp", checks.High)
	if got := w.step(t, t0, []store.Finding{cred}, []store.Transition{opened(cred)}); len(got) != 1 || got[0] != "findings sec: opened ENTRA-CRED-001 corp" {
		t.Fatalf("opened: %v", got)
	}
	// Next run, same finding: nothing.
	if got := w.step(t, t0.Add(time.Hour), []store.Finding{cred}, nil); len(got) != 0 {
		t.Fatalf("still open: %v", got)
	}
	// Repeat interval elapsed: one reminder, then quiet again.
	if got := w.step(t, t0.Add(24*time.Hour), []store.Finding{cred}, nil); len(got) != 1 || !strings.Contains(got[0], "reminder ENTRA-CRED-001") {
		t.Fatalf("reminder: %v", got)
	}
	if got := w.step(t, t0.Add(25*time.Hour), []store.Finding{cred}, nil); len(got) != 0 {
		t.Fatalf("after reminder: %v", got)
	}
	// Fixed: one resolved message; then nothing.
	if got := w.step(t, t0.Add(26*time.Hour), nil, []store.Transition{resolved(cred)}); len(got) != 1 || !strings.Contains(got[0], "resolved ENTRA-CRED-001") {
		t.Fatalf("resolved: %v", got)
	}
	if got := w.step(t, t0.Add(27*time.Hour), nil, nil); len(got) != 0 {
		t.Fatalf("after resolved: %v", got)
	}
	// Broken again: opened again.
	reopened := store.Transition{Event: store.EventReopened, Finding: cred}
	if got := w.step(t, t0.Add(28*time.Hour), []store.Finding{cred}, []store.Transition{reopened}); len(got) != 1 || !strings.Contains(got[0], "opened ENTRA-CRED-001") {
		t.Fatalf("reopened: %v", got)
	}
}

func TestRouteFilters(t *testing.T) {
	critOnly := route("critical-all", func(r *config.Route) { r.Severity = checks.Critical; r.Repeat = 0 })
	corpAll := route("corp", func(r *config.Route) { r.Severity = checks.Low; r.Integrations = []string{"corp"} })
	w := newWorld(critOnly, corpAll)
	crit := finding("ENTRA-APP-001", "contractors", checks.Critical)
	low := finding("ENTRA-SCIM-002", "corp", checks.Low)
	med := finding("CF-IDP-003", "contractors", checks.Medium)
	got := w.step(t, t0, []store.Finding{crit, low, med}, []store.Transition{opened(crit), opened(low), opened(med)})
	want := []string{"findings corp: opened ENTRA-SCIM-002 corp", "findings critical-all: opened ENTRA-APP-001 contractors"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %v\nwant %v", got, want)
	}
	// repeat_interval 0: never a reminder.
	if got := w.step(t, t0.Add(30*24*time.Hour), []store.Finding{crit, low, med}, nil); len(got) != 1 || !strings.Contains(got[0], "reminder ENTRA-SCIM-002") {
		t.Errorf("only the corp route reminds: %v", got)
	}
}

func TestResolvedOnlyToRoutesThatWereTold(t *testing.T) {
	noResolved := route("quiet", func(r *config.Route) { f := false; r.SendResolved = &f })
	w := newWorld(route("sec"), noResolved)
	med := finding("CF-IDP-003", "corp", checks.Medium)
	low := finding("ENTRA-SCIM-002", "corp", checks.Low) // below min severity: never sent
	w.step(t, t0, []store.Finding{med, low}, []store.Transition{opened(med), opened(low)})
	got := w.step(t, t0.Add(time.Hour), nil, []store.Transition{resolved(med), resolved(low)})
	if len(got) != 1 || got[0] != "findings sec: resolved CF-IDP-003 corp" {
		t.Errorf("resolved: %v", got)
	}
}

func TestSuppressedAndSeverityRise(t *testing.T) {
	w := newWorld(route("sec", func(r *config.Route) { r.Severity = checks.High }))
	cred := finding("ENTRA-CRED-001", "corp", checks.Medium)
	suppressedUntil := t0.Add(48 * time.Hour)
	w.supp = func(f checks.Finding, at time.Time) bool {
		return f.CheckID == "ENTRA-CRED-001" && at.Before(suppressedUntil)
	}
	if got := w.step(t, t0, []store.Finding{cred}, []store.Transition{opened(cred)}); len(got) != 0 {
		t.Fatalf("medium below min: %v", got)
	}
	cred.Severity = checks.High // the secret got closer to expiry
	if got := w.step(t, t0.Add(time.Hour), []store.Finding{cred}, nil); len(got) != 0 {
		t.Fatalf("suppressed: %v", got)
	}
	// The suppression expired: the route hears about it for the first time.
	if got := w.step(t, t0.Add(49*time.Hour), []store.Finding{cred}, nil); len(got) != 1 || !strings.Contains(got[0], "opened ENTRA-CRED-001") {
		t.Fatalf("after the suppression: %v", got)
	}
}

func TestCannotAudit(t *testing.T) {
	w := newWorld(route("sec", func(r *config.Route) { r.Repeat = 6 * time.Hour }))
	since := t0
	w.health["corp"] = store.Health{IncompleteSince: &since, Reason: "could not read entra.application: authentication to Entra ID failed"}
	if got := w.step(t, t0.Add(5*time.Hour), nil, nil); len(got) != 0 {
		t.Fatalf("before the repeat interval: %v", got)
	}
	got := w.step(t, t0.Add(7*time.Hour), nil, nil)
	if len(got) != 1 || got[0] != "cannot_audit sec: corp: could not read entra.application: authentication to Entra ID failed" {
		t.Fatalf("cannot audit: %v", got)
	}
	if got := w.step(t, t0.Add(30*time.Hour), nil, nil); len(got) != 0 {
		t.Fatalf("sent once per incident: %v", got)
	}
	// Recovered, then broken again: a new incident is told again.
	w.health["corp"] = store.Health{}
	w.step(t, t0.Add(31*time.Hour), nil, nil)
	again := t0.Add(32 * time.Hour)
	w.health["corp"] = store.Health{IncompleteSince: &again, Reason: "HTTP 403"}
	if got := w.step(t, t0.Add(39*time.Hour), nil, nil); len(got) != 1 {
		t.Fatalf("second incident: %v", got)
	}
}
