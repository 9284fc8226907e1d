// Command driftd audits the Microsoft Entra ID ↔ Cloudflare Zero Trust
// integration for configuration drift. It parses flags, loads the
// configuration, calls the engine and maps the outcome to output and an
// exit code; everything else lives in the packages it calls.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/driftd/driftd/internal/cli"
)

// Exit codes are a public interface: CI jobs branch on them.
const (
	exitOK         = 0
	exitFindings   = 1
	exitError      = 2
	exitIncomplete = 3
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// exitCodes explains check's exit codes, in driftd help and driftd check -h.
const exitCodes = `Exit codes of check: 0 no finding at or above --fail-on; 1 findings; 2 configuration
or runtime error, or --notify could not deliver (unless there are findings: then 1);
3 the audit was incomplete and found nothing at or above --fail-on.
`

// action runs a command once its flags are parsed.
type action = cli.Action

// program is driftd's commands, in the order driftd help lists them.
func program() cli.Program {
	return cli.Program{Name: "driftd", Title: "driftd audits the Microsoft Entra ID ↔ Cloudflare Zero Trust integration.",
		Footer: exitCodes, ErrorCode: exitError,
		Commands: []cli.Command{
			{Name: "check", Summary: "audit once and print the report", More: exitCodes, Define: defineCheck},
			{Name: "run", Summary: "the scheduled daemon", Define: defineRun},
			{Name: "status", Summary: "recent runs, open findings and baselines", Define: defineStatus},
			{Name: "findings", Summary: "the findings in the state store", Define: defineFindings},
			{Name: "baseline approve", Summary: "approve a run's snapshot as the baseline DRIFT-001 compares with", Define: defineBaseline},
			{Name: "diff", Args: []string{"RUN_A RUN_B", "--baseline [RUN]"}, Summary: "field-level difference between two stored runs, or the baseline and a run", Define: defineDiff},
			{Name: "report", Summary: "a one-file HTML audit report from the state store", Define: defineReport},
			{Name: "notify test", Summary: "send a test message to each notification route", Define: defineNotifyTest},
			{Name: "config check", Summary: "validate the configuration without any network call", Define: defineConfigCheck},
			{Name: "config show", Summary: "the effective configuration, defaults filled in, secrets shown by their source", Define: defineConfigShow},
			{Name: "checks", Summary: "the check catalog", Define: defineChecks},
			{Name: "demo", Summary: "audit a built-in simulated tenant (no credentials, no network)", Define: defineDemo},
			{Name: "version", Aliases: []string{"--version"}, Summary: "print driftd's version", Define: defineVersion},
		}}
}

// run is main without os.Exit, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	// Signals become context cancellation here and nowhere else.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return program().Run(ctx, args, stdout, stderr)
}

func defineVersion(*flag.FlagSet) action {
	return func(_ context.Context, _ []string, stdout, _ io.Writer) (int, error) {
		fmt.Fprintf(stdout, "driftd %s\n", versionString())
		return exitOK, nil
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// noArguments refuses arguments after the flags.
func noArguments(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	return nil
}
