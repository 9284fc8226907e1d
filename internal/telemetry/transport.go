package telemetry

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// pathIsSafe reports whether a service's URL paths name operations rather
// than carry secrets. Only these services get a path in span names and in
// url.full; for any other (a Slack webhook URL is itself the credential)
// only scheme and host are recorded.
func pathIsSafe(service string) bool {
	switch service {
	case "graph", "cloudflare", "token":
		return true
	}
	return false
}

// WrapTransport instruments rt with an otelhttp client span per request,
// named "<service> <METHOD> <path template>" (e.g. "graph GET
// /v1.0/applications(...)") and carrying driftd.service=<service>, plus
// otelhttp's client metrics. IDs in the path become {id} and OData keys
// (...), and the query string is never recorded, so names stay low in
// cardinality and free of tenant data. No trace context is sent to the
// remote API. When disabled, rt is returned unchanged.
func (t *Telemetry) WrapTransport(service string, rt http.RoundTripper) http.RoundTripper {
	if !t.Enabled() {
		return rt
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	svc := attribute.String("driftd.service", service)
	instrumented := otelhttp.NewTransport(restoringTransport{base: rt},
		otelhttp.WithTracerProvider(t.tracerProvider),
		otelhttp.WithMeterProvider(t.meterProvider),
		// An empty propagator: Graph and Cloudflare have no use for our
		// trace context, and the global propagator is not ours to use.
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			name := service + " " + r.Method
			if p := r.URL.Path; p != "" && p != "/" {
				name += " " + p
			}
			return name
		}),
		otelhttp.WithSpanOptions(trace.WithAttributes(svc)),
	)
	return redactingTransport{next: instrumented, keepPath: pathIsSafe(service), service: svc}
}

// originalURL carries the real URL past otelhttp in the request context.
type originalURL struct{}

// redactingTransport shows otelhttp a request whose URL holds only what
// may be recorded (otelhttp puts r.URL into url.full); restoringTransport,
// below otelhttp, puts the real URL back before the request is sent.
type redactingTransport struct {
	next     http.RoundTripper
	keepPath bool
	// service labels otelhttp's client metrics, through its labeler.
	service attribute.KeyValue
}

func (rt redactingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	shown := &url.URL{Scheme: r.URL.Scheme, Host: r.URL.Host}
	if rt.keepPath {
		shown.Path = templatePath(r.URL.Path)
		// Keeps "(...)" readable in url.full; ignored where it is not a
		// valid encoding (the braces of "{id}" get escaped regardless).
		shown.RawPath = shown.Path
	}
	// WithContext copies r shallowly; r itself must not be modified.
	labeler := &otelhttp.Labeler{}
	labeler.Add(rt.service)
	ctx := otelhttp.ContextWithClientLabeler(context.WithValue(r.Context(), originalURL{}, r.URL), labeler)
	r2 := r.WithContext(ctx)
	r2.URL = shown
	resp, err := rt.next.RoundTrip(r2)
	if resp != nil {
		resp.Request = r
	}
	return resp, err
}

type restoringTransport struct {
	base http.RoundTripper
}

func (rt restoringTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if u, ok := r.Context().Value(originalURL{}).(*url.URL); ok {
		r2 := r.WithContext(r.Context())
		r2.URL = u
		r = r2
	}
	return rt.base.RoundTrip(r)
}

// templatePath reduces a URL path to a template: parenthesised OData keys
// become "(...)" and segments that look like identifiers become "{id}".
func templatePath(p string) string {
	var b strings.Builder
	depth := 0
	for _, c := range p {
		switch {
		case c == '(':
			if depth == 0 {
				b.WriteString("(...)")
			}
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	segs := strings.Split(b.String(), "/")
	for i, s := range segs {
		prefix, keyed := strings.CutSuffix(s, "(...)")
		if prefix != "" && looksLikeID(prefix) {
			prefix = "{id}"
		}
		if keyed {
			prefix += "(...)"
		}
		segs[i] = prefix
	}
	return strings.Join(segs, "/")
}

// looksLikeID reports whether a path segment is an identifier or a value
// (GUID, long hex, number, address, anything unusual) rather than the
// name of a collection or an operation.
func looksLikeID(s string) bool {
	if len(s) > 64 || isUUID(s) || isDigits(s) || (len(s) >= 16 && isHex(s)) {
		return true
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '$' || c == '.' || c == '_' || c == '-' || c == '~'
		if !ok {
			return true
		}
	}
	return false
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHexRune(c) {
				return false
			}
		}
	}
	return true
}

func isHex(s string) bool {
	for _, c := range s {
		if !isHexRune(c) {
			return false
		}
	}
	return true
}

func isHexRune(c rune) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
