package otlptest

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func request(name string) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
			Name:       name,
			Attributes: []*commonpb.KeyValue{{Key: "n", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 7}}}},
		}}}},
	}}}
}

func post(t *testing.T, url, contentType string, body []byte, gz bool) *http.Response {
	t.Helper()
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Test", "http")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestReceiver(t *testing.T) {
	r := Start(t)

	pb, _ := proto.Marshal(request("protobuf-gzip"))
	if resp := post(t, r.HTTPURL()+"/v1/traces", "application/x-protobuf", pb, true); resp.StatusCode != http.StatusOK {
		t.Fatalf("protobuf+gzip: %s", resp.Status)
	}
	js, _ := protojson.Marshal(request("json"))
	if resp := post(t, r.HTTPURL()+"/v1/traces", "application/json", js, false); resp.StatusCode != http.StatusOK {
		t.Fatalf("json: %s", resp.Status)
	}
	if resp := post(t, r.HTTPURL()+"/v1/traces", "text/plain", pb, false); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain answered %s", resp.Status)
	}

	conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-test", "grpc")
	if _, err := coltracepb.NewTraceServiceClient(conn).Export(ctx, request("grpc")); err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, s := range r.Spans() {
		names = append(names, s.GetName())
		if Attrs(s.GetAttributes())["n"] != "7" {
			t.Errorf("span %s attributes = %v", s.GetName(), Attrs(s.GetAttributes()))
		}
	}
	if len(names) != 3 || names[0] != "protobuf-gzip" || names[1] != "json" || names[2] != "grpc" {
		t.Errorf("spans = %q", names)
	}
	if got := r.Headers().Values("X-Test"); len(got) != 2 {
		t.Errorf("X-Test values = %q, want http and grpc", got)
	}
	if r.Requests("traces") != 3 {
		t.Errorf("Requests(traces) = %d", r.Requests("traces"))
	}

	// A delayed export is abandoned when the client gives up.
	r.SetDelay(time.Minute)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := coltracepb.NewTraceServiceClient(conn).Export(short, request("late")); err == nil {
		t.Error("delayed export succeeded")
	}
	if len(r.Spans()) != 3 {
		t.Error("an abandoned export was stored")
	}
}
