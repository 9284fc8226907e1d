package sim

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
	maxBatchRequests = 20
	maxBodyBytes     = 4 << 20
)

// graphRequest is one Graph call: a top-level request or a $batch item.
type graphRequest struct {
	method          string
	path            string // decoded, below /v1.0, e.g. "/applications"
	query           url.Values
	requestID       string
	clientRequestID string
	httpReq         *http.Request // the HTTP request (for a $batch item, the batch's)
	key             string        // identifies the request for Retry-After
	// itemHeaders are a $batch item's own headers.
	itemHeaders map[string]string
}

// graphResponse is a Graph answer before it is written out or embedded
// in a $batch response.
type graphResponse struct {
	status  int
	headers map[string]string
	body    []byte
	fault   *Fault // a hostile fault still to apply when it is written
}

// serveGraph is Microsoft Graph v1.0.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	req := graphRequest{
		method:          r.Method,
		query:           r.URL.Query(),
		requestID:       newUUID(),
		clientRequestID: r.Header.Get("client-request-id"),
		httpReq:         r,
		key:             requestKey(ServiceGraph, r),
	}
	if req.clientRequestID == "" {
		req.clientRequestID = newUUID()
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1.0")
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		seg := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
		s.writeGraph(w, req, graphError(req, http.StatusBadRequest, "BadRequest", "Invalid version: "+seg))
		return
	}
	req.path = rest

	tok, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !hasBearer || strings.TrimSpace(tok) == "":
		s.writeGraph(w, req, s.graphUnauthorized(req, "Access token is empty."))
		return
	case !s.tokenValid(strings.TrimSpace(tok)):
		s.writeGraph(w, req, s.graphUnauthorized(req, "Access token validation failure. Invalid audience."))
		return
	}

	if strings.EqualFold(req.path, "/$batch") {
		s.graphBatch(w, r, req)
		return
	}
	if f, ok := s.takeFault(FaultRequest{Service: ServiceGraph, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}, r.URL.Path); ok {
		s.writeGraph(w, req, s.graphFaulted(req, f))
		return
	}
	s.writeGraph(w, req, s.graphDo(req))
}

func (s *Server) writeGraph(w http.ResponseWriter, req graphRequest, resp graphResponse) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("request-id", req.requestID)
	h.Set("client-request-id", req.clientRequestID)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"West Europe","Slice":"E","Ring":"5","ScaleUnit":"003","RoleInstance":"AM2PEPF0001C7B2"}}`)
	if resp.status < 400 {
		h.Set("OData-Version", "4.0")
	}
	for k, v := range resp.headers {
		h.Set(k, v)
	}
	if resp.body == nil && resp.fault == nil {
		w.WriteHeader(resp.status)
		return
	}
	h.Set("Content-Type", graphContentType)
	if resp.fault != nil && resp.fault.wire() {
		s.writeHostile(w, req.httpReq, ServiceGraph, *resp.fault, nil, func() (int, []byte) { return resp.status, resp.body })
		return
	}
	writeRaw(w, resp.status, resp.body, nil)
}

// graphFaulted answers a request matched by f: Graph's error for a
// status fault, else the real answer with f applied.
func (s *Server) graphFaulted(req graphRequest, f Fault) graphResponse {
	if f.Kind == KindStatus {
		return s.graphFault(req, f)
	}
	resp := s.shapeGraph(req, f, s.graphDo(req))
	resp.fault = &f
	return resp
}

// graphError builds Graph's error body.
func graphError(req graphRequest, status int, code, message string) graphResponse {
	inner := []member{
		{"date", rawString(time.Now().UTC().Format("2006-01-02T15:04:05"))},
		{"request-id", rawString(req.requestID)},
		{"client-request-id", rawString(req.clientRequestID)},
	}
	errObj := []member{
		{"code", rawString(code)},
		{"message", rawString(message)},
		{"innerError", writeObject(inner)},
	}
	return graphResponse{status: status, body: writeObject([]member{{"error", writeObject(errObj)}})}
}

func (s *Server) graphUnauthorized(req graphRequest, msg string) graphResponse {
	resp := graphError(req, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
	resp.headers = map[string]string{
		"WWW-Authenticate": fmt.Sprintf(`Bearer realm="", authorization_uri="%scommon/oauth2/authorize", client_id="%s"`, s.authorityHost, GraphAppID),
	}
	return resp
}

func notFound(req graphRequest, key string) graphResponse {
	return graphError(req, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key))
}

func badSegment(req graphRequest, seg string) graphResponse {
	return graphError(req, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg))
}

func methodNotAllowed(req graphRequest) graphResponse {
	return graphError(req, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

// graphFault answers with Graph's error for f.Status.
func (s *Server) graphFault(req graphRequest, f Fault) graphResponse {
	var resp graphResponse
	switch f.Status {
	case http.StatusBadRequest:
		resp = graphError(req, f.Status, "BadRequest", "Invalid request.")
	case http.StatusUnauthorized:
		resp = s.graphUnauthorized(req, "Access token has expired or is not yet valid.")
	case http.StatusForbidden:
		resp = graphError(req, f.Status, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	case http.StatusNotFound:
		seg := req.path[strings.LastIndex(req.path, "/")+1:]
		resp = notFound(req, seg)
	case http.StatusTooManyRequests:
		resp = graphError(req, f.Status, "TooManyRequests", "Too many requests.")
	case http.StatusInternalServerError:
		resp = graphError(req, f.Status, "InternalServerError", "An internal server error occurred.")
	case http.StatusBadGateway:
		resp = graphError(req, f.Status, "BadGateway", "Bad gateway.")
	case http.StatusServiceUnavailable:
		resp = graphError(req, f.Status, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later.")
	case http.StatusGatewayTimeout:
		resp = graphError(req, f.Status, "GatewayTimeout", "The gateway timed out.")
	default:
		resp = graphError(req, f.Status, "UnknownError", http.StatusText(f.Status))
	}
	if v := s.retryAfter(f, req.key, req.httpReq); v != "" {
		if resp.headers == nil {
			resp.headers = map[string]string{}
		}
		resp.headers["Retry-After"] = v
	}
	return resp
}

// graphDo routes one Graph call. It holds the state lock throughout so a
// response reflects one consistent state.
func (s *Server) graphDo(req graphRequest) graphResponse {
	s.mu.Lock()
	defer s.mu.Unlock()

	segs := strings.Split(strings.Trim(req.path, "/"), "/")
	if segs[0] == "" {
		if req.method != http.MethodGet {
			return methodNotAllowed(req)
		}
		return graphResponse{status: http.StatusOK, body: writeObject([]member{
			{"@odata.context", rawString(s.graphURL + "/$metadata")},
			{"value", json.RawMessage(`[{"name":"applications","kind":"EntitySet","url":"applications"},{"name":"oauth2PermissionGrants","kind":"EntitySet","url":"oauth2PermissionGrants"},{"name":"servicePrincipals","kind":"EntitySet","url":"servicePrincipals"}]`)},
		})}
	}
	set, altKey, isAlt, ok := parseKeySegment(segs[0])
	if !ok {
		return badSegment(req, segs[0])
	}
	rest := segs[1:]
	key := altKey
	if !isAlt && len(rest) > 0 {
		key, rest = rest[0], rest[1:]
	}
	hasKey := isAlt || key != ""

	switch strings.ToLower(set) {
	case "applications":
		return s.graphApplications(req, key, isAlt, hasKey, rest)
	case "serviceprincipals":
		return s.graphServicePrincipals(req, key, isAlt, hasKey, rest)
	case "groups":
		return s.graphGroups(req, key, isAlt, rest)
	case "auditlogs":
		return s.graphAuditLogs(req, key, isAlt, rest)
	case "subscribedskus":
		if isAlt || hasKey || len(rest) > 0 {
			return badSegment(req, segs[len(segs)-1])
		}
		if req.method != http.MethodGet {
			return methodNotAllowed(req)
		}
		items := make([]any, len(s.tenant.SubscribedSkus))
		for i, sku := range s.tenant.SubscribedSkus {
			items[i] = sku
		}
		return s.graphList(req, "subscribedSkus", "subscribedSku", SubscribedSku{}, items, nil)
	case "oauth2permissiongrants":
		if isAlt {
			return badSegment(req, segs[0])
		}
		return s.graphGrants(req, key, hasKey, rest)
	}
	return badSegment(req, set)
}

// parseKeySegment splits "applications(appId='x')" into the set and the
// alternate key; a plain segment is returned as the set.
func parseKeySegment(seg string) (set, key string, alt, ok bool) {
	open := strings.IndexByte(seg, '(')
	if open < 0 {
		return seg, "", false, true
	}
	if !strings.HasSuffix(seg, ")") {
		return "", "", false, false
	}
	set = seg[:open]
	name, val, found := strings.Cut(seg[open+1:len(seg)-1], "=")
	if !found || !strings.EqualFold(strings.TrimSpace(name), "appId") {
		return "", "", false, false
	}
	val = strings.TrimSpace(val)
	if len(val) < 2 || val[0] != '\'' || val[len(val)-1] != '\'' {
		return "", "", false, false
	}
	return set, val[1 : len(val)-1], true, true
}

func (s *Server) graphApplications(req graphRequest, key string, byAppID, hasKey bool, rest []string) graphResponse {
	if len(rest) > 0 {
		return badSegment(req, rest[0])
	}
	if req.method != http.MethodGet {
		return methodNotAllowed(req)
	}
	if !hasKey {
		items := make([]any, len(s.tenant.Applications))
		for i, a := range s.tenant.Applications {
			items[i] = a
		}
		return s.graphList(req, "applications", "application", Application{}, items, []string{"id", "appId", "displayName"})
	}
	for _, a := range s.tenant.Applications {
		if byAppID && strings.EqualFold(a.AppID, key) || !byAppID && strings.EqualFold(a.ID, key) {
			resp := s.graphEntity(req, "applications", "application", a)
			if req.query.Get("$expand") == "" || resp.status != http.StatusOK {
				return resp
			}
			return expandOwners(req, resp, a.Owners)
		}
	}
	return notFound(req, key)
}

// expandOwners serves $expand=owners (optionally with a nested
// $select=id, the only one driftd uses): the owners as directory objects.
func expandOwners(req graphRequest, resp graphResponse, owners []string) graphResponse {
	exp := strings.TrimSpace(req.query.Get("$expand"))
	if !strings.EqualFold(exp, "owners") && !strings.EqualFold(exp, "owners($select=id)") {
		return graphError(req, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.application'.", strings.SplitN(exp, "(", 2)[0]))
	}
	ms, err := objectMembers(resp.body)
	if err != nil {
		return graphError(req, http.StatusInternalServerError, "InternalServerError", err.Error())
	}
	var list strings.Builder
	list.WriteByte('[')
	for i, id := range owners {
		if i > 0 {
			list.WriteByte(',')
		}
		list.Write(writeObject([]member{{"@odata.type", rawString("#microsoft.graph.user")}, {"id", rawString(id)}}))
	}
	list.WriteByte(']')
	resp.body = writeObject(append(ms, member{"owners", json.RawMessage(list.String())}))
	return resp
}

func (s *Server) graphServicePrincipals(req graphRequest, key string, byAppID, hasKey bool, rest []string) graphResponse {
	if !hasKey {
		if len(rest) > 0 {
			return badSegment(req, rest[0])
		}
		if req.method != http.MethodGet {
			return methodNotAllowed(req)
		}
		items := make([]any, len(s.tenant.ServicePrincipals))
		for i, sp := range s.tenant.ServicePrincipals {
			items[i] = sp
		}
		return s.graphList(req, "servicePrincipals", "servicePrincipal", ServicePrincipal{}, items, []string{"id", "appId", "displayName", "servicePrincipalType", "accountEnabled"})
	}
	var sp *ServicePrincipal
	for i := range s.tenant.ServicePrincipals {
		c := &s.tenant.ServicePrincipals[i]
		if byAppID && strings.EqualFold(c.AppID, key) || !byAppID && strings.EqualFold(c.ID, key) {
			sp = c
			break
		}
	}
	// Graph validates the whole path before looking anything up.
	if len(rest) > 0 && !validSPPath(rest) {
		return badSegment(req, rest[len(rest)-1])
	}
	if req.method != http.MethodGet {
		return methodNotAllowed(req)
	}
	if sp == nil {
		return notFound(req, key)
	}
	if len(rest) == 0 {
		return s.graphEntity(req, "servicePrincipals", "servicePrincipal", *sp)
	}
	if strings.EqualFold(rest[0], "oauth2PermissionGrants") {
		var items []any
		for _, g := range s.tenant.OAuth2PermissionGrants {
			if strings.EqualFold(g.ClientID, sp.ID) {
				items = append(items, g)
			}
		}
		return s.graphList(req, "oauth2PermissionGrants", "oAuth2PermissionGrant", OAuth2PermissionGrant{}, items, []string{"id", "clientId", "resourceId", "consentType", "principalId"})
	}

	if strings.EqualFold(rest[0], "appRoleAssignments") || strings.EqualFold(rest[0], "appRoleAssignedTo") {
		return s.graphAppRoleAssignments(req, sp, strings.EqualFold(rest[0], "appRoleAssignments"))
	}

	// synchronization/jobs[/{id}[/schema]]
	jobs := s.tenant.SynchronizationJobs[sp.ID]
	jobsSet := fmt.Sprintf("servicePrincipals('%s')/synchronization/jobs", sp.ID)
	if len(rest) == 2 {
		items := make([]any, len(jobs))
		for i, j := range jobs {
			items[i] = j
		}
		return s.graphList(req, jobsSet, "synchronizationJob", SynchronizationJob{}, items, []string{"id", "templateId"})
	}
	jobID := rest[2]
	for _, j := range jobs {
		if !strings.EqualFold(j.ID, jobID) {
			continue
		}
		if len(rest) == 3 {
			return s.graphEntity(req, jobsSet, "synchronizationJob", j)
		}
		return s.graphEntity(req, fmt.Sprintf("%s('%s')/schema", jobsSet, j.ID), "synchronizationSchema", j.Schema)
	}
	return notFound(req, jobID)
}

// validSPPath reports whether the segments below a service principal are
// ones the simulation serves.
func validSPPath(rest []string) bool {
	switch {
	case len(rest) == 1:
		return strings.EqualFold(rest[0], "oauth2PermissionGrants") || strings.EqualFold(rest[0], "appRoleAssignments") ||
			strings.EqualFold(rest[0], "appRoleAssignedTo")
	case len(rest) >= 2 && len(rest) <= 4:
		if !strings.EqualFold(rest[0], "synchronization") || !strings.EqualFold(rest[1], "jobs") {
			return false
		}
		return len(rest) < 4 || strings.EqualFold(rest[3], "schema")
	}
	return false
}

func (s *Server) graphGrants(req graphRequest, key string, hasKey bool, rest []string) graphResponse {
	if len(rest) > 0 {
		return badSegment(req, rest[0])
	}
	if req.method != http.MethodGet {
		return methodNotAllowed(req)
	}
	if !hasKey {
		items := make([]any, len(s.tenant.OAuth2PermissionGrants))
		for i, g := range s.tenant.OAuth2PermissionGrants {
			items[i] = g
		}
		return s.graphList(req, "oauth2PermissionGrants", "oAuth2PermissionGrant", OAuth2PermissionGrant{}, items, []string{"id", "clientId", "resourceId", "consentType", "principalId"})
	}
	for _, g := range s.tenant.OAuth2PermissionGrants {
		if g.ID == key {
			return s.graphEntity(req, "oauth2PermissionGrants", "oAuth2PermissionGrant", g)
		}
	}
	return notFound(req, key)
}

// contextURL builds @odata.context, e.g. ".../$metadata#applications(id,appId)/$entity".
func (s *Server) contextURL(set string, sel []string, entity bool) string {
	c := s.graphURL + "/$metadata#" + set
	if len(sel) > 0 {
		c += "(" + strings.Join(sel, ",") + ")"
	}
	if entity {
		c += "/$entity"
	}
	return c
}

// render marshals v and splits it into members.
func render(v any) ([]member, error) {
	raw, err := wireJSON(v)
	if err != nil {
		return nil, err
	}
	return objectMembers(raw)
}

// parseSelect validates $select against the type's properties and returns
// the canonical property names.
func parseSelect(req graphRequest, proto any, typeName string) ([]string, *graphResponse) {
	raw := req.query.Get("$select")
	if raw == "" {
		return nil, nil
	}
	props, err := render(proto)
	if err != nil {
		r := graphError(req, http.StatusInternalServerError, "InternalServerError", err.Error())
		return nil, &r
	}
	var sel []string
	for _, name := range strings.Split(raw, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		i := slices.IndexFunc(props, func(m member) bool { return strings.EqualFold(m.Key, name) })
		if i < 0 {
			r := graphError(req, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.%s'.", name, typeName))
			return nil, &r
		}
		if !slices.Contains(sel, props[i].Key) {
			sel = append(sel, props[i].Key)
		}
	}
	return sel, nil
}

// applySelect keeps the selected members (and id), in document order.
func applySelect(ms []member, sel []string) []member {
	if len(sel) == 0 {
		return ms
	}
	var out []member
	for _, m := range ms {
		if m.Key == "id" || slices.Contains(sel, m.Key) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) graphEntity(req graphRequest, set, typeName string, v any) graphResponse {
	sel, errResp := parseSelect(req, v, typeName)
	if errResp != nil {
		return *errResp
	}
	ms, err := render(v)
	if err != nil {
		return graphError(req, http.StatusInternalServerError, "InternalServerError", err.Error())
	}
	out := append([]member{{"@odata.context", rawString(s.contextURL(set, sel, true))}}, applySelect(ms, sel)...)
	return graphResponse{status: http.StatusOK, body: writeObject(out)}
}

// graphList serves a collection with $filter (on the filterable
// properties, eq only), $select, $top and $skiptoken paging.
func (s *Server) graphList(req graphRequest, set, typeName string, proto any, items []any, filterable []string) graphResponse {
	sel, errResp := parseSelect(req, proto, typeName)
	if errResp != nil {
		return *errResp
	}
	clauses, errResp := parseFilter(req, filterable, typeName)
	if errResp != nil {
		return *errResp
	}
	size, errResp := s.graphPageSize(req)
	if errResp != nil {
		return *errResp
	}
	offset := 0
	if tok := req.query.Get("$skiptoken"); tok != "" {
		n, ok := decodeSkipToken(tok)
		if !ok {
			return graphError(req, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
		}
		offset = n
	}

	var rows [][]member
	for _, it := range items {
		ms, err := render(it)
		if err != nil {
			return graphError(req, http.StatusInternalServerError, "InternalServerError", err.Error())
		}
		if matchesFilter(ms, clauses) {
			rows = append(rows, ms)
		}
	}
	offset = min(offset, len(rows))
	end := min(offset+size, len(rows))

	var value strings.Builder
	value.WriteByte('[')
	for i, ms := range rows[offset:end] {
		if i > 0 {
			value.WriteByte(',')
		}
		value.Write(writeObject(applySelect(ms, sel)))
	}
	value.WriteByte(']')

	out := []member{{"@odata.context", rawString(s.contextURL(set, sel, false))}}
	if end < len(rows) {
		out = append(out, member{"@odata.nextLink", rawString(s.nextLink(req, end))})
	}
	out = append(out, member{"value", json.RawMessage(value.String())})
	return graphResponse{status: http.StatusOK, body: writeObject(out)}
}

func (s *Server) graphPageSize(req graphRequest) (int, *graphResponse) {
	def, max := defaultGraphPageSize, maxGraphPageSize
	if s.opts.PageSize > 0 {
		def, max = s.opts.PageSize, s.opts.PageSize
	}
	top := req.query.Get("$top")
	if top == "" {
		return def, nil
	}
	n, err := strconv.Atoi(top)
	if err != nil || n < 1 || n > maxGraphPageSize {
		r := graphError(req, http.StatusBadRequest, "Request_UnsupportedQuery",
			fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", top, maxGraphPageSize))
		return 0, &r
	}
	return min(n, max), nil
}

// Skip tokens are opaque to clients; inside they carry the offset.
func encodeSkipToken(offset int) string {
	return "RFNwdAIA" + base64.RawURLEncoding.EncodeToString([]byte("offset:"+strconv.Itoa(offset)))
}

func decodeSkipToken(tok string) (int, bool) {
	rest, ok := strings.CutPrefix(tok, "RFNwdAIA")
	if !ok {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// nextLink is the absolute URL of the next page: the same query with a
// $skiptoken, written with literal "$" as Graph writes it.
func (s *Server) nextLink(req graphRequest, offset int) string {
	keys := make([]string, 0, len(req.query))
	for k := range req.query {
		if !strings.EqualFold(k, "$skiptoken") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var parts []string
	esc := func(v string) string { return strings.ReplaceAll(url.QueryEscape(v), "+", "%20") }
	for _, k := range keys {
		for _, v := range req.query[k] {
			parts = append(parts, strings.ReplaceAll(esc(k), "%24", "$")+"="+esc(v))
		}
	}
	parts = append(parts, "$skiptoken="+encodeSkipToken(offset))
	return s.graphURL + (&url.URL{Path: req.path}).EscapedPath() + "?" + strings.Join(parts, "&")
}

// filterClause is "prop eq literal"; literal is raw JSON.
type filterClause struct {
	prop    string
	literal string
}

// parseFilter understands the subset of OData driftd uses:
// prop eq 'value' [and prop eq 'value' ...].
func parseFilter(req graphRequest, allowed []string, typeName string) ([]filterClause, *graphResponse) {
	raw := strings.TrimSpace(req.query.Get("$filter"))
	if raw == "" {
		return nil, nil
	}
	bad := func() ([]filterClause, *graphResponse) {
		r := graphError(req, http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+raw)
		return nil, &r
	}
	toks, ok := filterTokens(raw)
	if !ok {
		return bad()
	}
	var out []filterClause
	for i := 0; ; {
		if i+3 > len(toks) {
			return bad()
		}
		prop, op, lit := toks[i], toks[i+1], toks[i+2]
		if !strings.EqualFold(op, "eq") {
			r := graphError(req, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
			return nil, &r
		}
		j := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(a, prop) })
		if j < 0 {
			r := graphError(req, http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", prop, strings.ToUpper(typeName[:1])+typeName[1:]))
			return nil, &r
		}
		if strings.HasPrefix(lit, "'") {
			lit = string(rawString(strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")))
		} else if lit != "true" && lit != "false" && lit != "null" {
			return bad()
		}
		out = append(out, filterClause{allowed[j], lit})
		i += 3
		if i == len(toks) {
			return out, nil
		}
		if !strings.EqualFold(toks[i], "and") {
			return bad()
		}
		i++
	}
}

// filterTokens splits a filter into words and 'quoted' literals.
func filterTokens(s string) ([]string, bool) {
	var toks []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ':
			i++
		case c == '\'':
			j := i + 1
			for {
				if j >= len(s) {
					return nil, false
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\'' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, true
}

func matchesFilter(ms []member, clauses []filterClause) bool {
	for _, c := range clauses {
		i := slices.IndexFunc(ms, func(m member) bool { return m.Key == c.prop })
		if i < 0 {
			return false
		}
		got := string(ms[i].Value)
		if strings.HasPrefix(c.literal, `"`) {
			var a, b string
			if json.Unmarshal(ms[i].Value, &a) != nil || json.Unmarshal([]byte(c.literal), &b) != nil || !strings.EqualFold(a, b) {
				return false
			}
		} else if got != c.literal {
			return false
		}
	}
	return true
}

// readBody reads a request body, gunzipping it if the client compressed it.
func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = io.LimitReader(r.Body, maxBodyBytes)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(rd)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		rd = io.LimitReader(gz, maxBodyBytes)
	}
	return io.ReadAll(rd)
}

type batchItem struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// graphBatch is JSON batching: each item goes through the same routing
// (and faults) as a top-level request.
func (s *Server) graphBatch(w http.ResponseWriter, r *http.Request, req graphRequest) {
	if r.Method != http.MethodPost {
		s.writeGraph(w, req, methodNotAllowed(req))
		return
	}
	f, faulted := s.takeFault(FaultRequest{Service: ServiceGraph, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Batch: true}, r.URL.Path)
	if faulted && f.Kind == KindStatus {
		s.writeGraph(w, req, s.graphFault(req, f))
		return
	}
	raw, err := readBody(r)
	if err != nil {
		s.writeGraph(w, req, graphError(req, http.StatusBadRequest, "BadRequest", "Invalid batch payload format."))
		return
	}
	var in struct {
		Requests []batchItem `json:"requests"`
	}
	if err := json.Unmarshal(raw, &in); err != nil || len(in.Requests) == 0 {
		s.writeGraph(w, req, graphError(req, http.StatusBadRequest, "BadRequest", "Invalid batch payload format."))
		return
	}
	if len(in.Requests) > maxBatchRequests {
		s.writeGraph(w, req, graphError(req, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("The number of requests in the batch exceeds the limit of %d.", maxBatchRequests)))
		return
	}
	seen := map[string]bool{}
	for _, it := range in.Requests {
		if it.ID == "" || seen[it.ID] {
			s.writeGraph(w, req, graphError(req, http.StatusBadRequest, "BadRequest", "Batch request contains a missing or duplicate id."))
			return
		}
		seen[it.ID] = true
	}

	status := map[string]int{}
	var out []string
	var broken *Fault // a wire fault of an item breaks the whole response
	for _, it := range in.Requests {
		resp := s.batchOne(req, it, status)
		if resp.fault != nil && resp.fault.wire() && broken == nil {
			broken = resp.fault
		}
		status[it.ID] = resp.status
		headers := map[string]string{"Cache-Control": "no-cache", "x-ms-resource-unit": "1"}
		if resp.body != nil {
			headers["Content-Type"] = graphContentType
		}
		if resp.status < 400 {
			headers["OData-Version"] = "4.0"
		}
		for k, v := range resp.headers {
			headers[k] = v
		}
		hb, _ := marshal(headers)
		ms := []member{
			{"id", rawString(it.ID)},
			{"status", json.RawMessage(strconv.Itoa(resp.status))},
			{"headers", hb},
		}
		if resp.body != nil {
			ms = append(ms, member{"body", resp.body})
		}
		out = append(out, string(writeObject(shapeBatchItem(resp.fault, ms))))
	}
	body := `{"responses":[` + strings.Join(out, ",") + `]}`
	resp := graphResponse{status: http.StatusOK, body: []byte(body)}
	if faulted {
		resp = s.shapeBatch(req, f, resp)
	}
	if resp.fault == nil {
		resp.fault = broken
	}
	s.writeGraph(w, req, resp)
}

func (s *Server) batchOne(parent graphRequest, it batchItem, done map[string]int) graphResponse {
	sub := graphRequest{
		method:          strings.ToUpper(it.Method),
		requestID:       newUUID(),
		clientRequestID: parent.clientRequestID,
		httpReq:         parent.httpReq,
		key:             ServiceGraph + " item " + strings.ToUpper(it.Method) + " " + it.URL,
		itemHeaders:     it.Headers,
	}
	for _, dep := range it.DependsOn {
		if st, ok := done[dep]; !ok || st >= 400 {
			return graphError(sub, http.StatusFailedDependency, "FailedDependency", "Failed dependency.")
		}
	}
	if sub.method == "" || it.URL == "" {
		return graphError(sub, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	}
	rel := it.URL
	if u, err := url.Parse(rel); err == nil && u.IsAbs() {
		// Absolute URLs are accepted when they point at this service.
		rel = strings.TrimPrefix(u.Path, "/v1.0")
		if u.RawQuery != "" {
			rel += "?" + u.RawQuery
		}
	}
	if !strings.HasPrefix(rel, "/") {
		rel = "/" + rel
	}
	u, err := url.Parse(rel)
	if err != nil {
		return graphError(sub, http.StatusBadRequest, "BadRequest", "Invalid request URL: "+it.URL)
	}
	sub.path, sub.query = u.Path, u.Query()
	s.checkRetryAfter(sub.key)
	if f, ok := s.takeFault(FaultRequest{Service: ServiceGraph, Method: sub.method, Path: "/v1.0" + u.Path, Query: u.RawQuery, BatchItem: true}, it.URL, "/v1.0"+u.Path); ok {
		return s.graphFaulted(sub, f)
	}
	return s.graphDo(sub)
}
