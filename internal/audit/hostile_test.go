package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/attribution"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/sim"
	"github.com/driftd/driftd/internal/simtest"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/report"
)

// Canary credentials: the simulated tenant accepts them, and they must
// appear nowhere driftd writes, nor at any origin but their own.
const (
	canaryClientSecret = "CANARY-entra-secret-7f3e9b20c1"
	canaryAPIToken     = "CANARY-cloudflare-token-d41c2a77e5"
)

// Bounds a hostile answer must not push driftd past.
const (
	maxReportBytes = 2 << 20
	// Graph: three batches plus at most about a hundred pages for each
	// of the collections an endless list hits (two grant lists here).
	maxGraphCalls = 250
	maxTokenCalls = 20
	// The Cloudflare source gives up after 1000 identity-provider pages.
	maxCloudflareCalls = 1100
	maxGapErrorLen     = 4096
)

var (
	entraKinds = []snapshot.DataKind{snapshot.EntraApplication, snapshot.EntraServicePrincipal, snapshot.EntraPermissionGrants, snapshot.EntraGraphPermissions, snapshot.EntraProvisioning, snapshot.EntraLicenses, snapshot.EntraAppSettings, snapshot.EntraAppOwners, snapshot.EntraAppRoleAssignments, snapshot.EntraProvisioningAssignments, snapshot.EntraGroups}
	cfKinds    = []snapshot.DataKind{snapshot.CloudflareIdPs, snapshot.CloudflareOrg, snapshot.CloudflareAccessPolicies, snapshot.CloudflareAccessApps, snapshot.CloudflareAccessGroups, snapshot.CloudflareGatewayRules, snapshot.CloudflareSCIMLogs}
	grantsOnly = []snapshot.DataKind{snapshot.EntraPermissionGrants}
	idpsOnly   = []snapshot.DataKind{snapshot.CloudflareIdPs}
	orgOnly    = []snapshot.DataKind{snapshot.CloudflareOrg}
)

// hostileCase is one hostile answer and what driftd may make of it.
type hostileCase struct {
	name     string
	pageSize int
	// capture starts a foreign origin ("https" or "http") whose URL is
	// passed to faults; it must receive nothing.
	capture string
	faults  func(target string) []sim.Fault
	// gaps lists the data kinds a gap may name; the run may also be
	// complete (with exactly the fault-free findings).
	gaps    []snapshot.DataKind
	timeout time.Duration // default 20 s
	// parallel: the case mostly waits (retries with backoff, a slow
	// body), so it runs concurrently with the other such cases, after
	// the rest.
	parallel bool
}

const (
	grantsPath = "/oauth2PermissionGrants"
	appsPath   = "/applications"
	idpsPath   = "/identity_providers"
	orgPath    = "/organizations"
	// The two audit logs attribution reads.
	auditPath   = "/auditLogs/directoryAudits"
	cfAuditPath = "/logs/audit"
	tokenPath   = "/oauth2/v2.0/token"
	batchPath   = "$batch"
	// Round four's sub-requests:
	// groups/{id}/transitiveMembers/microsoft.graph.user?$count=true…
	groupsPath = "/groups/"
)

// cfPolicyEndpoint is one of the Cloudflare lists the policy → group
// checks read, with the data kind a failure of it may cost.
type cfPolicyEndpoint struct {
	name, path string
	kind       snapshot.DataKind
	// paged: the drifted tenant has more than one item, so a page 2
	// exists with a page size of 1 (the Gateway rules come in one page).
	paged bool
}

var cfPolicyEndpoints = []cfPolicyEndpoint{
	{"access-policies", "/access/policies", snapshot.CloudflareAccessPolicies, true},
	{"access-apps", "/access/apps", snapshot.CloudflareAccessApps, true},
	{"access-groups", "/access/groups", snapshot.CloudflareAccessGroups, false},
	{"gateway-rules", "/gateway/rules", snapshot.CloudflareGatewayRules, false},
}

var groupsOnly = []snapshot.DataKind{snapshot.EntraGroups}

var graphSPPath = "/servicePrincipals(appId='" + sim.GraphAppID + "')"

func one(f sim.Fault) func(string) []sim.Fault {
	return func(string) []sim.Fault { return []sim.Fault{f} }
}

func toward(f sim.Fault) func(string) []sim.Fault {
	return func(target string) []sim.Fault { f.Target = target; return []sim.Fault{f} }
}

func graphFault(path string, f sim.Fault) sim.Fault {
	f.Service, f.PathContains = sim.ServiceGraph, path
	return f
}
func cfFault(path string, f sim.Fault) sim.Fault {
	f.Service, f.PathContains = sim.ServiceCloudflare, path
	return f
}
func tokenFault(f sim.Fault) sim.Fault {
	f.Service, f.PathContains = sim.ServiceToken, tokenPath
	return f
}

func hostileCases() []hostileCase {
	var cases []hostileCase
	add := func(c hostileCase) { cases = append(cases, c) }

	// Microsoft Graph: shapes of the body.
	add(hostileCase{name: "graph/grants-value-null-element", faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindNullElements, Member: "value"})), gaps: grantsOnly})
	add(hostileCase{name: "graph/password-credentials-null", faults: one(graphFault(appsPath, sim.Fault{Kind: sim.KindNullElements, Member: "passwordCredentials"})), gaps: []snapshot.DataKind{snapshot.EntraApplication}})
	add(hostileCase{name: "graph/permission-scopes-null", faults: one(graphFault(graphSPPath, sim.Fault{Kind: sim.KindNullElements, Member: "oauth2PermissionScopes"})), gaps: []snapshot.DataKind{snapshot.EntraGraphPermissions}})
	add(hostileCase{name: "graph/null-in-every-array", faults: one(graphFault("", sim.Fault{Kind: sim.KindNullElements})), gaps: entraKinds})
	add(hostileCase{name: "graph/batch-responses-null-only", faults: one(graphFault(batchPath, sim.Fault{Kind: sim.KindWrongType, JSON: "[null]"})), gaps: entraKinds})
	add(hostileCase{name: "graph/batch-responses-null-first", faults: one(graphFault(batchPath, sim.Fault{Kind: sim.KindNullElements})), gaps: entraKinds})
	for _, raw := range []string{"{}", `"value"`, "42", "null"} {
		add(hostileCase{name: "graph/grants-value-" + typeName(raw), faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindWrongType, JSON: raw})), gaps: grantsOnly})
	}
	add(hostileCase{name: "graph/application-credentials-object", faults: one(graphFault(appsPath, sim.Fault{Kind: sim.KindWrongType, Member: "passwordCredentials", JSON: `{"keyId":"x"}`})), gaps: []snapshot.DataKind{snapshot.EntraApplication}})
	for _, raw := range []string{"{}", `"responses"`, "7"} {
		add(hostileCase{name: "graph/batch-responses-" + typeName(raw), faults: one(graphFault(batchPath, sim.Fault{Kind: sim.KindWrongType, JSON: raw})), gaps: entraKinds})
	}
	add(hostileCase{name: "graph/batch-item-body-string", faults: one(graphFault(appsPath, sim.Fault{Kind: sim.KindWrongType, Member: "@item.body"})), gaps: entraKinds})
	add(hostileCase{name: "graph/batch-item-status-string", faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindWrongType, Member: "@item.status"})), gaps: entraKinds})
	add(hostileCase{name: "graph/grants-error-body-200", faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindErrorBody200})), gaps: grantsOnly})
	add(hostileCase{name: "graph/application-error-body-200", faults: one(graphFault(appsPath, sim.Fault{Kind: sim.KindErrorBody200})), gaps: []snapshot.DataKind{snapshot.EntraApplication}})
	add(hostileCase{name: "graph/batch-error-body-200", faults: one(graphFault(batchPath, sim.Fault{Kind: sim.KindErrorBody200})), gaps: entraKinds})
	add(hostileCase{name: "graph/huge-strings", faults: one(graphFault("", sim.Fault{Kind: sim.KindHugeStrings})), gaps: entraKinds})

	// Graph paging.
	add(hostileCase{name: "graph/endless-paging", pageSize: 2, faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindEndlessPaging})), gaps: grantsOnly})
	add(hostileCase{name: "graph/repeating-paging", pageSize: 2, faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindRepeatPaging})), gaps: grantsOnly})
	add(hostileCase{name: "graph/next-link-other-port", capture: "https", faults: toward(graphFault(grantsPath, sim.Fault{Kind: sim.KindForeignNextLink})), gaps: grantsOnly})
	add(hostileCase{name: "graph/next-link-plain-http", capture: "http", faults: toward(graphFault(grantsPath, sim.Fault{Kind: sim.KindForeignNextLink})), gaps: grantsOnly})
	add(hostileCase{parallel: true, name: "graph/page-2-unavailable", pageSize: 2, faults: one(graphFault(grantsPath, sim.Fault{QueryContains: "$skiptoken", Status: 503, RetryAfter: "1"})), gaps: grantsOnly})

	// Graph on the wire.
	add(hostileCase{name: "graph/oversized-item", faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindOversized})), gaps: entraKinds})
	add(hostileCase{name: "graph/oversized-batch", faults: one(graphFault(batchPath, sim.Fault{Kind: sim.KindOversized})), gaps: entraKinds})
	add(hostileCase{parallel: true, name: "graph/slow-body", faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindSlowBody, Duration: time.Minute})), gaps: entraKinds, timeout: 5 * time.Second})
	add(hostileCase{name: "graph/truncated", faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindTruncated})), gaps: entraKinds})
	add(hostileCase{name: "graph/malformed", faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindMalformed})), gaps: entraKinds})
	add(hostileCase{name: "graph/connection-reset", faults: one(graphFault(grantsPath, sim.Fault{Kind: sim.KindReset})), gaps: entraKinds})
	add(hostileCase{name: "graph/echoes-authorization", faults: one(graphFault(batchPath, sim.Fault{Kind: sim.KindEchoRequest})), gaps: entraKinds})
	add(hostileCase{parallel: true, name: "graph/item-429-seconds", faults: one(graphFault(grantsPath, sim.Fault{Status: 429, RetryAfter: "1"})), gaps: grantsOnly})
	add(hostileCase{parallel: true, name: "graph/item-429-http-date", faults: one(graphFault(grantsPath, sim.Fault{Status: 429, RetryAfterDate: time.Second})), gaps: grantsOnly})
	add(hostileCase{parallel: true, name: "graph/batch-429-http-date", faults: one(graphFault(batchPath, sim.Fault{Status: 429, RetryAfterDate: time.Second})), gaps: entraKinds})
	add(hostileCase{parallel: true, name: "graph/item-503", faults: one(graphFault(grantsPath, sim.Fault{Status: 503, RetryAfter: "1"})), gaps: grantsOnly})
	add(hostileCase{parallel: true, name: "graph/item-504", faults: one(graphFault(grantsPath, sim.Fault{Status: 504, RetryAfter: "1"})), gaps: grantsOnly})
	add(hostileCase{parallel: true, name: "graph/batch-503", faults: one(graphFault(batchPath, sim.Fault{Status: 503, RetryAfter: "1"})), gaps: entraKinds})

	// The token endpoint.
	add(hostileCase{parallel: true, name: "token/redirect-307-other-port", capture: "https", faults: toward(tokenFault(sim.Fault{Kind: sim.KindRedirect, Status: 307})), gaps: entraKinds})
	add(hostileCase{parallel: true, name: "token/redirect-302-plain-http", capture: "http", faults: toward(tokenFault(sim.Fault{Kind: sim.KindRedirect, Status: 302})), gaps: entraKinds})
	add(hostileCase{name: "token/echoes-form", faults: one(tokenFault(sim.Fault{Kind: sim.KindEchoRequest})), gaps: entraKinds})
	add(hostileCase{name: "token/malformed", faults: one(tokenFault(sim.Fault{Kind: sim.KindMalformed})), gaps: entraKinds})
	add(hostileCase{name: "token/error-body-200", faults: one(tokenFault(sim.Fault{Kind: sim.KindErrorBody200})), gaps: entraKinds})
	add(hostileCase{parallel: true, name: "token/429", faults: one(tokenFault(sim.Fault{Status: 429, RetryAfter: "1"})), gaps: entraKinds})
	add(hostileCase{parallel: true, name: "token/503", faults: one(tokenFault(sim.Fault{Status: 503, RetryAfterDate: time.Second})), gaps: entraKinds})

	// Cloudflare.
	add(hostileCase{name: "cloudflare/success-false-200", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindErrorBody200})), gaps: idpsOnly})
	add(hostileCase{name: "cloudflare/organization-success-false-200", faults: one(cfFault(orgPath, sim.Fault{Kind: sim.KindErrorBody200})), gaps: orgOnly})
	for _, raw := range []string{"null", "{}", `"result"`, "3"} {
		add(hostileCase{name: "cloudflare/result-" + typeName(raw), faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindWrongType, JSON: raw})), gaps: idpsOnly})
	}
	add(hostileCase{name: "cloudflare/organization-result-null", faults: one(cfFault(orgPath, sim.Fault{Kind: sim.KindWrongType, JSON: "null"})), gaps: orgOnly})
	add(hostileCase{name: "cloudflare/organization-result-string", faults: one(cfFault(orgPath, sim.Fault{Kind: sim.KindWrongType, JSON: `"org"`})), gaps: orgOnly})
	add(hostileCase{name: "cloudflare/result-null-element", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindNullElements, Member: "result"})), gaps: idpsOnly})
	add(hostileCase{name: "cloudflare/null-in-every-array", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindNullElements})), gaps: idpsOnly})
	add(hostileCase{parallel: true, name: "cloudflare/redirect-other-port", capture: "https", faults: toward(cfFault(idpsPath, sim.Fault{Kind: sim.KindRedirect})), gaps: idpsOnly})
	add(hostileCase{parallel: true, name: "cloudflare/redirect-plain-http", capture: "http", faults: toward(cfFault(idpsPath, sim.Fault{Kind: sim.KindRedirect})), gaps: idpsOnly})
	add(hostileCase{name: "cloudflare/endless-pages", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindEndlessPaging})), gaps: idpsOnly})
	add(hostileCase{name: "cloudflare/oversized", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindOversized})), gaps: idpsOnly})
	add(hostileCase{name: "cloudflare/huge-names", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindHugeStrings})), gaps: idpsOnly})
	add(hostileCase{parallel: true, name: "cloudflare/429-seconds", faults: one(cfFault(idpsPath, sim.Fault{Status: 429, RetryAfter: "1"})), gaps: idpsOnly})
	add(hostileCase{parallel: true, name: "cloudflare/429-http-date", faults: one(cfFault(idpsPath, sim.Fault{Status: 429, RetryAfterDate: time.Second})), gaps: idpsOnly})
	add(hostileCase{parallel: true, name: "cloudflare/503", faults: one(cfFault(idpsPath, sim.Fault{Status: 503, RetryAfter: "1"})), gaps: idpsOnly})
	add(hostileCase{name: "cloudflare/truncated", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindTruncated})), gaps: cfKinds})
	add(hostileCase{name: "cloudflare/malformed", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindMalformed})), gaps: idpsOnly})
	add(hostileCase{parallel: true, name: "cloudflare/connection-reset", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindReset})), gaps: cfKinds})
	add(hostileCase{parallel: true, name: "cloudflare/slow-body", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindSlowBody, Duration: time.Minute})), gaps: []snapshot.DataKind{snapshot.CloudflareIdPs, snapshot.EntraGroups}, timeout: 5 * time.Second})
	add(hostileCase{name: "cloudflare/echoes-authorization", faults: one(cfFault(idpsPath, sim.Fault{Kind: sim.KindEchoRequest})), gaps: idpsOnly})

	// The Cloudflare lists the policy → group checks read: each fault
	// costs that list (a reset or a truncated answer may take the other
	// Cloudflare reads on the same connection with it).
	for _, ep := range cfPolicyEndpoints {
		only := []snapshot.DataKind{ep.kind}
		name := "cloudflare/" + ep.name + "/"
		f := func(fault sim.Fault) sim.Fault { return cfFault(ep.path, fault) }
		add(hostileCase{name: name + "success-false-200", faults: one(f(sim.Fault{Kind: sim.KindErrorBody200})), gaps: only})
		for _, raw := range []string{"null", "{}", `"result"`, "3"} {
			add(hostileCase{name: name + "result-" + typeName(raw), faults: one(f(sim.Fault{Kind: sim.KindWrongType, JSON: raw})), gaps: only})
		}
		add(hostileCase{name: name + "result-null-element", faults: one(f(sim.Fault{Kind: sim.KindNullElements, Member: "result"})), gaps: only})
		add(hostileCase{name: name + "null-in-every-array", faults: one(f(sim.Fault{Kind: sim.KindNullElements})), gaps: only})
		add(hostileCase{parallel: true, name: name + "redirect-other-port", capture: "https", faults: toward(f(sim.Fault{Kind: sim.KindRedirect})), gaps: only})
		add(hostileCase{parallel: true, name: name + "redirect-plain-http", capture: "http", faults: toward(f(sim.Fault{Kind: sim.KindRedirect})), gaps: only})
		add(hostileCase{name: name + "oversized", faults: one(f(sim.Fault{Kind: sim.KindOversized})), gaps: only})
		add(hostileCase{name: name + "huge-names", faults: one(f(sim.Fault{Kind: sim.KindHugeStrings})), gaps: only})
		add(hostileCase{name: name + "403", faults: one(f(sim.Fault{Status: 403})), gaps: only})
		add(hostileCase{parallel: true, name: name + "429-seconds", faults: one(f(sim.Fault{Status: 429, RetryAfter: "1"})), gaps: only})
		add(hostileCase{parallel: true, name: name + "429-once", faults: one(f(sim.Fault{Status: 429, RetryAfterDate: time.Second, Times: 1})), gaps: only})
		add(hostileCase{parallel: true, name: name + "500", faults: one(f(sim.Fault{Status: 500})), gaps: only})
		add(hostileCase{parallel: true, name: name + "503", faults: one(f(sim.Fault{Status: 503, RetryAfter: "1"})), gaps: only})
		add(hostileCase{name: name + "truncated", faults: one(f(sim.Fault{Kind: sim.KindTruncated})), gaps: cfKinds})
		add(hostileCase{name: name + "malformed", faults: one(f(sim.Fault{Kind: sim.KindMalformed})), gaps: only})
		add(hostileCase{parallel: true, name: name + "connection-reset", faults: one(f(sim.Fault{Kind: sim.KindReset})), gaps: cfKinds})
		add(hostileCase{parallel: true, name: name + "slow-body", faults: one(f(sim.Fault{Kind: sim.KindSlowBody, Duration: time.Minute})), gaps: []snapshot.DataKind{ep.kind, snapshot.EntraGroups}, timeout: 5 * time.Second})
		add(hostileCase{name: name + "echoes-authorization", faults: one(f(sim.Fault{Kind: sim.KindEchoRequest})), gaps: only})
		if ep.paged {
			add(hostileCase{parallel: true, name: name + "page-2-unavailable", pageSize: 1, faults: one(f(sim.Fault{QueryContains: "page=2", Status: 503, RetryAfter: "1"})), gaps: only})
		}
	}
	// Rules nested inside the list items.
	add(hostileCase{name: "cloudflare/access-policies/include-null-element", faults: one(cfFault("/access/policies", sim.Fault{Kind: sim.KindNullElements, Member: "include"})), gaps: []snapshot.DataKind{snapshot.CloudflareAccessPolicies}})
	add(hostileCase{name: "cloudflare/access-apps/policies-null-element", faults: one(cfFault("/access/apps", sim.Fault{Kind: sim.KindNullElements, Member: "policies"})), gaps: []snapshot.DataKind{snapshot.CloudflareAccessApps}})
	add(hostileCase{name: "cloudflare/access-groups/include-null-element", faults: one(cfFault("/access/groups", sim.Fault{Kind: sim.KindNullElements, Member: "include"})), gaps: []snapshot.DataKind{snapshot.CloudflareAccessGroups}})

	// Round three's referenced groups' lookups inside $batch: each fault
	// is a correct result or a gap for entra.groups, never a group that
	// "does not exist" (CF-POL-001) nor an empty one (CF-POL-003). A fault
	// that spoils the whole $batch response (oversized, cut off, reset,
	// slow, redirected) also costs the job schemas that share the batch.
	gf := func(fault sim.Fault) sim.Fault { return graphFault(groupsPath, fault) }
	groupsBatch := []snapshot.DataKind{snapshot.EntraGroups, snapshot.EntraProvisioning}
	add(hostileCase{name: "graph/groups/value-null-element", faults: one(gf(sim.Fault{Kind: sim.KindNullElements, Member: "value"})), gaps: groupsOnly})
	add(hostileCase{name: "graph/groups/null-in-every-array", faults: one(gf(sim.Fault{Kind: sim.KindNullElements})), gaps: groupsOnly})
	for _, raw := range []string{"null", "{}", `"value"`, "42"} {
		add(hostileCase{name: "graph/groups/value-" + typeName(raw), faults: one(gf(sim.Fault{Kind: sim.KindWrongType, JSON: raw})), gaps: groupsOnly})
	}
	for _, c := range []struct{ name, raw string }{{"null", "null"}, {"string", `"many"`}, {"numeric-string", `"0"`}, {"negative", "-1"}, {"fraction", "1.5"}, {"object", "{}"}} {
		add(hostileCase{name: "graph/groups/count-" + c.name, faults: one(gf(sim.Fault{Kind: sim.KindWrongType, Member: "@odata.count", JSON: c.raw})), gaps: groupsOnly})
	}
	add(hostileCase{name: "graph/groups/item-body-string", faults: one(gf(sim.Fault{Kind: sim.KindWrongType, Member: "@item.body"})), gaps: groupsOnly})
	add(hostileCase{name: "graph/groups/item-status-string", faults: one(gf(sim.Fault{Kind: sim.KindWrongType, Member: "@item.status"})), gaps: groupsOnly})
	add(hostileCase{name: "graph/groups/error-body-200", faults: one(gf(sim.Fault{Kind: sim.KindErrorBody200})), gaps: groupsOnly})
	add(hostileCase{name: "graph/groups/endless-paging", faults: one(gf(sim.Fault{Kind: sim.KindEndlessPaging})), gaps: groupsOnly})
	add(hostileCase{name: "graph/groups/repeating-paging", faults: one(gf(sim.Fault{Kind: sim.KindRepeatPaging})), gaps: groupsOnly})
	add(hostileCase{name: "graph/groups/next-link-other-port", capture: "https", faults: toward(gf(sim.Fault{Kind: sim.KindForeignNextLink})), gaps: groupsOnly})
	add(hostileCase{name: "graph/groups/next-link-plain-http", capture: "http", faults: toward(gf(sim.Fault{Kind: sim.KindForeignNextLink})), gaps: groupsOnly})
	for _, status := range []int{400, 401, 403, 500, 502} {
		add(hostileCase{name: fmt.Sprintf("graph/groups/%d", status), faults: one(gf(sim.Fault{Status: status})), gaps: groupsOnly})
	}
	add(hostileCase{parallel: true, name: "graph/groups/429-seconds", faults: one(gf(sim.Fault{Status: 429, RetryAfter: "1"})), gaps: groupsOnly})
	add(hostileCase{parallel: true, name: "graph/groups/429-http-date", faults: one(gf(sim.Fault{Status: 429, RetryAfterDate: time.Second})), gaps: groupsOnly})
	add(hostileCase{parallel: true, name: "graph/groups/429-once", faults: one(gf(sim.Fault{Status: 429, RetryAfter: "1", Times: 1})), gaps: groupsOnly})
	add(hostileCase{parallel: true, name: "graph/groups/503", faults: one(gf(sim.Fault{Status: 503, RetryAfter: "1"})), gaps: groupsOnly})
	add(hostileCase{parallel: true, name: "graph/groups/504", faults: one(gf(sim.Fault{Status: 504, RetryAfter: "1"})), gaps: groupsOnly})
	add(hostileCase{name: "graph/groups/oversized", faults: one(gf(sim.Fault{Kind: sim.KindOversized})), gaps: groupsBatch})
	add(hostileCase{name: "graph/groups/truncated", faults: one(gf(sim.Fault{Kind: sim.KindTruncated})), gaps: groupsBatch})
	add(hostileCase{name: "graph/groups/malformed", faults: one(gf(sim.Fault{Kind: sim.KindMalformed})), gaps: groupsBatch})
	add(hostileCase{parallel: true, name: "graph/groups/connection-reset", faults: one(gf(sim.Fault{Kind: sim.KindReset})), gaps: groupsBatch})
	add(hostileCase{parallel: true, name: "graph/groups/slow-body", faults: one(gf(sim.Fault{Kind: sim.KindSlowBody, Duration: time.Minute})), gaps: groupsBatch, timeout: 5 * time.Second})
	add(hostileCase{name: "graph/groups/echoes-authorization", faults: one(gf(sim.Fault{Kind: sim.KindEchoRequest})), gaps: groupsBatch})
	add(hostileCase{parallel: true, name: "graph/groups/redirect-307-other-port", capture: "https", faults: toward(gf(sim.Fault{Kind: sim.KindRedirect, Status: 307})), gaps: groupsBatch})
	add(hostileCase{parallel: true, name: "graph/groups/redirect-302-plain-http", capture: "http", faults: toward(gf(sim.Fault{Kind: sim.KindRedirect, Status: 302})), gaps: groupsBatch})

	// The audit logs attribution reads: every fault is at most a gap of
	// kind attribution, with the fault-free findings and no change that
	// the fault-free run did not attach (checkOutcome).
	onlyAttribution := []snapshot.DataKind{snapshot.Attribution}
	af := func(fault sim.Fault) sim.Fault { return graphFault(auditPath, fault) }
	for _, raw := range []string{"null", "{}", `"value"`, "42"} {
		add(hostileCase{name: "graph/audit/value-" + typeName(raw), faults: one(af(sim.Fault{Kind: sim.KindWrongType, JSON: raw})), gaps: onlyAttribution})
	}
	add(hostileCase{name: "graph/audit/value-null-element", faults: one(af(sim.Fault{Kind: sim.KindNullElements, Member: "value"})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/null-in-every-array", faults: one(af(sim.Fault{Kind: sim.KindNullElements})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/item-body-string", faults: one(af(sim.Fault{Kind: sim.KindWrongType, Member: "@item.body"})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/error-body-200", faults: one(af(sim.Fault{Kind: sim.KindErrorBody200})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/huge-strings", faults: one(af(sim.Fault{Kind: sim.KindHugeStrings})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/endless-paging", faults: one(af(sim.Fault{Kind: sim.KindEndlessPaging})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/repeating-paging", faults: one(af(sim.Fault{Kind: sim.KindRepeatPaging})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/next-link-other-port", capture: "https", faults: toward(af(sim.Fault{Kind: sim.KindForeignNextLink})), gaps: onlyAttribution})
	for _, status := range []int{400, 401, 403, 500} {
		add(hostileCase{name: fmt.Sprintf("graph/audit/%d", status), faults: one(af(sim.Fault{Status: status})), gaps: onlyAttribution})
	}
	add(hostileCase{parallel: true, name: "graph/audit/429-once", faults: one(af(sim.Fault{Status: 429, RetryAfter: "1", Times: 1})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/oversized", faults: one(af(sim.Fault{Kind: sim.KindOversized})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/truncated", faults: one(af(sim.Fault{Kind: sim.KindTruncated})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/malformed", faults: one(af(sim.Fault{Kind: sim.KindMalformed})), gaps: onlyAttribution})
	add(hostileCase{name: "graph/audit/echoes-authorization", faults: one(af(sim.Fault{Kind: sim.KindEchoRequest})), gaps: onlyAttribution})
	add(hostileCase{parallel: true, name: "graph/audit/slow-body", faults: one(af(sim.Fault{Kind: sim.KindSlowBody, Duration: time.Minute})), gaps: onlyAttribution, timeout: 5 * time.Second})
	cf := func(fault sim.Fault) sim.Fault { return cfFault(cfAuditPath, fault) }
	add(hostileCase{name: "cloudflare/audit/success-false-200", faults: one(cf(sim.Fault{Kind: sim.KindErrorBody200})), gaps: onlyAttribution})
	for _, raw := range []string{"null", "{}", `"result"`, "3"} {
		add(hostileCase{name: "cloudflare/audit/result-" + typeName(raw), faults: one(cf(sim.Fault{Kind: sim.KindWrongType, JSON: raw})), gaps: onlyAttribution})
	}
	add(hostileCase{name: "cloudflare/audit/result-null-element", faults: one(cf(sim.Fault{Kind: sim.KindNullElements, Member: "result"})), gaps: onlyAttribution})
	add(hostileCase{name: "cloudflare/audit/null-in-every-array", faults: one(cf(sim.Fault{Kind: sim.KindNullElements})), gaps: onlyAttribution})
	add(hostileCase{name: "cloudflare/audit/huge-names", faults: one(cf(sim.Fault{Kind: sim.KindHugeStrings})), gaps: onlyAttribution})
	for _, status := range []int{401, 403, 500} {
		add(hostileCase{parallel: status == 500, name: fmt.Sprintf("cloudflare/audit/%d", status), faults: one(cf(sim.Fault{Status: status})), gaps: onlyAttribution})
	}
	add(hostileCase{parallel: true, name: "cloudflare/audit/429-once", faults: one(cf(sim.Fault{Status: 429, RetryAfterDate: time.Second, Times: 1})), gaps: onlyAttribution})
	add(hostileCase{parallel: true, name: "cloudflare/audit/redirect-other-port", capture: "https", faults: toward(cf(sim.Fault{Kind: sim.KindRedirect})), gaps: onlyAttribution})
	add(hostileCase{name: "cloudflare/audit/oversized", faults: one(cf(sim.Fault{Kind: sim.KindOversized})), gaps: onlyAttribution})
	add(hostileCase{name: "cloudflare/audit/truncated", faults: one(cf(sim.Fault{Kind: sim.KindTruncated})), gaps: cfKinds})
	add(hostileCase{name: "cloudflare/audit/malformed", faults: one(cf(sim.Fault{Kind: sim.KindMalformed})), gaps: onlyAttribution})
	add(hostileCase{name: "cloudflare/audit/echoes-authorization", faults: one(cf(sim.Fault{Kind: sim.KindEchoRequest})), gaps: onlyAttribution})
	add(hostileCase{parallel: true, name: "cloudflare/audit/slow-body", faults: one(cf(sim.Fault{Kind: sim.KindSlowBody, Duration: time.Minute})), gaps: onlyAttribution, timeout: 5 * time.Second})
	return cases
}

func typeName(raw string) string {
	switch {
	case raw == "null":
		return "null"
	case strings.HasPrefix(raw, "{"):
		return "object"
	case strings.HasPrefix(raw, "["):
		return "array"
	case strings.HasPrefix(raw, `"`):
		return "string"
	}
	return "number"
}

// expectation is what a fault-free run of the same tenant found.
type expectation struct {
	findings map[string]bool            // fingerprints
	byInteg  map[string]map[string]bool // integration → fingerprints
	statuses map[string]string          // "integration check" → status
	// changes are the attributed audit-log entries, by fingerprint.
	changes map[string]map[string]bool
}

// attributeAll asks the audit logs about every finding, as a run with no
// run before it does (look-back 2 h): every hostile run attributes too,
// so a broken audit log is held to the same promise.
func attributeAll(rep *report.Report) []attribution.Item {
	var items []attribution.Item
	for i := range rep.Findings {
		hints, ok := checks.AttributionOf(rep.Findings[i])
		if ok {
			items = append(items, attribution.Item{Finding: &rep.Findings[i], Since: time.Now().Add(-2 * time.Hour), Hints: hints})
		}
	}
	return items
}

// changeKey is what a hostile run's attribution is held to: which log
// and object a finding's entry is about. (Each run has a simulator of its
// own, so times differ; a fault may rewrite the texts.)
func changeKey(c finding.Change) string {
	return string(c.Source) + "|" + c.Target
}

// startCanarySim starts the drifted tenant with the canary credentials.
func startCanarySim(t *testing.T, pageSize int) (*demo.Environment, *config.Config) {
	t.Helper()
	env, cfg := startSim(t, demo.ScenarioDrifted, sim.Options{PageSize: pageSize})
	return env, canary(env, cfg)
}

// startCanarySimParallel is startCanarySim for subtests that run
// concurrently, which must not set environment variables:
// TestHostileServers sets the ones simtest.Start would for all of them.
func startCanarySimParallel(t *testing.T, pageSize int) (*demo.Environment, *config.Config) {
	t.Helper()
	env, err := demo.Start(t.TempDir(), demo.ScenarioDrifted, time.Now(), sim.Options{PageSize: pageSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env, canary(env, simtest.Config(t, env))
}

// canary makes the simulated tenant and driftd's configuration use the
// canary credentials.
func canary(env *demo.Environment, cfg *config.Config) *config.Config {
	env.Server.Update(func(tn *sim.Tenant) {
		tn.AuditorClientSecret = canaryClientSecret
		tn.CloudflareAPIToken = canaryAPIToken
	})
	cfg.Entra.ClientSecret = config.NewSecret(canaryClientSecret)
	cfg.Cloudflare.APIToken = config.NewSecret(canaryAPIToken)
	return cfg
}

// faultFree audits the tenant without faults: the findings every hostile
// run is held to.
func faultFree(t *testing.T, pageSize int) expectation {
	t.Helper()
	_, cfg := startCanarySim(t, pageSize)
	res := runGuarded(t, cfg, time.Minute)
	if res == nil {
		t.FailNow()
	}
	r := res.Report
	if !r.Complete() || len(r.Gaps) != 0 {
		t.Fatalf("fault-free run is incomplete: %+v", r.Gaps)
	}
	e := expect(r)
	if len(e.changes) == 0 {
		t.Fatal("the fault-free run attributed nothing")
	}
	// A second run sees the entry the drifted tenant logs late (the
	// campaign reuses its simulator, so its later cycles do too).
	if again := runGuarded(t, cfg, time.Minute); again != nil {
		for fp, keys := range expect(again.Report).changes {
			if e.changes[fp] == nil {
				e.changes[fp] = map[string]bool{}
			}
			for k := range keys {
				e.changes[fp][k] = true
			}
		}
	}
	return e
}

func expect(r *report.Report) expectation {
	e := expectation{findings: map[string]bool{}, byInteg: map[string]map[string]bool{}, statuses: map[string]string{}, changes: map[string]map[string]bool{}}
	for _, f := range r.Findings {
		e.findings[f.Fingerprint] = true
		for _, c := range f.Changes {
			if e.changes[f.Fingerprint] == nil {
				e.changes[f.Fingerprint] = map[string]bool{}
			}
			e.changes[f.Fingerprint][changeKey(c)] = true
		}
		if e.byInteg[f.Integration] == nil {
			e.byInteg[f.Integration] = map[string]bool{}
		}
		e.byInteg[f.Integration][f.Fingerprint] = true
	}
	for _, res := range r.Results {
		e.statuses[res.Integration+" "+res.CheckID] = res.Status
	}
	return e
}

// runGuarded runs an audit and fails (rather than hangs) if it does not
// return well after its context ended; then it returns nil. It may be
// called from any goroutine.
func runGuarded(t *testing.T, cfg *config.Config, timeout time.Duration) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Run(ctx, cfg, Options{Attribute: attributeAll})
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			t.Errorf("audit.Run: %v", o.err)
		}
		return o.res
	case <-time.After(timeout + 30*time.Second):
		t.Errorf("the audit did not return within 30 s of its %v deadline", timeout)
		return nil
	}
}

// checkOutcome holds a hostile run to the promise: every integration is
// either complete with exactly the fault-free findings or incomplete
// with a gap; no finding is invented; no check passes or fails that the
// fault-free run judged otherwise; gaps name only the allowed kinds.
func checkOutcome(t *testing.T, r *report.Report, want expectation, allowed []snapshot.DataKind) {
	t.Helper()
	var invented []string
	for _, f := range r.Findings {
		if !want.findings[f.Fingerprint] {
			invented = append(invented, fmt.Sprintf("%s %s %s (%.120q)", f.Integration, f.CheckID, f.Setting, f.Message))
		}
	}
	if len(invented) > 0 {
		t.Errorf("findings the fault-free run does not have:\n  %s", strings.Join(invented, "\n  "))
	}
	// A broken audit log may cost attribution, never invent it.
	for _, f := range r.Findings {
		for _, c := range f.Changes {
			if !want.changes[f.Fingerprint][changeKey(c)] {
				t.Errorf("%s %s: attributed to %q, which the fault-free run did not attach", f.Integration, f.CheckID, c.Summary())
			}
		}
	}
	got := map[string]map[string]bool{}
	for _, f := range r.Findings {
		if got[f.Integration] == nil {
			got[f.Integration] = map[string]bool{}
		}
		got[f.Integration][f.Fingerprint] = true
	}
	for _, in := range r.Integrations {
		switch in.Status {
		case report.Complete:
			if !sameSet(got[in.Name], want.byInteg[in.Name]) {
				t.Errorf("%s is complete with %d findings; the fault-free run has %d", in.Name, len(got[in.Name]), len(want.byInteg[in.Name]))
			}
		case report.Incomplete:
			n := 0
			for _, g := range r.Gaps {
				if g.Integration == in.Name || g.Integration == "" {
					n++
				}
			}
			if n == 0 {
				t.Errorf("%s is incomplete without a gap", in.Name)
			}
		default:
			t.Errorf("%s: status %q", in.Name, in.Status)
		}
	}
	for _, res := range r.Results {
		key := res.Integration + " " + res.CheckID
		if res.Status != report.StatusCouldNotEvaluate && res.Status != want.statuses[key] {
			t.Errorf("%s: %s, the fault-free run says %s", key, res.Status, want.statuses[key])
		}
	}
	for _, g := range r.Gaps {
		// Any fault may cost attribution: it changes no finding.
		ok := g.What == string(snapshot.Attribution)
		for _, k := range allowed {
			ok = ok || g.What == string(k)
		}
		if !ok {
			t.Errorf("gap for %s (%s): %.200q; this fault may only cost %v", g.What, g.Integration, g.Error, allowed)
		}
		if g.Error == "" {
			t.Errorf("gap for %s without a reason", g.What)
		}
		if len(g.Error) > maxGapErrorLen {
			t.Errorf("gap for %s: %d-byte error", g.What, len(g.Error))
		}
		if i := strings.IndexFunc(g.Error, unicode.IsControl); i >= 0 {
			t.Errorf("gap for %s: control character %q in %.200q", g.What, g.Error[i], g.Error)
		}
	}
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// checkSecrets fails if a credential shows in the report, the snapshot
// or at a foreign origin.
func checkSecrets(t *testing.T, env *demo.Environment, res *Result, capture *sim.Capture) {
	t.Helper()
	secrets := append([]string{canaryClientSecret, canaryAPIToken}, env.Server.IssuedTokens()...)
	rep, _ := json.Marshal(res.Report)
	snap, _ := json.Marshal(res.Snapshot)
	for i, s := range secrets {
		what := "the Graph access token"
		switch i {
		case 0:
			what = "the client secret"
		case 1:
			what = "the Cloudflare API token"
		}
		if strings.Contains(string(rep), s) {
			t.Errorf("the report carries %s", what)
		}
		if strings.Contains(string(snap), s) {
			t.Errorf("the snapshot carries %s", what)
		}
	}
	if capture == nil {
		return
	}
	for _, leak := range capture.Leaks(secrets...) {
		t.Errorf("the foreign origin received a credential: %s", leak)
	}
	if reqs := capture.Requests(); len(reqs) > 0 {
		var seen []string
		for _, r := range reqs {
			seen = append(seen, r.Method+" "+strings.SplitN(r.URL, "?", 2)[0])
		}
		t.Errorf("the foreign origin %s received %d requests: %v", capture.URL, len(reqs), seen)
	}
}

func TestHostileServers(t *testing.T) {
	// What simtest.Start sets, once for every subtest (the concurrent
	// ones do not set it themselves).
	t.Setenv("CLOUDFLARE_BASE_URL", "https://cloudflare-env.invalid/")
	t.Setenv("CLOUDFLARE_API_TOKEN", "from-the-environment")
	cases := hostileCases()
	expectations := map[int]expectation{}
	for _, c := range cases {
		if _, ok := expectations[c.pageSize]; !ok {
			expectations[c.pageSize] = faultFree(t, c.pageSize)
		}
	}
	run := func(t *testing.T, c hostileCase) {
		want := expectations[c.pageSize]
		var (
			env *demo.Environment
			cfg *config.Config
		)
		if c.parallel {
			env, cfg = startCanarySimParallel(t, c.pageSize)
		} else {
			env, cfg = startCanarySim(t, c.pageSize)
		}
		var capture *sim.Capture
		if c.capture != "" {
			var err error
			if capture, err = env.Server.StartCapture(c.capture); err != nil {
				t.Fatal(err)
			}
			defer capture.Close()
		}
		target := ""
		if capture != nil {
			target = capture.URL
		}
		for _, f := range c.faults(target) {
			env.Server.InjectFault(f)
		}
		timeout := c.timeout
		if timeout == 0 {
			timeout = 20 * time.Second
		}
		start := time.Now()
		res := runGuarded(t, cfg, timeout)
		if res == nil {
			return
		}
		r := res.Report
		served := env.Server.Requests()

		checkOutcome(t, r, want, c.gaps)
		checkSecrets(t, env, res, capture)
		if out, _ := json.Marshal(r); len(out) > maxReportBytes {
			t.Errorf("report JSON is %d bytes", len(out))
		}
		if served[sim.ServiceGraph] > maxGraphCalls || served[sim.ServiceToken] > maxTokenCalls || served[sim.ServiceCloudflare] > maxCloudflareCalls {
			t.Errorf("requests served %v exceed the bounds", served)
		}
		if v := env.Server.RetryAfterViolations(); len(v) > 0 {
			t.Errorf("requests sent before their Retry-After: %+v", v)
		}
		if len(env.Server.FaultsServed()) == 0 {
			t.Errorf("the fault was never served: the case tests nothing")
		}
		var kinds []string
		for _, g := range r.Gaps {
			kinds = append(kinds, g.What)
		}
		sort.Strings(kinds)
		t.Logf("%s in %v; gaps %v; requests %v", statusLine(r), time.Since(start).Round(time.Millisecond), kinds, served)
	}
	for _, c := range cases {
		if !c.parallel {
			t.Run(c.name, func(t *testing.T) { run(t, c) })
		}
	}
	// The cases that mostly wait run all at once: t.Parallel would hold
	// them to -parallel (the number of CPUs) at a time.
	var wg sync.WaitGroup
	for _, c := range cases {
		if c.parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(c.name, func(t *testing.T) { run(t, c) })
			}()
		}
	}
	wg.Wait()
}

func statusLine(r *report.Report) string {
	var parts []string
	for _, in := range r.Integrations {
		parts = append(parts, in.Name+"="+in.Status)
	}
	return strings.Join(parts, " ")
}
