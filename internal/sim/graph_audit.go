package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// DirectoryAudit is an entry of Entra's directory audit log
// (GET /auditLogs/directoryAudits), as Graph v1.0 declares
// microsoft.graph.directoryAudit.
type DirectoryAudit struct {
	ID                  string                 `json:"id"`
	ActivityDateTime    time.Time              `json:"activityDateTime"`
	ActivityDisplayName string                 `json:"activityDisplayName"`
	AdditionalDetails   []KeyValue             `json:"additionalDetails"`
	Category            string                 `json:"category"`
	CorrelationID       string                 `json:"correlationId"`
	InitiatedBy         AuditActivityInitiator `json:"initiatedBy"`
	LoggedByService     string                 `json:"loggedByService"`
	OperationType       string                 `json:"operationType"`
	// Result is an operationResult: "success", "failure", "timeout" or
	// "unknownFutureValue".
	Result           string           `json:"result"`
	ResultReason     string           `json:"resultReason"`
	TargetResources  []TargetResource `json:"targetResources"`
	VisibleFromQuery int              `json:"-"` // see Tenant.DirectoryAudits
}

// AuditActivityInitiator is who did it: a user or an app (the other null).
type AuditActivityInitiator struct {
	App  *AppIdentity  `json:"app"`
	User *UserIdentity `json:"user"`
}

// AppIdentity is an application that initiated an activity.
type AppIdentity struct {
	AppID                string  `json:"appId"`
	DisplayName          string  `json:"displayName"`
	ServicePrincipalID   string  `json:"servicePrincipalId"`
	ServicePrincipalName *string `json:"servicePrincipalName"`
}

// UserIdentity is a user that initiated an activity; Graph often leaves
// displayName null.
type UserIdentity struct {
	DisplayName       *string `json:"displayName"`
	ID                string  `json:"id"`
	IPAddress         *string `json:"ipAddress"`
	UserPrincipalName *string `json:"userPrincipalName"`
}

// TargetResource is an object an activity changed. GroupType is a
// groupType ("unifiedGroups", "azureAD") for groups, else null.
type TargetResource struct {
	DisplayName        *string            `json:"displayName"`
	GroupType          *string            `json:"groupType"`
	ID                 string             `json:"id"`
	ModifiedProperties []ModifiedProperty `json:"modifiedProperties"`
	Type               string             `json:"type"`
	UserPrincipalName  *string            `json:"userPrincipalName"`
}

// ModifiedProperty is one changed property; the values are JSON text
// (null when the property had, or has, no value).
type ModifiedProperty struct {
	DisplayName string  `json:"displayName"`
	NewValue    *string `json:"newValue"`
	OldValue    *string `json:"oldValue"`
}

// KeyValue is Graph's keyValue.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

const (
	auditLogGraph      = "graph"
	auditLogCloudflare = "cloudflare"
	maxAuditPageSize   = 1000
)

// auditQuery counts a new query (a first page) of log and returns its
// number, from 1.
func (s *Server) auditQuery(log string) int {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if s.auditQueries == nil {
		s.auditQueries = map[string]int{}
	}
	s.auditQueries[log]++
	return s.auditQueries[log]
}

// auditQueryCount is the number of the latest query of log (0: none yet).
func (s *Server) auditQueryCount(log string) int {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	return s.auditQueries[log]
}

// visibleAt reports whether an entry with visibleFrom is served to query n.
func visibleAt(visibleFrom, n int) bool { return visibleFrom <= 1 || n >= visibleFrom }

// graphAuditLogs serves auditLogs/directoryAudits (and one entry by id).
func (s *Server) graphAuditLogs(req graphRequest, key string, isAlt bool, rest []string) graphResponse {
	if isAlt || !strings.EqualFold(key, "directoryAudits") || len(rest) > 1 {
		seg := "auditLogs"
		if key != "" {
			seg = key
		}
		if len(rest) > 1 {
			seg = rest[len(rest)-1]
		}
		return badSegment(req, seg)
	}
	if req.method != http.MethodGet {
		return methodNotAllowed(req)
	}
	if len(rest) == 1 {
		for _, e := range s.tenant.DirectoryAudits {
			if strings.EqualFold(e.ID, rest[0]) && visibleAt(e.VisibleFromQuery, s.auditQueryCount(auditLogGraph)) {
				return s.graphEntity(req, "auditLogs/directoryAudits", "directoryAudit", e)
			}
		}
		return notFound(req, rest[0])
	}
	return s.graphDirectoryAudits(req)
}

// graphDirectoryAudits lists the directory audit log newest first, with
// $filter (auditFilter's grammar), $select, $top and $skiptoken paging.
func (s *Server) graphDirectoryAudits(req graphRequest) graphResponse {
	sel, errResp := parseSelect(req, DirectoryAudit{}, "directoryAudit")
	if errResp != nil {
		return *errResp
	}
	filter, ok := parseAuditFilter(req.query.Get("$filter"))
	if !ok {
		return graphError(req, http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+req.query.Get("$filter"))
	}
	size := defaultGraphPageSize
	if s.opts.PageSize > 0 {
		size = s.opts.PageSize
	}
	if top := req.query.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 || n > maxAuditPageSize {
			return graphError(req, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", top, maxAuditPageSize))
		}
		size = n
		if s.opts.PageSize > 0 {
			size = min(n, s.opts.PageSize)
		}
	}
	offset, query := 0, 0
	if tok := req.query.Get("$skiptoken"); tok != "" {
		var ok bool
		if offset, query, ok = decodeAuditSkipToken(tok); !ok {
			return graphError(req, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
		}
		if query == 0 {
			query = s.auditQueryCount(auditLogGraph)
		}
	} else {
		query = s.auditQuery(auditLogGraph)
	}

	var entries []DirectoryAudit
	for _, e := range s.tenant.DirectoryAudits {
		if visibleAt(e.VisibleFromQuery, query) && filter.matches(e) {
			entries = append(entries, e)
		}
	}
	slices.SortStableFunc(entries, func(a, b DirectoryAudit) int {
		if c := b.ActivityDateTime.Compare(a.ActivityDateTime); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	offset = min(offset, len(entries))
	end := min(offset+size, len(entries))

	var value strings.Builder
	value.WriteByte('[')
	for i, e := range entries[offset:end] {
		ms, err := render(e)
		if err != nil {
			return graphError(req, http.StatusInternalServerError, "InternalServerError", err.Error())
		}
		if len(sel) > 0 {
			ms = slices.DeleteFunc(ms, func(m member) bool { return !slices.Contains(sel, m.Key) })
		}
		if i > 0 {
			value.WriteByte(',')
		}
		value.Write(writeObject(ms))
	}
	value.WriteByte(']')

	out := []member{{"@odata.context", rawString(s.contextURL("auditLogs/directoryAudits", sel, false))}}
	if end < len(entries) {
		link := strings.TrimSuffix(s.nextLink(req, 0), encodeSkipToken(0)) + encodeAuditSkipToken(end, query)
		out = append(out, member{"@odata.nextLink", rawString(link)})
	}
	out = append(out, member{"value", json.RawMessage(value.String())})
	return graphResponse{status: http.StatusOK, body: writeObject(out)}
}

// An audit skip token carries the offset and the query number, so later
// pages show what the first page's query saw. The generic form
// (encodeSkipToken, as fault-made next links carry) is accepted too.
func encodeAuditSkipToken(offset, query int) string {
	return "RFNwdAIA" + base64.RawURLEncoding.EncodeToString([]byte("offset:"+strconv.Itoa(offset)+";query:"+strconv.Itoa(query)))
}

func decodeAuditSkipToken(tok string) (offset, query int, ok bool) {
	if n, ok := decodeSkipToken(tok); ok {
		return n, 0, true
	}
	rest, ok := strings.CutPrefix(tok, "RFNwdAIA")
	if !ok {
		return 0, 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return 0, 0, false
	}
	o, q, ok := strings.Cut(string(b), ";query:")
	if !ok {
		return 0, 0, false
	}
	offset, err1 := strconv.Atoi(strings.TrimPrefix(o, "offset:"))
	query, err2 := strconv.Atoi(q)
	if err1 != nil || err2 != nil || offset < 0 || query < 1 {
		return 0, 0, false
	}
	return offset, query, true
}

// auditFilter is a parsed directoryAudits $filter: every bound and every
// disjunction of target IDs must hold.
type auditFilter struct {
	ge, le  []time.Time
	targets [][]string // each: any of these target IDs
}

func (f auditFilter) matches(e DirectoryAudit) bool {
	for _, t := range f.ge {
		if e.ActivityDateTime.Before(t) {
			return false
		}
	}
	for _, t := range f.le {
		if e.ActivityDateTime.After(t) {
			return false
		}
	}
	for _, ids := range f.targets {
		if !slices.ContainsFunc(e.TargetResources, func(tr TargetResource) bool { return containsFold(ids, tr.ID) }) {
			return false
		}
	}
	return true
}

// parseAuditFilter accepts a conjunction (" and ") of
//
//	activityDateTime ge <RFC 3339>    activityDateTime le <RFC 3339>
//	targetResources/any(t:t/id eq '<id>')
//	( <any-term> or <any-term> ... )
//
// with flexible spaces and case-insensitive keywords; "" is no filter.
func parseAuditFilter(raw string) (auditFilter, bool) {
	var f auditFilter
	p := &filterParser{s: raw}
	p.space()
	if p.done() {
		return f, true
	}
	for {
		if !p.term(&f) {
			return auditFilter{}, false
		}
		sp := p.space()
		if p.done() {
			return f, true
		}
		if !sp || !p.keyword("and") || !p.space() {
			return auditFilter{}, false
		}
	}
}

type filterParser struct {
	s string
	i int
}

func (p *filterParser) done() bool { return p.i >= len(p.s) }

// space skips blanks and reports whether there were any.
func (p *filterParser) space() bool {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
	return p.i > start
}

// lit consumes s (case-insensitively) if it comes next.
func (p *filterParser) lit(s string) bool {
	if len(p.s)-p.i >= len(s) && strings.EqualFold(p.s[p.i:p.i+len(s)], s) {
		p.i += len(s)
		return true
	}
	return false
}

// keyword consumes a word that is not the start of a longer one.
func (p *filterParser) keyword(w string) bool {
	start := p.i
	if !p.lit(w) {
		return false
	}
	if !p.done() && isIdentChar(rune(p.s[p.i])) {
		p.i = start
		return false
	}
	return true
}

func isIdentChar(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func (p *filterParser) term(f *auditFilter) bool {
	switch {
	case p.lit("("):
		var ids []string
		for {
			p.space()
			id, ok := p.anyTerm()
			if !ok {
				return false
			}
			ids = append(ids, id)
			sp := p.space()
			if p.lit(")") {
				f.targets = append(f.targets, ids)
				return true
			}
			if !sp || !p.keyword("or") || !p.space() {
				return false
			}
		}
	case p.keyword("activityDateTime"):
		if !p.space() {
			return false
		}
		ge := p.keyword("ge")
		if !ge && !p.keyword("le") {
			return false
		}
		if !p.space() {
			return false
		}
		start := p.i
		for !p.done() && p.s[p.i] != ' ' && p.s[p.i] != '\t' && p.s[p.i] != ')' {
			p.i++
		}
		at, err := time.Parse(time.RFC3339Nano, p.s[start:p.i])
		if err != nil {
			return false
		}
		if ge {
			f.ge = append(f.ge, at)
		} else {
			f.le = append(f.le, at)
		}
		return true
	default:
		id, ok := p.anyTerm()
		if ok {
			f.targets = append(f.targets, []string{id})
		}
		return ok
	}
}

// anyTerm is targetResources/any(v:v/id eq '<id>'); it returns the ID.
func (p *filterParser) anyTerm() (string, bool) {
	if !p.lit("targetResources/any(") {
		return "", false
	}
	p.space()
	start := p.i
	for !p.done() && isIdentChar(rune(p.s[p.i])) {
		p.i++
	}
	v := p.s[start:p.i]
	if v == "" {
		return "", false
	}
	p.space()
	if !p.lit(":") {
		return "", false
	}
	p.space()
	if !p.lit(v+"/id") || !p.space() || !p.keyword("eq") || !p.space() || !p.lit("'") {
		return "", false
	}
	var id strings.Builder
	for {
		if p.done() {
			return "", false
		}
		c := p.s[p.i]
		p.i++
		if c == '\'' {
			if !p.done() && p.s[p.i] == '\'' {
				id.WriteByte('\'')
				p.i++
				continue
			}
			break
		}
		id.WriteByte(c)
	}
	p.space()
	if !p.lit(")") {
		return "", false
	}
	return id.String(), true
}

// Actors and entries of Drifted's audit logs (driftedAuditEntries).
const (
	// AuditAdminUserID is the admin who made most of Drifted's changes:
	// UserDanID, who owns the corp and contractors apps.
	AuditAdminUserID = UserDanID
	// AuditAdminUPN is that admin's userPrincipalName and Cloudflare email.
	AuditAdminUPN = "dan.jump@" + TenantDomain
	// AuditAdminEntraIP and AuditAdminCloudflareIP are the admin's
	// addresses in the two logs.
	AuditAdminEntraIP      = "203.0.113.24"
	AuditAdminCloudflareIP = "198.51.100.24"
	// AuditChloeUPN is UserChloeID, who consented for herself.
	AuditChloeUPN = "chloe.ward@" + TenantDomain

	// The "terraform-ci" automation app that made one Entra change.
	AutomationAppID   = "c1f0e6a2-8d4b-4e37-9a15-6b2e0d7f3c48"
	AutomationSPID    = "5a7d3e91-0c6f-4b28-8e4a-d2f1b9c6a073"
	AutomationAppName = "terraform-ci"

	// The Cloudflare API token that deleted the contractors IdP.
	AuditTokenID   = "7b0e5c2d9a4f41e68c3b1d0f2a6e9c57"
	AuditTokenName = "terraform"

	// AuditFinanceDeleteID is Drifted's "Delete group" entry for
	// GroupFinanceID. It has VisibleFromQuery 2: a first query of the log
	// misses it and the next one (the next run) sees it.
	AuditFinanceDeleteID = "Directory_7e2c9b14-3a58-4f0d-b6e1-95c8d2a4f703_QX1RL_94817236"
)
