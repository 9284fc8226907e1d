package sim

import (
	"strings"
	"time"
)

// AppRoleAssignment is Graph's appRoleAssignment: PrincipalID (a user,
// group or service principal) holds role AppRoleID of the resource
// service principal ResourceID. A service principal's appRoleAssignments
// are those it holds; its appRoleAssignedTo those granted on it.
type AppRoleAssignment struct {
	ID                   string     `json:"id"`
	DeletedDateTime      *time.Time `json:"deletedDateTime"`
	AppRoleID            string     `json:"appRoleId"`
	CreatedDateTime      *time.Time `json:"createdDateTime"`
	PrincipalDisplayName string     `json:"principalDisplayName"`
	PrincipalID          string     `json:"principalId"`
	PrincipalType        string     `json:"principalType"`
	ResourceDisplayName  string     `json:"resourceDisplayName"`
	ResourceID           string     `json:"resourceId"`
}

// defaultAccessRoleID is the app role ID Entra uses for "Default Access"
// (an assignment to an app that defines no roles).
const defaultAccessRoleID = "00000000-0000-0000-0000-000000000000"

// graphAppRoleAssignments serves servicePrincipals/{id}/appRoleAssignments
// (heldBy) or .../appRoleAssignedTo.
func (s *Server) graphAppRoleAssignments(req graphRequest, sp *ServicePrincipal, heldBy bool) graphResponse {
	var items []any
	for _, a := range s.tenant.AppRoleAssignments {
		if heldBy && strings.EqualFold(a.PrincipalID, sp.ID) || !heldBy && strings.EqualFold(a.ResourceID, sp.ID) {
			items = append(items, a)
		}
	}
	set := "servicePrincipals('" + sp.ID + "')/appRoleAssignedTo"
	if heldBy {
		set = "servicePrincipals('" + sp.ID + "')/appRoleAssignments"
	}
	return s.graphList(req, set, "appRoleAssignment", AppRoleAssignment{}, items, []string{"id", "appRoleId", "principalId", "resourceId"})
}
