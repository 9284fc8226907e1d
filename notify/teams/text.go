package teams

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/driftd/driftd/internal/textsafe"
)

// mention matches an "@" that starts a word ("@General", "@everyone"):
// text that a reader, or a future Teams feature, could take for a
// mention. An "@" inside a word (an e-mail address) is left alone.
var mention = regexp.MustCompile(`(^|[^\p{L}\p{N}_.+-])@`)

// plain makes text from API data safe to put in a card, before escape:
// control, bidirectional and zero-width characters become visible
// escapes (textsafe.Line), a word-initial "@" becomes a full-width "＠",
// and "<" and ">" become full-width too, so no "<at>" tag, HTML or
// autolink can form (some Teams clients render TextBlock text as HTML);
// so does "{{", which would start a {{DATE()}} function.
func plain(s string) string {
	s = mention.ReplaceAllString(s, "$1＠")
	s = strings.NewReplacer("<", "＜", ">", "＞", "{{", "｛｛").Replace(s)
	return textsafe.Line(s)
}

// markdownSpecial are the characters Adaptive Card markdown (and the
// CommonMark parsers behind some clients) may act on inside a line.
// A link needs "[", an image "![": "(" and "!" are harmless alone.
const markdownSpecial = "\\*_[]`#~"

// escape backslash-escapes markdown syntax, and a list marker ("-",
// "+", "1.") at the start, so text shows as written.
func escape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		if strings.ContainsRune(markdownSpecial, r) || i == 0 && (r == '-' || r == '+') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	out := b.String()
	// "1. text" would become a numbered list.
	if n := strings.IndexFunc(out, func(r rune) bool { return r < '0' || r > '9' }); n > 0 && out[n] == '.' {
		out = out[:n] + `\` + out[n:]
	}
	return out
}

// field is a value from API data as card text: at most limit characters
// (textsafe.Clip), plain, escaped.
func field(s string, limit int) string {
	return escape(plain(textsafe.Clip(s, limit)))
}

// oneLine folds line breaks so a value fits in a one-line summary.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// shorten returns s unchanged if it has at most limit characters, else
// its longest run of whole words that fits with a trailing "…". It is for
// fixed-plus-data text (headers) that is already plain but not escaped.
func shorten(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	end, n := 0, 0
	for i := range s {
		if n == limit-1 {
			end = i
			break
		}
		n++
	}
	cut := strings.LastIndexFunc(s[:end], unicode.IsSpace)
	if cut <= end/2 {
		cut = end
	}
	return strings.TrimRight(s[:cut], " .,;:") + "…"
}
