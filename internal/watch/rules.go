package watch

import (
	"strings"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
)

// MicrosoftGraphAppID is the well-known appId of Microsoft Graph in every
// tenant.
const MicrosoftGraphAppID = finding.MicrosoftGraphAppID

// Consent returns the Microsoft Graph scopes granted to the integration's
// app for all users (AllPrincipals grants) and those consented only by
// individual users (Principal grants, minus what admin consent covers),
// keyed by lower-cased scope: Entra compares scope names
// case-insensitively. Each value is the scope as Graph spelled it (the
// smallest spelling when several, so the result does not depend on order).
// A grant of another consent type is neither: it is not evidence of
// consent. Without the app's service principal nothing is consented.
func Consent(s *snapshot.Snapshot, in *snapshot.Integration) (admin, user map[string]string) {
	admin, user = map[string]string{}, map[string]string{}
	sp := in.ServicePrincipal
	if sp == nil {
		return admin, user
	}
	for _, g := range in.PermissionGrants {
		if !strings.EqualFold(g.ClientID, sp.ID) || !strings.EqualFold(g.ResourceID, s.GraphServicePrincipalID) {
			continue
		}
		var target map[string]string
		switch {
		case strings.EqualFold(g.ConsentType, "AllPrincipals"):
			target = admin
		case strings.EqualFold(g.ConsentType, "Principal"):
			target = user
		default:
			continue
		}
		// Graph's scope is space-separated and may carry extra spaces.
		for _, scope := range strings.Fields(g.Scope) {
			k := strings.ToLower(scope)
			if old, ok := target[k]; !ok || scope < old {
				target[k] = scope
			}
		}
	}
	for k := range admin {
		delete(user, k)
	}
	return admin, user
}

// NormAttribute normalises a SCIM attribute path: Entra accepts it in any
// case, with or without spaces, with either quote style in filters.
func NormAttribute(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, " ", ""))
	return strings.ReplaceAll(s, "'", `"`)
}

// SameAttribute compares two SCIM attribute paths as Entra does.
func SameAttribute(a, b string) bool { return NormAttribute(a) == NormAttribute(b) }

// MapsFrom reports whether am is a direct mapping from the Entra attribute
// source. Entra attribute names are case-insensitive.
func MapsFrom(am snapshot.AttributeMapping, source string) bool {
	return strings.EqualFold(am.SourceType, "Attribute") && strings.EqualFold(am.SourceName, source)
}

// SourceKey is the comparison key of where an attribute's value comes
// from: two mappings with the same key map the same way (MapsFrom agrees).
func SourceKey(am snapshot.AttributeMapping) string {
	kind := strings.ToLower(am.SourceType)
	if kind == "attribute" && am.SourceName != "" {
		return kind + "\x00" + strings.ToLower(am.SourceName)
	}
	return kind + "\x00" + DescribeSource(am)
}

// DescribeSource renders where an attribute's value comes from: the source
// attribute's name, or the kind and expression ("function Coalesce(...)"),
// or the source name; "" when the mapping names no source at all.
func DescribeSource(am snapshot.AttributeMapping) string {
	switch {
	case strings.EqualFold(am.SourceType, "Attribute") && am.SourceName != "":
		return am.SourceName
	case am.SourceExpression != "":
		return strings.TrimSpace(strings.ToLower(am.SourceType) + " " + am.SourceExpression)
	}
	return am.SourceName
}
