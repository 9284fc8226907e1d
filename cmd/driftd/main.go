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
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

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

// exitCodes explains check's exit codes, in driftd help and driftd check -h.
const exitCodes = `Exit codes of check: 0 no finding at or above --fail-on; 1 findings; 2 configuration
or runtime error, or --notify could not deliver (unless there are findings: then 1);
3 the audit was incomplete and found nothing at or above --fail-on.
`

// run is main without os.Exit, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		writeUsage(stderr)
		return exitError
	}
	// Signals become context cancellation here and nowhere else.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cmd, rest := args[0], args[1:]
	// A command of two words (baseline approve, notify test) needs both.
	if subs := subcommands(cmd); len(subs) > 0 && (len(rest) == 0 || !slices.Contains(subs, rest[0])) {
		if len(rest) > 0 && isHelpFlag(rest[0]) {
			writeHelp(stdout, cmd)
			return exitOK
		}
		fmt.Fprintf(stderr, "driftd %s: usage: driftd %s %s [flags] (see driftd help %s)\n", cmd, cmd, strings.Join(subs, "|"), cmd)
		return exitError
	}
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
	case "help", "-h", "-help", "--help":
		err = cmdHelp(rest, stdout)
	default:
		err = fmt.Errorf("unknown command %q (see driftd help)", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		// -h or --help after a command: its flags, from its flag set.
		name := cmd
		if len(subcommands(cmd)) > 0 {
			name += " " + rest[0]
		}
		writeHelp(stdout, name)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "driftd %s: %s\n", cmd, oneLine(err.Error()))
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

// newFlagSet returns the flag set of a command. It prints nothing itself:
// run reports a parse error in one line, and answers -h with the
// command's help.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("driftd "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
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

// command is one subcommand as the help lists it. Its flags come from the
// same function that defines them for the command itself, so the help
// cannot drift from what the command accepts.
type command struct {
	name    string   // the words that select it, e.g. "baseline approve"
	args    []string // the arguments after the flags, one entry per form
	summary string   // one line for driftd help
	more    string   // added to driftd COMMAND -h
	flags   func() *flag.FlagSet
}

// commands lists every subcommand, in the order driftd help shows them.
func commands() []command {
	return []command{
		{name: "check", summary: "audit once and print the report", more: exitCodes,
			flags: func() *flag.FlagSet { fs, _, _, _, _ := checkFlags(new(checkOptions)); return fs }},
		{name: "run", summary: "the scheduled daemon",
			flags: func() *flag.FlagSet { fs, _ := runFlags(); return fs }},
		{name: "status", summary: "recent runs, open findings and baselines",
			flags: func() *flag.FlagSet { fs, _, _, _ := statusFlags(); return fs }},
		{name: "findings", summary: "the findings in the state store",
			flags: func() *flag.FlagSet { fs, _, _, _ := findingsFlags(); return fs }},
		{name: "baseline approve", summary: "approve a run's snapshot as the baseline DRIFT-001 compares with",
			flags: func() *flag.FlagSet { fs, _, _, _ := baselineFlags(); return fs }},
		{name: "diff", args: []string{"RUN_A RUN_B", "--baseline [RUN]"}, summary: "field-level difference between two stored runs, or the baseline and a run",
			flags: func() *flag.FlagSet { fs, _, _, _, _ := diffFlags(); return fs }},
		{name: "notify test", summary: "send a test message to each Slack route",
			flags: func() *flag.FlagSet { fs, _, _ := notifyTestFlags(); return fs }},
		{name: "checks", summary: "the check catalog",
			flags: func() *flag.FlagSet { fs, _ := checksFlags(); return fs }},
		{name: "demo", summary: "audit a built-in simulated tenant (no credentials, no network)",
			flags: func() *flag.FlagSet { fs, _, _, _ := demoFlags(); return fs }},
		{name: "version", summary: "print driftd's version"},
		{name: "help", args: []string{"[COMMAND]"}, summary: "this text, or the flags of COMMAND"},
	}
}

// subcommands returns the second words of the commands that start with
// word, if they have two.
func subcommands(word string) []string {
	var subs []string
	for _, c := range commands() {
		if first, second, ok := strings.Cut(c.name, " "); ok && first == word {
			subs = append(subs, second)
		}
	}
	return subs
}

func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// writeUsage writes the summary: one line per command.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, "driftd audits the Microsoft Entra ID ↔ Cloudflare Zero Trust integration.\n\n")
	fmt.Fprint(w, "Usage: driftd COMMAND [flags] [arguments]\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		line := c.name
		if len(c.args) > 0 {
			line += " " + c.args[0]
		}
		fmt.Fprintf(tw, "  %s\t%s\n", line, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\ndriftd COMMAND -h (or driftd help COMMAND) lists the flags of COMMAND.\n\n")
	fmt.Fprint(w, exitCodes)
}

// cmdHelp is `driftd help [COMMAND]`.
func cmdHelp(args []string, stdout io.Writer) error {
	if len(args) == 0 || isHelpFlag(args[0]) {
		writeUsage(stdout)
		return nil
	}
	name := strings.Join(args, " ")
	if len(args) == 1 {
		if subs := subcommands(args[0]); len(subs) > 0 {
			name += " " + subs[0]
		}
	}
	if !slices.ContainsFunc(commands(), func(c command) bool { return c.name == name }) {
		return fmt.Errorf("unknown command %q (see driftd help)", name)
	}
	writeHelp(stdout, name)
	return nil
}

// writeHelp writes the help of the commands named name, or of every
// command whose first word it is: how to call it, what it does, and
// every flag of its flag set.
func writeHelp(w io.Writer, name string) {
	first := true
	for _, c := range commands() {
		if c.name != name && !strings.HasPrefix(c.name, name+" ") {
			continue
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		var fs *flag.FlagSet
		if c.flags != nil {
			fs = c.flags()
		}
		forms := c.args
		if len(forms) == 0 {
			forms = []string{""}
		}
		for i, form := range forms {
			line := "driftd " + c.name
			if fs != nil {
				line += " [flags]"
			}
			if form != "" {
				line += " " + form
			}
			if i == 0 {
				fmt.Fprintf(w, "Usage: %s\n", line)
			} else {
				fmt.Fprintf(w, "       %s\n", line)
			}
		}
		fmt.Fprintf(w, "\n%s%s.\n", strings.ToUpper(c.summary[:1]), c.summary[1:])
		if fs != nil {
			fmt.Fprint(w, "\nFlags:\n")
			writeFlags(w, fs)
		}
		if c.more != "" {
			fmt.Fprintf(w, "\n%s", c.more)
		}
	}
}

// writeFlags lists every flag of fs, one a line: its name, a placeholder
// for its value, what it does and its default.
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		placeholder, text := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if placeholder != "" {
			name += " " + strings.ToUpper(placeholder)
		}
		if def := flagDefault(f); def != "" {
			text += " (default " + def + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, text)
	})
	tw.Flush()
}

// flagDefault is the default of f as the help shows it, or "" when it is
// the zero value (off, empty or 0).
func flagDefault(f *flag.Flag) string {
	if g, ok := f.Value.(flag.Getter); ok {
		if d, ok := g.Get().(time.Duration); ok {
			if d == 0 {
				return ""
			}
			// 5m rather than 5m0s.
			s := d.String()
			if strings.HasSuffix(s, "m0s") {
				s = strings.TrimSuffix(s, "0s")
			}
			if strings.HasSuffix(s, "h0m") {
				s = strings.TrimSuffix(s, "0m")
			}
			return s
		}
	}
	switch f.DefValue {
	case "", "false", "0":
		return ""
	}
	return f.DefValue
}
