// Package demo wires driftd to the simulated tenant: it starts the
// simulator and writes a configuration pointing at it, so `driftd demo`
// and the end-to-end tests run the exact code path of `driftd check`.
package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/driftd/driftd/internal/sim"
)

// Scenario names accepted by Start.
const (
	ScenarioDrifted = "drifted"
	ScenarioHealthy = "healthy"
	// One provisioning failure each (ENTRA-SCIM-003, -004, -005).
	ScenarioSCIMQuarantined = "scim-quarantined"
	ScenarioSCIMFailing     = "scim-failing"
	ScenarioSCIMUnassigned  = "scim-unassigned"
)

// scenarios maps each name to the tenant it builds.
func scenarios() map[string]func(time.Time) *sim.Tenant {
	return map[string]func(time.Time) *sim.Tenant{
		ScenarioDrifted:         sim.Drifted,
		ScenarioHealthy:         sim.Healthy,
		ScenarioSCIMQuarantined: sim.SCIMQuarantined,
		ScenarioSCIMFailing:     sim.SCIMFailing,
		ScenarioSCIMUnassigned:  sim.SCIMUnassigned,
	}
}

// ScenarioNames lists the scenarios Start accepts, sorted.
func ScenarioNames() []string {
	var out []string
	for name := range scenarios() {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Environment is a running simulator plus a config file for it.
type Environment struct {
	Server     *sim.Server
	Tenant     *sim.Tenant
	ConfigPath string
}

// Start starts the simulator with the named scenario and writes
// config.toml, the CA bundle and the secret files (mode 0600) into dir.
func Start(dir, scenario string, now time.Time, opts sim.Options) (*Environment, error) {
	build, ok := scenarios()[scenario]
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q (want one of %s)", scenario, strings.Join(ScenarioNames(), ", "))
	}
	tenant := build(now)
	srv, err := sim.Start(tenant, opts)
	if err != nil {
		return nil, fmt.Errorf("starting the simulated tenant: %w", err)
	}
	path, err := WriteConfig(dir, srv, tenant)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &Environment{Server: srv, Tenant: tenant, ConfigPath: path}, nil
}

// Close stops the simulator.
func (e *Environment) Close() { e.Server.Close() }

// WriteConfig writes a driftd configuration for srv into dir and returns
// its path. Secrets go into files next to it, as in production.
func WriteConfig(dir string, srv *sim.Server, t *sim.Tenant) (string, error) {
	files := map[string][]byte{
		"sim-ca.pem":           srv.CACertPEM(),
		"entra-client-secret":  []byte(t.AuditorClientSecret + "\n"),
		"cloudflare-api-token": []byte(t.CloudflareAPIToken + "\n"),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			return "", fmt.Errorf("writing %s: %w", name, err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# driftd configuration for the simulated tenant (written by driftd demo).
[entra]
tenant_id = %q
client_id = %q
client_secret_file = "entra-client-secret"
authority_host = %q
graph_url = %q
ca_file = %q

[cloudflare]
account_id = %q
api_token_file = "cloudflare-api-token"
api_url = %q
ca_file = %q

[expiry]
warning = "30d"
critical = "7d"

[[integration]]
name = "corp-sso"
entra_app_id = %q
scim_app_id = %q

[integration.baseline]
pkce_enabled = true
support_groups = true
conditional_access_enabled = false
email_claim_name = "email"
claims = []
prompt = "login"
scim_enabled = true
scim_user_deprovision = true
scim_seat_deprovision = true
scim_identity_update_behavior = "automatic"

[[integration]]
name = "contractors-sso"
entra_app_id = %q

[integration.baseline]
pkce_enabled = true
support_groups = true
`,
		t.TenantID, t.AuditorClientID, srv.AuthorityHost(), srv.GraphURL(), filepath.Join(dir, "sim-ca.pem"),
		t.AccountID, srv.CloudflareURL(), filepath.Join(dir, "sim-ca.pem"),
		sim.CorpAppID, sim.CorpSCIMAppID, sim.ContractorsAppID)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("writing the demo config: %w", err)
	}
	return path, nil
}

// AddDaemon appends a [daemon] table to the environment's configuration
// for `driftd demo --serve`: a fast schedule, state in stateDir, the
// health and metrics endpoint on loopback.
func (e *Environment) AddDaemon(stateDir string) error {
	f, err := os.OpenFile(e.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "\n[daemon]\nschedule = \"@every 15s\"\nstate_dir = %q\nlisten = \"127.0.0.1:9464\"\n", stateDir)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
