// Package redact removes driftd's configured secrets from text before it
// is stored, logged, printed or sent: an API that echoes the request (a
// token endpoint quoting client_secret=… in its error) must not carry a
// credential into a gap, a report, the store or Slack.
package redact

import (
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/driftd/driftd/internal/config"
)

// Mark replaces every secret.
const Mark = "[REDACTED]"

// minLength is the shortest value worth replacing: shorter ones would
// mangle ordinary words without protecting anything.
const minLength = 4

// Redactor replaces a fixed set of secret values, and credentials
// recognised by their shape.
type Redactor struct {
	values []string
}

// New returns a Redactor for the given secrets, each also in the forms an
// echo may use: URL query and path encoding, and a JSON string's.
func New(secrets ...string) *Redactor {
	seen := map[string]bool{}
	var values []string
	add := func(v string) {
		if len(v) >= minLength && !seen[v] {
			seen[v] = true
			values = append(values, v)
		}
	}
	for _, s := range secrets {
		add(s)
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		// A JSON string's escaping, with and without HTML escaping.
		if b, err := json.Marshal(s); err == nil {
			add(strings.Trim(string(b), `"`))
		}
		var plain strings.Builder
		enc := json.NewEncoder(&plain)
		enc.SetEscapeHTML(false)
		if enc.Encode(s) == nil {
			add(strings.Trim(strings.TrimSpace(plain.String()), `"`))
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	return &Redactor{values: values}
}

// ForConfig returns a Redactor for every credential in cfg: Entra's client
// secret, certificate and its password, the Cloudflare token, Slack tokens
// and webhook URLs, and OTLP header values.
func ForConfig(cfg *config.Config) *Redactor {
	secrets := []string{
		cfg.Entra.ClientSecret.Reveal(),
		cfg.Entra.CertificatePassword.Reveal(),
		cfg.Entra.Certificate.Reveal(),
		cfg.Cloudflare.APIToken.Reveal(),
	}
	for _, r := range cfg.Notify.Slack {
		secrets = append(secrets, r.Token.Reveal(), r.WebhookURL.Reveal())
	}
	for _, v := range cfg.Telemetry.Headers {
		secrets = append(secrets, v.Reveal())
	}
	return New(secrets...)
}

// Credentials driftd never configures but holds at run time (the access
// tokens it is issued) are recognised by shape: a bearer token, an OAuth
// form field, a JWT.
var (
	bearerToken = regexp.MustCompile(`(?i)\b(bearer\s+)[^\s"',;)\]}]+`)
	oauthField  = regexp.MustCompile(`(?i)\b((?:access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password)["']?\s*[=:]\s*["']?)[^&\s"',;]+`)
	jwt         = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
)

// String returns s with every secret replaced by Mark. A nil Redactor
// still removes credentials recognised by their shape.
func (r *Redactor) String(s string) string {
	if r != nil {
		for _, v := range r.values {
			if strings.Contains(s, v) {
				s = strings.ReplaceAll(s, v, Mark)
			}
		}
	}
	s = bearerToken.ReplaceAllString(s, "${1}"+Mark)
	s = oauthField.ReplaceAllString(s, "${1}"+Mark)
	return jwt.ReplaceAllString(s, Mark)
}
