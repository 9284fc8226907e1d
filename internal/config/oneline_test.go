package config

import (
	"strings"
	"testing"
)

// Values a library echoes in its error (the cron parser, a header name in
// a key) must not split an error over several lines.
func TestErrorsStayOneLine(t *testing.T) {
	for _, tc := range []struct{ extra, want string }{
		{"[daemon]\nschedule = \"@every 1h\\nx\"", `daemon.schedule: "@every 1h\nx" is not a cron spec`},
		{"[daemon]\nschedule = \"@bogus\\nx\"", `unrecognized descriptor: @bogus\nx`},
		{"[daemon]\nschedule = \"TZ=\\n * * * * *\"", `daemon.schedule: "TZ=\n * * * * *"`},
		{"[telemetry]\nheaders = { \"a\\nb\" = \"${UNSET_ANYWHERE}\" }", `telemetry.headers."a\nb": environment variable UNSET_ANYWHERE is not set`},
		{"[telemetry.headers]\n\"x\\ny\" = [\"" + canary + "\"]", `telemetry.headers."x\ny": wrong type`},
		{"[entra]\nclient_secret_file = \"/nonexistent/a\\nb\"", `cannot read "/nonexistent/a\nb"`},
	} {
		text := validConfig + "\n" + tc.extra + "\n"
		if strings.HasPrefix(tc.extra, "[entra]") {
			text = strings.Replace(validConfig, `client_secret = "${TEST_ENTRA_SECRET}"`, strings.TrimPrefix(tc.extra, "[entra]\n"), 1)
		}
		_, err := LoadWith(writeConfig(t, text), testEnv(canaryEnv))
		checkErr(t, err, tc.want)
	}
}
