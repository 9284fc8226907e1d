package textsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text → ok…", "plain text → ok…"},
		{"\x1b]0;pwned\x07\x1b[2J\rAll checks passed", `\x1b]0;pwned\x07\x1b[2J\rAll checks passed`},
		{"a\nb\tc\x00d\x7f", `a\nb\tc\x00d\x7f`},
		{"c1 \u009b31m", `c1 \x9b31m`},
		{"bidi \u202egnp.exe\u202c \u2066x\u2069", `bidi \u202egnp.exe\u202c \u2066x\u2069`},
		{"zero\u200bwidth\u200f \ufeff \u2028", `zero\u200bwidth\u200f \ufeff \u2028`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"tag \U000e0041", `tag \U000e0041`},
	} {
		if got := Line(tc.in); got != tc.want {
			t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLineLeavesNoUnsafeCharacter(t *testing.T) {
	var all strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		all.WriteRune(r)
	}
	all.WriteString("\xff\xc3")
	out := Line(all.String())
	if !utf8.ValidString(out) {
		t.Fatal("output is not valid UTF-8")
	}
	for _, r := range out {
		if Unsafe(r) {
			t.Fatalf("unsafe %U left in the output", r)
		}
	}
}

func TestClip(t *testing.T) {
	if got := Clip("short", 10); got != "short" {
		t.Errorf("%q", got)
	}
	if got := Clip("exactly10!", 10); got != "exactly10!" {
		t.Errorf("%q", got)
	}
	if got, want := Clip("ééééé", 2), "éé…(truncated, 5 characters)"; got != want {
		t.Errorf("Clip = %q, want %q", got, want)
	}
	long := strings.Repeat("x", 100000)
	got := Clip(long, MaxName)
	if want := strings.Repeat("x", MaxName) + "…(truncated, 100000 characters)"; got != want {
		t.Errorf("Clip of 100,000 characters: %q", got)
	}
	// Invalid bytes count as one character each and are not split.
	if got := Field("\xff\xff\xff", 2); got != `\xff\xff…(truncated, 3 characters)` {
		t.Errorf("Field = %q", got)
	}
	if Len("a\xffé") != 3 {
		t.Errorf("Len = %d", Len("a\xffé"))
	}
}
