package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ---- Cloudflare Access policies, applications, groups, Gateway rules -------

// AccessRule is one Access rule: exactly one of its fields is set, as on
// the wire ({"azureAD":{…}}, {"email":{…}}, {"everyone":{}}, …).
type AccessRule struct {
	AzureAD  *AzureADRule    `json:"azureAD,omitempty"`
	Email    *EmailRule      `json:"email,omitempty"`
	Everyone *struct{}       `json:"everyone,omitempty"`
	Group    *AccessGroupRef `json:"group,omitempty"`
}

// AzureADRule matches members of an Entra group through an identity provider.
type AzureADRule struct {
	ID                 string `json:"id"`
	IdentityProviderID string `json:"identity_provider_id"`
}

// EmailRule matches one email address.
type EmailRule struct {
	Email string `json:"email"`
}

// AccessGroupRef matches members of an Access group.
type AccessGroupRef struct {
	ID string `json:"id"`
}

// AccessPolicy is an Access policy: reusable (listed under
// /access/policies) or embedded in an application.
type AccessPolicy struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Decision   string       `json:"decision"`
	Include    []AccessRule `json:"include"`
	Exclude    []AccessRule `json:"exclude"`
	Require    []AccessRule `json:"require"`
	Precedence int          `json:"precedence,omitempty"`
	Reusable   bool         `json:"reusable"`
	AppCount   int          `json:"app_count,omitempty"`
	CreatedAt  string       `json:"created_at"`
	UpdatedAt  string       `json:"updated_at"`
}

// AccessApplication is an Access application with its policies.
type AccessApplication struct {
	ID       string         `json:"id"`
	UID      string         `json:"uid"`
	AUD      string         `json:"aud"`
	Name     string         `json:"name"`
	Domain   string         `json:"domain"`
	Type     string         `json:"type"`
	Policies []AccessPolicy `json:"policies"`
	// AllowedIdPs are identity provider IDs.
	AllowedIdPs     []string `json:"allowed_idps"`
	SessionDuration string   `json:"session_duration"`
	CreatedAt       string   `json:"created_at"`
	UpdatedAt       string   `json:"updated_at"`
}

// AccessGroup is an Access group.
type AccessGroup struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Include   []AccessRule `json:"include"`
	Exclude   []AccessRule `json:"exclude"`
	Require   []AccessRule `json:"require"`
	IsDefault []AccessRule `json:"is_default"`
	CreatedAt string       `json:"created_at"`
	UpdatedAt string       `json:"updated_at"`
}

// GatewayRule is a Zero Trust Gateway rule.
type GatewayRule struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Action        string   `json:"action"`
	Enabled       bool     `json:"enabled"`
	Filters       []string `json:"filters"`
	Traffic       string   `json:"traffic"`
	Identity      string   `json:"identity"`
	DevicePosture string   `json:"device_posture"`
	Precedence    int      `json:"precedence"`
	Version       int      `json:"version"`
	CreatedAt     string   `json:"created_at"`
	UpdatedAt     string   `json:"updated_at"`
}

// cfPolicyRoute answers the policy endpoints; ok is false for another path.
func (s *Server) cfPolicyRoute(r *http.Request, t *Tenant, segs []string) (int, []byte, bool) {
	if len(segs) == 6 && strings.Join(segs[2:], "/") == "access/logs/scim/updates" {
		status, body := s.cfSCIMLogs(r, t)
		return status, body, true
	}
	if len(segs) != 4 {
		return 0, nil, false
	}
	size := s.opts.PageSize
	if t.CloudflarePageSize > 0 {
		size = t.CloudflarePageSize
	}
	switch segs[2] + "/" + segs[3] {
	case "access/policies":
		status, body := cfPage(r, size, t.AccessPolicies)
		return status, body, true
	case "access/apps":
		status, body := cfPage(r, size, t.AccessApplications)
		return status, body, true
	case "access/groups":
		status, body := cfPage(r, size, t.AccessGroups)
		return status, body, true
	case "gateway/rules":
		// One page, as the API answers it.
		rules := append([]GatewayRule{}, t.GatewayRules...)
		status, body := cfBody(http.StatusOK, cfEnvelope{
			Result: rules, Success: true,
			ResultInfo: &cfResultInfo{Page: 1, PerPage: len(rules), Count: len(rules), TotalCount: len(rules), TotalPages: 1},
		})
		return status, body, true
	}
	return 0, nil, false
}

// cfPage pages all with page/per_page as the v4 API does (result_info,
// an empty result past the end).
func cfPage[T any](r *http.Request, pageSize int, all []T) (int, []byte) {
	q := r.URL.Query()
	def, max := defaultCFPageSize, maxCFPageSize
	if pageSize > 0 {
		def, max = pageSize, pageSize
	}
	page, perPage := 1, def
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cfErrorBody(http.StatusBadRequest, 12006, "page must be a positive integer")
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cfErrorBody(http.StatusBadRequest, 12006, "per_page must be a positive integer")
		}
		perPage = min(n, max)
	}
	start := min((page-1)*perPage, len(all))
	end := min(start+perPage, len(all))
	result := append([]T{}, all[start:end]...)
	return cfBody(http.StatusOK, cfEnvelope{
		Result:  result,
		Success: true,
		ResultInfo: &cfResultInfo{
			Page: page, PerPage: perPage, Count: len(result),
			TotalCount: len(all), TotalPages: (len(all) + perPage - 1) / perPage,
		},
	})
}

// Entra groups the scenarios' Access and Gateway rules reference.
const (
	GroupEngineeringID = "5b0c6f9e-2a8d-4e61-9c3f-0d7a1e4b8c21"
	GroupFinanceID     = "c3e8a1d4-7f25-4b9e-8a06-3d1f9b7e5c42"
	GroupContractorsID = "8f4d2b7a-1c6e-4d93-b5a0-6e2c8f1a9d63"
	GroupAllStaffID    = "e1a7c5b3-9d2f-4a68-8c14-7b3e0d6f2a84"

	PolicyEngineeringID = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
	PolicyContractorsID = "2b6f0c8e-3d9a-4e71-a5c2-9f1b7d4e6a30"
	AppGrafanaID        = "0c9a6e3f-5b2d-4f8a-9e17-4d6b2a8c1f55"
	AppWikiID           = "7d3b9f1a-6e4c-4a2b-8d05-1f9c3e7a5b66"
	AppGrafanaPolicyID  = "a6e2c8f4-0b3d-4e97-9c51-8d2f6a4b1e77"
	AppWikiPolicyID     = "4e8a2c6f-9d1b-4f35-a7e0-2c5b8d3f9a88"
	AccessGroupStaffID  = "9a1f5d3b-7c2e-4b86-9f40-5e3a1c7d2b99"
	GatewayFinanceID    = "b2d6f0a4-8e3c-4d19-a6b7-0f4e2c8a6d10"
	GatewayEngSSHID     = "6f0b4d8e-2a7c-4e53-b9d1-3a8f6c0e4b21"
	GatewayMalwareID    = "1d5f9b3e-7a2c-4f64-8e0b-9c3a7e1d5f32"

	groupContractorsEUID = "3c7e1a5f-0b9d-4e28-a6f4-8d2b0e6c4a13"
	userDinoID           = "d4f8b2e6-1a5c-4d97-b3e0-7f1c5a9d3e24"
)

func azureAD(groupID, idpID string) AccessRule {
	return AccessRule{AzureAD: &AzureADRule{ID: groupID, IdentityProviderID: idpID}}
}

// healthyPolicies is the account's Access and Gateway rules in Healthy:
// every azureAD rule goes through the corp identity provider (which
// sends groups), and every referenced group exists.
func healthyPolicies(t *Tenant, now time.Time) {
	at := now.AddDate(0, 0, -90).Format(time.RFC3339)
	engineering := AccessPolicy{
		ID: PolicyEngineeringID, Name: "Engineering", Decision: "allow", Reusable: true, AppCount: 1,
		Include:   []AccessRule{azureAD(GroupEngineeringID, CorpIdPID)},
		Exclude:   []AccessRule{{Email: &EmailRule{Email: "departed@acme.example"}}},
		CreatedAt: at, UpdatedAt: at,
	}
	contractors := AccessPolicy{
		ID: PolicyContractorsID, Name: "Contractors", Decision: "allow", Reusable: true,
		// Contractors sign in through their own login method.
		Include:   []AccessRule{azureAD(GroupContractorsID, ContractorsIdPID)},
		Require:   []AccessRule{azureAD(GroupAllStaffID, CorpIdPID)},
		CreatedAt: at, UpdatedAt: at,
	}
	t.Groups = []Group{
		{ID: GroupEngineeringID, DisplayName: "Engineering", MemberUsers: []string{UserAdeleID, UserBenID}},
		{ID: GroupFinanceID, DisplayName: "Finance", MemberUsers: []string{UserChloeID}},
		// Contractors has users only through a nested group.
		{ID: GroupContractorsID, DisplayName: "Contractors", MemberGroups: []string{groupContractorsEUID}},
		{ID: groupContractorsEUID, DisplayName: "Contractors (EU)", MemberUsers: []string{userDinoID}},
		{ID: GroupAllStaffID, DisplayName: "All staff", MemberGroups: []string{GroupEngineeringID, GroupFinanceID}},
	}
	t.AccessPolicies = []AccessPolicy{engineering, contractors}
	embedded := engineering
	embedded.Precedence = 1
	t.AccessApplications = []AccessApplication{
		{
			ID: AppGrafanaID, UID: AppGrafanaID, AUD: randomHexFrom(AppGrafanaID), Name: "Grafana", Domain: "grafana.acme.example", Type: "self_hosted",
			Policies: []AccessPolicy{embedded, {
				ID: AppGrafanaPolicyID, Name: "Finance dashboards", Decision: "allow", Precedence: 2,
				Include:   []AccessRule{azureAD(GroupFinanceID, CorpIdPID)},
				CreatedAt: at, UpdatedAt: at,
			}},
			AllowedIdPs: []string{CorpIdPID}, SessionDuration: "24h", CreatedAt: at, UpdatedAt: at,
		},
		{
			ID: AppWikiID, UID: AppWikiID, AUD: randomHexFrom(AppWikiID), Name: "Wiki", Domain: "wiki.acme.example", Type: "self_hosted",
			Policies: []AccessPolicy{{
				ID: AppWikiPolicyID, Name: "Staff", Decision: "allow", Precedence: 1,
				Include:   []AccessRule{{Group: &AccessGroupRef{ID: AccessGroupStaffID}}},
				Exclude:   []AccessRule{azureAD(GroupContractorsID, CorpIdPID)},
				CreatedAt: at, UpdatedAt: at,
			}},
			AllowedIdPs: []string{CorpIdPID, OneTimePinIdPID}, SessionDuration: "8h", CreatedAt: at, UpdatedAt: at,
		},
	}
	t.AccessGroups = []AccessGroup{{
		ID: AccessGroupStaffID, Name: "All staff",
		Include:   []AccessRule{azureAD(GroupAllStaffID, CorpIdPID)},
		CreatedAt: at, UpdatedAt: at,
	}}
	t.GatewayRules = []GatewayRule{
		{
			ID: GatewayFinanceID, Name: "Staff: block file sharing", Action: "block", Enabled: true,
			Filters: []string{"http"}, Traffic: `any(http.request.uri.content_category[*] in {155})`,
			Identity:   `any(identity.groups.id[*] in {"` + GroupAllStaffID + `" "` + GroupContractorsID + `"})`,
			Precedence: 1000, Version: 1, CreatedAt: at, UpdatedAt: at,
		},
		{
			ID: GatewayEngSSHID, Name: "Engineering SSH", Action: "allow", Enabled: true,
			Filters: []string{"l4"}, Traffic: `net.dst.port == 22`,
			Identity:   `identity.groups.id == "` + GroupEngineeringID + `"`,
			Precedence: 2000, Version: 1, CreatedAt: at, UpdatedAt: at,
		},
		{
			ID: GatewayMalwareID, Name: "Block malware", Action: "block", Enabled: true,
			Filters: []string{"dns"}, Traffic: `any(dns.security_category[*] in {80})`,
			Precedence: 3000, Version: 1, CreatedAt: at, UpdatedAt: at,
		},
	}
}

// randomHexFrom is a stable 64-hex-digit application audience tag.
func randomHexFrom(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])
}
