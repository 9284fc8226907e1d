// Package apicount counts the HTTP requests driftd sends to each service,
// retries included, so every run can report what it cost.
package apicount

import (
	"net/http"
	"sync"
)

// Service names used in counts and reports.
const (
	Graph      = "graph"
	Cloudflare = "cloudflare"
	Token      = "token"
)

// Counter counts requests and throttled (429) responses per service. The
// zero value is ready to use and safe for concurrent use.
type Counter struct {
	// Instrument, when set, wraps each counting transport (tracing).
	Instrument func(service string, rt http.RoundTripper) http.RoundTripper

	mu        sync.Mutex
	requests  map[string]int
	throttled map[string]int
}

// Transport wraps base so every request sent through it is counted under
// service. A nil base means http.DefaultTransport.
func (c *Counter) Transport(service string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	var rt http.RoundTripper = countingTransport{counter: c, service: service, base: base}
	if c.Instrument != nil {
		rt = c.Instrument(service, rt)
	}
	return rt
}

// Requests returns a copy of the request counts per service.
func (c *Counter) Requests() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return withServices(c.requests)
}

// Throttled returns a copy of the 429 counts per service.
func (c *Counter) Throttled() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return withServices(c.throttled)
}

// Mark is a reading of a Counter, to count what was sent after it.
type Mark struct{ requests, throttled map[string]int }

// Mark reads the counter now.
func (c *Counter) Mark() Mark {
	return Mark{requests: c.Requests(), throttled: c.Throttled()}
}

// Since returns the requests and 429 answers per service counted after m.
// A counter shared by clients that live across runs gives each run its
// own figures this way (runs never overlap).
func (c *Counter) Since(m Mark) (requests, throttled map[string]int) {
	requests, throttled = c.Requests(), c.Throttled()
	for k := range requests {
		requests[k] -= m.requests[k]
		throttled[k] -= m.throttled[k]
	}
	return requests, throttled
}

// withServices copies m, listing every service even when it is zero.
func withServices(m map[string]int) map[string]int {
	out := map[string]int{Graph: 0, Cloudflare: 0, Token: 0}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *Counter) add(service string, throttled bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.requests == nil {
		c.requests = map[string]int{}
		c.throttled = map[string]int{}
	}
	c.requests[service]++
	if throttled {
		c.throttled[service]++
	}
}

type countingTransport struct {
	counter *Counter
	service string
	base    http.RoundTripper
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	t.counter.add(t.service, err == nil && resp.StatusCode == http.StatusTooManyRequests)
	return resp, err
}
