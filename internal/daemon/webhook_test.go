package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/logtest"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/internal/store"
	"github.com/driftd/driftd/notify/webhook"
	"github.com/driftd/driftd/notify/webhook/webhooktest"
)

const (
	webhookSecret = "whsec-daemon-3b8c1f"
	apiKey        = "key-daemon-77d0"
)

// webhookRoute is a [[notify.webhook]] route to recv, signed, with an
// API key header.
func webhookRoute(recv *webhooktest.Server) string {
	return fmt.Sprintf("\n[[notify.webhook]]\nname = \"automation\"\nurl = %q\nsecret = %q\nmin_severity = \"medium\"\nheaders = { \"X-Api-Key\" = %q }\n",
		recv.URL(), webhookSecret, apiKey)
}

// startNotifyingDaemon starts a daemon, as startDaemonWith does, whose
// routes of every transport are built by the registry, as `driftd run`
// builds them.
func startNotifyingDaemon(t *testing.T, schedule, extra string) *fixture {
	t.Helper()
	env := simtest.Start(t, demo.ScenarioDrifted, sim.Options{})
	f := &fixture{t: t, env: env, configPath: env.ConfigPath, stateDir: t.TempDir(), logs: &logtest.Buffer{}, reload: make(chan struct{}, 1), done: make(chan error, 1)}
	base, err := os.ReadFile(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(env.ConfigPath+".base", base, 0o600); err != nil {
		t.Fatal(err)
	}
	f.writeConfig(daemonSection(schedule, f.stateDir, "") + extra)
	cfg, err := config.Load(f.configPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	d, err := New(ctx, Options{ConfigPath: f.configPath, Config: cfg, Reload: f.reload, LogOutput: f.logs, Senders: engine.Senders(nil)})
	if err != nil {
		t.Fatal(err)
	}
	go func() { f.done <- d.Run(ctx) }()
	t.Cleanup(func() { f.stop(30 * time.Second) })
	return f
}

// document decodes what a request carried.
func document(t *testing.T, r webhooktest.Request) webhook.Document {
	t.Helper()
	var doc webhook.Document
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("the receiver got a body that is not a document: %v\n%s", err, r.Body)
	}
	if doc.Version != 1 || r.Header.Get(webhooktest.VersionHeader) != "1" {
		t.Errorf("document version %d, header %q", doc.Version, r.Header.Get(webhooktest.VersionHeader))
	}
	if r.Header.Get("X-Api-Key") != apiKey {
		t.Errorf("X-Api-Key %q", r.Header.Get("X-Api-Key"))
	}
	return doc
}

// fingerprints lists a document's findings' fingerprints, sorted, and
// fails unless every finding has the event.
func fingerprints(t *testing.T, doc webhook.Document, event string) []string {
	t.Helper()
	var out []string
	for _, f := range doc.Findings {
		if f.Event != event {
			t.Errorf("%s %s: event %q, want %q", f.CheckID, f.Integration, f.Event, event)
		}
		out = append(out, f.Fingerprint)
	}
	slices.Sort(out)
	return out
}

// openAtLeastMedium lists the fingerprints of the open findings the route
// covers (min_severity medium), sorted.
func (f *fixture) openAtLeastMedium() []string {
	f.t.Helper()
	st, err := store.Open(context.Background(), f.stateDir)
	if err != nil {
		f.t.Fatal(err)
	}
	defer st.Close()
	open, err := st.Findings(context.Background(), false)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, fd := range open {
		if fd.Severity >= finding.Medium {
			out = append(out, fd.Fingerprint)
		}
	}
	slices.Sort(out)
	return out
}

// noLeaks fails if the receiver refused a request or the daemon's log
// holds the route's URL, secret or header value.
func noLeaks(t *testing.T, f *fixture, recv *webhooktest.Server) {
	t.Helper()
	if p := recv.Problems(); len(p) > 0 {
		t.Errorf("the receiver refused requests: %q", p)
	}
	logs := f.logs.String()
	for _, secret := range []string{recv.URL(), webhooktest.Path, webhookSecret, apiKey} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// TestWebhookOverASequenceOfRuns runs the daemon against the simulated
// tenant with a webhook route: drift is POSTed once, signed; unchanged
// runs POST nothing; the fix is POSTed once as resolved.
func TestWebhookOverASequenceOfRuns(t *testing.T) {
	recv := webhooktest.NewServer(t, webhookSecret)
	f := startNotifyingDaemon(t, "@every 2s", webhookRoute(recv))

	waitFor(t, "the opened findings", 20*time.Second, func() bool { return len(recv.Requests()) >= 1 })
	opened := document(t, recv.Requests()[0])
	if opened.Kind != "findings" || opened.Route != "automation" || opened.Run.ID != 1 || len(opened.Findings) == 0 {
		t.Fatalf("first document: kind %q route %q run %d, %d findings", opened.Kind, opened.Route, opened.Run.ID, len(opened.Findings))
	}
	told := fingerprints(t, opened, "opened")
	if want := f.openAtLeastMedium(); !slices.Equal(told, want) {
		t.Errorf("opened document lists %d findings, the store has %d open at medium or above", len(told), len(want))
	}
	for _, fd := range opened.Findings {
		if fd.Severity == "low" {
			t.Errorf("%s: a low finding sent to a medium route", fd.CheckID)
		}
	}
	if len(opened.Integrations) != 2 {
		t.Errorf("integrations %+v, want both of the tenant's", opened.Integrations)
	}

	// Who changed them: the first document names the actor of every
	// finding whose audit-log entry was there; the deletion of the
	// Finance group was logged late and is announced once, by the next
	// run, as an update.
	var finance string
	for _, fd := range opened.Findings {
		if fd.CheckID == "CF-POL-001" {
			finance = fd.Fingerprint
			if len(fd.Changes) != 0 {
				t.Errorf("CF-POL-001 attributed in the first run, before its entry was logged: %+v", fd.Changes)
			}
		}
		if fd.CheckID == "ENTRA-APP-001" && (len(fd.Changes) == 0 || fd.Changes[0].Actor != sim.AuditAdminUPN) {
			t.Errorf("ENTRA-APP-001 changes %+v, want the admin's Update application", fd.Changes)
		}
	}
	waitFor(t, "the attribution update", 20*time.Second, func() bool { return len(recv.Requests()) >= 2 })
	update := document(t, recv.Requests()[1])
	if got := fingerprints(t, update, "attributed"); len(got) != 1 || got[0] != finance {
		t.Fatalf("update lists %v, want only the Finance group's CF-POL-001 %s", got, finance)
	}
	if c := update.Findings[0].Changes; len(c) != 1 || c[0].Activity != "Delete group" || c[0].Actor != sim.AuditAdminUPN || c[0].Source != "entra" {
		t.Errorf("the update's changes %+v, want the admin's Delete group", c)
	}

	// Unchanged: two more runs, nothing new to tell.
	n := len(f.runs())
	waitFor(t, "two unchanged runs", 20*time.Second, func() bool { return len(f.runs()) >= n+2 })
	time.Sleep(500 * time.Millisecond) // the dispatcher is woken after each run
	if got := len(recv.Requests()); got != 2 {
		t.Fatalf("unchanged runs were POSTed: %d requests", got)
	}

	// Fixed, between two runs (a run is recorded when it ends, and the
	// next is two seconds away), so one run sees the whole fix.
	n = len(f.runs())
	waitFor(t, "the next run", 20*time.Second, func() bool { return len(f.runs()) > n })
	f.env.Server.Update(func(tn *sim.Tenant) { *tn = *sim.Healthy(time.Now()) })
	waitFor(t, "the resolved findings", 20*time.Second, func() bool { return len(recv.Requests()) >= 3 })
	resolved := document(t, recv.Requests()[2])
	if resolved.Kind != "findings" || resolved.Run.ID <= opened.Run.ID {
		t.Errorf("second document: kind %q run %d", resolved.Kind, resolved.Run.ID)
	}
	if got := fingerprints(t, resolved, "resolved"); !slices.Equal(got, told) {
		t.Errorf("resolved %d findings, the route was told about %d", len(got), len(told))
	}

	// And then nothing more.
	n = len(f.runs())
	waitFor(t, "two runs after the fix", 20*time.Second, func() bool { return len(f.runs()) >= n+2 })
	time.Sleep(500 * time.Millisecond)
	if got := len(recv.Requests()); got != 3 {
		t.Errorf("%d requests in all, want 3", got)
	}
	if got := len(recv.Delivered()); got != 3 {
		t.Errorf("%d delivered, want 3", got)
	}
	noLeaks(t, f, recv)
}

// TestWebhookRetries: the receiver answers 429 with Retry-After: 2, then
// 500, then 200. The batch is delivered exactly once, the same signed
// bytes every time, and no retry comes sooner than it was told.
func TestWebhookRetries(t *testing.T) {
	recv := webhooktest.NewServer(t, webhookSecret)
	recv.Script(webhooktest.Response{Status: 429, RetryAfter: "2"}, webhooktest.Response{Status: 500})
	f := startNotifyingDaemon(t, "@every 1h", webhookRoute(recv))

	waitFor(t, "the delivery", 30*time.Second, func() bool { return len(recv.Delivered()) == 1 })
	time.Sleep(1500 * time.Millisecond) // a duplicate would come within this
	reqs := recv.Requests()
	if len(reqs) != 3 || reqs[0].Status != 429 || reqs[1].Status != 500 || reqs[2].Status != 200 {
		var statuses []int
		for _, r := range reqs {
			statuses = append(statuses, r.Status)
		}
		t.Fatalf("answers %v, want [429 500 200]", statuses)
	}
	for i, r := range reqs[1:] {
		if !bytes.Equal(r.Body, reqs[0].Body) || r.Header.Get(webhooktest.SignatureHeader) != reqs[0].Header.Get(webhooktest.SignatureHeader) {
			t.Errorf("attempt %d sent another body or signature", i+2)
		}
	}
	if gap := reqs[1].At.Sub(reqs[0].Answered); gap < 2*time.Second {
		t.Errorf("the retry came %s after a 429 with Retry-After: 2", gap)
	}
	// The first backoff after a 5xx is at least two seconds.
	if gap := reqs[2].At.Sub(reqs[1].Answered); gap < 2*time.Second {
		t.Errorf("the retry came %s after a 500", gap)
	}
	if doc := document(t, reqs[2]); doc.Kind != "findings" || len(doc.Findings) == 0 {
		t.Errorf("delivered document: kind %q, %d findings", doc.Kind, len(doc.Findings))
	}

	st, err := store.Open(context.Background(), f.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	items, err := st.Outbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].State != store.OutboxSent || items[0].Attempts != 3 || items[0].SentAt == nil {
		t.Errorf("outbox %+v, want one item sent after 3 attempts", items)
	}
	logs := f.logs.String()
	for _, want := range []string{"HTTP 429 (retry after 2s)", "HTTP 500", "notification sent"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q", want)
		}
	}
	noLeaks(t, f, recv)
}
