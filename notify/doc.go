// Package notify will deliver findings to Slack and OpenTelemetry. It is
// not implemented yet: today driftd reports only through `driftd check`
// output and exit codes.
package notify
