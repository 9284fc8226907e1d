// Package cli is the command-line surface driftd's commands share: a
// help text derived from each command's own flag set (so it cannot drift
// from what the command accepts), flag sets that print nothing
// themselves, and one-line error output.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/driftd/driftd/internal/textsafe"
)

// Action runs a command once its flags are parsed; args are the
// arguments after them. It returns the exit code, or an error (printed in
// one line, exit code Program.ErrorCode).
type Action func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error)

// Command is one subcommand.
type Command struct {
	Name    string   // the words that select it, e.g. "baseline approve"
	Aliases []string // other names of one word, e.g. "--version"
	Args    []string // the arguments after the flags, one entry per form
	Summary string   // one line for the usage
	More    string   // added to PROGRAM COMMAND -h
	// Define defines the command's flags on fs and returns what runs it.
	// The help lists the flags from the same function, so it cannot
	// drift from what the command accepts.
	Define func(fs *flag.FlagSet) Action
}

// Program is a command with subcommands: PROGRAM COMMAND [flags] [args].
// `help [COMMAND]`, -h and --help are built in.
type Program struct {
	Name, Title string
	// Footer ends the usage (the exit codes).
	Footer   string
	Commands []Command
	// ErrorCode is the exit code of an error or a usage mistake.
	ErrorCode int
}

// NewFlagSet returns the flag set of a command. It prints nothing itself:
// the caller reports a parse error in one line, and answers -h with the
// command's help.
func (p Program) NewFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(p.Name+" "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// Subcommands returns the second words of the commands that start with
// word, if they have two.
func (h Program) Subcommands(word string) []string {
	var subs []string
	for _, c := range h.Commands {
		if first, second, ok := strings.Cut(c.Name, " "); ok && first == word {
			subs = append(subs, second)
		}
	}
	return subs
}

// Resolve names the command that `help args...` asks about: a word that
// starts commands of two words means the first of them. ok is false when
// there is no such command.
func (h Program) Resolve(args []string) (name string, ok bool) {
	name = strings.Join(args, " ")
	if len(args) == 1 {
		if subs := h.Subcommands(args[0]); len(subs) > 0 {
			name += " " + subs[0]
		}
	}
	return name, slices.ContainsFunc(h.Commands, func(c Command) bool { return c.Name == name })
}

// Run runs the command args name with the rest of args, and returns the
// exit code.
func (h Program) Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		h.WriteUsage(stderr)
		return h.ErrorCode
	}
	word, rest := args[0], args[1:]
	name := word
	// A command of two words (baseline approve, notify test) needs both.
	if subs := h.Subcommands(word); len(subs) > 0 {
		if len(rest) == 0 || !slices.Contains(subs, rest[0]) {
			if len(rest) > 0 && IsHelpFlag(rest[0]) {
				h.Write(stdout, word)
				return 0
			}
			fmt.Fprintf(stderr, "%[1]s %[2]s: usage: %[1]s %[2]s %[3]s [flags] (see %[1]s help %[2]s)\n", h.Name, word, strings.Join(subs, "|"))
			return h.ErrorCode
		}
		name, rest = word+" "+rest[0], rest[1:]
	}
	code, err := h.dispatch(ctx, name, rest, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		// -h or --help after a command: its flags, from its flag set.
		h.Write(stdout, name)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s %s: %s\n", h.Name, word, OneLine(err.Error()))
		return h.ErrorCode
	}
	return code
}

// dispatch parses the flags of the command called name and runs it.
func (h Program) dispatch(ctx context.Context, name string, args []string, stdout, stderr io.Writer) (int, error) {
	if name == "help" || IsHelpFlag(name) {
		return 0, h.help(args, stdout)
	}
	i := slices.IndexFunc(h.Commands, func(c Command) bool { return c.Name == name || slices.Contains(c.Aliases, name) })
	if i < 0 {
		return h.ErrorCode, fmt.Errorf("unknown command %q (see %s help)", name, h.Name)
	}
	fs := h.NewFlagSet(h.Commands[i].Name)
	act := h.Commands[i].Define(fs)
	if err := fs.Parse(args); err != nil {
		return h.ErrorCode, err
	}
	return act(ctx, fs.Args(), stdout, stderr)
}

// help is `PROGRAM help [COMMAND]`.
func (h Program) help(args []string, stdout io.Writer) error {
	if len(args) == 0 || IsHelpFlag(args[0]) {
		h.WriteUsage(stdout)
		return nil
	}
	// help GROUP shows every command of the group, as GROUP -h does.
	if len(args) == 1 && len(h.Subcommands(args[0])) > 0 {
		h.Write(stdout, args[0])
		return nil
	}
	name, ok := h.Resolve(args)
	if !ok {
		return fmt.Errorf("unknown command %q (see %s help)", name, h.Name)
	}
	h.Write(stdout, name)
	return nil
}

// WriteUsage writes the summary: one line per command.
func (h Program) WriteUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage: %s COMMAND [flags] [arguments]\n\n", h.Title, h.Name)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range h.Commands {
		line := c.Name
		if len(c.Args) > 0 {
			line += " " + c.Args[0]
		}
		fmt.Fprintf(tw, "  %s\t%s\n", line, c.Summary)
	}
	fmt.Fprintf(tw, "  help [COMMAND]\tthis text, or the flags of COMMAND\n")
	tw.Flush()
	fmt.Fprintf(w, "\n%[1]s COMMAND -h (or %[1]s help COMMAND) lists the flags of COMMAND.\n\n%s", h.Name, h.Footer)
}

// Write writes the help of the command named name, or of every command
// whose first word it is: how to call it, what it does, and every flag of
// its flag set.
func (h Program) Write(w io.Writer, name string) {
	first := true
	for _, c := range h.Commands {
		if c.Name != name && !strings.HasPrefix(c.Name, name+" ") {
			continue
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		fs := h.FlagSet(c)
		forms := c.Args
		if len(forms) == 0 {
			forms = []string{""}
		}
		for i, form := range forms {
			line := h.Name + " " + c.Name
			if hasFlags(fs) {
				line += " [flags]"
			}
			if form != "" {
				line += " " + form
			}
			prefix := "Usage: "
			if i > 0 {
				prefix = "       "
			}
			fmt.Fprintf(w, "%s%s\n", prefix, line)
		}
		fmt.Fprintf(w, "\n%s%s.\n", strings.ToUpper(c.Summary[:1]), c.Summary[1:])
		if hasFlags(fs) {
			fmt.Fprint(w, "\nFlags:\n")
			writeFlags(w, fs)
		}
		if c.More != "" {
			fmt.Fprintf(w, "\n%s", c.More)
		}
	}
}

// FlagSet is the flag set command c defines.
func (h Program) FlagSet(c Command) *flag.FlagSet {
	fs := h.NewFlagSet(c.Name)
	if c.Define != nil {
		c.Define(fs)
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
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
		if def := FlagDefault(f); def != "" {
			text += " (default " + def + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, text)
	})
	tw.Flush()
}

// FlagDefault is the default of f as the help shows it, or "" when it is
// the zero value (off, empty or 0).
func FlagDefault(f *flag.Flag) string {
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

// IsHelpFlag reports whether arg asks for help.
func IsHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// OneLine keeps error output to a single line: line breaks become
// spaces, and any other control character (an error may quote API data)
// a visible escape.
func OneLine(s string) string {
	return textsafe.Line(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}

// IsTerminal reports whether w is a character device (colour is used only
// then, and never when NO_COLOR is set).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
