package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func post(t *testing.T, url, body string, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(VersionHeader, "1")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The receiver refuses what an operator's receiver must refuse, and
// never lets a scripted answer hide a bad request.
func TestServerChecksRequests(t *testing.T) {
	const body = `{"version":1}`
	s := NewServer(t, "k")
	s.Script(Response{Status: 503}, Response{Status: 503})
	for _, tc := range []struct {
		header  map[string]string
		status  int
		problem string
	}{
		{nil, 401, "no " + SignatureHeader},
		{map[string]string{SignatureHeader: sign("other", body)}, 401, "invalid " + SignatureHeader},
		{map[string]string{SignatureHeader: "sha1=" + sign("k", body)[7:]}, 401, "invalid " + SignatureHeader},
		{map[string]string{SignatureHeader: sign("k", body), "Content-Type": "text/plain"}, 400, `content type "text/plain"`},
		{map[string]string{SignatureHeader: sign("k", body), VersionHeader: ""}, 400, "no " + VersionHeader},
		{map[string]string{SignatureHeader: sign("k", body)}, 503, ""},
		{map[string]string{SignatureHeader: sign("k", body)}, 503, ""},
		{map[string]string{SignatureHeader: sign("k", body)}, 200, ""},
	} {
		if got := post(t, s.URL(), body, tc.header); got != tc.status {
			t.Errorf("%v: status %d, want %d", tc.header, got, tc.status)
		}
		reqs := s.Requests()
		if last := reqs[len(reqs)-1]; last.Problem != tc.problem || last.Status != tc.status {
			t.Errorf("%v: recorded %q %d, want %q %d", tc.header, last.Problem, last.Status, tc.problem, tc.status)
		}
	}
	if got := len(s.Delivered()); got != 1 {
		t.Errorf("%d delivered, want 1", got)
	}
	s.Script(Response{Status: 429})
	s.Down(502)
	for range 3 {
		if got := post(t, s.URL(), body, map[string]string{SignatureHeader: sign("k", body)}); got != 502 {
			t.Errorf("down: %d", got)
		}
	}
	s.Up()
	if got := post(t, s.URL(), body, map[string]string{SignatureHeader: sign("k", body)}); got != 429 {
		t.Errorf("after Up, the script resumes: %d", got)
	}

	unsigned := NewServer(t, "")
	if got := post(t, unsigned.URL(), body, map[string]string{SignatureHeader: sign("k", body)}); got != 400 {
		t.Errorf("a signature sent to a receiver without a secret: %d", got)
	}
	if got := post(t, unsigned.URL(), body, nil); got != 200 {
		t.Errorf("unsigned request to a receiver without a secret: %d", got)
	}
	resp, err := http.Get(unsigned.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if !Verify([]byte("k"), []byte(body), sign("k", body)) || Verify([]byte("k"), []byte(body+" "), sign("k", body)) || Verify([]byte("k"), []byte(body), "sha256=zz") {
		t.Error("Verify")
	}
}
