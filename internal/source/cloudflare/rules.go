package cloudflare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/driftd/driftd/internal/snapshot"
)

// AccessRuleRefs returns the Entra group references in one Access rule
// list (include, exclude or require, named by where): every
// {"azureAD":{"id":…,"identity_provider_id":…}} rule. Other rule types
// are skipped. A list or rule that is not the documented JSON (an element
// that is not an object, an azureAD value that is not an object with two
// strings) is an error, never "no reference".
func AccessRuleRefs(where string, raw json.RawMessage) ([]snapshot.GroupRef, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	if t[0] != '[' {
		return nil, fmt.Errorf("%w: %s is not an array", errMalformed, where)
	}
	var rules []json.RawMessage
	if err := json.Unmarshal(t, &rules); err != nil {
		return nil, fmt.Errorf("%w: %s: %s", errMalformed, where, describeJSONError(err))
	}
	var out []snapshot.GroupRef
	for i, rule := range rules {
		r := bytes.TrimSpace(rule)
		if len(r) == 0 || r[0] != '{' {
			return nil, fmt.Errorf("%w: %s[%d] is not an object", errMalformed, where, i)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(r, &fields); err != nil {
			return nil, fmt.Errorf("%w: %s[%d]: %s", errMalformed, where, i, describeJSONError(err))
		}
		az, ok := fields["azureAD"]
		if !ok {
			continue
		}
		if a := bytes.TrimSpace(az); len(a) == 0 || a[0] != '{' {
			return nil, fmt.Errorf("%w: %s[%d].azureAD is not an object", errMalformed, where, i)
		}
		var ref struct {
			ID    *string `json:"id"`
			IdPID *string `json:"identity_provider_id"`
		}
		if err := json.Unmarshal(az, &ref); err != nil {
			return nil, fmt.Errorf("%w: %s[%d].azureAD: %s", errMalformed, where, i, describeJSONError(err))
		}
		if ref.ID == nil || *ref.ID == "" || ref.IdPID == nil {
			return nil, fmt.Errorf("%w: %s[%d].azureAD lacks id or identity_provider_id", errMalformed, where, i)
		}
		out = append(out, snapshot.GroupRef{GroupID: *ref.ID, IdPID: *ref.IdPID, Where: where, Index: i})
	}
	return out, nil
}

// GatewayGroupIDs returns the Entra group IDs a Gateway identity
// expression names, in order and without repeats:
// identity.groups.id == "…" and identity.groups.id[*] in {"…" "…"}
// (also without [*]). Other parts of the expression are skipped; a
// fragment that does not parse names nothing.
func GatewayGroupIDs(expr string) []string {
	const field = "identity.groups.id"
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	rest := expr
	for {
		i := strings.Index(rest, field)
		if i < 0 {
			return out
		}
		// identity.groups.identifier is not identity.groups.id.
		before := i == 0 || !isIdentChar(rest[i-1])
		rest = rest[i+len(field):]
		if !before || len(rest) > 0 && isIdentChar(rest[0]) {
			continue
		}
		p := skipSpace(rest)
		p = strings.TrimPrefix(p, "[*]")
		p = skipSpace(p)
		switch {
		case strings.HasPrefix(p, "=="):
			if s, tail, ok := quoted(skipSpace(p[2:])); ok {
				add(s)
				rest = tail
			}
		case strings.HasPrefix(p, "in") && len(p) > 2 && !isIdentChar(p[2]):
			q := skipSpace(p[2:])
			if !strings.HasPrefix(q, "{") {
				continue
			}
			q = q[1:]
			var ids []string
			for {
				q = skipSpace(q)
				if strings.HasPrefix(q, "}") {
					for _, id := range ids {
						add(id)
					}
					rest = q[1:]
					break
				}
				s, tail, ok := quoted(q)
				if !ok {
					break
				}
				ids = append(ids, s)
				q = strings.TrimPrefix(skipSpace(tail), ",")
			}
		}
	}
}

func isIdentChar(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func skipSpace(s string) string { return strings.TrimLeft(s, " \t\r\n") }

// quoted reads a double-quoted string with backslash escapes at the start
// of s and returns its value and what follows.
func quoted(s string) (string, string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) {
				return "", s, false
			}
			i++
			b.WriteByte(s[i])
		case '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}
