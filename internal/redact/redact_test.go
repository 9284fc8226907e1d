package redact

import (
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/config"
)

func TestRedactsEveryForm(t *testing.T) {
	const secret = "Abc~d+e/f=g&h \"q\""
	r := New(secret, "abc")
	for _, echo := range []string{
		"error: client_secret=" + secret,
		"AADSTS7000215: client_secret=Abc~d%2Be%2Ff%3Dg%26h+%22q%22 is invalid",
		"path /Abc~d+e%2Ff=g&h%20%22q%22/x",
		`{"echo":"Abc~d+e/f=g\u0026h \"q\""}`,
		`{"echo":"Abc~d+e/f=g&h \"q\""}`,
	} {
		got := r.String(echo)
		if strings.Contains(got, "Abc~d") || !strings.Contains(got, Mark) {
			t.Errorf("String(%q) = %q", echo, got)
		}
	}
	if got := r.String("abc is short"); got != "abc is short" {
		t.Errorf("a value shorter than %d was replaced: %q", minLength, got)
	}
	var none *Redactor
	if none.String("ordinary text") != "ordinary text" {
		t.Error("a nil Redactor changed ordinary text")
	}
}

func TestForConfig(t *testing.T) {
	cfg := &config.Config{}
	cfg.Entra.ClientSecret = config.NewSecret("entra-CANARY-1")
	cfg.Cloudflare.APIToken = config.NewSecret("cf-CANARY-2")
	cfg.Notify.Slack = []config.SlackRoute{{Token: config.NewSecret("xoxb-CANARY-3"), WebhookURL: config.NewSecret("https://hooks.slack.com/services/CANARY-4")}}
	cfg.Telemetry.Headers = map[string]config.Secret{"x-api-key": config.NewSecret("otlp-CANARY-5")}
	text := "entra-CANARY-1 cf-CANARY-2 xoxb-CANARY-3 https://hooks.slack.com/services/CANARY-4 otlp-CANARY-5"
	if got := ForConfig(cfg).String(text); strings.Contains(got, "CANARY") {
		t.Fatalf("left a secret: %q", got)
	}
}

func TestRedactsCredentialsByShape(t *testing.T) {
	for _, echo := range []string{
		"Invalid request. Authorization: Bearer 5f2bTOKENabc; body: x",
		"Authorization: bearer 5f2bTOKENabc",
		"grant_type=client_credentials&client_secret=5f2bTOKENabc&scope=x",
		`{"access_token":"5f2bTOKENabc"}`,
		"token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.5f2bTOKENabc",
	} {
		if got := New().String(echo); strings.Contains(got, "TOKEN") {
			t.Errorf("String(%q) = %q", echo, got)
		}
	}
	if got := New().String("HTTP 403 Authorization_RequestDenied: Insufficient privileges"); got != "HTTP 403 Authorization_RequestDenied: Insufficient privileges" {
		t.Errorf("an ordinary Graph error changed: %q", got)
	}
}
