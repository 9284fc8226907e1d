package cloudflare_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/apicount"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/source/cloudflare"
)

func readSim(t *testing.T, scenario string, faults ...sim.Fault) (cloudflare.Result, map[string]int) {
	t.Helper()
	env := simtest.Start(t, scenario, sim.Options{})
	for _, f := range faults {
		env.Server.InjectFault(f)
	}
	counter := &apicount.Counter{}
	src, err := cloudflare.New(simtest.Config(t, env).Cloudflare, counter)
	if err != nil {
		t.Fatal(err)
	}
	return src.Read(context.Background(), time.Now()), counter.Requests()
}

func refIDs(refs []snapshot.GroupRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Where+":"+r.GroupID+"@"+r.IdPID)
	}
	return out
}

// The reads decode every list the simulator serves, following every page
// (the drifted scenario pages one element at a time).
func TestPolicyReads(t *testing.T) {
	for _, scenario := range []string{demo.ScenarioHealthy, demo.ScenarioDrifted} {
		t.Run(scenario, func(t *testing.T) {
			res, reqs := readSim(t, scenario)
			if len(res.Gaps) > 0 {
				t.Fatalf("gaps: %+v", res.Gaps)
			}
			p := res.Policies
			if p == nil || len(p.AccessPolicies) != 2 || len(p.AccessApplications) != 2 || len(p.AccessGroups) != 1 || len(p.GatewayRules) != 3 {
				t.Fatalf("policies %+v", p)
			}
			var eng snapshot.AccessPolicy
			for _, ap := range p.AccessPolicies {
				if ap.ID == sim.PolicyEngineeringID {
					eng = ap
				}
			}
			if got := strings.Join(refIDs(eng.Refs), " "); got != "include:"+sim.GroupEngineeringID+"@"+sim.CorpIdPID {
				t.Errorf("engineering refs %s", got)
			}
			for _, app := range p.AccessApplications {
				if app.ID == sim.AppGrafanaID && (len(app.Policies) != 2 || !app.Policies[0].Reusable || len(app.Policies[1].Refs) != 1) {
					t.Errorf("grafana %+v", app)
				}
			}
			if g := p.AccessGroups[0]; len(g.Refs) != 1 || g.Refs[0].GroupID != sim.GroupAllStaffID {
				t.Errorf("group %+v", g)
			}
			for _, r := range p.GatewayRules {
				want := map[string]int{sim.GatewayFinanceID: 2, sim.GatewayEngSSHID: 1, sim.GatewayMalwareID: 0}[r.ID]
				if len(r.Refs) != want {
					t.Errorf("gateway rule %s refs %v, want %d", r.Name, refIDs(r.Refs), want)
				}
			}
			// identity providers 1, organization 1 (no team_domain in the
			// demo config, or 0), policies, apps, groups, gateway 1.
			min := 4
			if scenario == demo.ScenarioDrifted {
				min = 1 + 2 + 2 + 1 + 1
			}
			if reqs[apicount.Cloudflare] < min {
				t.Errorf("cloudflare requests %d, want at least %d", reqs[apicount.Cloudflare], min)
			}
		})
	}
}

// A read that fails is a gap for its own data kind, naming the token
// permission to add; the other lists are still read.
func TestPolicyReadFailuresAreGaps(t *testing.T) {
	cases := []struct {
		name  string
		fault sim.Fault
		what  snapshot.DataKind
		perm  string
	}{
		{"apps 403", sim.Fault{PathContains: "/access/apps", Status: 403}, snapshot.CloudflareAccessApps, "Access: Apps and Policies Read"},
		{"policies 500", sim.Fault{PathContains: "/access/policies", Status: 500}, snapshot.CloudflareAccessPolicies, "Access: Apps and Policies Read"},
		{"groups success false", sim.Fault{PathContains: "/access/groups", Kind: sim.KindErrorBody200}, snapshot.CloudflareAccessGroups, "Groups Read"},
		{"gateway malformed", sim.Fault{PathContains: "/gateway/rules", Kind: sim.KindMalformed}, snapshot.CloudflareGatewayRules, "Zero Trust Read"},
		{"policies null elements", sim.Fault{PathContains: "/access/policies", Kind: sim.KindNullElements}, snapshot.CloudflareAccessPolicies, ""},
		{"apps result object", sim.Fault{PathContains: "/access/apps", Kind: sim.KindWrongType, JSON: `{}`}, snapshot.CloudflareAccessApps, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fault.Service = sim.ServiceCloudflare
			res, _ := readSim(t, demo.ScenarioHealthy, c.fault)
			if len(res.Gaps) != 1 || res.Gaps[0].What != c.what || !strings.Contains(res.Gaps[0].Error, c.perm) {
				t.Fatalf("gaps %+v, want one on %s naming %q", res.Gaps, c.what, c.perm)
			}
			p := res.Policies
			got := map[snapshot.DataKind]bool{
				snapshot.CloudflareAccessPolicies: p.AccessPolicies != nil,
				snapshot.CloudflareAccessApps:     p.AccessApplications != nil,
				snapshot.CloudflareAccessGroups:   p.AccessGroups != nil,
				snapshot.CloudflareGatewayRules:   p.GatewayRules != nil,
			}
			for kind, read := range got {
				if read == (kind == c.what) {
					t.Errorf("%s read = %v", kind, read)
				}
			}
		})
	}
}
