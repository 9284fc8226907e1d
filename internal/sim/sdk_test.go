package sim

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"
)

// azureClientOptions points azidentity at the simulation.
func azureClientOptions(s *Server) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost()},
		Transport: s.HTTPClient(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

func graphScope(s *Server) []string {
	return []string{strings.TrimSuffix(s.GraphURL(), "/v1.0") + "/.default"}
}

func TestAzidentityClientSecret(t *testing.T) {
	tn := Healthy(time.Now())
	s := startSim(t, tn, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cred, err := azidentity.NewClientSecretCredential(TenantID, tn.AuditorClientID, tn.AuditorClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: azureClientOptions(s), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: graphScope(s)})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if until := time.Until(tok.ExpiresOn); until < 50*time.Minute || until > 61*time.Minute {
		t.Errorf("ExpiresOn in %v", until)
	}
	// The token works against Graph.
	r := do(t, s, http.MethodGet, s.GraphURL()+"/servicePrincipals(appId='"+CorpAppID+"')?$select=id", tok.Token, nil, nil)
	if r.status != 200 || r.body["id"] != CorpSPID {
		t.Errorf("Graph with SDK token: %d %s", r.status, r.raw)
	}

	bad, err := azidentity.NewClientSecretCredential(TenantID, tn.AuditorClientID, "wrong-secret",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: azureClientOptions(s), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetToken(ctx, policy.TokenRequestOptions{Scopes: graphScope(s)}); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("wrong secret: err = %v", err)
	}
}

func selfSignedRSA(t *testing.T, cn string) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestAzidentityClientCertificate(t *testing.T) {
	cert, key := selfSignedRSA(t, "driftd-auditor")
	tn := Healthy(time.Now())
	tn.AuditorCertificate = cert
	s := startSim(t, tn, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	newCred := func(c *x509.Certificate, k *rsa.PrivateKey) *azidentity.ClientCertificateCredential {
		cred, err := azidentity.NewClientCertificateCredential(TenantID, tn.AuditorClientID, []*x509.Certificate{c}, k,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: azureClientOptions(s), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	tok, err := newCred(cert, key).GetToken(ctx, policy.TokenRequestOptions{Scopes: graphScope(s)})
	if err != nil {
		t.Fatalf("GetToken with certificate: %v", err)
	}
	if !s.tokenValid(tok.Token) {
		t.Error("token from certificate credential not accepted by Graph")
	}

	// A certificate the app does not know is refused.
	other, otherKey := selfSignedRSA(t, "intruder")
	if _, err := newCred(other, otherKey).GetToken(ctx, policy.TokenRequestOptions{Scopes: graphScope(s)}); err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Errorf("unknown certificate: err = %v", err)
	}
}

// signAssertion builds an RS256 client assertion by hand (azidentity
// refuses a key that does not match its certificate, and always uses PS256).
func signAssertion(t *testing.T, cert *x509.Certificate, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	thumb := sha1.Sum(cert.Raw)
	h, _ := json.Marshal(map[string]any{"alg": "RS256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(thumb[:])})
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestClientAssertionChecks(t *testing.T) {
	cert, key := selfSignedRSA(t, "driftd-auditor")
	_, otherKey := selfSignedRSA(t, "intruder")
	tn := Healthy(time.Now())
	tn.AuditorCertificate = cert
	s := startSim(t, tn, Options{})
	aud := s.AuthorityHost() + TenantID + "/oauth2/v2.0/token"
	now := time.Now().Unix()
	good := map[string]any{"aud": aud, "iss": AuditorClientID, "sub": AuditorClientID, "exp": now + 600, "nbf": now, "jti": newUUID()}
	with := func(k string, v any) map[string]any {
		c := maps.Clone(good)
		c[k] = v
		return c
	}
	for _, tc := range []struct {
		name   string
		key    *rsa.PrivateKey
		claims map[string]any
		code   string
	}{
		{"valid RS256", key, good, ""},
		{"wrong key", otherKey, good, "AADSTS700027"},
		{"expired", key, with("exp", now-3600), "AADSTS700024"},
		{"other audience", key, with("aud", "https://login.microsoftonline.com/"+TenantID+"/oauth2/v2.0/token"), "AADSTS700212"},
		{"other issuer", key, with("iss", CorpAppID), "AADSTS700021"},
	} {
		form := url.Values{
			"grant_type":            {"client_credentials"},
			"client_id":             {AuditorClientID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {signAssertion(t, cert, tc.key, tc.claims)},
			"scope":                 {"https://graph.microsoft.com/.default"},
		}
		r := postToken(t, s, TenantID, form)
		if tc.code == "" {
			if r.status != 200 {
				t.Errorf("%s: %d %s", tc.name, r.status, r.raw)
			}
			continue
		}
		if r.status != 401 || r.body["error"] != "invalid_client" || !strings.HasPrefix(str(r.body["error_description"]), tc.code+":") {
			t.Errorf("%s: %d %s", tc.name, r.status, r.raw)
		}
	}
}

// clearCloudflareEnv keeps the SDK from picking up credentials or a base
// URL from the environment.
func clearCloudflareEnv(t *testing.T) {
	for _, k := range []string{"CLOUDFLARE_BASE_URL", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL", "CLOUDFLARE_API_USER_SERVICE_KEY"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func TestCloudflareSDK(t *testing.T) {
	clearCloudflareEnv(t)
	tn := Healthy(time.Now())
	s := startSim(t, tn, Options{PageSize: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	client := cloudflare.NewClient(
		option.WithBaseURL(s.CloudflareURL()),
		option.WithAPIToken(tn.CloudflareAPIToken),
		option.WithHTTPClient(s.HTTPClient()),
		option.WithMaxRetries(0),
	)
	before := s.Requests()[ServiceCloudflare]
	iter := client.ZeroTrust.IdentityProviders.ListAutoPaging(ctx, zero_trust.IdentityProviderListParams{AccountID: cloudflare.F(AccountID)})
	var ids, types []string
	var corpRaw string
	for iter.Next() {
		idp := iter.Current()
		ids = append(ids, idp.ID)
		types = append(types, string(idp.Type))
		if idp.ID == CorpIdPID {
			corpRaw = idp.JSON.RawJSON()
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{CorpIdPID, OneTimePinIdPID, OktaIdPID, ContractorsIdPID}; !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
	if want := []string{"azureAD", "onetimepin", "okta", "azureAD"}; !slices.Equal(types, want) {
		t.Errorf("types = %v, want %v", types, want)
	}
	// Two pages of three and one, then the empty page that ends paging.
	if got := s.Requests()[ServiceCloudflare] - before; got != 3 {
		t.Errorf("auto-pager made %d requests, want 3", got)
	}
	if !strings.Contains(corpRaw, `"pkce_enabled":true`) || !strings.Contains(corpRaw, `"client_secret":"**********"`) {
		t.Errorf("corp raw JSON = %s", corpRaw)
	}

	org, err := client.ZeroTrust.Organizations.List(ctx, zero_trust.OrganizationListParams{AccountID: cloudflare.F(AccountID)})
	if err != nil {
		t.Fatal(err)
	}
	if org.AuthDomain != TeamDomain {
		t.Errorf("auth_domain = %q", org.AuthDomain)
	}

	bad := cloudflare.NewClient(
		option.WithBaseURL(s.CloudflareURL()),
		option.WithAPIToken("not-the-token"),
		option.WithHTTPClient(s.HTTPClient()),
		option.WithMaxRetries(0),
	)
	_, err = bad.ZeroTrust.IdentityProviders.Get(ctx, CorpIdPID, zero_trust.IdentityProviderGetParams{AccountID: cloudflare.F(AccountID)})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("wrong token: err = %v", err)
	}
}
