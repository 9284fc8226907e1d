package cloudflare

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/snapshot"
)

func TestAccessRuleRefs(t *testing.T) {
	for _, c := range []struct {
		name string
		raw  string
		want []snapshot.GroupRef
		bad  bool
	}{
		{name: "absent", raw: ``},
		{name: "null", raw: `null`},
		{name: "empty", raw: `[]`},
		{name: "other rule types", raw: `[{"everyone":{}},{"email":{"email":"a@b.c"}},{"group":{"id":"g"}}]`},
		{name: "one azureAD", raw: `[{"email":{"email":"a@b.c"}},{"azureAD":{"id":"G1","identity_provider_id":"I1"}}]`,
			want: []snapshot.GroupRef{{GroupID: "G1", IdPID: "I1", Where: "include", Index: 1}}},
		{name: "two", raw: `[{"azureAD":{"id":"G1","identity_provider_id":"I1"}},{"azureAD":{"id":"G2","identity_provider_id":""}}]`,
			want: []snapshot.GroupRef{{GroupID: "G1", IdPID: "I1", Where: "include"}, {GroupID: "G2", Where: "include", Index: 1}}},
		{name: "not an array", raw: `{}`, bad: true},
		{name: "null element", raw: `[null]`, bad: true},
		{name: "string element", raw: `["azureAD"]`, bad: true},
		{name: "azureAD null", raw: `[{"azureAD":null}]`, bad: true},
		{name: "azureAD string", raw: `[{"azureAD":"G1"}]`, bad: true},
		{name: "id missing", raw: `[{"azureAD":{"identity_provider_id":"I1"}}]`, bad: true},
		{name: "id a number", raw: `[{"azureAD":{"id":5,"identity_provider_id":"I1"}}]`, bad: true},
		{name: "idp missing", raw: `[{"azureAD":{"id":"G1"}}]`, bad: true},
		{name: "truncated", raw: `[{"azureAD":{"id":"G1"`, bad: true},
	} {
		got, err := AccessRuleRefs("include", json.RawMessage(c.raw))
		if c.bad {
			if err == nil || !errors.Is(err, errMalformed) {
				t.Errorf("%s: refs %v, err %v; want malformed", c.name, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: refs %+v, err %v; want %+v", c.name, got, err, c.want)
		}
	}
}

func TestGatewayGroupIDs(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{``, nil},
		{`identity.email == "a@b.c"`, nil},
		{`identity.groups.id == "G1"`, []string{"G1"}},
		{`identity.groups.id=="G1"`, []string{"G1"}},
		{`any(identity.groups.id[*] in {"G1" "G2"})`, []string{"G1", "G2"}},
		{`any(identity.groups.id[*] in {"G1","G2"})`, []string{"G1", "G2"}},
		{`any(identity.groups.id[*] in {})`, nil},
		{`identity.groups.id in {"G3"}`, []string{"G3"}},
		{`identity.groups.id == "G1" or any(identity.groups.id[*] in {"G1" "G2"}) and identity.groups.id == "G3"`, []string{"G1", "G2", "G3"}},
		{`any(identity.groups.name[*] in {"Finance"})`, nil},
		{`identity.groups.identifier == "X"`, nil},
		{`xidentity.groups.id == "X"`, nil},
		{`identity.groups.id == "G\"1"`, []string{`G"1`}},
		{`identity.groups.id == "unterminated`, nil},
		{`any(identity.groups.id[*] in {"G1" "G2"`, nil},
		{`any(identity.groups.id[*] in {"G1" G2})`, nil},
		{`identity.groups.id == `, nil},
		{`identity.groups.id`, nil},
		{`not(any(identity.groups.id[*] in {"G1"})) and identity.email matches ".*@acme.example"`, []string{"G1"}},
	} {
		if got := GatewayGroupIDs(c.expr); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q, want %q", c.expr, got, c.want)
		}
	}
}

// FuzzRuleParsing: neither parser panics, an accepted Access reference
// always has a group ID, and every Gateway ID was quoted in the input.
func FuzzRuleParsing(f *testing.F) {
	for _, seed := range []string{
		`[{"azureAD":{"id":"G1","identity_provider_id":"I1"}}]`, `[null]`, `[{"azureAD":"x"}]`,
		`identity.groups.id == "G1"`, `any(identity.groups.id[*] in {"G1" "G2"})`, `identity.groups.id == "G\\`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		refs, err := AccessRuleRefs("require", json.RawMessage(in))
		if err == nil {
			for _, r := range refs {
				if r.GroupID == "" || r.Where != "require" {
					t.Fatalf("reference %+v accepted", r)
				}
			}
		}
		for _, id := range GatewayGroupIDs(in) {
			if id == "" || !strings.Contains(in, `"`) {
				t.Fatalf("id %q from %q", id, in)
			}
		}
	})
}
