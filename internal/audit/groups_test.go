package audit

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/snapshot"
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

// 500 referenced groups cost ceil(500/20) = 25 batches in round four,
// on top of the three rounds of the Entra side.
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
	if got := r.Stats.APIRequests["graph"]; got != 3+25 {
		t.Errorf("graph requests = %d for 500 referenced groups, want 3 + 25", got)
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
	if st := statusOf(r, "corp-sso", "CF-POL-004"); st != report.StatusPass {
		t.Errorf("CF-POL-004: %s", st)
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
