package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
)

// A collector answering with a redirect to another host must not make the
// exporter send its headers (an API key) there.
func TestHTTPExportDoesNotFollowRedirectsOffOrigin(t *testing.T) {
	clearEnv(t)
	var foreign, asked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreign.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer other.Close()
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer collector.Close()

	logger, logs := newLogger()
	cfg := config.Telemetry{
		Endpoint:       collector.URL,
		Protocol:       protoHTTP,
		Insecure:       true,
		Headers:        map[string]config.Secret{"x-api-key": config.NewSecret(canary)},
		ExportInterval: config.Duration(50 * time.Millisecond),
	}
	tel, err := setup(context.Background(), cfg, version, logger, settings{exportTimeout: time.Second, errorLogEvery: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, span := tel.Tracer().Start(ctx, "driftd.run")
	tel.RunFinished(ctx, RunStats{Status: "complete", Trigger: "schedule", Duration: time.Second})
	span.End()
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_ = tel.Shutdown(sctx)
	if asked.Load() == 0 {
		t.Fatal("nothing was exported to the collector")
	}
	if n := foreign.Load(); n != 0 {
		t.Fatalf("the exporter followed the redirect: the other host got %d requests", n)
	}
	if got := logs.String(); containsCanary(got) {
		t.Errorf("the header value was logged:\n%s", got)
	}
}

func containsCanary(s string) bool { return strings.Contains(s, canary) }
