package sim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// cfMessage is an entry of the envelope's errors or messages.
type cfMessage struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type cfResultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

type cfEnvelope struct {
	Result     any           `json:"result"`
	Success    bool          `json:"success"`
	Errors     []cfMessage   `json:"errors"`
	Messages   []cfMessage   `json:"messages"`
	ResultInfo *cfResultInfo `json:"result_info,omitempty"`
}

func cfHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("Server", "cloudflare")
	h.Set("CF-Cache-Status", "DYNAMIC")
	h.Set("CF-RAY", randomHex(8)+"-LHR")
}

func cfError(w http.ResponseWriter, status, code int, message string) {
	status, body := cfErrorBody(status, code, message)
	writeRaw(w, status, body, cfHeaders)
}

// serveCloudflare is the Cloudflare v4 API for Zero Trust Access.
func (s *Server) serveCloudflare(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/client/v4/")
	if !ok {
		cfError(w, http.StatusNotFound, 7000, "No route for that URI")
		return
	}

	s.mu.Lock()
	want := s.tenant.CloudflareAPIToken
	s.mu.Unlock()
	tok, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !isBearer || want == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(want)) != 1 {
		cfError(w, http.StatusForbidden, 10000, "Authentication error")
		return
	}
	if f, ok := s.takeFault(FaultRequest{Service: ServiceCloudflare, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}, r.URL.Path); ok {
		if f.Kind == KindStatus {
			s.cfFault(w, r, f)
			return
		}
		answer := func() (int, []byte) {
			status, body := s.cfAnswer(r, rest)
			return s.shapeCloudflare(r, f, status, body)
		}
		if f.wire() {
			s.writeHostile(w, r, ServiceCloudflare, f, cfHeaders, answer)
			return
		}
		status, body := answer()
		writeRaw(w, status, body, cfHeaders)
		return
	}
	status, body := s.cfAnswer(r, rest)
	writeRaw(w, status, body, cfHeaders)
}

// cfAnswer is the answer to an authenticated request below /client/v4/.
func (s *Server) cfAnswer(r *http.Request, rest string) (int, []byte) {
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	if len(segs) < 2 || segs[0] != "accounts" {
		return cfErrorBody(http.StatusNotFound, 7000, "No route for that URI")
	}
	if r.Method != http.MethodGet {
		return cfErrorBody(http.StatusMethodNotAllowed, 10405, "Method not allowed for this endpoint")
	}
	return s.cfRoute(r, segs)
}

// cfRoute answers a GET under /accounts/. It renders under the state lock
// and leaves the (possibly slow) network write to the caller.
func (s *Server) cfRoute(r *http.Request, segs []string) (int, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant
	if segs[1] != t.AccountID {
		return cfErrorBody(http.StatusNotFound, 7003, fmt.Sprintf("Could not route to %s, perhaps your object identifier is invalid?", r.URL.Path))
	}
	switch {
	case len(segs) == 4 && segs[2] == "access" && segs[3] == "identity_providers":
		return s.cfListIdPs(r, t.IdentityProviders)
	case len(segs) == 5 && segs[2] == "access" && segs[3] == "identity_providers":
		for _, idp := range t.IdentityProviders {
			if idp.ID == segs[4] {
				return cfBody(http.StatusOK, cfEnvelope{Result: idp, Success: true})
			}
		}
		return cfErrorBody(http.StatusNotFound, 12130, "access.api.error.not_found")
	case len(segs) == 4 && segs[2] == "logs" && segs[3] == "audit":
		return s.cfAuditLogs(r, t)
	case len(segs) == 4 && segs[2] == "access" && segs[3] == "organizations":
		if t.Organization == nil {
			return cfErrorBody(http.StatusNotFound, 12130, "access.api.error.not_found")
		}
		return cfBody(http.StatusOK, cfEnvelope{Result: *t.Organization, Success: true})
	}
	if status, body, ok := s.cfPolicyRoute(r, t, segs); ok {
		return status, body
	}
	return cfErrorBody(http.StatusNotFound, 7003, fmt.Sprintf("Could not route to %s, perhaps your object identifier is invalid?", r.URL.Path))
}

func cfBody(status int, env cfEnvelope) (int, []byte) {
	b, err := wireJSON(env)
	if err != nil {
		return cfErrorBody(http.StatusInternalServerError, 10001, "Internal server error")
	}
	return status, b
}

func cfErrorBody(status, code int, message string) (int, []byte) {
	b, _ := wireJSON(cfEnvelope{Errors: []cfMessage{{code, message}}})
	return status, b
}

// cfListIdPs pages with page/per_page. A page past the end is an empty
// result, which is how the Go SDK's auto-pager knows to stop.
func (s *Server) cfListIdPs(r *http.Request, all []IdentityProvider) (int, []byte) {
	q := r.URL.Query()
	def, max := defaultCFPageSize, maxCFPageSize
	if s.opts.PageSize > 0 {
		def, max = s.opts.PageSize, s.opts.PageSize
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
	items := all
	if v := q.Get("scim_enabled"); v != "" {
		want := v == "true"
		items = nil
		for _, idp := range all {
			if idp.SCIMConfig.Enabled == want {
				items = append(items, idp)
			}
		}
	}
	start := min((page-1)*perPage, len(items))
	end := min(start+perPage, len(items))
	result := append([]IdentityProvider{}, items[start:end]...)
	return cfBody(http.StatusOK, cfEnvelope{
		Result:  result,
		Success: true,
		ResultInfo: &cfResultInfo{
			Page: page, PerPage: perPage, Count: len(result),
			TotalCount: len(items), TotalPages: (len(items) + perPage - 1) / perPage,
		},
	})
}

// cfFault answers with the Cloudflare error envelope for f.Status.
func (s *Server) cfFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if v := s.retryAfter(f, requestKey(ServiceCloudflare, r), r); v != "" {
		w.Header().Set("Retry-After", v)
	}
	code, msg := 10000+f.Status, http.StatusText(f.Status)
	switch f.Status {
	case http.StatusBadRequest:
		code, msg = 10400, "Bad request"
	case http.StatusUnauthorized, http.StatusForbidden:
		code, msg = 10000, "Authentication error"
	case http.StatusNotFound:
		code, msg = 7003, "Could not route to the requested resource, perhaps your object identifier is invalid?"
	case http.StatusTooManyRequests:
		code, msg = 971, "Please wait and consider throttling your request speed"
	case http.StatusInternalServerError:
		code, msg = 10001, "Internal server error"
	case http.StatusServiceUnavailable:
		code, msg = 10503, "Service temporarily unavailable"
	}
	cfError(w, f.Status, code, msg)
}
