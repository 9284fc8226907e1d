package audit

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/source/entra"
	"github.com/driftd/driftd/report"
)

// policyGroups makes the account's rules reference n groups through the
// corp identity provider, of which the even ones exist (with a user).
func policyGroups(tn *sim.Tenant, n int) {
	tn.Groups = nil
	var include []sim.AccessRule
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		include = append(include, sim.AccessRule{AzureAD: &sim.AzureADRule{ID: id, IdentityProviderID: sim.CorpIdPID}})
		if i%2 == 0 {
			tn.Groups = append(tn.Groups, sim.Group{ID: id, DisplayName: "g", MemberUsers: []string{sim.UserAdeleID}})
		}
	}
	tn.AccessPolicies = []sim.AccessPolicy{{ID: sim.PolicyEngineeringID, Name: "Many groups", Decision: "allow", Reusable: true, Include: include}}
	tn.AccessApplications, tn.AccessGroups, tn.GatewayRules = nil, nil, nil
}

// 500 referenced groups and the demo's one job schema cost
// ceil(501/20) = 26 batches in round three, after the two rounds before.
func TestManyGroupsCostFullBatches(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioHealthy, sim.Options{})
	env.Server.Update(func(tn *sim.Tenant) { policyGroups(tn, 500) })
	r := runAudit(t, cfg)
	if len(r.Gaps) != 0 {
		t.Fatalf("gaps %+v", r.Gaps)
	}
	missing := 0
	for _, f := range r.Findings {
		if f.CheckID == "CF-POL-001" {
			missing++
		}
	}
	if missing != 250 || len(r.Findings) != 250 {
		t.Errorf("CF-POL-001 findings %d of %d, want 250 of 250", missing, len(r.Findings))
	}
	if got := r.Stats.APIRequests["graph"]; got != 2+26 {
		t.Errorf("graph requests = %d for 500 referenced groups, want 2 + 26", got)
	}
}

// A group Graph refuses (403) is a gap naming that group: the group
// checks cannot be evaluated, everything else is.
func TestGroupLookupDeniedIsAGap(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioDrifted, sim.Options{})
	env.Server.InjectFault(sim.Fault{Service: sim.ServiceGraph, PathContains: "/groups/" + sim.GroupEngineeringID, Status: 403})
	r := runAudit(t, cfg)
	var groupGaps []report.Gap
	for _, g := range r.Gaps {
		if g.What == string(snapshot.EntraGroups) {
			groupGaps = append(groupGaps, g)
		} else {
			t.Errorf("unexpected gap %+v", g)
		}
	}
	if len(groupGaps) != 1 || !strings.Contains(groupGaps[0].Error, sim.GroupEngineeringID) || !strings.Contains(groupGaps[0].Error, "403") {
		t.Fatalf("group gaps %+v", groupGaps)
	}
	for _, id := range []string{"CF-POL-001", "CF-POL-003"} {
		if st := statusOf(r, "corp-sso", id); st != report.StatusCouldNotEvaluate {
			t.Errorf("%s: %s, want could not evaluate", id, st)
		}
	}
	// CF-POL-004 needs no group lookup: it is still evaluated (and, with
	// Drifted's deleted contractors login method, fails).
	if st := statusOf(r, "corp-sso", "CF-POL-004"); st != report.StatusFail {
		t.Errorf("CF-POL-004: %s, want fail", st)
	}
}

// Round four reads Graph's own answer: a nested member counts, an empty
// group is CF-POL-003, an ID that is not a GUID is CF-POL-001 without a
// request.
func TestGroupLookupMembership(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioHealthy, sim.Options{})
	env.Server.Update(func(tn *sim.Tenant) {
		for i := range tn.Groups {
			if tn.Groups[i].ID == sim.GroupEngineeringID {
				tn.Groups[i].MemberUsers = nil
			}
		}
		tn.AccessGroups[0].Include = append(tn.AccessGroups[0].Include, sim.AccessRule{AzureAD: &sim.AzureADRule{ID: "Finance", IdentityProviderID: sim.CorpIdPID}})
	})
	r := runAudit(t, cfg)
	if len(r.Gaps) != 0 {
		t.Fatalf("gaps %+v", r.Gaps)
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.CheckID+" "+f.Resource.Name+" "+f.Setting)
	}
	want := []string{
		"CF-POL-001 All staff include/1/finance",
		"CF-POL-003 Engineering SSH identity/0/" + sim.GroupEngineeringID,
		"CF-POL-003 Engineering include/0/" + sim.GroupEngineeringID,
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// manyRulesTenant makes the account's rules reference n distinct groups
// through the corp identity provider, spread over every kind of rule a
// group can sit in (reusable policies, an application's own policy, an
// Access group, a Gateway identity expression), with some groups named
// more than once. Every group exists and has a user.
func manyRulesTenant(tn *sim.Tenant, n int) []string {
	ids := make([]string, n)
	tn.Groups = nil
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		tn.Groups = append(tn.Groups, sim.Group{ID: ids[i], DisplayName: fmt.Sprintf("group %d", i), MemberUsers: []string{sim.UserAdeleID}})
	}
	rules := func(from, to int) []sim.AccessRule {
		var out []sim.AccessRule
		for _, id := range ids[from:to] {
			out = append(out, sim.AccessRule{AzureAD: &sim.AzureADRule{ID: id, IdentityProviderID: sim.CorpIdPID}})
		}
		return out
	}
	q := n / 5
	reusable := sim.AccessPolicy{ID: sim.PolicyEngineeringID, Name: "Many groups", Decision: "allow", Reusable: true,
		Include: rules(0, q), Exclude: rules(q, 2*q), Require: rules(0, 1)}
	tn.AccessPolicies = []sim.AccessPolicy{reusable}
	tn.AccessApplications = []sim.AccessApplication{{
		ID: sim.AppGrafanaID, UID: sim.AppGrafanaID, Name: "Grafana", Domain: "grafana.acme.example", Type: "self_hosted",
		Policies: []sim.AccessPolicy{reusable, {ID: sim.AppGrafanaPolicyID, Name: "Own policy", Decision: "allow", Include: append(rules(2*q, 3*q), rules(0, 2)...)}},
	}}
	tn.AccessGroups = []sim.AccessGroup{{ID: sim.AccessGroupStaffID, Name: "Many groups", Include: rules(3*q, 4*q)}}
	var quoted []string
	for _, id := range ids[4*q:] {
		quoted = append(quoted, `"`+id+`"`)
	}
	tn.GatewayRules = []sim.GatewayRule{{ID: sim.GatewayFinanceID, Name: "Many groups", Action: "block", Enabled: true, Filters: []string{"http"},
		Identity: `any(identity.groups.id[*] in {` + strings.Join(quoted, " ") + `}) or identity.groups.id == "` + ids[0] + `"`}}
	return ids
}

// graphItems records every Graph $batch sub-request the simulator
// serves (its path below /v1.0), and counts the requests that are not
// sub-requests.
type graphItems struct {
	mu       sync.Mutex
	items    []string
	topLevel int
}

func observeGraph(s *sim.Server) *graphItems {
	o := &graphItems{}
	s.SetFaultFunc(func(r sim.FaultRequest) (sim.Fault, bool) {
		if r.Service != sim.ServiceGraph {
			return sim.Fault{}, false
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		switch {
		case r.BatchItem:
			o.items = append(o.items, strings.TrimPrefix(r.Path, "/v1.0"))
		case !r.Batch:
			o.topLevel++
		}
		return sim.Fault{}, false
	})
	return o
}

var guidSegment = regexp.MustCompile(`/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/|$)`)

// graphRound says which of the three rounds a sub-request belongs to, by
// what it addresses: round one reads tenant-wide collections and objects
// by appId (the configuration's only handle on them); round two reads
// below the objects round one found, by their object IDs; round three
// the provisioning jobs' schemas and the referenced groups.
func graphRound(path string) int {
	switch {
	case strings.HasPrefix(path, "/groups/"), strings.HasSuffix(path, "/schema"):
		return 3
	case strings.Contains(path, "(appId=") || !guidSegment.MatchString(path):
		return 1
	}
	return 2
}

// Ten integrations, all with SCIM, and rules naming 500 groups: the
// Graph requests stay within what full batches of 20 cost. Each round
// goes out as ceil(N/20) batches for its N sub-requests, so the bound is
// the sum of that over the three rounds, with N taken from what the
// simulator served, plus any request outside a batch (a next page).
// Rounds one to three grow with the reads per integration: measured
// 32 (the permission catalog, subscribedSkus, and per integration its
// app, service principal and SCIM service principal), 40 (per
// integration grants, app role assignments, jobs, assigned users and
// groups) and 10 schemas + 500 groups, so 2 + 2 + ceil(510/20) = 26
// batches, 30 in all.
func TestTenIntegrationsFiveHundredGroups(t *testing.T) {
	const integrations, groups, batchSize = 10, 500, 20
	env, _ := startSim(t, demo.ScenarioHealthy, sim.Options{})
	var ids []string
	env.Server.Update(func(tn *sim.Tenant) { ids = manyRulesTenant(tn, groups) })
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < integrations; i++ {
		fmt.Fprintf(f, "\n[[integration]]\nname = \"copy-%d\"\nentra_app_id = %q\nscim_app_id = %q\n", i, sim.CorpAppID, sim.CorpSCIMAppID)
	}
	f.Close()
	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	// The demo's contractors-sso has no SCIM app: leave it out.
	var kept []config.Integration
	for _, in := range cfg.Integrations {
		if in.SCIMAppID != "" {
			kept = append(kept, in)
		}
	}
	cfg.Integrations = kept
	if len(kept) != integrations {
		t.Fatalf("%d integrations with SCIM, want %d", len(kept), integrations)
	}
	seen := observeGraph(env.Server)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	if len(r.Gaps) != 0 || len(r.Findings) != 0 {
		t.Fatalf("gaps %+v findings %v", r.Gaps, keys(r.Findings))
	}
	for _, in := range r.Integrations {
		for _, id := range []string{"CF-POL-001", "CF-POL-003"} {
			if st := statusOf(r, in.Name, id); st != report.StatusPass {
				t.Errorf("%s %s: %s, want pass", in.Name, id, st)
			}
		}
	}

	// Every group was looked up once, and the snapshot says it exists
	// with its user.
	seen.mu.Lock()
	items, topLevel := append([]string(nil), seen.items...), seen.topLevel
	seen.mu.Unlock()
	perRound := map[int]int{}
	lookedUp := map[string]int{}
	for _, p := range items {
		round := graphRound(p)
		perRound[round]++
		if strings.HasPrefix(p, "/groups/") {
			lookedUp[strings.ToLower(strings.SplitN(strings.TrimPrefix(p, "/groups/"), "/", 2)[0])]++
		}
	}
	for _, id := range ids {
		if n := lookedUp[id]; n != 1 {
			t.Errorf("group %s looked up %d times, want once", id, n)
		}
		g, ok := res.Snapshot.Policies.Groups[id]
		if !ok || !g.Exists || g.UserMembers != 1 {
			t.Errorf("group %s in the snapshot: %+v (present %v), want existing with 1 user", id, g, ok)
		}
	}
	if len(lookedUp) != groups || len(res.Snapshot.Policies.Groups) != groups {
		t.Errorf("%d groups looked up, %d in the snapshot, want %d", len(lookedUp), len(res.Snapshot.Policies.Groups), groups)
	}

	bound := topLevel
	for round := 1; round <= 3; round++ {
		bound += (perRound[round] + batchSize - 1) / batchSize
	}
	got := r.Stats.APIRequests["graph"]
	t.Logf("graph requests %d (served %d); sub-requests per round %v, %d outside a batch; bound %d", got, env.Server.Requests()[sim.ServiceGraph], perRound, topLevel, bound)
	if perRound[1] < 1+3*integrations || perRound[2] < 2*integrations || perRound[3] < integrations {
		t.Errorf("sub-requests per round %v: want at least %d, %d and %d for %d integrations with SCIM", perRound, 1+3*integrations, 2*integrations, integrations, integrations)
	}
	if got > bound {
		t.Errorf("graph requests = %d for %d integrations and %d groups, want at most %d (full batches of %d per round: %v sub-requests)", got, integrations, groups, bound, batchSize, perRound)
	}
	if served := env.Server.Requests()[sim.ServiceGraph]; served != got {
		t.Errorf("the report counts %d Graph requests, the simulator served %d", got, served)
	}
}

// The group lookups ride in round three's batches when the Cloudflare
// rules are in by then (one request fewer). When Cloudflare is slower
// than entra.GroupIDsWait, the job schemas go out without waiting and the
// lookups follow in a batch of their own: the same findings and no gap,
// at the cost of one request.
func TestSlowCloudflareDoesNotHoldBackTheSchemas(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioDrifted, sim.Options{})
	baseline := runAudit(t, cfg)

	seen := &struct {
		sync.Mutex
		schemaAt, groupsAt time.Time
	}{}
	env.Server.SetFaultFunc(func(r sim.FaultRequest) (sim.Fault, bool) {
		seen.Lock()
		defer seen.Unlock()
		switch {
		case r.BatchItem && strings.HasSuffix(r.Path, "/schema") && seen.schemaAt.IsZero():
			seen.schemaAt = time.Now()
		case r.BatchItem && strings.Contains(r.Path, "/groups/") && seen.groupsAt.IsZero():
			seen.groupsAt = time.Now()
		}
		return sim.Fault{}, false
	})
	// The rules arrive about 4 s late: a trickle of blanks, then the body.
	env.Server.InjectFault(cfFault("/access/policies", sim.Fault{Kind: sim.KindSlowBody, Duration: 4 * time.Second, Times: 1}))
	started := time.Now()
	slow := runAudit(t, cfg)

	if len(slow.Gaps) != len(baseline.Gaps) {
		t.Fatalf("gaps %+v, want %+v", slow.Gaps, baseline.Gaps)
	}
	if got, want := keys(slow.Findings), keys(baseline.Findings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings with a slow Cloudflare:\n%v\nwant\n%v", got, want)
	}
	if got, want := slow.Stats.APIRequests["graph"], baseline.Stats.APIRequests["graph"]+1; got != want {
		t.Errorf("graph requests %d, want %d (the lookups in a batch of their own)", got, want)
	}
	seen.Lock()
	defer seen.Unlock()
	if seen.schemaAt.IsZero() || seen.groupsAt.IsZero() {
		t.Fatalf("schema read at %v, group lookup at %v: want both", seen.schemaAt, seen.groupsAt)
	}
	if d := seen.schemaAt.Sub(started); d > entra.GroupIDsWait+time.Second {
		t.Errorf("the schemas went out %v into the run: held back by the slow Cloudflare read", d)
	}
	if !seen.groupsAt.After(seen.schemaAt) {
		t.Errorf("groups looked up at %v, before the schemas at %v", seen.groupsAt, seen.schemaAt)
	}
}
