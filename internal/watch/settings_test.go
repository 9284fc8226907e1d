package watch

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/snapshot"
)

func ptr[T any](v T) *T { return &v }

// baselineTags maps each [integration.baseline] key to its field index.
func baselineTags(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	typ := reflect.TypeFor[snapshot.Baseline]()
	for i := range typ.NumField() {
		tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("toml"), ",")
		if tag == "" {
			t.Fatalf("snapshot.Baseline.%s has no toml tag", typ.Field(i).Name)
		}
		out[tag] = i
	}
	return out
}

// TestTableMatchesBaseline keeps the table and snapshot.Baseline (what the
// config decoder accepts) in step: every key has exactly one row, and each
// row's Pinned reads the field of its own key and no other.
func TestTableMatchesBaseline(t *testing.T) {
	tags := baselineTags(t)
	rows := map[string]bool{}
	for _, s := range Settings() {
		if s.BaselineKey == "" {
			if s.Group != Watched {
				t.Errorf("%s: a baseline check pins it, but it has no baseline key", s.Name)
			}
			continue
		}
		if s.Group == Watched {
			t.Errorf("%s: has baseline key %s but no baseline check", s.Name, s.BaselineKey)
		}
		if rows[s.BaselineKey] {
			t.Errorf("baseline key %s in two rows", s.BaselineKey)
		}
		rows[s.BaselineKey] = true
		i, ok := tags[s.BaselineKey]
		if !ok {
			t.Errorf("%s: baseline key %s is not a field of snapshot.Baseline", s.Name, s.BaselineKey)
			continue
		}
		// Pin only this key: the row must see it, every other row not.
		var b snapshot.Baseline
		f := reflect.ValueOf(&b).Elem().Field(i)
		f.Set(reflect.New(f.Type().Elem()))
		for _, o := range Settings() {
			if _, pinned := o.Pinned(&b); pinned != (o.Name == s.Name) {
				t.Errorf("pinning %s: row %s pinned = %v", s.BaselineKey, o.Name, pinned)
			}
		}
		if v, _ := s.Pinned(&b); v.Kind() != s.Kind {
			t.Errorf("%s: Pinned gives kind %d, the row says %d", s.Name, v.Kind(), s.Kind)
		}
	}
	for tag := range tags {
		if !rows[tag] {
			t.Errorf("baseline key %s has no row in the table", tag)
		}
	}
}

func TestTableRows(t *testing.T) {
	names := map[string]bool{}
	for _, s := range Settings() {
		if s.Name == "" || s.Label == "" || s.Side != snapshot.SideCloudflare || s.Kind == 0 || s.read == nil {
			t.Errorf("incomplete row %+v", s)
		}
		if names[s.Name] {
			t.Errorf("duplicate row %s", s.Name)
		}
		names[s.Name] = true
		if (len(s.Allowed) > 0 || s.NonEmpty) && s.Kind != String {
			t.Errorf("%s: only String settings restrict their values", s.Name)
		}
		if got := s.Read(&snapshot.IdentityProvider{}).Kind(); got != s.Kind {
			t.Errorf("%s: Read gives kind %d, the row says %d", s.Name, got, s.Kind)
		}
		if got, ok := ByName(s.Name); !ok || got.Name != s.Name {
			t.Errorf("ByName(%s) = %+v, %v", s.Name, got, ok)
		}
	}
	if _, ok := ByName("exists"); ok {
		t.Errorf("exists is not a setting")
	}
}

// TestAPIDefaults pins the rules for what the Cloudflare API leaves out.
func TestAPIDefaults(t *testing.T) {
	same := [][2]Value{
		{BoolValue(nil), BoolValue(ptr(false))},
		{StringValue(nil), StringValue(ptr(""))},
		{SetValue(nil), SetValue([]string{})},
		{SetValue([]string{"upn", "groups", "upn"}), SetValue([]string{"groups", "upn"})},
		{IDValue("ABC"), IDValue("abc")},
	}
	for _, p := range same {
		if !p[0].Equal(p[1]) {
			t.Errorf("%v and %v should be equal", p[0], p[1])
		}
	}
	differ := [][2]Value{
		{BoolValue(nil), BoolValue(ptr(true))},
		{SetValue(nil), SetValue([]string{""})},
		{PlainValue("Entra"), PlainValue("entra")},
		{StringValue(ptr("true")), BoolValue(ptr(true))},
	}
	for _, p := range differ {
		if p[0].Equal(p[1]) {
			t.Errorf("%v and %v should differ", p[0], p[1])
		}
	}
	if got := SetValue([]string{"upn", "groups", "upn"}); got.String() != "groups, upn" || !slices.Equal(got.Items(), []string{"groups", "upn"}) {
		t.Errorf("set renders %q %v", got.String(), got.Items())
	}
	if got := StringValue(nil).String(); got != "(not set)" {
		t.Errorf("unset string renders %q", got)
	}
	// No scim_config at all reads as every SCIM setting unset.
	s, _ := ByName("scim_config.enabled")
	if v := s.Read(&snapshot.IdentityProvider{}); !v.Equal(BoolValue(nil)) {
		t.Errorf("SCIM enabled without scim_config: %v", v)
	}
}

func TestConsent(t *testing.T) {
	snap := &snapshot.Snapshot{GraphServicePrincipalID: "graph"}
	in := &snapshot.Integration{
		ServicePrincipal: &snapshot.ServicePrincipal{ID: "sp"},
		PermissionGrants: []snapshot.PermissionGrant{
			{ClientID: "SP", ResourceID: "graph", ConsentType: "allprincipals", Scope: " openid  User.Read"},
			{ClientID: "sp", ResourceID: "graph", ConsentType: "Principal", Scope: "user.read Mail.Read"},
			{ClientID: "sp", ResourceID: "graph", ConsentType: "SomethingNew", Scope: "Files.Read"},
			{ClientID: "sp", ResourceID: "other", ConsentType: "AllPrincipals", Scope: "Directory.Read.All"},
			{ClientID: "other", ResourceID: "graph", ConsentType: "AllPrincipals", Scope: "profile"},
		},
	}
	admin, user := Consent(snap, in)
	if !maps(admin, map[string]string{"openid": "openid", "user.read": "User.Read"}) {
		t.Errorf("admin = %v", admin)
	}
	// User.Read is covered by admin consent; an unknown consent type is
	// not evidence of consent.
	if !maps(user, map[string]string{"mail.read": "Mail.Read"}) {
		t.Errorf("user = %v", user)
	}
	in.ServicePrincipal = nil
	if admin, user := Consent(snap, in); len(admin)+len(user) != 0 {
		t.Errorf("without a service principal: %v %v", admin, user)
	}
}

func maps(a, b map[string]string) bool { return reflect.DeepEqual(a, b) }

func TestAttributeRules(t *testing.T) {
	if !SameAttribute(`emails[type eq 'work'].value`, `Emails[type eq "work"].Value`) {
		t.Errorf("attribute paths differ only in case and quoting")
	}
	direct := snapshot.AttributeMapping{SourceType: "Attribute", SourceName: "Mail"}
	lower := snapshot.AttributeMapping{SourceType: "attribute", SourceName: "mail"}
	fn := snapshot.AttributeMapping{SourceType: "Function", SourceName: "Coalesce", SourceExpression: "Coalesce([mail], [upn])"}
	if !MapsFrom(direct, "mail") || MapsFrom(fn, "mail") {
		t.Errorf("MapsFrom")
	}
	// Equal keys exactly when MapsFrom agrees.
	if SourceKey(direct) != SourceKey(lower) || SourceKey(direct) == SourceKey(fn) {
		t.Errorf("SourceKey")
	}
	if got := DescribeSource(fn); got != "function Coalesce([mail], [upn])" {
		t.Errorf("DescribeSource = %q", got)
	}
	if got := DescribeSource(snapshot.AttributeMapping{SourceExpression: "[mail]"}); got != "[mail]" {
		t.Errorf("DescribeSource without a type = %q", got)
	}
	if got := DescribeSource(snapshot.AttributeMapping{}); got != "" {
		t.Errorf("DescribeSource of nothing = %q", got)
	}
}
