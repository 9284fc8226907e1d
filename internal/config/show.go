package config

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Formats Show writes.
const (
	ShowTOML = "toml"
	ShowJSON = "json"
)

// Show renders the configuration as TOML or JSON: every key of every
// section, found by walking the struct over its toml tags (so a section
// added later is shown without changes here), defaults as Parse and
// Validate left them, and each secret as "<its Source()>" — never its
// value. The TOML is a valid configuration again once the placeholders
// are replaced by the values; see the README section on config show.
func Show(c *Config, format string) ([]byte, error) {
	tree := showValue(reflect.ValueOf(c).Elem())
	switch format {
	case ShowTOML:
		var b bytes.Buffer
		b.WriteString("# driftd effective configuration: defaults filled in; secrets shown by\n# their source, never their value.\n")
		writeTOMLTable(&b, nil, tree.(showTable), false)
		return b.Bytes(), nil
	case ShowJSON:
		var b bytes.Buffer
		if err := encodeJSON(&b, tree); err != nil {
			return nil, err
		}
		var out bytes.Buffer
		if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
			return nil, err
		}
		out.WriteByte('\n')
		return out.Bytes(), nil
	}
	return nil, fmt.Errorf("%q is not toml or json", format)
}

// The tree Show renders: a key order kept from the struct, and only the
// value kinds TOML has.
type (
	showField struct {
		key string
		val any // string, bool, int64, uint64, float64, showSecret, time.Time, []any, showTable, []showTable or nil (unset)
	}
	showTable []showField
	// showSecret is a secret's placeholder, "<from $VAR>".
	showSecret string
)

// showValue turns v into the tree. Secrets are seen only through Source.
func showValue(v reflect.Value) any {
	switch v.Type() {
	case reflect.TypeFor[Secret]():
		return showSecret("<" + v.Interface().(Secret).Source() + ">")
	case reflect.TypeFor[Duration]():
		return FormatDuration(time.Duration(v.Interface().(Duration)))
	case reflect.TypeFor[time.Time]():
		return v.Interface().(time.Time)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return showValue(v.Elem())
	}
	if v.Type().Implements(reflect.TypeFor[encoding.TextMarshaler]()) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return fmt.Sprintf("<%v>", err)
		}
		return string(b)
	}
	switch v.Kind() {
	case reflect.Struct:
		return showStruct(v, nil)
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		t := showTable{}
		for _, k := range keys {
			t = append(t, showField{fmt.Sprint(k), showValue(v.MapIndex(k))})
		}
		return t
	case reflect.Slice, reflect.Array:
		if isTableType(v.Type().Elem()) {
			tables := []showTable{}
			for i := range v.Len() {
				if t, ok := showValue(v.Index(i)).(showTable); ok {
					tables = append(tables, t)
				}
			}
			return tables
		}
		items := []any{}
		for i := range v.Len() {
			items = append(items, showValue(v.Index(i)))
		}
		return items
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return v.String()
}

// isTableType reports whether values of t render as tables.
func isTableType(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[Secret](), reflect.TypeFor[Duration](), reflect.TypeFor[time.Time]():
		return false
	}
	text := reflect.TypeFor[encoding.TextMarshaler]()
	if t.Implements(text) || reflect.PointerTo(t).Implements(text) {
		return false
	}
	return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
}

// showStruct lists a struct's keys as the TOML decoder sees them: the
// toml tag's name (else the field name), "-" skipped, untagged embedded
// structs flattened.
func showStruct(v reflect.Value, into showTable) showTable {
	if into == nil {
		into = showTable{}
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			into = showStruct(v.Field(i), into)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		into = append(into, showField{name, showValue(v.Field(i))})
	}
	return into
}

// FormatDuration writes d the way durations are configured, shortest
// first: "2h", "30d", "1h30m", "1d12h", "0s". ParseDuration reads it
// back exactly.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return d.String()
	}
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		d -= days * 24 * time.Hour
	}
	switch {
	case d == 0:
	case d%time.Second != 0:
		b.WriteString(d.String())
	default:
		for _, u := range []struct {
			unit time.Duration
			s    string
		}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
			if n := d / u.unit; n > 0 {
				fmt.Fprintf(&b, "%d%s", n, u.s)
				d -= n * u.unit
			}
		}
	}
	return b.String()
}

// writeTOMLTable writes a table's plain keys, then its sub-tables and
// arrays of tables (TOML wants a table's own keys before any header
// below it).
func writeTOMLTable(b *bytes.Buffer, path []string, t showTable, element bool) {
	if len(path) > 0 {
		header := tomlKeyPath(path)
		if element {
			fmt.Fprintf(b, "\n[[%s]]\n", header)
		} else {
			fmt.Fprintf(b, "\n[%s]\n", header)
		}
	}
	for _, f := range t {
		switch v := f.val.(type) {
		case showTable, []showTable:
		case nil:
			// TOML has no null: say the key is unset in a comment.
			fmt.Fprintf(b, "# %s: not set\n", tomlKey(f.key))
		default:
			fmt.Fprintf(b, "%s = %s\n", tomlKey(f.key), tomlValue(v))
		}
	}
	for _, f := range t {
		switch v := f.val.(type) {
		case showTable:
			writeTOMLTable(b, append(slices.Clip(path), f.key), v, false)
		case []showTable:
			if len(v) == 0 {
				// Still shown, so that every section can be found.
				fmt.Fprintf(b, "\n# [[%s]]: none\n", tomlKeyPath(append(slices.Clip(path), f.key)))
			}
			for _, e := range v {
				writeTOMLTable(b, append(slices.Clip(path), f.key), e, true)
			}
		}
	}
}

func tomlValue(v any) string {
	switch v := v.(type) {
	case string:
		return tomlString(v)
	case showSecret:
		return tomlString(string(v))
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = tomlValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case nil:
		// An unset pointer inside an array; TOML has nothing better.
		return `""`
	}
	return tomlString(fmt.Sprint(v))
}

func tomlKey(k string) string {
	if bareKey.MatchString(k) {
		return k
	}
	return tomlString(k)
}

func tomlKeyPath(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = tomlKey(p)
	}
	return strings.Join(parts, ".")
}

// tomlString is a TOML basic string: only the escapes TOML has (Go's
// strconv.Quote would write \x00 and \a, which TOML refuses).
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// MarshalJSON writes the table as an object with its keys in struct
// order (a map would sort them).
func (t showTable) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range t {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := encodeJSON(&b, f.key); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := encodeJSON(&b, f.val); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encodeJSON writes v compactly without HTML escaping: "<from $VAR>"
// should read as such, not as "\u003cfrom $VAR\u003e".
func encodeJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}
