package watch

import (
	"slices"
	"strconv"
	"strings"
)

// Value is a setting's value as driftd compares it: a comparison key with
// the API's defaults applied, and a rendering. Keeping them apart lets
// values that mean the same (an omitted and a false boolean, claims in
// another order, an ID in another case) compare equal.
type Value struct {
	kind  Kind
	key   string
	text  string
	items []string // StringSet: the sorted, distinct members
}

// Equal reports whether two values mean the same.
func (v Value) Equal(o Value) bool { return v.kind == o.kind && v.key == o.key }

// Key is the comparison key: equal keys, equal values.
func (v Value) Key() string { return v.key }

// String renders the value: true/false, a quoted string or "(not set)",
// a set's members joined by ", " or "(none)", an ID or name or "(empty)".
func (v Value) String() string { return v.text }

// Str is the string of a String value, "" when unset.
func (v Value) Str() string {
	if v.kind != String {
		return ""
	}
	return v.key
}

// Items are the members of a StringSet value, sorted and distinct.
func (v Value) Items() []string { return slices.Clone(v.items) }

// Kind is how the value compares.
func (v Value) Kind() Kind { return v.kind }

// BoolValue reads an API boolean: unset means false, because the
// Cloudflare API omits false booleans.
func BoolValue(p *bool) Value {
	s := strconv.FormatBool(p != nil && *p)
	return Value{kind: Bool, key: s, text: s}
}

// StringValue reads an API string where unset and "" mean the same.
func StringValue(p *string) Value {
	s := ""
	if p != nil {
		s = *p
	}
	text := "(not set)"
	if s != "" {
		text = strconv.Quote(s)
	}
	return Value{kind: String, key: s, text: text}
}

// SetValue reads a list whose order and repeats mean nothing.
func SetValue(items []string) Value {
	members := slices.Clone(items)
	slices.Sort(members)
	members = slices.Compact(members)
	text := "(none)"
	if len(members) > 0 {
		text = strings.Join(members, ", ")
	}
	// Terminate every member so that [] and [""] differ.
	var key strings.Builder
	for _, m := range members {
		key.WriteString(m)
		key.WriteByte(0)
	}
	return Value{kind: StringSet, key: key.String(), text: text, items: members}
}

// IDValue reads an identifier compared case-insensitively.
func IDValue(s string) Value {
	v := PlainValue(s)
	v.kind, v.key = ID, strings.ToLower(s)
	return v
}

// PlainValue reads a string compared exactly.
func PlainValue(s string) Value {
	text := s
	if s == "" {
		text = "(empty)"
	}
	return Value{kind: Plain, key: s, text: text}
}
