package sim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SCIMUpdateLog is one entry of Cloudflare's Access SCIM update log
// (GET /accounts/{id}/access/logs/scim/updates). Entries name users and
// carry the SCIM request body: personal data driftd must never keep.
type SCIMUpdateLog struct {
	CFResourceID      string    `json:"cf_resource_id"`
	ErrorDescription  string    `json:"error_description"`
	IdPID             string    `json:"idp_id"`
	IdPResourceID     string    `json:"idp_resource_id"`
	LoggedAt          time.Time `json:"logged_at"`
	RequestBody       string    `json:"request_body"`
	RequestMethod     string    `json:"request_method"`
	ResourceGroupName string    `json:"resource_group_name"`
	ResourceType      string    `json:"resource_type"`
	ResourceUserEmail string    `json:"resource_user_email"`
	Status            string    `json:"status"`
}

// SCIMLogCanaryEmail is a user the scenarios' SCIM log names; it must never
// appear in anything driftd writes.
const SCIMLogCanaryEmail = "adele.vance@acme.example"

// cfSCIMLogs answers the SCIM update log: idp_id (required, repeatable),
// since, until, direction (default desc) and limit, then page/per_page.
func (s *Server) cfSCIMLogs(r *http.Request, t *Tenant) (int, []byte) {
	q := r.URL.Query()
	idps := q["idp_id"]
	if len(idps) == 0 {
		return cfErrorBody(http.StatusBadRequest, 12006, "idp_id is required")
	}
	bound := func(name string) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, true
		}
		at, err := time.Parse(time.RFC3339Nano, v)
		return at, err == nil
	}
	since, ok1 := bound("since")
	until, ok2 := bound("until")
	if !ok1 || !ok2 {
		return cfErrorBody(http.StatusBadRequest, 12006, "since and until must be RFC 3339 timestamps")
	}
	var out []SCIMUpdateLog
	for _, e := range t.SCIMUpdateLogs {
		wanted := false
		for _, id := range idps {
			wanted = wanted || strings.EqualFold(id, e.IdPID)
		}
		if wanted && (since.IsZero() || !e.LoggedAt.Before(since)) && (until.IsZero() || !e.LoggedAt.After(until)) {
			out = append(out, e)
		}
	}
	asc := q.Get("direction") == "asc"
	sort.SliceStable(out, func(i, j int) bool {
		if asc {
			return out[i].LoggedAt.Before(out[j].LoggedAt)
		}
		return out[i].LoggedAt.After(out[j].LoggedAt)
	})
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cfErrorBody(http.StatusBadRequest, 12006, "limit must be a positive integer")
		}
		out = out[:min(n, len(out))]
	}
	return cfPage(r, s.opts.PageSize, out)
}

// scimLogEntries are the requests Entra's provisioning job made to the
// corp identity provider's SCIM endpoint during its run at began.
func scimLogEntries(began time.Time) []SCIMUpdateLog {
	return []SCIMUpdateLog{
		{
			CFResourceID: "bd97ef8d-7986-43e3-9ee0-c25dda33e4b0", IdPID: CorpIdPID, IdPResourceID: UserAdeleID,
			LoggedAt: began.Add(20 * time.Second), RequestMethod: "PATCH", ResourceType: "USER", Status: "SUCCESS",
			ResourceUserEmail: SCIMLogCanaryEmail,
			RequestBody:       `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"title","value":"Finance lead"}]}`,
		},
		{
			CFResourceID: "5d1c3a0e-2b9f-4e67-8a14-6f0d2c9b3e58", IdPID: CorpIdPID, IdPResourceID: "0a4c8e2f-6b1d-4f39-9e57-2d8b6f0a4c13",
			LoggedAt: began.Add(31 * time.Second), RequestMethod: "PATCH", ResourceType: "GROUP", Status: "SUCCESS",
			ResourceGroupName: "Treasury approvers",
			RequestBody:       `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"` + UserAdeleID + `"}]}]}`,
		},
	}
}
