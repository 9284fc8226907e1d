package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/driftd/driftd/checks"
	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/textsafe"
)

// pwn is a gap error that, printed raw, retitles the terminal, clears the
// screen and overwrites the line with a reassuring lie.
const pwn = "\x1b]0;pwned\x07\x1b[2J\rAll checks passed"

// hostile is the sample report with attacker-controlled text in every
// field that comes from API data.
func hostile() *Report {
	r := sample()
	for i := range r.Findings {
		f := &r.Findings[i]
		f.Message = pwn + " | `code` **bold** [link](https://evil.example) <img src=x>\n## heading"
		f.Expected = "line1\nline2\ttab\u0085nel"
		f.Actual = "\u202egnp.exe\u202c \u2066iso\u2069 zero\u200bwidth \xff\xfe"
		f.Resource.Name = "\x9b31mC1 name"
		f.Remediation = "fix\x1b[8mhidden \x9b31mC1"
		f.Changes = hostileChanges()
	}
	r.Gaps[0].Error = pwn
	r.Gaps[0].What = "entra.provisioning\r\x1b[K"
	r.Results[0].Reason = pwn
	return r
}

// hostileChanges is attribution whose every field comes from an
// attacker: an actor name that rewrites the terminal, Markdown and HTML
// in the activity, control characters in the changed properties.
func hostileChanges() []finding.Change {
	at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	return []finding.Change{{
		Source: "entra", At: at, Activity: "**Update** [app](https://evil.example) <script>|x|",
		Actor: pwn + " `eve`@evil.example", ActorType: finding.ActorApp, ActorID: "id\u202e|", IP: "203.0.113.7\n## heading",
		Modified: []finding.ModifiedProperty{{Name: "name\x1b[2J", Old: "old\r<img src=x>", New: "\u202enew\u202c | _x_"}},
	}}
}

// checkClean fails if out holds a control character other than the
// writer's own newlines (and, with colour, its own SGR sequences), a
// bidirectional or zero-width character, or invalid UTF-8.
func checkClean(t *testing.T, name string, out []byte, color bool) {
	t.Helper()
	s := string(out)
	if color {
		s = regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(s, "")
	}
	if !utf8.ValidString(s) {
		t.Errorf("%s: invalid UTF-8 in the output", name)
	}
	for i, r := range s {
		if r == '\n' {
			continue
		}
		if textsafe.Unsafe(r) || r == utf8.RuneError {
			t.Errorf("%s: raw %U at byte %d:\n%s", name, r, i, s)
			return
		}
	}
}

func TestTextFormatsEscapeControlCharacters(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		color  bool
	}{
		{"table", FormatTable, false},
		{"table with colour", FormatTable, true},
		{"markdown", FormatMarkdown, false},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, hostile(), tc.format, Options{Color: tc.color}); err != nil {
			t.Fatal(err)
		}
		out := buf.Bytes()
		if !tc.color && bytes.IndexByte(out, 0x1b) >= 0 {
			t.Errorf("%s: ESC in the output", tc.name)
		}
		for _, b := range out {
			if b < 0x20 && b != '\n' && !(tc.color && b == 0x1b) {
				t.Errorf("%s: control byte %#x in the output", tc.name, b)
				break
			}
		}
		checkClean(t, tc.name, out, tc.color)
		for _, want := range []string{`\x1b]0;pwned\x07\x1b`, `\rAll checks passed`, `\u202egnp.exe\u202c`, `\xff\xfe`, `\x9b31mC1`,
			"changed by " + textsafe.Line(pwn), `(app id\u202e|)`, `name\x1b[2J: old\r<img src=x> → \u202enew\u202c | _x_`, `(from 203.0.113.7\n## heading)`} {
			if tc.format == FormatMarkdown {
				want = mdEscape(want)
			}
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("%s: lacks the visible escape %q", tc.name, want)
			}
		}
	}
}

// Data can not add, remove or end a cell or a line of a Markdown table,
// nor format, link or embed.
func TestMarkdownStructure(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, hostile()); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	unescapedPipe := regexp.MustCompile(`(^|[^\\])(\\\\)*\|`)
	for line := range strings.SplitSeq(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			if strings.HasPrefix(line, "## heading") {
				t.Errorf("data started a heading: %q", line)
			}
			continue
		}
		// Count cell separators: pipes not preceded by an odd number of
		// backslashes.
		n := len(unescapedPipe.FindAllStringIndex(strings.ReplaceAll(line, "||", "| |"), -1))
		if n != 4 && n != 5 {
			t.Errorf("table row with %d cell separators: %q", n, line)
		}
	}
	for _, raw := range []string{"[link](", "<img", "**bold**", "`code`", "**Update**", "[app](", "<script>", "`eve`"} {
		if strings.Contains(md, raw) {
			t.Errorf("Markdown syntax from data kept: %q", raw)
		}
	}
}

func TestLongValuesAreClipped(t *testing.T) {
	r := sample()
	long := strings.Repeat("n", 100000)
	r.Findings[0].Resource.Name = long
	r.Findings[0].Message = long
	r.Findings[0].Expected = long
	r.Findings[0].Actual = long
	r.Findings[0].Changes = []finding.Change{{Actor: long, Activity: long, IP: long, ActorType: finding.ActorApp, ActorID: long,
		Modified: []finding.ModifiedProperty{{Name: long, Old: long, New: long}}}}
	r.Gaps[0].Error = long
	for _, format := range []Format{FormatTable, FormatMarkdown} {
		var buf bytes.Buffer
		if err := Write(&buf, r, format, Options{}); err != nil {
			t.Fatal(err)
		}
		if buf.Len() > 30000 {
			t.Errorf("%s: %d bytes for a report with 100,000-character values", format, buf.Len())
		}
		if !strings.Contains(buf.String(), textsafe.Marker(100000)) {
			t.Errorf("%s: no truncation marker", format)
		}
	}
	// JSON stays exact.
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), long) {
		t.Error("JSON clipped a value")
	}
}

func TestClipFinding(t *testing.T) {
	f := sample().Findings[0]
	long := strings.Repeat("é", 5000)
	f.Resource.Name, f.Resource.ID, f.Message, f.Expected, f.Actual, f.Remediation = long, long, long, long, long, long
	fp := f.Fingerprint
	c := ClipFinding(f)
	if c.Fingerprint != fp || c.CheckID != f.CheckID || c.Setting != f.Setting {
		t.Error("identity changed")
	}
	for name, v := range map[string]string{"name": c.Resource.Name, "id": c.Resource.ID} {
		if v != strings.Repeat("é", textsafe.MaxName)+textsafe.Marker(5000) {
			t.Errorf("%s not clipped to %d: %d characters", name, textsafe.MaxName, textsafe.Len(v))
		}
	}
	for name, v := range map[string]string{"message": c.Message, "expected": c.Expected, "actual": c.Actual, "remediation": c.Remediation} {
		if v != strings.Repeat("é", textsafe.MaxText)+textsafe.Marker(5000) {
			t.Errorf("%s not clipped to %d: %d characters", name, textsafe.MaxText, textsafe.Len(v))
		}
	}
	short := sample().Findings[1]
	if got := ClipFinding(short); got.Message != short.Message || got.Resource != short.Resource {
		t.Error("a short finding was changed")
	}
	if g := ClipGap(Gap{Error: long}); g.Error != strings.Repeat("é", textsafe.MaxText)+textsafe.Marker(5000) {
		t.Error("gap error not clipped")
	}
}

func TestGoldenHostile(t *testing.T) {
	for file, format := range map[string]Format{"hostile.txt": FormatTable, "hostile.md": FormatMarkdown} {
		var buf bytes.Buffer
		if err := Write(&buf, hostile(), format, Options{}); err != nil {
			t.Fatal(err)
		}
		golden(t, file, buf.Bytes())
	}
}

// FuzzTextWriters renders a report whose API-derived text is fuzzed: the
// writers never panic and never let a control character through.
func FuzzTextWriters(f *testing.F) {
	f.Add(pwn, "Cloudflare Access", "HTTP 403")
	f.Add("a|b`c*d_e[f](g)<h>&i\\", "\u202ename\u202c", "\xff\xfe\x00\x7f\u0085")
	f.Fuzz(func(t *testing.T, message, name, gapErr string) {
		r := sample()
		for i := range r.Findings {
			fd := &r.Findings[i]
			fd.Message, fd.Expected, fd.Actual, fd.Remediation = message, gapErr, name, message
			fd.Resource.Name, fd.Resource.ID = name, name
			fd.Changes = []finding.Change{{Actor: name, ActorType: finding.ActorApp, ActorID: gapErr, Activity: message, IP: gapErr,
				Modified: []finding.ModifiedProperty{{Name: name, Old: message, New: gapErr}}}}
			if fd.Suppression != nil {
				fd.Suppression.Reason = message
			}
		}
		r.Integrations = append(r.Integrations, IntegrationStatus{Name: name, Status: gapErr})
		r.Findings = append(r.Findings, checks.Finding{CheckID: "CF-IDP-003", Severity: checks.Medium, Integration: name, Message: message})
		r.Gaps = append(r.Gaps, Gap{Integration: name, Side: name, What: message, Error: gapErr})
		r.Results = append(r.Results, CheckResult{CheckID: name, Integration: name, Status: StatusCouldNotEvaluate, Reason: gapErr})
		r.Stats.APIRequests[name] = 1
		for _, tc := range []struct {
			format Format
			color  bool
		}{{FormatTable, false}, {FormatTable, true}, {FormatMarkdown, false}} {
			var buf bytes.Buffer
			if err := Write(&buf, r, tc.format, Options{Color: tc.color}); err != nil {
				t.Fatal(err)
			}
			checkClean(t, string(tc.format), buf.Bytes(), tc.color)
			if !tc.color && bytes.IndexByte(buf.Bytes(), 0x1b) >= 0 {
				t.Fatalf("%s: ESC in the output", tc.format)
			}
		}
	})
}
