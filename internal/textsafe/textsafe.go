// Package textsafe makes text read from the APIs safe to show: on a
// terminal, where control characters are commands, and anywhere a
// runaway value would drown the output.
//
// Line escapes a value for a single-line field; Clip caps its length.
// Writers apply Clip first and Line last, so a cut never splits an
// escape sequence.
package textsafe

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length caps, in characters (runes), for values from API data shown in
// text, Markdown and Slack output.
const (
	// MaxName caps names and identifiers: display names, client IDs,
	// redirect URIs, credential hints, integration and source names.
	MaxName = 256
	// MaxText caps sentences: messages, expected and actual values,
	// remediations, gap errors and reasons.
	MaxText = 1024
)

// Clip returns s unchanged if it has at most limit characters, else its
// first limit characters followed by "…(truncated, N characters)", N
// being the length of s. An invalid UTF-8 byte counts as one character
// and is kept as is (Line shows it). A limit below 1 counts as 1.
func Clip(s string, limit int) string {
	limit = max(limit, 1)
	n, end := 0, 0
	for i := 0; i < len(s); n++ {
		if n == limit {
			end = i
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if n <= limit {
		return s
	}
	return s[:end] + Marker(n)
}

// Marker is what Clip appends to a value of n characters it cut.
func Marker(n int) string {
	return fmt.Sprintf("…(truncated, %d characters)", n)
}

// Len is the length of s in characters, counted as Clip counts them.
func Len(s string) int {
	n := 0
	for i := 0; i < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return n
}

// Unsafe reports whether r must not reach a terminal as is: C0 controls
// (tab and newline included), DEL, C1 controls, the Unicode format
// characters (bidirectional overrides and isolates U+202A–U+202E and
// U+2066–U+2069, zero-width characters U+200B–U+200F, the byte-order
// mark, …) and the line and paragraph separators U+2028 and U+2029.
func Unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// Line returns s with every unsafe character (see Unsafe) written as a
// visible escape — \n, \r, \t, \x1b, \x9b, \u202e — and every byte that is
// not valid UTF-8 as \xff, so the value stays on one line and cannot move
// the cursor, retitle or clear a terminal, or reorder the text around it.
// Text without such characters is returned unchanged.
func Line(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case Unsafe(r):
			b.WriteString(escapeRune(r))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Field is Line(Clip(s, limit)): a value from API data, capped and made
// safe for one line of terminal output.
func Field(s string, limit int) string {
	return Line(Clip(s, limit))
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || Unsafe(r) {
			return true
		}
		i += size
	}
	return false
}

func escapeRune(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	if r < 0x100 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	q := strconv.QuoteRuneToASCII(r) // '\u202e' or '\U000e0001'
	return q[1 : len(q)-1]
}
