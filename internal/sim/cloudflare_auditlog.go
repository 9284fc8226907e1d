package sim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CloudflareAuditLog is an entry of the Cloudflare account audit log,
// version 2 (GET /accounts/{account_id}/logs/audit), as the Go SDK's
// accounts.LogAuditListResponse reads it.
type CloudflareAuditLog struct {
	ID               string                  `json:"id"`
	Account          CloudflareAuditAccount  `json:"account"`
	Action           CloudflareAuditAction   `json:"action"`
	Actor            CloudflareAuditActor    `json:"actor"`
	Raw              CloudflareAuditRaw      `json:"raw"`
	Resource         CloudflareAuditResource `json:"resource"`
	Zone             CloudflareAuditZone     `json:"zone"`
	VisibleFromQuery int                     `json:"-"` // see Tenant.CloudflareAuditLogs
}

// CloudflareAuditAccount is the account the change was made in.
type CloudflareAuditAccount struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CloudflareAuditAction is what was done: Result "success" or "failure";
// Type e.g. "create", "update", "delete".
type CloudflareAuditAction struct {
	Description string    `json:"description"`
	Result      string    `json:"result"`
	Time        time.Time `json:"time"`
	Type        string    `json:"type"`
}

// CloudflareAuditActor is who did it. Context is "dash", "api_token",
// "api_key", "oauth" or "origin_ca_key"; Type "user", "account",
// "cloudflare_admin" or "system".
type CloudflareAuditActor struct {
	ID        string `json:"id"`
	Context   string `json:"context"`
	Email     string `json:"email"`
	IPAddress string `json:"ip_address"`
	TokenID   string `json:"token_id"`
	TokenName string `json:"token_name"`
	Type      string `json:"type"`
}

// CloudflareAuditRaw is the API request that made the change.
type CloudflareAuditRaw struct {
	CfRayID    string `json:"cf_ray_id"`
	Method     string `json:"method"`
	StatusCode int    `json:"status_code"`
	URI        string `json:"uri"`
	UserAgent  string `json:"user_agent"`
}

// CloudflareAuditResource is the changed resource. Request and Response
// are the API bodies (any JSON; nil is null), which driftd must never keep.
type CloudflareAuditResource struct {
	ID       string          `json:"id"`
	Product  string          `json:"product"`
	Request  json.RawMessage `json:"request"`
	Response json.RawMessage `json:"response"`
	Scope    json.RawMessage `json:"scope"`
	Type     string          `json:"type"`
}

// CloudflareAuditZone is the zone of a zone-level change (empty otherwise).
type CloudflareAuditZone struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

const (
	defaultCFAuditLimit = 100
	maxCFAuditLimit     = 1000
)

type cfAuditResultInfo struct {
	Count  string `json:"count"`
	Cursor string `json:"cursor"`
}

type cfAuditEnvelope struct {
	Success    bool                 `json:"success"`
	Errors     []cfMessage          `json:"errors"`
	Result     []CloudflareAuditLog `json:"result"`
	ResultInfo cfAuditResultInfo    `json:"result_info"`
}

// cfAuditLogs answers the account audit log: since and before (required,
// dates or RFC 3339), resource_id and resource_id.not (repeatable),
// direction (default desc), limit (default 100) and cursor.
func (s *Server) cfAuditLogs(r *http.Request, t *Tenant) (int, []byte) {
	q := r.URL.Query()
	bound := func(name string) (time.Time, bool) {
		v := q.Get(name)
		if at, err := time.Parse(time.DateOnly, v); err == nil {
			return at, true
		}
		at, err := time.Parse(time.RFC3339Nano, v)
		return at, err == nil
	}
	if q.Get("since") == "" || q.Get("before") == "" {
		return cfErrorBody(http.StatusBadRequest, 10001, "since and before are required")
	}
	since, ok1 := bound("since")
	before, ok2 := bound("before")
	if !ok1 || !ok2 {
		return cfErrorBody(http.StatusBadRequest, 10001, "since and before must be dates (YYYY-MM-DD) or RFC 3339 timestamps")
	}
	desc := true
	switch q.Get("direction") {
	case "", "desc":
	case "asc":
		desc = false
	default:
		return cfErrorBody(http.StatusBadRequest, 10001, "direction must be asc or desc")
	}
	limit := defaultCFAuditLimit
	if s.opts.PageSize > 0 {
		limit = s.opts.PageSize
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxCFAuditLimit {
			return cfErrorBody(http.StatusBadRequest, 10001, "limit must be an integer between 1 and 1000")
		}
		limit = n
		if s.opts.PageSize > 0 {
			limit = min(n, s.opts.PageSize)
		}
	}
	offset, query := 0, 0
	if c := q.Get("cursor"); c != "" {
		var ok bool
		if offset, query, ok = decodeCFAuditCursor(c); !ok {
			return cfErrorBody(http.StatusBadRequest, 10001, "invalid cursor")
		}
	} else {
		query = s.auditQuery(auditLogCloudflare)
	}
	include, exclude := q["resource_id"], q["resource_id.not"]

	var out []CloudflareAuditLog
	for _, e := range t.CloudflareAuditLogs {
		switch {
		case !visibleAt(e.VisibleFromQuery, query),
			e.Action.Time.Before(since) || !e.Action.Time.Before(before),
			len(include) > 0 && !containsFold(include, e.Resource.ID),
			containsFold(exclude, e.Resource.ID):
			continue
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b CloudflareAuditLog) int {
		c := a.Action.Time.Compare(b.Action.Time)
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if desc {
			return -c
		}
		return c
	})
	offset = min(offset, len(out))
	end := min(offset+limit, len(out))
	page := append([]CloudflareAuditLog{}, out[offset:end]...)
	cursor := ""
	if end < len(out) {
		cursor = encodeCFAuditCursor(end, query)
	}
	b, err := wireJSON(cfAuditEnvelope{
		Success: true, Errors: []cfMessage{}, Result: page,
		ResultInfo: cfAuditResultInfo{Count: strconv.Itoa(len(page)), Cursor: cursor},
	})
	if err != nil {
		return cfErrorBody(http.StatusInternalServerError, 10001, "Internal server error")
	}
	return http.StatusOK, b
}

// A cursor carries the offset and the query number of the first page.
func encodeCFAuditCursor(offset, query int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v2:" + strconv.Itoa(offset) + ":" + strconv.Itoa(query)))
}

func decodeCFAuditCursor(c string) (offset, query int, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, false
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "v2" {
		return 0, 0, false
	}
	offset, err1 := strconv.Atoi(parts[1])
	query, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || offset < 0 || query < 1 {
		return 0, 0, false
	}
	return offset, query, true
}
