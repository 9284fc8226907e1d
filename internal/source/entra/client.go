// Package entra reads the Entra ID side of each integration through the
// Microsoft Graph SDK and records what it could not read as gaps.
package entra

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	kiotaauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	textser "github.com/microsoft/kiota-serialization-text-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/driftd/driftd/internal/apicount"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/transport"
)

// Source reads Entra ID through Microsoft Graph.
type Source struct {
	adapter  *core.GraphRequestAdapterBase
	tenantID string
	// graphOrigin and graphPath are where Graph requests and next-page
	// links may go: the configured graph_url's origin and version path.
	graphOrigin string
	graphPath   string
	// gate remembers the latest Retry-After Graph gave (groups.go).
	gate *retryGate
	// inFlight bounds the $batch requests sent at once.
	inFlight int
}

// maxGraphRetries bounds the SDK's retries of 429/503/504 (it honours
// Retry-After); the run's context bounds the total time.
const maxGraphRetries = 4

// New builds the credential, the HTTP pipeline and the Graph request
// adapter. No request is sent until Read.
func New(cfg config.Entra, counter *apicount.Counter) (*Source, error) {
	base, err := transport.New(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("entra.ca_file: %w", err)
	}
	tokenOrigins, err := tokenOrigins(cfg)
	if err != nil {
		return nil, err
	}
	// The guard sits below the counter, so a refused request is not
	// counted as sent.
	cred, err := newCredential(cfg, transport.Client(transport.Guard(counter.Transport(apicount.Token, base), tokenOrigins...)))
	if err != nil {
		return nil, err
	}
	graphURL, err := url.Parse(strings.TrimRight(cfg.GraphURL, "/"))
	if err != nil || !graphURL.IsAbs() {
		return nil, fmt.Errorf("entra.graph_url: not an absolute URL")
	}
	graphOrigin := transport.Origin(graphURL)
	// Only the configured Graph host may receive the token; the scope is
	// that host's ".default" (national clouds differ).
	scope := graphURL.Scheme + "://" + graphURL.Host + "/.default"
	auth, err := kiotaauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{scope}, []string{graphURL.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("entra: %w", err)
	}

	opts := core.GraphClientOptions{GraphServiceLibraryVersion: "driftd"}
	middleware := core.GetDefaultMiddlewaresWithOptions(&opts)
	// Redirects are left to transport.Client, which follows them only
	// within the Graph origin; kiota's own handler would follow them
	// anywhere.
	var kept []khttp.Middleware
	for _, m := range middleware {
		switch m.(type) {
		case *khttp.RedirectHandler:
			continue
		case *khttp.CompressionHandler:
			// A $batch body of 20 GET URLs is a few KB, inside the first
			// TCP window either way: gzip costs CPU and saves no round
			// trip.
			continue
		case *khttp.RetryHandler:
			m = khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
				MaxRetries: maxGraphRetries,
				ShouldRetry: func(_ time.Duration, _ int, _ *http.Request, _ *http.Response) bool {
					return true
				},
			})
		}
		kept = append(kept, m)
	}
	gate := &retryGate{}
	httpClient := transport.Client(khttp.NewCustomTransportWithParentTransport(gate.wrap(transport.Guard(counter.Transport(apicount.Graph, base), graphOrigin)), kept...))

	parse := absser.NewParseNodeFactoryRegistry()
	parse.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonParseNodeFactory()
	parse.ContentTypeAssociatedFactories["text/plain"] = textser.NewTextParseNodeFactory()
	write := absser.NewSerializationWriterFactoryRegistry()
	write.ContentTypeAssociatedFactories["application/json"] = jsonser.NewJsonSerializationWriterFactory()

	adapter, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, opts, parse, write, httpClient)
	if err != nil {
		return nil, fmt.Errorf("entra: %w", err)
	}
	adapter.SetBaseUrl(graphURL.String())
	return &Source{adapter: adapter, tenantID: cfg.TenantID, graphOrigin: graphOrigin, graphPath: graphURL.Path, gate: gate, inFlight: cfg.MaxInFlight}, nil
}

// tokenOrigins are the origins the credential may talk to: the authority
// host and, for a managed identity, the local identity endpoint.
func tokenOrigins(cfg config.Entra) ([]string, error) {
	authority, err := transport.OriginOf(cfg.AuthorityHost)
	if err != nil {
		return nil, fmt.Errorf("entra.authority_host: not an absolute URL")
	}
	origins := []string{authority}
	if cfg.AuthMethod() == config.AuthManagedIdentity {
		// IMDS, or the endpoint App Service, Arc or Cloud Shell announce.
		origins = append(origins, "http://169.254.169.254:80")
		for _, env := range []string{"IDENTITY_ENDPOINT", "MSI_ENDPOINT"} {
			if o, err := transport.OriginOf(os.Getenv(env)); err == nil {
				origins = append(origins, o)
			}
		}
	}
	return origins, nil
}

// newCredential builds the azidentity credential for driftd's own app.
func newCredential(cfg config.Entra, client *http.Client) (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{
		Cloud:     cloudFor(cfg.AuthorityHost),
		Transport: client,
		// The SDK's own retry of token calls; the run context bounds it.
		Retry: policy.RetryOptions{MaxRetries: 3},
	}
	// With a custom authority MSAL would otherwise ask
	// login.microsoftonline.com for instance metadata.
	disableDiscovery := !strings.EqualFold(strings.TrimRight(cfg.AuthorityHost, "/"), strings.TrimRight(config.DefaultAuthorityHost, "/"))

	switch cfg.AuthMethod() {
	case config.AuthClientSecret:
		c, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret.Reveal(),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
		if err != nil {
			return nil, fmt.Errorf("entra.client_secret: %v", err)
		}
		return c, nil
	case config.AuthCertificate:
		var password []byte
		if !cfg.CertificatePassword.IsZero() {
			password = []byte(cfg.CertificatePassword.Reveal())
		}
		certs, key, err := azidentity.ParseCertificates([]byte(cfg.Certificate.Reveal()), password)
		if err != nil {
			return nil, fmt.Errorf("entra.certificate_file: cannot parse certificate and private key (PEM or PKCS#12 expected, check certificate_password)")
		}
		c, err := azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery, SendCertificateChain: true})
		if err != nil {
			return nil, fmt.Errorf("entra.certificate_file: %v", err)
		}
		return c, nil
	case config.AuthManagedIdentity:
		mi := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if cfg.ClientID != "" {
			mi.ID = azidentity.ClientID(cfg.ClientID)
		}
		c, err := azidentity.NewManagedIdentityCredential(mi)
		if err != nil {
			return nil, fmt.Errorf("entra.auth: managed identity: %v", err)
		}
		return c, nil
	case config.AuthWorkloadIdentity:
		c, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, TenantID: cfg.TenantID, ClientID: cfg.ClientID, DisableInstanceDiscovery: disableDiscovery,
		})
		if err != nil {
			return nil, fmt.Errorf("entra.auth: workload identity: %v", err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("entra.auth: no usable credential configured")
}

// cloudFor points azidentity at the configured authority host.
func cloudFor(authorityHost string) cloud.Configuration {
	c := cloud.AzurePublic
	c.ActiveDirectoryAuthorityHost = authorityHost
	return c
}
