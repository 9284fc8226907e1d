package sim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// serveToken is the Entra ID login host: OpenID discovery and the v2.0
// token endpoint, for the client-credentials grant.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.takeFault(FaultRequest{Service: ServiceToken, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}, r.URL.Path); ok {
		switch {
		case f.Kind == KindStatus:
			s.tokenFault(w, r, f)
		case f.Kind == KindErrorBody200:
			s.tokenError(w, r, http.StatusOK, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		case f.wire():
			s.writeHostile(w, r, ServiceToken, f, tokenHeaders, func() (int, []byte) {
				rec := newRecorder()
				s.serveTokenNormally(rec, r)
				rec.copyTo(w.Header())
				return rec.status, rec.body.Bytes()
			})
		default: // body kinds have no meaning here: answer normally
			s.serveTokenNormally(w, r)
		}
		return
	}
	s.serveTokenNormally(w, r)
}

// serveTokenNormally answers r without faults.
func (s *Server) serveTokenNormally(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := segs[0], strings.Join(segs[1:], "/")

	s.mu.Lock()
	known := strings.EqualFold(tenant, s.tenant.TenantID) || (s.tenant.TenantDomain != "" && strings.EqualFold(tenant, s.tenant.TenantDomain))
	tenantID := s.tenant.TenantID
	s.mu.Unlock()

	switch rest {
	case "v2.0/.well-known/openid-configuration":
		if !known {
			s.tokenError(w, r, http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFound(tenant))
			return
		}
		s.writeOpenIDConfig(w, tenantID)
	case "discovery/v2.0/keys":
		if !known {
			s.tokenError(w, r, http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFound(tenant))
			return
		}
		// Access tokens here are opaque; no client verifies them.
		writeJSON(w, http.StatusOK, map[string]any{"keys": []any{}}, tokenHeaders)
	case "oauth2/v2.0/token":
		if r.Method != http.MethodPost {
			s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a "+r.Method+" request.")
			return
		}
		if !known {
			s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 90002, tenantNotFound(tenant))
			return
		}
		s.issueToken(w, r, tenantID)
	default:
		http.NotFound(w, r)
	}
}

func tenantNotFound(tenant string) string {
	return fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant)
}

// tokenEndpoint is the token URL for the tenant, as discovery publishes it
// and as client assertions must name it in aud.
func (s *Server) tokenEndpoint(tenantID string) string {
	return s.authorityHost + tenantID + "/oauth2/v2.0/token"
}

func (s *Server) writeOpenIDConfig(w http.ResponseWriter, tenantID string) {
	base := s.authorityHost + tenantID
	doc := []member{
		{"token_endpoint", rawString(base + "/oauth2/v2.0/token")},
		{"token_endpoint_auth_methods_supported", json.RawMessage(`["client_secret_post","private_key_jwt","client_secret_basic"]`)},
		{"jwks_uri", rawString(base + "/discovery/v2.0/keys")},
		{"response_modes_supported", json.RawMessage(`["query","fragment","form_post"]`)},
		{"subject_types_supported", json.RawMessage(`["pairwise"]`)},
		{"id_token_signing_alg_values_supported", json.RawMessage(`["RS256"]`)},
		{"response_types_supported", json.RawMessage(`["code","id_token","code id_token","id_token token"]`)},
		{"scopes_supported", json.RawMessage(`["openid","profile","email","offline_access"]`)},
		{"issuer", rawString(base + "/v2.0")},
		{"request_uri_parameter_supported", json.RawMessage(`false`)},
		{"userinfo_endpoint", rawString(strings.TrimSuffix(s.graphURL, "/v1.0") + "/oidc/userinfo")},
		{"authorization_endpoint", rawString(base + "/oauth2/v2.0/authorize")},
		{"device_authorization_endpoint", rawString(base + "/oauth2/v2.0/devicecode")},
		{"http_logout_supported", json.RawMessage(`true`)},
		{"frontchannel_logout_supported", json.RawMessage(`true`)},
		{"end_session_endpoint", rawString(base + "/oauth2/v2.0/logout")},
		{"claims_supported", json.RawMessage(`["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name","msgraph_host","aud","exp","iat","auth_time","acr","nonce","preferred_username","name","tid","ver","at_hash","c_hash","email"]`)},
		{"kerberos_endpoint", rawString(base + "/kerberos")},
		{"tenant_region_scope", rawString("EU")},
		{"cloud_instance_name", rawString("microsoftonline.com")},
		{"cloud_graph_host_name", rawString("graph.windows.net")},
		{"msgraph_host", rawString(strings.TrimPrefix(strings.TrimSuffix(s.graphURL, "/v1.0"), "https://"))},
		{"rbac_url", rawString("https://pas.windows.net")},
	}
	writeRaw(w, http.StatusOK, writeObject(doc), tokenHeaders)
}

// issueToken handles the client-credentials grant.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, tenantID string) {
	if err := r.ParseForm(); err != nil {
		s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	form := r.PostForm
	clientID := form.Get("client_id")
	secret := form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok { // client_secret_basic
		clientID, secret = u, p
	}
	for _, p := range []string{"grant_type", "client_id", "scope"} {
		if p == "client_id" && clientID != "" || p != "client_id" && form.Get(p) != "" {
			continue
		}
		s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: '"+p+"'.")
		return
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		s.tokenError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+gt+"'.")
		return
	}
	if msg, ok := checkScope(form.Get("scope")); !ok {
		s.tokenError(w, r, http.StatusBadRequest, "invalid_scope", 1002012, msg)
		return
	}

	s.mu.Lock()
	wantID, wantSecret, cert := s.tenant.AuditorClientID, s.tenant.AuditorClientSecret, s.tenant.AuditorCertificate
	s.mu.Unlock()

	if !strings.EqualFold(clientID, wantID) {
		s.tokenError(w, r, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenantID))
		return
	}
	switch {
	case form.Get("client_assertion") != "" || form.Get("client_assertion_type") != "":
		if form.Get("client_assertion_type") != clientAssertionType {
			s.tokenError(w, r, http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed. client_assertion_type must be '"+clientAssertionType+"'.")
			return
		}
		if cert == nil {
			s.tokenError(w, r, http.StatusUnauthorized, "invalid_client", 700027, "The certificate with identifier used to sign the client assertion is not registered on application.")
			return
		}
		audiences := []string{s.tokenEndpoint(tenantID), s.authorityHost + strings.Split(strings.Trim(r.URL.Path, "/"), "/")[0] + "/oauth2/v2.0/token"}
		if code, msg := verifyAssertion(form.Get("client_assertion"), cert, clientID, audiences, time.Now()); code != 0 {
			s.tokenError(w, r, http.StatusUnauthorized, "invalid_client", code, msg)
			return
		}
	case secret != "":
		if wantSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(wantSecret)) != 1 {
			s.tokenError(w, r, http.StatusUnauthorized, "invalid_client", 7000215,
				"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+wantID+"'.")
			return
		}
	default:
		s.tokenError(w, r, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}

	// Opaque on purpose: clients must not look inside access tokens.
	tok := base64.RawURLEncoding.EncodeToString(randomBytes(96))
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(graphTokenLifetimeSecs * time.Second)
	s.mu.Unlock()
	body := []member{
		{"token_type", rawString("Bearer")},
		{"expires_in", json.RawMessage(strconv.Itoa(graphTokenLifetimeSecs))},
		{"ext_expires_in", json.RawMessage(strconv.Itoa(graphTokenLifetimeSecs))},
		{"access_token", rawString(tok)},
	}
	writeRaw(w, http.StatusOK, writeObject(body), tokenHeaders)
}

// checkScope accepts exactly one resource "/.default" scope, plus the
// OIDC scopes MSAL always appends.
func checkScope(scope string) (string, bool) {
	var defaults int
	for _, sc := range strings.Fields(scope) {
		switch {
		case sc == "openid" || sc == "profile" || sc == "offline_access":
		case strings.HasSuffix(sc, "/.default"):
			defaults++
		default:
			return "The provided value for scope " + sc + " is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", false
		}
	}
	if defaults != 1 {
		return "The provided value for scope " + scope + " is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", false
	}
	return "", true
}

// verifyAssertion checks a client_assertion JWT as Entra does: signed
// (RS256 or PS256) by the registered certificate, named by its x5t or
// x5t#S256 thumbprint, for this token endpoint, by this client, in time.
// It returns the AADSTS code and message of the first failure, or 0.
func verifyAssertion(assertion string, cert *x509.Certificate, clientID string, audiences []string, now time.Time) (int, string) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return 50027, "JWT token is invalid or malformed."
	}
	var header struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud any         `json:"aud"`
		Iss string      `json:"iss"`
		Sub string      `json:"sub"`
		Exp json.Number `json:"exp"`
		Nbf json.Number `json:"nbf"`
		Jti string      `json:"jti"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return 50027, "JWT token is invalid or malformed."
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return 50027, "JWT token is invalid or malformed."
	}
	sig, err := b64Decode(parts[2])
	if err != nil {
		return 50027, "JWT token is invalid or malformed."
	}

	sha1Sum := sha1.Sum(cert.Raw)
	sha256Sum := sha256.Sum256(cert.Raw)
	switch {
	case header.X5tS256 != "":
		if !thumbMatches(header.X5tS256, sha256Sum[:]) {
			return 700027, "The certificate with identifier used to sign the client assertion is not registered on application."
		}
	case header.X5t != "":
		if !thumbMatches(header.X5t, sha1Sum[:]) {
			return 700027, "The certificate with identifier used to sign the client assertion is not registered on application."
		}
	default:
		return 700027, "Client assertion contains no certificate thumbprint (x5t or x5t#S256)."
	}

	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return 700027, "Client assertion failed signature validation."
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch header.Alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		return 700027, "Client assertion failed signature validation. Unsupported algorithm '" + header.Alg + "'."
	}
	if err != nil {
		return 700027, "Client assertion failed signature validation."
	}

	if !audienceMatches(claims.Aud, audiences) {
		return 700212, "No matching federated identity record found for presented assertion audience."
	}
	if !strings.EqualFold(claims.Iss, clientID) || !strings.EqualFold(claims.Sub, clientID) {
		return 700021, "Client assertion application identifier doesn't match 'client_id' parameter."
	}
	exp, err1 := claims.Exp.Int64()
	if err1 != nil {
		return 700024, "Client assertion is not within its valid time range."
	}
	const skew = 5 * time.Minute
	if now.After(time.Unix(exp, 0).Add(skew)) {
		return 700024, "Client assertion is not within its valid time range."
	}
	if claims.Nbf != "" {
		if nbf, err := claims.Nbf.Int64(); err != nil || now.Add(skew).Before(time.Unix(nbf, 0)) {
			return 700024, "Client assertion is not within its valid time range."
		}
	}
	return 0, ""
}

func decodeSegment(seg string, v any) error {
	b, err := b64Decode(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	return dec.Decode(v)
}

// b64Decode accepts base64url as JWTs use it, padded or not.
func b64Decode(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// thumbMatches compares a header thumbprint in either base64 alphabet.
func thumbMatches(got string, sum []byte) bool {
	return got == base64.StdEncoding.EncodeToString(sum) ||
		got == base64.RawStdEncoding.EncodeToString(sum) ||
		got == base64.URLEncoding.EncodeToString(sum) ||
		got == base64.RawURLEncoding.EncodeToString(sum)
}

func audienceMatches(aud any, want []string) bool {
	var got []string
	switch a := aud.(type) {
	case string:
		got = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				got = append(got, s)
			}
		}
	}
	for _, g := range got {
		if containsFold(want, g) {
			return true
		}
	}
	return false
}

// tokenHeaders are the headers Entra's token endpoint sends.
func tokenHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	h.Set("x-ms-request-id", newUUID())
	h.Set("x-ms-ests-server", "2.1.19512.7 - WEULR1 ProdSlices")
}

// tokenError writes Entra's OAuth error body.
func (s *Server) tokenError(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, desc string) {
	now := time.Now().UTC()
	trace := newUUID()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = newUUID()
	}
	ts := now.Format("2006-01-02 15:04:05Z")
	body := []member{
		{"error", rawString(code)},
		{"error_description", rawString(fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, trace, corr, ts))},
		{"error_codes", json.RawMessage("[" + strconv.Itoa(aadsts) + "]")},
		{"timestamp", rawString(ts)},
		{"trace_id", rawString(trace)},
		{"correlation_id", rawString(corr)},
		{"error_uri", rawString(s.authorityHost + "error?code=" + strconv.Itoa(aadsts))},
	}
	writeRaw(w, status, writeObject(body), tokenHeaders)
}

// tokenFault answers with the token endpoint's error for f.Status.
func (s *Server) tokenFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if v := s.retryAfter(f, requestKey(ServiceToken, r), r); v != "" {
		w.Header().Set("Retry-After", v)
	}
	code, aadsts, desc := "temporarily_unavailable", 90033, "A transient error has occurred. Please try again."
	switch {
	case f.Status == http.StatusBadRequest:
		code, aadsts, desc = "invalid_request", 90014, "The required field 'scope' is missing from the credential."
	case f.Status == http.StatusUnauthorized:
		code, aadsts, desc = "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."
	case f.Status == http.StatusForbidden:
		code, aadsts, desc = "access_denied", 53003, "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
	case f.Status == http.StatusNotFound:
		code, aadsts, desc = "invalid_request", 90002, tenantNotFound(strings.Split(strings.Trim(r.URL.Path, "/"), "/")[0])
	case f.Status == http.StatusTooManyRequests:
		code, aadsts, desc = "temporarily_unavailable", 50196, "The server terminated an operation because it encountered a client request loop. Please contact your app vendor."
	case f.Status == http.StatusInternalServerError:
		code = "server_error"
	}
	s.tokenError(w, r, f.Status, code, aadsts, desc)
}

// writeJSON marshals v with wire normalisation and writes it.
func writeJSON(w http.ResponseWriter, status int, v any, headers func(http.Header)) {
	b, err := wireJSON(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b, headers)
}

func writeRaw(w http.ResponseWriter, status int, body []byte, headers func(http.Header)) {
	if headers != nil {
		headers(w.Header())
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
