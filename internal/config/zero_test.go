package config

import (
	"strings"
	"testing"
	"time"
)

// A key that is absent takes its default; a key written as zero is either
// documented to mean something or refused, never silently the default.
func TestZeroIsNotAbsent(t *testing.T) {
	refused := []struct{ from, to, want string }{
		{`claims = []`, "claims = []\n[daemon]\nrun_timeout = \"0\"", `daemon.run_timeout: must be positive (e.g. "10m")`},
		{`claims = []`, "claims = []\n[daemon]\nrun_timeout = \"0s\"", `daemon.run_timeout: must be positive (e.g. "10m")`},
		{`claims = []`, "claims = []\n[daemon]\nrun_timeout = \"0d\"", `daemon.run_timeout: must be positive (e.g. "10m")`},
		{`claims = []`, "claims = []\n[daemon]\nretain_snapshots = 0", `daemon.retain_snapshots: must be at least 1`},
		{`claims = []`, "claims = []\n[daemon]\nretain_snapshots = -2", `daemon.retain_snapshots: must be at least 1`},
		{`[[integration]]`, "[expiry]\nwarning = \"0\"\n[[integration]]", `expiry.warning: must be positive (e.g. "30d")`},
		{`[[integration]]`, "[expiry]\ncritical = \"0s\"\n[[integration]]", `expiry.critical: must be positive (e.g. "7d")`},
		{`claims = []`, "claims = []\n[telemetry]\nexport_interval = \"0\"", `telemetry.export_interval: must be positive (e.g. "60s")`},
		{`[cloudflare]`, "max_in_flight = 0\n[cloudflare]", `entra.max_in_flight: must be between 1 and 16 (default 4)`},
		{`[cloudflare]`, "max_in_flight = 17\n[cloudflare]", `entra.max_in_flight: must be between 1 and 16 (default 4)`},
	}
	for _, tc := range refused {
		text := strings.Replace(validConfig, tc.from, tc.to, 1)
		_, err := LoadWith(writeConfig(t, text), testEnv(canaryEnv))
		checkErr(t, err, tc.want)
		if tc.from == `claims = []` && strings.Contains(tc.to, "[daemon]") {
			// driftd status & co. apply the same rule.
			_, err := LoadForState(writeConfig(t, text))
			checkErr(t, err, tc.want)
		}
	}

	// Absent keys, even in a table that is present, take the defaults.
	text := validConfig + "\n[expiry]\n[daemon]\nschedule = \"@hourly\"\n[telemetry]\n"
	cfg, err := LoadWith(writeConfig(t, text), testEnv(canaryEnv))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(cfg.Daemon.RunTimeout) != 10*time.Minute || cfg.Daemon.RetainSnapshots != 50 {
		t.Errorf("daemon defaults: %+v", cfg.Daemon)
	}
	if time.Duration(cfg.Expiry.Warning) != 30*24*time.Hour || time.Duration(cfg.Expiry.Critical) != 7*24*time.Hour {
		t.Errorf("expiry defaults: %+v", cfg.Expiry)
	}
	if cfg.Entra.MaxInFlight != 4 {
		t.Errorf("entra.max_in_flight default: %d", cfg.Entra.MaxInFlight)
	}
	if time.Duration(cfg.Telemetry.ExportInterval) != time.Minute {
		t.Errorf("telemetry.export_interval default: %v", cfg.Telemetry.ExportInterval)
	}

	// Zeros that mean something: checks turned off, no jitter, no reminders.
	text = validConfig + "\n[expiry]\nmax_secret_lifetime = \"0\"\nscim_stale_after = \"0s\"\n[daemon]\njitter = \"0\"\nretain_snapshots = 1\nrun_timeout = \"1s\"\n" +
		"[[notify.slack]]\nname = \"a\"\ntoken = \"x\"\nchannel = \"#a\"\nrepeat_interval = \"0\"\n" +
		"[[notify.slack]]\nname = \"b\"\ntoken = \"x\"\nchannel = \"#a\"\nrepeat_interval = \"0d\"\n" +
		"[[notify.slack]]\nname = \"c\"\ntoken = \"x\"\nchannel = \"#a\"\n"
	cfg, err = LoadWith(writeConfig(t, text), testEnv(canaryEnv))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Expiry.MaxSecretLifetime != 0 || cfg.Expiry.SCIMStaleAfter != 0 {
		t.Errorf("expiry zeros: %+v", cfg.Expiry)
	}
	if cfg.Daemon.Jitter != 0 || cfg.Daemon.RetainSnapshots != 1 || time.Duration(cfg.Daemon.RunTimeout) != time.Second {
		t.Errorf("daemon: %+v", cfg.Daemon)
	}
	for i, want := range []time.Duration{0, 0, 24 * time.Hour} {
		if got := cfg.Notify.Slack[i].Repeat; got != want {
			t.Errorf("notify.slack[%d].Repeat = %v, want %v", i, got, want)
		}
	}
}
