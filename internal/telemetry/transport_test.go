package telemetry

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/telemetry/otlptest"
)

func TestTemplatePath(t *testing.T) {
	cases := map[string]string{
		"":  "",
		"/": "/",
		"/v1.0/applications(appId='0b5c3f8e-1111-2222-3333-444455556666')":                                                    "/v1.0/applications(...)",
		"/v1.0/servicePrincipals(appId='x(y)')/synchronization/jobs":                                                          "/v1.0/servicePrincipals(...)/synchronization/jobs",
		"/v1.0/servicePrincipals/0b5c3f8e-1111-2222-3333-444455556666/synchronization/jobs/Sc1":                               "/v1.0/servicePrincipals/{id}/synchronization/jobs/Sc1",
		"/v1.0/oauth2PermissionGrants":                                                                                        "/v1.0/oauth2PermissionGrants",
		"/client/v4/accounts/0123456789abcdef0123456789abcdef/access/identity_providers":                                      "/client/v4/accounts/{id}/access/identity_providers",
		"/client/v4/accounts/0123456789abcdef0123456789abcdef/access/identity_providers/0b5c3f8e-1111-2222-3333-444455556666": "/client/v4/accounts/{id}/access/identity_providers/{id}",
		"/0b5c3f8e-1111-2222-3333-444455556666/oauth2/v2.0/token":                                                             "/{id}/oauth2/v2.0/token",
		"/v1.0/users/someone@example.com":                                                                                     "/v1.0/users/{id}",
		"/v1.0/applications/12345":                                                                                            "/v1.0/applications/{id}",
		"/v1.0/applications/$count":                                                                                           "/v1.0/applications/$count",
	}
	for in, want := range cases {
		if got := templatePath(in); got != want {
			t.Errorf("templatePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// A service whose URL may be a credential (a Slack webhook) gets neither
// path nor query recorded, yet the request goes to the real URL.
func TestWrapTransportUnknownServiceRecordsHostOnly(t *testing.T) {
	clearEnv(t)
	rcv := otlptest.Start(t)
	logger, _ := newLogger()
	tel, err := Setup(context.Background(), config.Telemetry{
		Endpoint: rcv.HTTPURL(), Protocol: protoHTTP, Insecure: true,
		ExportInterval: config.Duration(time.Minute),
	}, version, logger)
	if err != nil {
		t.Fatal(err)
	}
	api := startAPIServer(t)
	client := &http.Client{Transport: tel.WrapTransport("slack", http.DefaultTransport)}
	const secretPath = "/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"
	resp, err := client.Post(api.URL+secretPath+"?token=abc", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Request == nil || resp.Request.URL.Path != secretPath {
		t.Errorf("response.Request is not the caller's request: %+v", resp.Request)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	api.mu.Lock()
	if len(api.paths) != 1 || api.paths[0] != secretPath || api.queries[0] != "token=abc" {
		t.Errorf("server saw %q %q, want the real URL", api.paths, api.queries)
	}
	api.mu.Unlock()
	spans := rcv.Spans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	if got := spans[0].GetName(); got != "slack POST" {
		t.Errorf("span name = %q, want %q", got, "slack POST")
	}
	for k, v := range otlptest.Attrs(spans[0].GetAttributes()) {
		if strings.Contains(v, "XXXX") || strings.Contains(v, "T0000") || strings.Contains(v, "token") {
			t.Errorf("span attribute %s=%q records the secret URL", k, v)
		}
	}
}
