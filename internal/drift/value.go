package drift

import (
	"slices"
	"strconv"
	"strings"

	"github.com/driftd/driftd/internal/watch"
)

// value is one side of a watched field: a comparison key and a rendering.
// Keeping them apart lets equal values render differently (letter case,
// order, spacing) without being reported, and lets permission names be
// resolved for display while comparison stays on IDs.
type value struct {
	present bool
	key     string
	text    string
}

func (v value) equal(o value) bool {
	return v.present == o.present && v.key == o.key
}

func (v value) String() string {
	if !v.present {
		return absent
	}
	return v.text
}

// plain is a string compared exactly; empty renders as "(empty)".
func plain(s string) value {
	text := s
	if s == "" {
		text = "(empty)"
	}
	return value{present: true, key: s, text: text}
}

// folded is a string compared case-insensitively (IDs, domains).
func folded(s string) value {
	v := plain(s)
	v.key = strings.ToLower(s)
	return v
}

// watched is a setting of the watch table, compared and rendered as the
// table says (the rules the baseline checks use too).
func watched(v watch.Value) value {
	return value{present: true, key: v.Key(), text: v.String()}
}

func boolean(b bool) value {
	s := strconv.FormatBool(b)
	return value{present: true, key: s, text: s}
}

// set collects the members of a set-like field: comparison key → rendering.
type set map[string]string

// add records a member. When two renderings share a key the smaller wins,
// so the result does not depend on input order.
func (s set) add(key, text string) {
	if old, ok := s[key]; !ok || text < old {
		s[key] = text
	}
}

// value renders the set sorted and joined by sep, or "(none)".
func (s set) value(sep string) value {
	keys := make([]string, 0, len(s))
	texts := make([]string, 0, len(s))
	for k, t := range s {
		keys = append(keys, k)
		texts = append(texts, t)
	}
	slices.Sort(keys)
	slices.Sort(texts)
	text := none
	if len(texts) > 0 {
		text = strings.Join(texts, sep)
	}
	// Terminate every key so that {} and {""} differ.
	var key strings.Builder
	for _, k := range keys {
		key.WriteString(k)
		key.WriteByte(0)
	}
	return value{present: true, key: key.String(), text: text}
}

// stringSet is a list of strings compared as an exact-match set.
func stringSet(items []string) value { return watched(watch.SetValue(items)) }
