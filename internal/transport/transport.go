// Package transport builds the HTTP transports the SDK clients use: the
// system trust store plus an optional extra CA bundle, with sane timeouts.
package transport

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/driftd/driftd/internal/config"
)

// New returns an *http.Transport that trusts the system roots and, when
// caFile is not empty, the PEM certificates in it as well.
func New(caFile string) (*http.Transport, error) {
	tlsConfig, err := TLSConfig(caFile)
	if err != nil {
		return nil, err
	}
	return NewWithPool(tlsConfig.RootCAs), nil
}

// TLSConfig trusts the system roots plus the PEM certificates of caFile
// (none when empty). Every outbound client of driftd uses it.
func TLSConfig(caFile string) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := config.ReadCABundle(caFile)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", caFile)
		}
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// NewWithPool returns a transport trusting exactly pool.
func NewWithPool(pool *x509.CertPool) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}
}
