package systemd_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
)

const unitFile = "driftd.service"

// maxExposure is the highest acceptable "Overall exposure level" reported by
// systemd-analyze security, in tenths (12 = 1.2).
const maxExposure = 12

// unit is a parsed unit file: section → key → the values in effect, after
// systemd's rule that an empty assignment resets a list.
type unit map[string]map[string][]string

// parseUnit reads systemd unit syntax: [Section] headers, Key=Value lines,
// '#' and ';' comments, and backslash line continuations.
func parseUnit(t *testing.T, data []byte) unit {
	t.Helper()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	lineNo := 0
	var pending string
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if pending != "" {
			line = pending + " " + strings.TrimSpace(line)
			pending = ""
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			pending = strings.TrimSuffix(trimmed, `\`)
			continue
		}
		if trimmed[0] == '[' {
			if !strings.HasSuffix(trimmed, "]") {
				t.Fatalf("%s:%d: malformed section header %q", unitFile, lineNo, trimmed)
			}
			section = trimmed[1 : len(trimmed)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		key, value, ok := strings.Cut(trimmed, "=")
		if !ok {
			t.Fatalf("%s:%d: not a Key=Value line: %q", unitFile, lineNo, trimmed)
		}
		if section == "" {
			t.Fatalf("%s:%d: assignment outside a section: %q", unitFile, lineNo, trimmed)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if value == "" {
			u[section][key] = nil
			continue
		}
		u[section][key] = append(u[section][key], value)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if pending != "" {
		t.Fatalf("%s: file ends inside a line continuation", unitFile)
	}
	return u
}

// one returns the single value of section.key, failing if it is absent or
// set more than once.
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	v := u[section][key]
	if len(v) != 1 {
		t.Fatalf("[%s] %s=: want exactly one value, have %q", section, key, v)
	}
	return v[0]
}

func loadUnit(t *testing.T) unit {
	t.Helper()
	data, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	return parseUnit(t, data)
}

func TestUnitDirectives(t *testing.T) {
	u := loadUnit(t)
	if u["Service"] == nil {
		t.Fatal("no [Service] section")
	}

	exact := []struct{ section, key, want string }{
		{"Service", "Type", "notify"},
		{"Service", "NotifyAccess", "main"},
		{"Service", "ExecStart", "/usr/local/bin/driftd run --config " + config.DefaultPath},
		{"Service", "Restart", "on-failure"},
		{"Service", "TimeoutStopSec", "30s"},
		{"Service", "DynamicUser", "yes"},
		{"Service", "StateDirectory", "driftd"},
		{"Service", "StateDirectoryMode", "0700"},
		{"Service", "UMask", "0077"},
		{"Service", "EnvironmentFile", "-/etc/driftd/driftd.env"},
		{"Install", "WantedBy", "multi-user.target"},
	}
	for _, c := range exact {
		if got := u.one(t, c.section, c.key); got != c.want {
			t.Errorf("[%s] %s=%s, want %s", c.section, c.key, got, c.want)
		}
	}

	// driftd's default state_dir is where systemd puts StateDirectory=.
	if got := "/var/lib/" + u.one(t, "Service", "StateDirectory"); got != config.DefaultStateDir {
		t.Errorf("StateDirectory= gives %s, but driftd's default state_dir is %s", got, config.DefaultStateDir)
	}

	// The watchdog must be armed: driftd only pings when WATCHDOG_USEC is set.
	wd := u.one(t, "Service", "WatchdogSec")
	if d, err := time.ParseDuration(strings.ReplaceAll(wd, "min", "m")); err != nil || d <= 0 {
		t.Errorf("WatchdogSec=%s: want a positive duration such as 2min", wd)
	}

	// ExecReload= sends SIGHUP to the main process.
	reload := strings.Fields(u.one(t, "Service", "ExecReload"))
	if len(reload) != 3 || filepath.Base(reload[0]) != "kill" || reload[1] != "-HUP" || reload[2] != "$MAINPID" {
		t.Errorf("ExecReload=%s, want kill -HUP $MAINPID", strings.Join(reload, " "))
	}

	// LoadCredential= IDs are the file names driftd looks up in
	// $CREDENTIALS_DIRECTORY; a source file missing at start makes the unit
	// fail, so only the two every client-secret setup needs are active.
	creds := map[string]string{}
	for _, v := range u["Service"]["LoadCredential"] {
		id, path, ok := strings.Cut(v, ":")
		if !ok {
			t.Errorf("LoadCredential=%s: want ID:PATH", v)
			continue
		}
		if _, dup := creds[id]; dup {
			t.Errorf("LoadCredential= %s given twice", id)
		}
		creds[id] = path
	}
	want := map[string]string{
		config.CredEntraClientSecret:  "/etc/driftd/credentials/" + config.CredEntraClientSecret,
		config.CredCloudflareAPIToken: "/etc/driftd/credentials/" + config.CredCloudflareAPIToken,
	}
	for id, path := range want {
		if creds[id] != path {
			t.Errorf("LoadCredential=%s:… is %q, want %q", id, creds[id], path)
		}
	}
	for id := range creds {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected LoadCredential=%s (its source file would be required at start)", id)
		}
	}

	// The sandbox, setting by setting: a later edit that loosens one is
	// caught here even while the overall exposure score stays under the bar.
	sandbox := map[string]string{
		"ConfigurationDirectory":  "driftd",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"DevicePolicy":            "closed",
		"PrivateMounts":           "yes",
		"PrivateIPC":              "yes",
		"PrivateUsers":            "yes",
		"RemoveIPC":               "yes",
		"KeyringMode":             "private",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectKernelLogs":       "yes",
		"ProtectClock":            "yes",
		"ProtectControlGroups":    "yes",
		"ProtectHostname":         "yes",
		"ProtectProc":             "invisible",
		"ProcSubset":              "pid",
		"NoNewPrivileges":         "yes",
		"RestrictSUIDSGID":        "yes",
		"RestrictNamespaces":      "yes",
		"RestrictRealtime":        "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallArchitectures": "native",
		"SystemCallErrorNumber":   "EPERM",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
	}
	for key, want := range sandbox {
		if got := u["Service"][key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %s", key, got, want)
		}
	}
	if got := strings.Join(u["Service"]["SystemCallFilter"], " | "); got != "@system-service | ~@privileged @resources" {
		t.Errorf("SystemCallFilter= is %q, want @system-service, then ~@privileged @resources", got)
	}

	// Empty assignments: no capabilities at all, none ambient.
	for _, key := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		v, set := u["Service"][key]
		if !set || len(v) != 0 {
			t.Errorf("%s= must be present and empty, have %q (set: %v)", key, v, set)
		}
	}
	// Running as root or a fixed account would defeat DynamicUser=.
	for _, key := range []string{"User", "Group", "SupplementaryGroups", "ReadWritePaths"} {
		if v, set := u["Service"][key]; set {
			t.Errorf("%s=%q must not be set", key, v)
		}
	}
	// The daemon needs the internet: no blanket IP deny list in the shipped unit.
	if v := u["Service"]["IPAddressDeny"]; len(v) != 0 {
		t.Errorf("IPAddressDeny=%q would cut driftd off from Entra and Cloudflare", v)
	}
}

// systemdAnalyze returns the path of systemd-analyze, skipping the test when
// it is missing or too old for --offline (systemd 250).
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found on PATH; install systemd (250 or newer) to check the unit's sandbox")
	}
	out, err := exec.Command(sa, "--version").Output()
	if err != nil {
		t.Skipf("systemd-analyze --version: %v", err)
	}
	m := regexp.MustCompile(`^systemd (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Skipf("cannot tell the systemd version from %q", firstLine(out))
	}
	if v, _ := strconv.Atoi(string(m[1])); v < 250 {
		t.Skipf("systemd %d: systemd-analyze security --offline needs 250 or newer", v)
	}
	return sa
}

// isolatedUnit copies the unit into a fresh directory, so that neither a
// drop-in directory next to the source file nor one installed on this
// machine (/etc/systemd/system/driftd.service.d) changes what is analysed,
// and returns the copy's path and an environment limiting systemd's unit
// search path to that directory.
func isolatedUnit(t *testing.T, edit func(string) string) (string, []string) {
	t.Helper()
	data, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if edit != nil {
		text = edit(text)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, unitFile)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"SYSTEMD_UNIT_PATH="+dir,
		"SYSTEMD_COLORS=0",
		"SYSTEMD_PAGER=",
		"SYSTEMD_LOG_LEVEL=notice",
	)
	return path, env
}

var exposureLine = regexp.MustCompile(`Overall exposure level for driftd\.service: (\d+)\.(\d)\b`)

func TestSecurityExposure(t *testing.T) {
	sa := systemdAnalyze(t)
	path, env := isolatedUnit(t, nil)

	// Score with systemd's built-in weights, not a systemd-analyze-security.policy
	// that may be installed on this machine.
	policy := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policy, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sa, "security", "--offline=true", "--security-policy="+policy,
		"--threshold="+strconv.Itoa(maxExposure), path)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Errorf("systemd-analyze security printed warnings:\n%s", s)
	}
	m := exposureLine.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no overall exposure level in the output (%v):\n%s", runErr, stdout.String())
	}
	whole, _ := strconv.Atoi(m[1])
	tenth, _ := strconv.Atoi(m[2])
	score := whole*10 + tenth
	t.Logf("overall exposure level: %d.%d", whole, tenth)
	if score > maxExposure {
		t.Errorf("overall exposure level %d.%d is above %d.%d; what still counts:\n%s",
			whole, tenth, maxExposure/10, maxExposure%10, exposedItems(stdout.String()))
	}
	if runErr != nil {
		t.Errorf("systemd-analyze security --threshold=%d: %v", maxExposure, runErr)
	}
}

// exposedItems keeps the ✗ lines of a security report.
func exposedItems(report string) string {
	var b strings.Builder
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "✗") {
			fmt.Fprintln(&b, l)
		}
	}
	return b.String()
}

func TestVerify(t *testing.T) {
	sa := systemdAnalyze(t)
	// verify insists that ExecStart='s binary exists; point it at one that
	// does rather than installing driftd.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(self, " \t\"'\\%$") {
		t.Skipf("test binary path %q needs quoting in a unit file", self)
	}
	path, env := isolatedUnit(t, func(s string) string {
		return strings.Replace(s, "ExecStart=/usr/local/bin/driftd ", "ExecStart="+self+" ", 1)
	})
	// Dependencies such as network-online.target come from the system's
	// unit directories; keep them in the search path.
	for i, kv := range env {
		if strings.HasPrefix(kv, "SYSTEMD_UNIT_PATH=") {
			env[i] = kv + ":" // trailing colon: this directory, then the defaults
		}
	}
	if _, err := os.Stat("/bin/kill"); err != nil {
		t.Skip("/bin/kill (ExecReload=) does not exist here")
	}
	cmd := exec.Command(sa, "verify", path)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}
