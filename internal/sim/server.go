package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Service names, as used by Fault.Service and Requests.
const (
	ServiceToken      = "token"
	ServiceGraph      = "graph"
	ServiceCloudflare = "cloudflare"
)

// Options tune the simulated services.
type Options struct {
	// Latency is added to every request (cut short if the client gives up).
	Latency time.Duration
	// PageSize is the Graph and Cloudflare page size; 0 means the real
	// defaults (Graph 100, up to 999 with $top; Cloudflare 25, up to
	// 1000 with per_page). When set, it is also the maximum, so a small
	// PageSize forces paging whatever $top or per_page the client asks.
	PageSize int
}

type activeFault struct {
	Fault
	left int // <0: unlimited
}

// Server is a running simulation: three HTTPS listeners on loopback.
type Server struct {
	opts Options

	mu        sync.Mutex
	tenant    *Tenant
	tokens    map[string]time.Time // issued Graph access tokens → expiry
	faults    []*activeFault
	faultFunc func(FaultRequest) (Fault, bool)
	served    map[string]int // faults answered, by Fault.label
	requests  map[string]int
	// inFlight and peak count concurrent requests per service;
	// connections the TCP connections accepted.
	inFlight, peak, connections map[string]int

	// auditQueries counts the queries (first pages) of each audit log,
	// for entries that become visible only from a later query; Update
	// does not reset it.
	auditMu      sync.Mutex
	auditQueries map[string]int

	raMu       sync.Mutex           // guards the Retry-After book
	notBefore  map[string]retryBook // request key → when it may come back
	violations []RetryAfterViolation

	caKeys

	caPEM         []byte
	servers       []*http.Server
	authorityHost string
	graphURL      string
	cloudflareURL string
	closeOnce     sync.Once
}

// Start serves t until Close. The server owns t from then on: change it
// only through Update.
func Start(t *Tenant, opts Options) (*Server, error) {
	if t == nil {
		return nil, errors.New("sim: nil tenant")
	}
	if opts.PageSize < 0 {
		return nil, errors.New("sim: negative page size")
	}
	s := &Server{
		opts:        opts,
		tenant:      t,
		tokens:      map[string]time.Time{},
		requests:    map[string]int{},
		served:      map[string]int{},
		inFlight:    map[string]int{},
		peak:        map[string]int{},
		connections: map[string]int{},
	}
	ca, caKey, err := newCA()
	if err != nil {
		return nil, err
	}
	s.ca, s.caKey = ca, caKey
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})

	services := []struct {
		name    string
		host    string
		handler http.HandlerFunc
	}{
		{ServiceToken, "login.microsoftonline.sim", s.serveToken},
		{ServiceGraph, "graph.microsoft.sim", s.serveGraph},
		{ServiceCloudflare, "api.cloudflare.sim", s.serveCloudflare},
	}
	var (
		bases     []string
		listeners []net.Listener
	)
	fail := func(err error) (*Server, error) {
		for _, l := range listeners {
			_ = l.Close()
		}
		return nil, err
	}
	for _, svc := range services {
		cert, err := newLeaf(ca, caKey, svc.host)
		if err != nil {
			return fail(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(fmt.Errorf("sim: listen: %w", err))
		}
		listeners = append(listeners, l)
		s.servers = append(s.servers, &http.Server{
			Handler:           s.wrap(svc.name, svc.handler),
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			ReadHeaderTimeout: 10 * time.Second,
			ConnContext:       withConn,
			ConnState:         s.countConnection(svc.name),
			// Handshake errors from clients that do not trust the CA are
			// expected in tests; keep them out of the output.
			ErrorLog: log.New(io.Discard, "", 0),
		})
		bases = append(bases, "https://"+l.Addr().String())
	}
	s.authorityHost = bases[0] + "/"
	s.graphURL = bases[1] + "/v1.0"
	s.cloudflareURL = bases[2] + "/client/v4/"
	// Serve only once every field handlers read is set.
	for i, srv := range s.servers {
		go func() { _ = srv.ServeTLS(listeners[i], "", "") }()
	}
	return s, nil
}

// Close stops the listeners and drops open connections.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		for _, srv := range s.servers {
			_ = srv.Close()
		}
	})
}

// AuthorityHost is the Entra login host, e.g. "https://127.0.0.1:P/".
func (s *Server) AuthorityHost() string { return s.authorityHost }

// GraphURL is the Graph v1.0 base URL, e.g. "https://127.0.0.1:P/v1.0".
func (s *Server) GraphURL() string { return s.graphURL }

// CloudflareURL is the Cloudflare API base, e.g. "https://127.0.0.1:P/client/v4/".
func (s *Server) CloudflareURL() string { return s.cloudflareURL }

// CACertPEM is the simulation's own CA, which signed all three server
// certificates (SANs: IP 127.0.0.1, DNS localhost).
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// CertPool returns a pool holding only the simulation's CA.
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.caPEM)
	return pool
}

// HTTPClient returns a client that trusts the simulation's CA (and no
// other), for SDK transports.
func (s *Server) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}

// Update runs fn on the state under the server's lock; requests see
// either the old or the new state, never a partial change.
func (s *Server) Update(fn func(t *Tenant)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.tenant)
}

// InjectFault adds a fault. Faults are tried in the order injected.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := f.Times
	if left <= 0 {
		left = -1
	}
	s.faults = append(s.faults, &activeFault{Fault: f, left: left})
}

// ClearFaults removes all faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns how many HTTP requests each service has served, by
// ServiceToken, ServiceGraph and ServiceCloudflare. Faulted and rejected
// requests count; a Graph $batch counts once.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.requests)
}

// countConnection counts the connections a service accepts.
func (s *Server) countConnection(service string) func(net.Conn, http.ConnState) {
	return func(_ net.Conn, state http.ConnState) {
		if state != http.StateNew {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.connections[service]++
	}
}

// Connections returns how many TCP connections each service accepted.
func (s *Server) Connections() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.connections)
}

// PeakConcurrency returns the most requests each service was serving at
// once.
func (s *Server) PeakConcurrency() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.peak)
}

// wrap counts the request and applies the configured latency.
func (s *Server) wrap(service string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[service]++
		s.inFlight[service]++
		s.peak[service] = max(s.peak[service], s.inFlight[service])
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.inFlight[service]--
			s.mu.Unlock()
		}()
		s.checkRetryAfter(requestKey(service, r))
		if s.opts.Latency > 0 {
			timer := time.NewTimer(s.opts.Latency)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				timer.Stop()
				return
			}
		}
		h(w, r)
	})
}

// takeFault returns the first fault matching req (its path being any of
// targets), using up one of its Times, or else the FaultFunc's answer.
func (s *Server) takeFault(req FaultRequest, targets ...string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.takeFaultLocked(req, targets...)
}

// takeFaultLocked is takeFault with s.mu held. For the $batch request
// itself (req.Batch), faults with an empty PathContains do not match:
// they are meant for its sub-requests.
func (s *Server) takeFaultLocked(req FaultRequest, targets ...string) (Fault, bool) {
	query, err := url.QueryUnescape(req.Query)
	if err != nil {
		query = req.Query
	}
	for i, f := range s.faults {
		if f.Service != req.Service {
			continue
		}
		match := f.PathContains == "" && !req.Batch
		if f.PathContains != "" {
			for _, t := range targets {
				if strings.Contains(t, f.PathContains) {
					match = true
					break
				}
			}
		}
		if !match || f.QueryContains != "" && !strings.Contains(query, f.QueryContains) && !strings.Contains(req.Query, f.QueryContains) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		s.served[f.label()]++
		return f.Fault, true
	}
	if s.faultFunc != nil {
		if f, ok := s.faultFunc(req); ok {
			s.served[f.label()]++
			return f, true
		}
	}
	return Fault{}, false
}

// tokenValid reports whether tok is an unexpired access token issued here.
func (s *Server) tokenValid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && time.Now().Before(exp)
}

func newCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "driftd simulation CA", Organization: []string{"driftd"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}
