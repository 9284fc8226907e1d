// Command driftd audits the Microsoft Entra ID ↔ Cloudflare Zero Trust
// integration for configuration drift.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/driftd/driftd/internal/textsafe"
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

const usage = `driftd audits the Microsoft Entra ID ↔ Cloudflare Zero Trust integration.

Usage:
  driftd check     [--config FILE] [--format table|json|markdown] [--fail-on SEVERITY]
                   [--integration NAME] [--state-dir DIR] [--notify [--notify-timeout 30s]]
                                                              audit once
  driftd run       [--config FILE]                            the scheduled daemon
  driftd status    [--config FILE]                            recent runs and open findings
  driftd findings  [--config FILE] [--all] [--format table|json]
  driftd baseline approve [--config FILE] [--integration NAME] [--from-run ID]
  driftd diff      [--config FILE] RUN_A RUN_B | --baseline [RUN]
  driftd notify test [--config FILE] [--route NAME]           send a test message per Slack route
  driftd checks    [--format table|json]                      the check catalog
  driftd demo      [--scenario drifted|healthy] [--format …]  audit a built-in simulated tenant
  driftd version

Exit codes of check: 0 no finding at or above --fail-on; 1 findings; 2 configuration
or runtime error, or --notify could not deliver (unless there are findings: then 1);
3 the audit was incomplete and found nothing at or above --fail-on.
`

// run is main without os.Exit, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	// Signals become context cancellation here and nowhere else.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd, rest := args[0], args[1:]
	var err error
	code := exitOK
	switch cmd {
	case "check":
		code, err = cmdCheck(ctx, rest, stdout, stderr)
	case "checks":
		err = cmdChecks(rest, stdout, stderr)
	case "demo":
		code, err = cmdDemo(ctx, rest, stdout, stderr)
	case "run":
		err = cmdRun(ctx, rest, stderr)
	case "status":
		err = cmdStatus(ctx, rest, stdout, stderr)
	case "findings":
		err = cmdFindings(ctx, rest, stdout, stderr)
	case "baseline":
		err = cmdBaseline(ctx, rest, stdout, stderr)
	case "diff":
		err = cmdDiff(ctx, rest, stdout, stderr)
	case "notify":
		err = cmdNotify(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "driftd %s\n", versionString())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("unknown command %q (see driftd help)", cmd)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "driftd %s: %s\n", cmd, oneLine(err.Error()))
		}
		return exitError
	}
	return code
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

// oneLine keeps error output to a single line: line breaks become
// spaces, and any other control character (an error may quote API data)
// a visible escape.
func oneLine(s string) string {
	return textsafe.Line(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}

// newFlagSet returns a flag set that reports its own errors to stderr.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("driftd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// isTerminal reports whether w is a character device (colour is used only
// then, and never when NO_COLOR is set).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
