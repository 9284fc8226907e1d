package snapshot

import "strings"

// Data kinds of the account-wide Cloudflare policy reads.
const (
	// CloudflareAccessPolicies and the next three are account-wide.
	CloudflareAccessPolicies DataKind = "cloudflare.access_policies"
	CloudflareAccessApps     DataKind = "cloudflare.access_applications"
	CloudflareAccessGroups   DataKind = "cloudflare.access_groups"
	CloudflareGatewayRules   DataKind = "cloudflare.gateway_rules"
)

// Policies is what was read of the account's Access and Gateway rules.
// A nil slice whose DataKind has a gap was not observed; an empty one
// was read and is empty.
type Policies struct {
	// AccessPolicies are the account's reusable Access policies.
	AccessPolicies []AccessPolicy `json:"access_policies"`
	// AccessApplications carry the policies they embed.
	AccessApplications []AccessApplication `json:"access_applications"`
	AccessGroups       []AccessGroup       `json:"access_groups"`
	GatewayRules       []GatewayRule       `json:"gateway_rules"`
	// Groups holds the referenced Entra groups by lower-case object ID
	// (read from Graph after the rules; nil when not read).
	Groups map[string]EntraGroup `json:"entra_groups,omitempty"`
}

// AccessPolicy is a reusable Access policy or one an application embeds.
type AccessPolicy struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Decision string `json:"decision,omitempty"`
	// Reusable is true for a reusable policy listed inside an application.
	Reusable bool       `json:"reusable,omitempty"`
	Refs     []GroupRef `json:"group_refs,omitempty"`
}

// AccessApplication is an Access application and its policies.
type AccessApplication struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Domain   string         `json:"domain,omitempty"`
	Type     string         `json:"type,omitempty"`
	Policies []AccessPolicy `json:"policies,omitempty"`
}

// AccessGroup is an Access group (a named, reusable rule set).
type AccessGroup struct {
	ID   string     `json:"id"`
	Name string     `json:"name"`
	Refs []GroupRef `json:"group_refs,omitempty"`
}

// GatewayRule is a Zero Trust Gateway rule; Refs are the Entra group IDs
// its identity expression names.
type GatewayRule struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Action   string     `json:"action,omitempty"`
	Enabled  bool       `json:"enabled"`
	Identity string     `json:"identity,omitempty"`
	Refs     []GroupRef `json:"group_refs,omitempty"`
}

// GroupRef is one reference to an Entra group in a rule.
type GroupRef struct {
	// GroupID is the Entra group object ID as written in the rule.
	GroupID string `json:"group_id"`
	// IdPID is the Access identity provider the rule names (Access
	// azureAD rules only; Gateway expressions name none).
	IdPID string `json:"identity_provider_id,omitempty"`
	// Where is "include", "exclude", "require" or "identity"; Index is
	// the rule's position in that list (0 for identity).
	Where string `json:"where"`
	Index int    `json:"index"`
}

// EntraGroups is the data kind of the referenced groups' lookup (in Graph round 3).
const EntraGroups DataKind = "entra.groups"

// EntraGroup is what the lookup learned of one referenced group.
type EntraGroup struct {
	// Exists is false when Graph answered 404, or the ID is not a GUID.
	Exists bool `json:"exists"`
	// NotGUID: the rule's value is not a group object ID at all.
	NotGUID bool `json:"not_guid,omitempty"`
	// UserMembers counts the users among the transitive members.
	UserMembers int64 `json:"user_members"`
}

// GroupIDs lists every group ID the rules reference, without repeats
// (compared in lower case), in order.
func (p *Policies) GroupIDs() []string {
	if p == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(refs []GroupRef) {
		for _, r := range refs {
			if k := strings.ToLower(r.GroupID); !seen[k] {
				seen[k] = true
				out = append(out, r.GroupID)
			}
		}
	}
	for _, pol := range p.AccessPolicies {
		add(pol.Refs)
	}
	for _, app := range p.AccessApplications {
		for _, pol := range app.Policies {
			add(pol.Refs)
		}
	}
	for _, g := range p.AccessGroups {
		add(g.Refs)
	}
	for _, r := range p.GatewayRules {
		add(r.Refs)
	}
	return out
}
