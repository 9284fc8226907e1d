// Package otlptest is an in-process OTLP receiver for tests: it serves the
// trace, metrics and logs collector services over gRPC and over HTTP
// (protobuf or JSON bodies, optionally gzip-compressed) on loopback, and
// keeps everything it receives for assertions.
package otlptest

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed gRPC exports
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// maxBody bounds an HTTP export body, compressed or not.
const maxBody = 64 << 20

// gaveUp answers a delayed gRPC export that was abandoned.
func gaveUp() error { return status.Error(codes.Unavailable, "otlptest: receiver gave up") }

// Receiver is a running OTLP receiver. It is safe for concurrent use.
type Receiver struct {
	grpcAddr string
	httpURL  string
	stop     chan struct{}

	mu       sync.Mutex
	traces   []*tracepb.ResourceSpans
	metrics  []*metricspb.ResourceMetrics
	logs     []*logspb.ResourceLogs
	headers  http.Header
	requests map[string]int
	delay    time.Duration
}

// Start listens on 127.0.0.1 with one port for gRPC and one for HTTP. The
// receiver stops when the test ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{
		stop:     make(chan struct{}),
		headers:  http.Header{},
		requests: map[string]int{},
	}

	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("otlptest: listen grpc: %v", err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		gl.Close()
		t.Fatalf("otlptest: listen http: %v", err)
	}
	r.grpcAddr = gl.Addr().String()
	r.httpURL = "http://" + hl.Addr().String()

	gs := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(gs, traceService{r: r})
	colmetricspb.RegisterMetricsServiceServer(gs, metricsService{r: r})
	collogspb.RegisterLogsServiceServer(gs, logsService{r: r})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, req *http.Request) {
		in := &coltracepb.ExportTraceServiceRequest{}
		r.serveHTTP(w, req, "traces", in, &coltracepb.ExportTraceServiceResponse{}, func() {
			r.traces = append(r.traces, in.GetResourceSpans()...)
		})
	})
	mux.HandleFunc("POST /v1/metrics", func(w http.ResponseWriter, req *http.Request) {
		in := &colmetricspb.ExportMetricsServiceRequest{}
		r.serveHTTP(w, req, "metrics", in, &colmetricspb.ExportMetricsServiceResponse{}, func() {
			r.metrics = append(r.metrics, in.GetResourceMetrics()...)
		})
	})
	mux.HandleFunc("POST /v1/logs", func(w http.ResponseWriter, req *http.Request) {
		in := &collogspb.ExportLogsServiceRequest{}
		r.serveHTTP(w, req, "logs", in, &collogspb.ExportLogsServiceResponse{}, func() {
			r.logs = append(r.logs, in.GetResourceLogs()...)
		})
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	go func() { _ = gs.Serve(gl) }()
	go func() { _ = hs.Serve(hl) }()

	t.Cleanup(func() {
		// Release delayed handlers first so neither server waits on them.
		close(r.stop)
		gs.Stop()
		_ = hs.Close()
	})
	return r
}

// GRPCAddr is the gRPC listener's host:port.
func (r *Receiver) GRPCAddr() string { return r.grpcAddr }

// HTTPURL is the HTTP listener's base URL, e.g. "http://127.0.0.1:43210";
// the signal paths /v1/traces, /v1/metrics and /v1/logs are below it.
func (r *Receiver) HTTPURL() string { return r.httpURL }

// SetDelay makes every later export wait d before it is answered (and
// stored), to simulate a slow collector. The wait ends early when the
// client gives up or the receiver stops, and the export is then dropped.
func (r *Receiver) SetDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// Requests returns how many exports of signal ("traces", "metrics" or
// "logs") were accepted, over both transports.
func (r *Receiver) Requests(signal string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[signal]
}

// ResourceSpans returns every ResourceSpans received, in arrival order.
func (r *Receiver) ResourceSpans() []*tracepb.ResourceSpans {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.ResourceSpans(nil), r.traces...)
}

// Spans returns every span received, flattened across resources and
// scopes; ResourceSpans has them with their resource.
func (r *Receiver) Spans() []*tracepb.Span {
	var out []*tracepb.Span
	for _, rs := range r.ResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			out = append(out, ss.GetSpans()...)
		}
	}
	return out
}

// ResourceMetrics returns every ResourceMetrics received, in arrival order.
func (r *Receiver) ResourceMetrics() []*metricspb.ResourceMetrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*metricspb.ResourceMetrics(nil), r.metrics...)
}

// MetricNames returns the distinct names of all metrics received, sorted.
func (r *Receiver) MetricNames() []string {
	seen := map[string]bool{}
	for _, rm := range r.ResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				seen[m.GetName()] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Metric returns the most recently received metric named name, or nil.
// With cumulative temporality the latest export holds the full state.
func (r *Receiver) Metric(name string) *metricspb.Metric {
	var last *metricspb.Metric
	for _, rm := range r.ResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				if m.GetName() == name {
					last = m
				}
			}
		}
	}
	return last
}

// ResourceLogs returns every ResourceLogs received, in arrival order.
func (r *Receiver) ResourceLogs() []*logspb.ResourceLogs {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*logspb.ResourceLogs(nil), r.logs...)
}

// LogRecords returns every log record received, flattened.
func (r *Receiver) LogRecords() []*logspb.LogRecord {
	var out []*logspb.LogRecord
	for _, rl := range r.ResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			out = append(out, sl.GetLogRecords()...)
		}
	}
	return out
}

// Headers returns the request headers seen on any export, gRPC metadata
// included, with canonical keys (gRPC's "x-api-key" is "X-Api-Key") and
// each distinct value once.
func (r *Receiver) Headers() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.headers.Clone()
}

// WaitFor polls cond until it holds, failing the test after timeout.
func (r *Receiver) WaitFor(t testing.TB, cond func() bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("otlptest: condition not met within %s", timeout)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-r.stop:
			t.Fatalf("otlptest: receiver stopped while waiting")
		}
	}
}

// Attrs renders OTLP attributes as strings for easy comparison: strings
// as-is, numbers in Go notation, booleans as "true"/"false"; arrays and
// maps in their protobuf text form.
func Attrs(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[kv.GetKey()] = ValueString(kv.GetValue())
	}
	return out
}

// ValueString renders one OTLP value the way Attrs does.
func ValueString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// wait applies the configured delay; false means the export was abandoned.
func (r *Receiver) wait(ctx context.Context) bool {
	r.mu.Lock()
	d := r.delay
	r.mu.Unlock()
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-r.stop:
		return false
	}
}

// record stores one accepted export: store runs under the lock.
func (r *Receiver) record(signal string, h http.Header, store func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, vs := range h {
		k = http.CanonicalHeaderKey(k)
		for _, v := range vs {
			if !contains(r.headers[k], v) {
				r.headers[k] = append(r.headers[k], v)
			}
		}
	}
	r.requests[signal]++
	store()
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request, signal string, in, out proto.Message, store func()) {
	body, err := readBody(w, req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	var marshal func(proto.Message) ([]byte, error)
	switch ct {
	case "application/x-protobuf":
		err = proto.Unmarshal(body, in)
		marshal = proto.Marshal
	case "application/json":
		err = protojson.Unmarshal(body, in)
		marshal = protojson.Marshal
	default:
		http.Error(w, "unsupported content type "+strconv.Quote(ct), http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		http.Error(w, "decode: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !r.wait(req.Context()) {
		http.Error(w, "receiver gave up", http.StatusServiceUnavailable)
		return
	}
	r.record(signal, req.Header, store)
	b, err := marshal(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(b)
}

func readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	var src io.Reader = http.MaxBytesReader(w, req.Body, maxBody)
	switch enc := strings.ToLower(req.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		src = io.LimitReader(zr, maxBody+1)
	default:
		return nil, errors.New("unsupported content encoding " + strconv.Quote(enc))
	}
	b, err := io.ReadAll(src)
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, errors.New("body too large")
	}
	return b, nil
}

// grpcHeaders turns incoming gRPC metadata into an http.Header.
func grpcHeaders(ctx context.Context) http.Header {
	h := http.Header{}
	md, _ := metadata.FromIncomingContext(ctx)
	for k, vs := range md {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return h
}

type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *Receiver
}

func (s traceService) Export(ctx context.Context, in *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	if !s.r.wait(ctx) {
		return nil, gaveUp()
	}
	// Clone: the message must not alias gRPC's receive buffers once kept.
	in = proto.Clone(in).(*coltracepb.ExportTraceServiceRequest)
	s.r.record("traces", grpcHeaders(ctx), func() {
		s.r.traces = append(s.r.traces, in.GetResourceSpans()...)
	})
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

type metricsService struct {
	colmetricspb.UnimplementedMetricsServiceServer
	r *Receiver
}

func (s metricsService) Export(ctx context.Context, in *colmetricspb.ExportMetricsServiceRequest) (*colmetricspb.ExportMetricsServiceResponse, error) {
	if !s.r.wait(ctx) {
		return nil, gaveUp()
	}
	in = proto.Clone(in).(*colmetricspb.ExportMetricsServiceRequest)
	s.r.record("metrics", grpcHeaders(ctx), func() {
		s.r.metrics = append(s.r.metrics, in.GetResourceMetrics()...)
	})
	return &colmetricspb.ExportMetricsServiceResponse{}, nil
}

type logsService struct {
	collogspb.UnimplementedLogsServiceServer
	r *Receiver
}

func (s logsService) Export(ctx context.Context, in *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	if !s.r.wait(ctx) {
		return nil, gaveUp()
	}
	in = proto.Clone(in).(*collogspb.ExportLogsServiceRequest)
	s.r.record("logs", grpcHeaders(ctx), func() {
		s.r.logs = append(s.r.logs, in.GetResourceLogs()...)
	})
	return &collogspb.ExportLogsServiceResponse{}, nil
}
