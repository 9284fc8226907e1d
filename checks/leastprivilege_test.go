package checks

import (
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/snapshot"
)

func TestPermissionExtra(t *testing.T) {
	snap := healthy()
	app := &snap.Integrations[0]
	rra := &app.Application.RequiredResourceAccess[0]
	rra.ResourceAccess = append(rra.ResourceAccess,
		snapshot.ResourceAccess{ID: "5F8C59DB-677D-491F-A6B8-5F174B11EC1D", Type: "Scope"}, // Group.Read.All
		snapshot.ResourceAccess{ID: "99999999-0000-4000-8000-000000000000", Type: "Scope"})
	app.Application.RequiredResourceAccess = append(app.Application.RequiredResourceAccess, snapshot.RequiredResourceAccess{
		ResourceAppID: "00000002-0000-0ff1-ce00-000000000000", ResourceAccess: []snapshot.ResourceAccess{{ID: "r1", Type: "Role"}}})
	app.PermissionGrants[0].Scope += " Group.Read.All"
	app.AppRoleAssignments = []snapshot.AppRoleAssignment{{ID: "a1", AppRoleID: "62a82d76-70ea-41e2-9197-370581804d09", ResourceID: "graph-sp"}}
	got := run(t, "ENTRA-PERM-003", snap)
	bySetting := map[string]Finding{}
	for _, f := range got.Findings {
		bySetting[f.Setting] = f
	}
	want := map[string]Severity{
		"extra/Microsoft Graph/Group.Read.All":                                          Medium,
		"extra/Microsoft Graph/unknown permission 99999999-0000-4000-8000-000000000000": Medium,
		"extra/API 00000002-0000-0ff1-ce00-000000000000/permission r1":                  High,
		"extra/Microsoft Graph/Group.ReadWrite.All":                                     High,
	}
	if len(bySetting) != len(want) {
		t.Errorf("findings %v, want %v", bySetting, want)
	}
	for setting, sev := range want {
		f, ok := bySetting[setting]
		if !ok || f.Severity != sev {
			t.Errorf("%s: %+v, want severity %s", setting, f, sev)
		}
	}
	if f := bySetting["extra/Microsoft Graph/Group.Read.All"]; !strings.Contains(f.Message, "requested, consented for all users") {
		t.Errorf("one finding names both ways the app has it: %q", f.Message)
	}
	if f := bySetting["extra/Microsoft Graph/Group.ReadWrite.All"]; !strings.Contains(f.Message, "application permission") {
		t.Errorf("app role finding: %q", f.Message)
	}
}
