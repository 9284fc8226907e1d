package audit

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
)

// Attribution keeps only who, when, what and from where: never an audit
// entry's request or response body (the corp identity provider's update
// carries the provider's client secret), its user agent or correlation
// ID, nor an entry about an object no finding is about.
func TestAuditLogBodiesNeverKept(t *testing.T) {
	env, cfg := startSim(t, demo.ScenarioDrifted, sim.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg, Options{Attribute: attributeAll})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(res.Report)
	snap, _ := json.Marshal(res.Snapshot)
	kept := string(out) + string(snap)
	if !strings.Contains(kept, sim.AuditAdminUPN) {
		t.Fatal("nothing was attributed: the test would prove nothing")
	}
	var never []string
	for _, e := range env.Tenant.CloudflareAuditLogs {
		never = append(never, string(e.Resource.Request), e.Raw.UserAgent, e.Raw.CfRayID)
		if e.Resource.ID == sim.GatewayMalwareID {
			never = append(never, e.ID) // about no finding's object
		}
	}
	for _, e := range env.Tenant.DirectoryAudits {
		never = append(never, e.CorrelationID, e.ID)
		for _, d := range e.AdditionalDetails {
			never = append(never, d.Value)
		}
	}
	for _, s := range never {
		if len(s) > 4 && s != "{}" && strings.Contains(kept, s) {
			t.Errorf("audit-log data %.80q reached the report or snapshot", s)
		}
	}
	if strings.Contains(kept, "AbC8Q~") {
		t.Error("the identity provider's client secret from an audit entry's request body was kept")
	}
}
