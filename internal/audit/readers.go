package audit

import (
	"errors"

	"github.com/driftd/driftd/internal/apicount"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/redact"
	"github.com/driftd/driftd/internal/source/cloudflare"
	"github.com/driftd/driftd/internal/source/entra"
	"github.com/driftd/driftd/internal/telemetry"
)

// Readers are the API clients of one configuration: the Entra credential
// (whose token is reused until it expires), the Graph and Cloudflare
// clients and their connections. The daemon keeps them from run to run;
// `driftd check` builds them for its one run. Runs that share Readers
// must not overlap (the daemon never runs two at once): each run's
// request counts are what the shared counter gained during it.
type Readers struct {
	entraConfig      config.Entra
	cloudflareConfig config.Cloudflare
	telemetry        *telemetry.Telemetry

	counter    *apicount.Counter
	entra      *entra.Source
	cloudflare *cloudflare.Source
}

// NewReaders builds the clients for cfg. No request is sent yet.
func NewReaders(cfg *config.Config, tel *telemetry.Telemetry) (*Readers, error) {
	secrets := redact.ForConfig(cfg)
	counter := &apicount.Counter{Instrument: tel.WrapTransport}
	entraSource, err := entra.New(cfg.Entra, counter)
	if err != nil {
		return nil, errors.New(secrets.String(err.Error()))
	}
	cfSource, err := cloudflare.New(cfg.Cloudflare, counter)
	if err != nil {
		return nil, errors.New(secrets.String(err.Error()))
	}
	return &Readers{entraConfig: cfg.Entra, cloudflareConfig: cfg.Cloudflare, telemetry: tel,
		counter: counter, entra: entraSource, cloudflare: cfSource}, nil
}

// Fits reports whether r were built from the same [entra] and
// [cloudflare] settings (credentials included) and telemetry, so a
// reloaded configuration that changed neither keeps its token and
// connections.
func (r *Readers) Fits(cfg *config.Config, tel *telemetry.Telemetry) bool {
	return r != nil && r.entraConfig == cfg.Entra && r.cloudflareConfig == cfg.Cloudflare && r.telemetry == tel
}
