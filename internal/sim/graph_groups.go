package sim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Group is an Entra group: its direct members, users and groups, by
// object ID.
type Group struct {
	ID           string
	DisplayName  string
	MemberUsers  []string
	MemberGroups []string
}

// graphGroups serves what driftd reads of groups: the users among a
// group's transitive members,
// groups/{id}/transitiveMembers/microsoft.graph.user, with $count=true
// (which Graph accepts only with ConsistencyLevel: eventual), $top and
// $select=id. Everything else is not routed.
func (s *Server) graphGroups(req graphRequest, key string, isAlt bool, rest []string) graphResponse {
	if isAlt || key == "" || len(rest) != 2 || !strings.EqualFold(rest[0], "transitiveMembers") || rest[1] != "microsoft.graph.user" {
		return badSegment(req, "groups")
	}
	if req.method != http.MethodGet {
		return methodNotAllowed(req)
	}
	g := s.tenant.group(key)
	if g == nil {
		return graphError(req, http.StatusNotFound, "Request_ResourceNotFound",
			"Resource '"+key+"' does not exist or one of its queried reference-property objects are not present.")
	}
	count := req.query.Get("$count") == "true"
	if count && !strings.EqualFold(headerOf(req, "ConsistencyLevel"), "eventual") {
		return graphError(req, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.")
	}
	if sel := req.query.Get("$select"); sel != "" && sel != "id" {
		return graphError(req, http.StatusBadRequest, "BadRequest", "Parsing OData Select and Expand failed: Could not find a property named '"+sel+"' on type 'microsoft.graph.user'.")
	}
	users := s.tenant.transitiveUsers(g)
	top := len(users)
	if v := req.query.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			return graphError(req, http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '"+v+"'. Must be between 1 and 999 inclusive.")
		}
		top = min(n, top)
	}
	value := make([]map[string]string, 0, top)
	for _, id := range users[:top] {
		value = append(value, map[string]string{"@odata.type": "#microsoft.graph.user", "id": id})
	}
	raw, _ := json.Marshal(value)
	out := []member{{"@odata.context", rawString(s.graphURL + "/$metadata#users(id)")}}
	if count {
		out = append(out, member{"@odata.count", json.RawMessage(strconv.Itoa(len(users)))})
	}
	if top < len(users) {
		out = append(out, member{"@odata.nextLink", rawString(s.nextLink(req, top))})
	}
	out = append(out, member{"value", json.RawMessage(raw)})
	return graphResponse{status: http.StatusOK, body: writeObject(out)}
}

// headerOf is a request header: the $batch item's own, or the HTTP
// request's for a top-level request.
func headerOf(req graphRequest, name string) string {
	if req.itemHeaders != nil {
		for k, v := range req.itemHeaders {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
	if req.httpReq != nil {
		return req.httpReq.Header.Get(name)
	}
	return ""
}

func (t *Tenant) group(id string) *Group {
	for i := range t.Groups {
		if strings.EqualFold(t.Groups[i].ID, id) {
			return &t.Groups[i]
		}
	}
	return nil
}

// transitiveUsers lists the distinct users of g and of its nested groups.
func (t *Tenant) transitiveUsers(g *Group) []string {
	seenUser, seenGroup := map[string]bool{}, map[string]bool{}
	var out []string
	var walk func(*Group)
	walk = func(g *Group) {
		if g == nil || seenGroup[strings.ToLower(g.ID)] {
			return
		}
		seenGroup[strings.ToLower(g.ID)] = true
		for _, u := range g.MemberUsers {
			if !seenUser[strings.ToLower(u)] {
				seenUser[strings.ToLower(u)] = true
				out = append(out, u)
			}
		}
		for _, sub := range g.MemberGroups {
			walk(t.group(sub))
		}
	}
	walk(g)
	return out
}
