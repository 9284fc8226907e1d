package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDurationRange(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"36500d":    MaxDuration,
		"36499d24h": MaxDuration,
		"876000h":   MaxDuration,
		"0":         0,
		"0s":        0,
		"1d":        day,
		"7d12h30m":  7*day + 12*time.Hour + 30*time.Minute,
		" 30d ":     30 * day,
		"1h30m":     90 * time.Minute,
		"1.5h":      90 * time.Minute,
		"100ms":     100 * time.Millisecond,
		"00010d":    10 * day,
		"36499d23h": 36499*day + 23*time.Hour,
		"1d0.5h":    day + 30*time.Minute,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	tooLong := []string{
		"213504d",              // wrapped round to 25m26s
		"106752d",              // wrapped round to a negative duration
		"36501d",               // just over the maximum
		"36500d1ns",            // the maximum plus a little
		"36500d2000000h",       // the sum overflows int64
		"36000d900000h",        // each part fits, the sum is too long
		"876001h",              // a plain Go duration over the maximum
		"2562047h",             // the largest Go accepts, still too long
		"9223372036854775807d", // days overflow int64 on their own
		"99999999999999999999d",
	}
	for _, in := range tooLong {
		_, err := ParseDuration(in)
		want := "duration \"" + strings.TrimSpace(in) + "\" is too long (max 36500d)"
		if err == nil || err.Error() != want {
			t.Errorf("ParseDuration(%q): got %v, want %q", in, err, want)
		}
	}
	for _, in := range []string{"-5h", "-3d", "-0s", "-1d2h"} {
		_, err := ParseDuration(in)
		if err == nil || !strings.Contains(err.Error(), "must not be negative") {
			t.Errorf("ParseDuration(%q): got %v, want a negative-duration error", in, err)
		}
	}
	for _, in := range []string{"1d-5h", "1d+5h", "+3d", "+5h", "3d-", "1d 5h", "d5h", "1.5d", "1e3d", "0x10d", "1_0d", "3dd", "5h3d", "1d2d", "30 days", "\n", "1d\x00", "∞"} {
		_, err := ParseDuration(in)
		if err == nil {
			t.Errorf("ParseDuration(%q): want an error", in)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseDuration(%q): error spans several lines: %q", in, err)
		}
	}
}

func TestDurationKeysRejectOverflow(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{`[[integration]]`, "[expiry]\nwarning = \"213504d\"\n[[integration]]", `expiry.warning: duration "213504d" is too long (max 36500d)`},
		{`[[integration]]`, "[expiry]\ncritical = \"106752d\"\n[[integration]]", `expiry.critical: duration "106752d" is too long (max 36500d)`},
		{`[[integration]]`, "[expiry]\nmax_secret_lifetime = \"106752d\"\n[[integration]]", `expiry.max_secret_lifetime: duration "106752d" is too long (max 36500d)`},
		{`[[integration]]`, "[expiry]\nmax_secret_lifetime = \"-1d\"\n[[integration]]", `expiry.max_secret_lifetime: duration "-1d" must not be negative`},
		{`[[integration]]`, "[expiry]\nscim_stale_after = \"-2h\"\n[[integration]]", `expiry.scim_stale_after: duration "-2h" must not be negative`},
		{`claims = []`, "claims = []\n[daemon]\nrun_timeout = \"1d-5h\"", `daemon.run_timeout: invalid duration "1d-5h"`},
		{`claims = []`, "claims = []\n[daemon]\njitter = \"-5m\"", `daemon.jitter: duration "-5m" must not be negative`},
		{`claims = []`, "claims = []\n[telemetry]\nexport_interval = \"300000d\"", `telemetry.export_interval: duration "300000d" is too long`},
		{`claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\ntoken = \"x\"\nchannel = \"#a\"\nrepeat_interval = \"213504d\"", `notify.slack "sec".repeat_interval`},
		{`claims = []`, "claims = []\n[[notify.slack]]\nname = \"sec\"\ntoken = \"x\"\nchannel = \"#a\"\nrepeat_interval = \"-1h\"", `notify.slack "sec".repeat_interval`},
	} {
		_, err := LoadWith(writeConfig(t, strings.Replace(validConfig, tc.from, tc.to, 1)), testEnv(canaryEnv))
		checkErr(t, err, tc.want)
	}
}
