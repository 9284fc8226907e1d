package slack

import (
	"regexp"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/driftd/driftd/internal/textsafe"
)

// escape replaces the three characters Slack's mrkdwn treats as control
// characters, so finding text can never become a link, a mention or a
// broadcast.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// broadcast matches the words Slack may turn into an @channel-style
// notification when it preprocesses text.
var broadcast = regexp.MustCompile(`(?i)@(channel|here|everyone|group)\b`)

// plain makes text from API data safe to put in a message, before
// escape: control, bidirectional and zero-width characters become visible
// escapes (textsafe.Line) and "@here", "@channel", "@everyone" lose the
// "@" Slack could act on (it becomes a full-width "＠"). Mentions and links
// written as "<…>" are neutralised by escape.
func plain(s string) string {
	return textsafe.Line(broadcast.ReplaceAllString(s, "＠$1"))
}

// field is a value from API data as mrkdwn: plain, escaped, and at most
// limit wide (see width). A longer value is cut between characters and
// ends in "…(truncated, N characters)", N being its full length, so one
// finding never needs more than one section.
func field(s string, limit int) string {
	full := escape(plain(s))
	if width(full) <= limit {
		return full
	}
	marker := textsafe.Marker(textsafe.Len(s))
	budget := limit - width(marker)
	s = broadcast.ReplaceAllString(s, "＠$1")
	var b strings.Builder
	for i, n := 0, 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		piece := escape(textsafe.Line(s[i : i+size]))
		if n+width(piece) > budget {
			break
		}
		b.WriteString(piece)
		n += width(piece)
		i += size
	}
	return b.String() + marker
}

// unescape reverses escape, for terminal display.
func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// width counts UTF-16 code units: never less than the number of
// characters, so text within a limit by this count is within it by any
// reading of Slack's "characters".
func width(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r) // invalid UTF-8 ranges as U+FFFD, width 1
	}
	return n
}

// prefixEnd returns the byte length of the longest prefix of s whose width
// is at most limit, always on a rune boundary.
func prefixEnd(s string, limit int) int {
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if n+w > limit {
			return i
		}
		n += w
	}
	return len(s)
}

// insideMarkup reports whether byte position p of s falls within a
// "<…>" link or mention or an "&…;" entity, where a cut would corrupt the
// markup.
func insideMarkup(s string, p int) bool {
	head := s[:p]
	if strings.LastIndexByte(head, '<') > strings.LastIndexByte(head, '>') {
		return true
	}
	return insideEntity(s, p)
}

// insideEntity reports whether byte position p of s falls within an
// "&…;" entity.
func insideEntity(s string, p int) bool {
	head := s[:p]
	amp := strings.LastIndexByte(head, '&')
	return amp >= 0 && amp >= len(head)-5 && strings.IndexByte(head[amp:], ';') < 0
}

// splitText cuts s into pieces of at most limit width, at line breaks
// where possible, else between words, never inside a link or an entity.
// Only the whitespace at the cuts is dropped: the words are all kept.
func splitText(s string, limit int) []string {
	var out []string
	add := func(piece string) {
		if piece = strings.TrimSpace(piece); piece != "" {
			out = append(out, piece)
		}
	}
	s = strings.TrimSpace(s)
	for width(s) > limit {
		end := prefixEnd(s, limit)
		// A line break in the second half, else the last space or line
		// break at all.
		cut := boundary(s, end, '\n', end/2)
		if cut < 0 {
			cut = max(boundary(s, end, ' ', 0), boundary(s, end, '\n', 0))
		}
		if cut > 0 {
			add(s[:cut])
			s = strings.TrimSpace(s[cut+1:])
			continue
		}
		// A single word longer than the limit (in practice, never): cut
		// it, but not inside markup.
		hard := end
		for hard > 0 && insideMarkup(s, hard) {
			hard--
		}
		for hard > 0 && !utf8.RuneStart(s[hard]) {
			hard--
		}
		if hard == 0 {
			hard = end
		}
		add(s[:hard])
		s = strings.TrimSpace(s[hard:])
	}
	add(s)
	return out
}

// boundary finds the last sep in s[:end] after min that is outside
// markup, or -1.
func boundary(s string, end int, sep byte, min int) int {
	for p := strings.LastIndexByte(s[:end], sep); p > min; p = strings.LastIndexByte(s[:p], sep) {
		if !insideMarkup(s, p) {
			return p
		}
	}
	return -1
}

// shorten returns s unchanged if it fits in limit, else its longest run of
// whole words that fits with a trailing "…". It is for summaries (headers,
// the fallback text) whose full text is elsewhere in the message.
func shorten(s string, limit int) string {
	if width(s) <= limit {
		return s
	}
	end := prefixEnd(s, limit-1)
	cut := strings.LastIndexAny(s[:end], " \n")
	if cut <= end/2 {
		cut = end
	}
	// Never cut an entity ("&am…" would show a raw "&").
	for cut > 0 && insideEntity(s, cut) {
		cut--
	}
	out := strings.TrimRight(s[:cut], " \n.,;:")
	// Trimming may take the ";" off an entity ("&gt;" → "&gt"): drop
	// the rest of it too.
	for insideEntity(out, len(out)) {
		out = strings.TrimRight(out[:strings.LastIndexByte(out, '&')], " \n.,;:")
	}
	return out + "…"
}

// oneLine folds line breaks so a field fits in a one-line summary.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
