// Package watch is driftd's one description of what it watches and how it
// compares it: the table of Cloudflare identity-provider settings, and the
// comparison rules that the baseline checks (CF-IDP-003, CF-SCIM-001,
// ENTRA-PERM-002, ENTRA-SCIM-*), DRIFT-001 and config validation share.
//
// Keeping each rule in one place means the checks and DRIFT-001 cannot
// disagree about the same data. It is a leaf: it imports only snapshot.
package watch

import (
	"slices"

	"github.com/driftd/driftd/internal/snapshot"
)

// Kind is how a setting's value is compared and rendered.
type Kind int

const (
	// Bool is an API boolean; the Cloudflare API omits false ones, so
	// unset reads as false.
	Bool Kind = iota + 1
	// String is an API string where unset and "" mean the same.
	String
	// StringSet is a list whose order and repeats mean nothing.
	StringSet
	// ID is an identifier compared case-insensitively.
	ID
	// Plain is a string compared exactly (a display name).
	Plain
)

// Group says which baseline check pins a setting.
type Group int

const (
	// Watched only: DRIFT-001 compares it, no baseline key pins it.
	Watched Group = iota
	// IdP settings are pinned by CF-IDP-003.
	IdP
	// SCIM settings are pinned by CF-SCIM-001.
	SCIM
)

// Setting is one watched identity-provider setting.
type Setting struct {
	// Name is the field path in findings, fingerprints and DRIFT-001
	// ("pkce_enabled", "scim_config.enabled"); it never changes.
	Name string
	// Label names the setting in the check catalog.
	Label string
	Side  snapshot.Side
	Group Group
	Kind  Kind
	// BaselineKey is its [integration.baseline] key ("" if none); it must
	// match the toml tag of the snapshot.Baseline field Pinned reads.
	BaselineKey string
	// Allowed lists the values a baseline may pin (String settings the
	// API restricts); empty means any.
	Allowed []string
	// NonEmpty refuses a pinned "" (which would read as unset).
	NonEmpty bool
	// High marks a setting whose change alters who can sign in:
	// DRIFT-001 reports it high, the rest medium.
	High bool

	read   func(*snapshot.IdentityProvider) Value
	pinned func(*snapshot.Baseline) (Value, bool)
}

// Read returns the setting's value on idp, with the API's defaults applied.
func (s Setting) Read(idp *snapshot.IdentityProvider) Value { return s.read(idp) }

// Pinned returns the value the baseline pins, and false when the key is
// absent (the setting is then not checked).
func (s Setting) Pinned(b *snapshot.Baseline) (Value, bool) {
	if s.pinned == nil {
		return Value{}, false
	}
	return s.pinned(b)
}

// Settings returns the watched identity-provider settings. The order is
// the order of the baseline checks' findings.
func Settings() []Setting { return slices.Clone(table) }

// ByName returns the setting with the given Name.
func ByName(name string) (Setting, bool) {
	for _, s := range table {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// InGroup returns the settings of a group in table order.
func InGroup(g Group) []Setting {
	var out []Setting
	for _, s := range table {
		if s.Group == g {
			out = append(out, s)
		}
	}
	return out
}

type (
	idp      = snapshot.IdentityProvider
	baseline = snapshot.Baseline
)

const cf = snapshot.SideCloudflare

// To watch another identity-provider setting: add a row here, its field
// to snapshot.IdentityProvider (and to snapshot.Baseline if a baseline can
// pin it) and to the Cloudflare decoder, the field in the simulator, and
// its change to the checks' agreement test.
var table = []Setting{
	{Name: "name", Label: "name", Side: cf, Kind: Plain,
		read: func(p *idp) Value { return PlainValue(p.Name) }},
	{Name: "client_id", Label: "client ID", Side: cf, Kind: ID, High: true,
		read: func(p *idp) Value { return IDValue(p.ClientID) }},
	{Name: "directory_id", Label: "directory ID", Side: cf, Kind: ID, High: true,
		read: func(p *idp) Value { return IDValue(p.DirectoryID) }},

	{Name: "pkce_enabled", Label: "PKCE", Side: cf, Group: IdP, Kind: Bool, BaselineKey: "pkce_enabled",
		read:   func(p *idp) Value { return BoolValue(p.PKCEEnabled) },
		pinned: func(b *baseline) (Value, bool) { return pin(b.PKCEEnabled, BoolValue) }},
	{Name: "support_groups", Label: "support groups", Side: cf, Group: IdP, Kind: Bool, BaselineKey: "support_groups",
		read:   func(p *idp) Value { return BoolValue(p.SupportGroups) },
		pinned: func(b *baseline) (Value, bool) { return pin(b.SupportGroups, BoolValue) }},
	{Name: "conditional_access_enabled", Label: "Entra ID policy sync", Side: cf, Group: IdP, Kind: Bool, BaselineKey: "conditional_access_enabled",
		read:   func(p *idp) Value { return BoolValue(p.ConditionalAccessEnabled) },
		pinned: func(b *baseline) (Value, bool) { return pin(b.ConditionalAccessEnabled, BoolValue) }},
	{Name: "email_claim_name", Label: "email claim", Side: cf, Group: IdP, Kind: String, BaselineKey: "email_claim_name", NonEmpty: true,
		read:   func(p *idp) Value { return StringValue(p.EmailClaimName) },
		pinned: func(b *baseline) (Value, bool) { return pin(b.EmailClaimName, StringValue) }},
	{Name: "claims", Label: "OIDC claims", Side: cf, Group: IdP, Kind: StringSet, BaselineKey: "claims",
		read:   func(p *idp) Value { return SetValue(p.Claims) },
		pinned: func(b *baseline) (Value, bool) { return pin(b.Claims, setOf) }},
	{Name: "prompt", Label: "prompt", Side: cf, Group: IdP, Kind: String, BaselineKey: "prompt",
		Allowed: []string{"login", "select_account", "none"},
		read:    func(p *idp) Value { return StringValue(p.Prompt) },
		pinned:  func(b *baseline) (Value, bool) { return pin(b.Prompt, StringValue) }},

	{Name: "scim_config.enabled", Label: "SCIM enabled", Side: cf, Group: SCIM, Kind: Bool, BaselineKey: "scim_enabled", High: true,
		read:   func(p *idp) Value { return BoolValue(scimOf(p).Enabled) },
		pinned: func(b *baseline) (Value, bool) { return pin(b.SCIMEnabled, BoolValue) }},
	{Name: "scim_config.user_deprovision", Label: "user deprovisioning", Side: cf, Group: SCIM, Kind: Bool, BaselineKey: "scim_user_deprovision", High: true,
		read:   func(p *idp) Value { return BoolValue(scimOf(p).UserDeprovision) },
		pinned: func(b *baseline) (Value, bool) { return pin(b.SCIMUserDeprovision, BoolValue) }},
	{Name: "scim_config.seat_deprovision", Label: "seat removal", Side: cf, Group: SCIM, Kind: Bool, BaselineKey: "scim_seat_deprovision",
		read:   func(p *idp) Value { return BoolValue(scimOf(p).SeatDeprovision) },
		pinned: func(b *baseline) (Value, bool) { return pin(b.SCIMSeatDeprovision, BoolValue) }},
	{Name: "scim_config.identity_update_behavior", Label: "identity update behavior", Side: cf, Group: SCIM, Kind: String, BaselineKey: "scim_identity_update_behavior",
		Allowed: []string{"automatic", "reauth", "no_action"},
		read:    func(p *idp) Value { return StringValue(scimOf(p).IdentityUpdateBehavior) },
		pinned:  func(b *baseline) (Value, bool) { return pin(b.SCIMIdentityUpdateBehavior, StringValue) }},
}

// scimOf returns the provider's SCIM settings; the API omits an all-default
// scim_config, which reads as every setting unset.
func scimOf(p *idp) snapshot.IdPSCIM {
	if p.SCIM == nil {
		return snapshot.IdPSCIM{}
	}
	return *p.SCIM
}

// pin converts a pinned baseline value; nil means the key is absent.
func pin[T any](p *T, conv func(*T) Value) (Value, bool) {
	if p == nil {
		return Value{}, false
	}
	return conv(p), true
}

func setOf(p *[]string) Value { return SetValue(*p) }
