// Package config loads, defaults and validates driftd's TOML configuration.
//
// Every error names the offending field (and, for syntax and unknown keys,
// the line), and no error ever contains a secret's value.
package config

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pelletier/go-toml/v2"
	"github.com/robfig/cron/v3"

	"github.com/driftd/driftd/internal/finding"
	"github.com/driftd/driftd/internal/snapshot"
	"github.com/driftd/driftd/internal/watch"
)

// Defaults for optional keys.
const (
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	DefaultGraphURL      = "https://graph.microsoft.com/v1.0"
	DefaultCloudflareAPI = "https://api.cloudflare.com/client/v4/"
	DefaultPath          = "/etc/driftd/config.toml"
	DefaultSchedule      = "@every 1h"
	DefaultStateDir      = "/var/lib/driftd"
	DefaultSlackAPI      = "https://slack.com/api/"

	DefaultExpiryWarning  = Duration(30 * 24 * time.Hour)
	DefaultExpiryCritical = Duration(7 * 24 * time.Hour)
	// DefaultMaxSecretLifetime is the longest client-secret lifetime
	// ENTRA-CRED-003 accepts.
	DefaultMaxSecretLifetime = Duration(365 * 24 * time.Hour)
	// DefaultSCIMStaleAfter is how old a provisioning job's last
	// successful run may be before ENTRA-SCIM-004 reports it.
	DefaultSCIMStaleAfter  = Duration(24 * time.Hour)
	DefaultRunTimeout      = Duration(10 * time.Minute)
	DefaultRetainSnapshots = 50
	// DefaultMaxInFlight bounds the Microsoft Graph $batch requests in
	// flight at once; MaxMaxInFlight is the most accepted.
	DefaultMaxInFlight    = 4
	MaxMaxInFlight        = 16
	DefaultExportInterval = Duration(60 * time.Second)
	// DefaultAttributionLookback is how long after a finding opened its
	// attribution is still looked for (Entra's audit log lags by
	// minutes); MaxAttributionLookback is the most accepted.
	DefaultAttributionLookback = Duration(2 * time.Hour)
	MaxAttributionLookback     = Duration(7 * 24 * time.Hour)
)

// Entra authentication methods for driftd's own app registration.
const (
	AuthClientSecret     = "client_secret"
	AuthCertificate      = "certificate"
	AuthManagedIdentity  = "managed_identity"
	AuthWorkloadIdentity = "workload_identity"
)

// Config is the whole configuration file.
type Config struct {
	Entra        Entra         `toml:"entra"`
	Cloudflare   Cloudflare    `toml:"cloudflare"`
	Expiry       Expiry        `toml:"expiry"`
	Attribution  Attribution   `toml:"attribution"`
	Integrations []Integration `toml:"integration"`
	Daemon       Daemon        `toml:"daemon"`
	Suppress     []Suppression `toml:"suppress"`
	Notify       Notify        `toml:"notify"`
	Telemetry    Telemetry     `toml:"telemetry"`
}

// Notify holds the notification routes, one list per transport: the
// [[notify.<transport>]] tables. Every route has the shared block of keys
// (Route) plus its transport's own. Adding a transport is a field here, a
// route type implementing RouteConfig, its entry in Routes and
// Transports, and its constructor in notify/transports.
type Notify struct {
	Slack   []SlackRoute   `toml:"slack"`
	Webhook []WebhookRoute `toml:"webhook"`
	Teams   []TeamsRoute   `toml:"teams"`
}

// Transport names, as in [[notify.<transport>]].
const (
	TransportSlack   = "slack"
	TransportWebhook = "webhook"
	TransportTeams   = "teams"
)

// Transports lists the notification transports this configuration
// knows, in the order their routes are listed by Routes.
func Transports() []string { return []string{TransportSlack, TransportWebhook, TransportTeams} }

// Routes lists every configured route of every transport: the Slack
// routes, then the webhook routes, then the Teams routes, each in file
// order.
func (n *Notify) Routes() []RouteConfig {
	out := make([]RouteConfig, 0, len(n.Slack)+len(n.Webhook)+len(n.Teams))
	for i := range n.Slack {
		out = append(out, &n.Slack[i])
	}
	for i := range n.Webhook {
		out = append(out, &n.Webhook[i])
	}
	for i := range n.Teams {
		out = append(out, &n.Teams[i])
	}
	return out
}

// Common lists the shared block of every configured route, in the order
// of Routes.
func (n *Notify) Common() []Route {
	routes := n.Routes()
	out := make([]Route, len(routes))
	for i, r := range routes {
		out[i] = r.Common()
	}
	return out
}

// RouteConfig is one configured route of any transport.
type RouteConfig interface {
	// Common is the route's shared block: its name and what it is told.
	Common() Route
	// Transport names the route's transport ("slack", "webhook").
	Transport() string
	// shared is the route's shared block, for defaults and validation.
	shared() *Route
	// secrets lists the route's secret keys, for resolution.
	secrets() []secretKey
	// check validates the transport's own keys; at names the route.
	check(at string) error
}

// secretKey is one secret of a route: its key, the *_file key and path
// that may hold it instead, and the $CREDENTIALS_DIRECTORY file name
// that is used when neither is set ("" for none).
type secretKey struct {
	key, fileKey, file, cred string
	value                    Secret
	set                      func(Secret)
}

// Route is the block of keys every notification route has.
type Route struct {
	Name string `toml:"name"`
	// MinSeverity is the lowest severity sent (default medium).
	MinSeverity string `toml:"min_severity"`
	// RepeatInterval is how often a still-open finding is reminded
	// (default 24h; "0" never reminds).
	RepeatInterval string `toml:"repeat_interval"`
	SendResolved   *bool  `toml:"send_resolved"`
	// Integrations limits the route to these integrations; empty: all.
	Integrations []string `toml:"integrations"`

	// Resolved values, set by Validate.
	Severity finding.Severity `toml:"-"`
	Repeat   time.Duration    `toml:"-"`
}

// ResolvedEnabled reports send_resolved with its default (true).
func (r Route) ResolvedEnabled() bool { return r.SendResolved == nil || *r.SendResolved }

// Covers reports whether the route takes findings of the integration.
func (r Route) Covers(integration string) bool {
	if len(r.Integrations) == 0 {
		return true
	}
	for _, name := range r.Integrations {
		if name == integration {
			return true
		}
	}
	return false
}

// SlackRoute is one Slack destination for findings: a bot token posting
// to a channel, or an incoming webhook.
type SlackRoute struct {
	Route
	Token          Secret `toml:"token"`
	TokenFile      string `toml:"token_file"`
	WebhookURL     Secret `toml:"webhook_url"`
	WebhookURLFile string `toml:"webhook_url_file"`
	Channel        string `toml:"channel"`
	APIURL         string `toml:"api_url"`
	// Mention is prepended to messages with critical findings, e.g.
	// "<!subteam^S0123>" or "<!channel>".
	Mention string `toml:"mention"`
}

// UsesWebhook reports whether the route posts to an incoming webhook
// rather than with a bot token.
func (r SlackRoute) UsesWebhook() bool { return !r.WebhookURL.IsZero() }

// Common implements RouteConfig.
func (r *SlackRoute) Common() Route { return r.Route }

// Transport implements RouteConfig.
func (r *SlackRoute) Transport() string { return TransportSlack }

func (r *SlackRoute) shared() *Route { return &r.Route }

func (r *SlackRoute) secrets() []secretKey {
	return []secretKey{
		{key: "token", fileKey: "token_file", file: r.TokenFile, cred: "slack_" + r.Name + "_token", value: r.Token, set: func(s Secret) { r.Token = s }},
		{key: "webhook_url", fileKey: "webhook_url_file", file: r.WebhookURLFile, cred: "slack_" + r.Name + "_webhook_url", value: r.WebhookURL, set: func(s Secret) { r.WebhookURL = s }},
	}
}

func (r *SlackRoute) check(at string) error {
	switch {
	case r.Token.IsZero() && r.WebhookURL.IsZero():
		return fmt.Errorf("%s: set token (with channel) or webhook_url", at)
	case !r.Token.IsZero() && !r.WebhookURL.IsZero():
		return fmt.Errorf("%s: token and webhook_url are both set; use one", at)
	case !r.Token.IsZero() && r.Channel == "":
		return fmt.Errorf("%s.channel: required with a bot token (e.g. \"#security-alerts\" or a channel ID)", at)
	}
	if !r.WebhookURL.IsZero() {
		// The URL is a secret: say what is wrong without printing it.
		if err := checkURL(at+".webhook_url", r.WebhookURL.Reveal(), true, true); err != nil {
			return err
		}
	}
	return checkURL(at+".api_url", r.APIURL, true, false)
}

// WebhookRoute POSTs each batch as a signed JSON document to a URL.
type WebhookRoute struct {
	Route
	// URL is a secret: it often carries a routing or integration key.
	URL     Secret `toml:"url"`
	URLFile string `toml:"url_file"`
	// Secret, when set, signs every body: X-Driftd-Signature is
	// "sha256=" and the hex HMAC-SHA256 of the body under it.
	Secret     Secret `toml:"secret"`
	SecretFile string `toml:"secret_file"`
	// Headers are added to every request (an API key); their values are
	// secrets and may be ${VAR} references.
	Headers map[string]Secret `toml:"headers"`
}

// Common implements RouteConfig.
func (r *WebhookRoute) Common() Route { return r.Route }

// Transport implements RouteConfig.
func (r *WebhookRoute) Transport() string { return TransportWebhook }

func (r *WebhookRoute) shared() *Route { return &r.Route }

func (r *WebhookRoute) secrets() []secretKey {
	keys := []secretKey{
		{key: "url", fileKey: "url_file", file: r.URLFile, cred: "webhook_" + r.Name + "_url", value: r.URL, set: func(s Secret) { r.URL = s }},
		{key: "secret", fileKey: "secret_file", file: r.SecretFile, cred: "webhook_" + r.Name + "_secret", value: r.Secret, set: func(s Secret) { r.Secret = s }},
	}
	names := make([]string, 0, len(r.Headers))
	for name := range r.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		keys = append(keys, secretKey{key: "headers." + keyPath([]string{name}), value: r.Headers[name], set: func(s Secret) { r.Headers[name] = s }})
	}
	return keys
}

// reservedWebhookHeaders are set by driftd and cannot be configured.
var reservedWebhookHeaders = []string{"Host", "Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding", "Connection", "User-Agent", "Referer"}

var headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")

func (r *WebhookRoute) check(at string) error {
	if r.URL.IsZero() {
		return fmt.Errorf("%s: set url (or url_file, or $CREDENTIALS_DIRECTORY/webhook_%s_url)", at, r.Name)
	}
	// The URL is a secret: say what is wrong without printing it.
	if err := checkURL(at+".url", r.URL.Reveal(), true, true); err != nil {
		return err
	}
	names := make([]string, 0, len(r.Headers))
	for name := range r.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		field := at + ".headers." + keyPath([]string{name})
		if !headerNamePattern.MatchString(name) {
			return fmt.Errorf("%s: not a valid HTTP header name", field)
		}
		for _, reserved := range reservedWebhookHeaders {
			if strings.EqualFold(name, reserved) {
				return fmt.Errorf("%s: set by driftd; it cannot be configured", field)
			}
		}
		if len(name) >= len("X-Driftd-") && strings.EqualFold(name[:len("X-Driftd-")], "X-Driftd-") {
			return fmt.Errorf("%s: X-Driftd-* headers are set by driftd; they cannot be configured", field)
		}
		v := r.Headers[name].Reveal()
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("%s: must not be empty", field)
		}
		if strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 && c != '\t' || c == 0x7f }) {
			return fmt.Errorf("%s: must not contain control characters", field)
		}
	}
	return nil
}

// Telemetry configures OpenTelemetry export over OTLP. Empty Endpoint
// (and no OTEL_EXPORTER_OTLP_*ENDPOINT in the environment) disables it.
type Telemetry struct {
	// Endpoint is host:port for grpc, or a base URL for http/protobuf to
	// which /v1/traces, /v1/metrics and /v1/logs are appended.
	Endpoint string `toml:"endpoint"`
	// Protocol is "grpc" or "http/protobuf" (default grpc, or
	// OTEL_EXPORTER_OTLP_PROTOCOL).
	Protocol string `toml:"protocol"`
	Insecure bool   `toml:"insecure"`
	// Headers are sent with every export; values are treated as secrets
	// (they usually carry an API key).
	Headers        map[string]Secret `toml:"headers"`
	CAFile         string            `toml:"ca_file"`
	ExportInterval Duration          `toml:"export_interval"`
}

// Daemon configures `driftd run` and where every command keeps state.
type Daemon struct {
	// Schedule is a cron spec ("0 * * * *") or a descriptor ("@hourly",
	// "@every 1h").
	Schedule   string   `toml:"schedule"`
	RunTimeout Duration `toml:"run_timeout"`
	// Jitter delays each scheduled run by a random duration up to this.
	Jitter          Duration `toml:"jitter"`
	StateDir        string   `toml:"state_dir"`
	RetainSnapshots int      `toml:"retain_snapshots"`
	// Listen, when set, serves /healthz and /readyz on this address.
	Listen    string `toml:"listen"`
	LogFormat string `toml:"log_format"`
	LogLevel  string `toml:"log_level"`
}

// Suppression silences findings of a check (optionally of one integration
// or resource) for a stated reason, optionally until a date.
type Suppression struct {
	Check       string `toml:"check"`
	Integration string `toml:"integration"`
	Resource    string `toml:"resource"`
	Reason      string `toml:"reason"`
	// Expires is a date ("2027-01-31", the suppression ends at the start
	// of that day, UTC) or an RFC 3339 time.
	Expires string `toml:"expires"`

	// ExpiresAt is Expires parsed; zero means never.
	ExpiresAt time.Time `toml:"-"`
}

// Entra is how driftd reads the tenant: with its own read-only app
// registration, never the one Cloudflare signs in with.
type Entra struct {
	TenantID string `toml:"tenant_id"`
	ClientID string `toml:"client_id"`
	// Auth is inferred from the credential keys when empty.
	Auth                    string `toml:"auth"`
	ClientSecret            Secret `toml:"client_secret"`
	ClientSecretFile        string `toml:"client_secret_file"`
	CertificateFile         string `toml:"certificate_file"`
	CertificatePassword     Secret `toml:"certificate_password"`
	CertificatePasswordFile string `toml:"certificate_password_file"`
	AuthorityHost           string `toml:"authority_host"`
	GraphURL                string `toml:"graph_url"`
	CAFile                  string `toml:"ca_file"`
	// MaxInFlight bounds the $batch requests sent at once (1–16).
	MaxInFlight int `toml:"max_in_flight"`

	// Certificate is the PEM or PKCS#12 content of CertificateFile, read
	// at load time so a missing file fails early.
	Certificate Secret `toml:"-"`
}

// Cloudflare is how driftd reads the Zero Trust account.
type Cloudflare struct {
	AccountID    string `toml:"account_id"`
	APIToken     Secret `toml:"api_token"`
	APITokenFile string `toml:"api_token_file"`
	APIURL       string `toml:"api_url"`
	CAFile       string `toml:"ca_file"`
	TeamDomain   string `toml:"team_domain"`
}

// Expiry sets when an expiring credential becomes a finding.
type Expiry struct {
	Warning  Duration `toml:"warning"`
	Critical Duration `toml:"critical"`
	// MaxSecretLifetime is the longest a client secret may be valid
	// (endDateTime − startDateTime); 0 turns ENTRA-CRED-003 off.
	MaxSecretLifetime Duration `toml:"max_secret_lifetime"`
	// SCIMStaleAfter is how long ago a provisioning job may last have
	// succeeded; 0 turns that part of ENTRA-SCIM-004 off.
	SCIMStaleAfter Duration `toml:"scim_stale_after"`
}

// Attribution sets whether and for how long driftd asks the Entra and
// Cloudflare audit logs who changed a newly opened finding's objects.
type Attribution struct {
	Enabled bool `toml:"enabled"`
	// Lookback is how long after a finding opened a missing attribution
	// is looked for again, run after run; also how far back a first run
	// (with no run before it) looks.
	Lookback Duration `toml:"lookback"`
}

// Integration is one Cloudflare IdP ↔ Entra app pair.
type Integration struct {
	Name            string            `toml:"name"`
	EntraAppID      string            `toml:"entra_app_id"`
	CloudflareIdPID string            `toml:"cloudflare_idp_id"`
	SCIMAppID       string            `toml:"scim_app_id"`
	Baseline        snapshot.Baseline `toml:"baseline"`
}

// Environment lets tests and systemd supply what the process environment
// would: variable lookup and the credentials directory.
type Environment struct {
	LookupEnv func(string) (string, bool)
}

// Load reads, resolves and validates the file at path using the process
// environment.
func Load(path string) (*Config, error) {
	return LoadWith(path, Environment{LookupEnv: os.LookupEnv})
}

// LoadWith is Load with an explicit environment.
func LoadWith(path string, env Environment) (*Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return load(data, path, filepath.Dir(path), env)
}

// load is LoadWith once the file is read: parse, resolve secrets relative
// to baseDir, validate.
func load(data []byte, path, baseDir string, env Environment) (*Config, error) {
	cfg, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if err := cfg.resolve(env, baseDir); err != nil {
		return nil, fmt.Errorf("%s: %w", displayPath(path), err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", displayPath(path), err)
	}
	return cfg, nil
}

// LoadForState loads only what the state commands (status, findings,
// diff, baseline) need: [daemon] and [[suppress]]. Credentials are not
// resolved, so an operator can inspect state without the service's
// secrets in the environment.
func LoadForState(path string) (*Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if err := cfg.Daemon.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", displayPath(path), err)
	}
	for i := range cfg.Suppress {
		if err := cfg.Suppress[i].validate(i, cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", displayPath(path), err)
		}
	}
	return cfg, nil
}

// CheckIDsKnown checks every check ID the file at path names (in
// [[suppress]]) against the catalog: known says whether a check of that
// ID exists. config does not import the catalog, so the caller asks
// (engine.LoadConfig).
func (c *Config) CheckIDsKnown(path string, known func(id string) bool) error {
	for i, s := range c.Suppress {
		if !known(s.Check) {
			return fmt.Errorf("%s: %w", displayPath(path), fieldErr(fmt.Sprintf("suppress[%d].check", i), s.Check, "is not a check ID (see driftd checks), e.g. \"ENTRA-SCIM-002\""))
		}
	}
	return nil
}

// readConfigFile reads the configuration file: a regular file of at most
// MaxConfigFileSize bytes, opened without blocking.
func readConfigFile(path string) ([]byte, error) {
	f, err := readRegularFile("config", path, MaxConfigFileSize, nil)
	if err != nil {
		return nil, err
	}
	return f.data, nil
}

// Parse decodes TOML strictly (unknown keys are errors) and applies
// defaults. It does not resolve secrets or validate.
//
// Numeric and duration defaults are set before decoding, so that a key
// that is absent keeps its default while a key written as 0 stays 0 and
// is judged by Validate. An empty string is the same as an absent key.
func Parse(data []byte, name string) (*Config, error) {
	cfg := &Config{
		Entra:       Entra{MaxInFlight: DefaultMaxInFlight},
		Expiry:      Expiry{Warning: DefaultExpiryWarning, Critical: DefaultExpiryCritical, MaxSecretLifetime: DefaultMaxSecretLifetime, SCIMStaleAfter: DefaultSCIMStaleAfter},
		Attribution: Attribution{Enabled: true, Lookback: DefaultAttributionLookback},
		Daemon:      Daemon{RunTimeout: DefaultRunTimeout, RetainSnapshots: DefaultRetainSnapshots},
		Telemetry:   Telemetry{ExportInterval: DefaultExportInterval},
	}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, describeDecodeError(name, err)
	}
	cfg.applyDefaults()
	return cfg, nil
}

func describeDecodeError(name string, err error) error {
	name = displayPath(name)
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		e := strict.Errors[0]
		row, _ := e.Position()
		return fmt.Errorf("%s:%d: unknown key %q", name, row, strings.Join(e.Key(), "."))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		key := keyPath(de.Key())
		msg := oneLine(strings.TrimPrefix(de.Error(), "toml: "))
		// "cannot decode TOML string into struct field x.Y of type bool"
		// says more about Go than about the file.
		if m := goTypeDetail.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("wrong type: a TOML %s where a %s is expected", m[1], tomlTypeName(m[2]))
		}
		if key != "" {
			return fmt.Errorf("%s:%d: %s: %s", name, row, key, msg)
		}
		return fmt.Errorf("%s:%d: %s", name, row, msg)
	}
	return fmt.Errorf("%s: %s", name, oneLine(err.Error()))
}

// bareKey matches a TOML key part that needs no quotes.
var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// keyPath joins a dotted key for an error message, quoting the parts that
// are not bare keys so that the message stays one line.
func keyPath(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		if bareKey.MatchString(p) {
			out[i] = p
		} else {
			out[i] = strconv.Quote(p)
		}
	}
	return strings.Join(out, ".")
}

// oneLine escapes control characters (a newline in a value echoed by a
// library's error) so that an error stays one line.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (c *Config) applyDefaults() {
	if c.Entra.AuthorityHost == "" {
		c.Entra.AuthorityHost = DefaultAuthorityHost
	}
	if c.Entra.GraphURL == "" {
		c.Entra.GraphURL = DefaultGraphURL
	}
	if c.Cloudflare.APIURL == "" {
		c.Cloudflare.APIURL = DefaultCloudflareAPI
	}
	d := &c.Daemon
	if d.Schedule == "" {
		d.Schedule = DefaultSchedule
	}
	if d.StateDir == "" {
		d.StateDir = DefaultStateDir
	}
	if d.LogFormat == "" {
		d.LogFormat = "text"
	}
	if d.LogLevel == "" {
		d.LogLevel = "info"
	}
	for _, route := range c.Notify.Routes() {
		r := route.shared()
		if r.MinSeverity == "" {
			r.MinSeverity = "medium"
		}
		if r.RepeatInterval == "" {
			r.RepeatInterval = "24h"
		}
	}
	for i := range c.Notify.Slack {
		if r := &c.Notify.Slack[i]; r.APIURL == "" {
			r.APIURL = DefaultSlackAPI
		}
	}
}

// Names of files looked up in $CREDENTIALS_DIRECTORY (systemd
// LoadCredential=) when a secret is not configured otherwise.
const (
	CredEntraClientSecret        = "entra_client_secret"
	CredEntraCertificate         = "entra_certificate"
	CredEntraCertificatePassword = "entra_certificate_password"
	CredCloudflareAPIToken       = "cloudflare_api_token"
)

// resolve turns ${VAR} references and *_file paths into secret values.
func (c *Config) resolve(env Environment, baseDir string) error {
	credDir, _ := env.LookupEnv("CREDENTIALS_DIRECTORY")
	r := secretResolver{env: env, baseDir: baseDir, credDir: credDir}
	var err error
	e := &c.Entra
	if e.ClientSecret, err = r.resolve("entra.client_secret", e.ClientSecret, "entra.client_secret_file", e.ClientSecretFile, CredEntraClientSecret); err != nil {
		return err
	}
	if e.CertificatePassword, err = r.resolve("entra.certificate_password", e.CertificatePassword, "entra.certificate_password_file", e.CertificatePasswordFile, CredEntraCertificatePassword); err != nil {
		return err
	}
	if e.Certificate, err = r.fromFile("entra.certificate_file", e.CertificateFile, CredEntraCertificate, MaxCertificateFileSize, false); err != nil {
		return err
	}
	cf := &c.Cloudflare
	if cf.APIToken, err = r.resolve("cloudflare.api_token", cf.APIToken, "cloudflare.api_token_file", cf.APITokenFile, CredCloudflareAPIToken); err != nil {
		return err
	}
	for _, route := range routesAt(&c.Notify) {
		for _, k := range route.secrets() {
			fileField := ""
			if k.fileKey != "" {
				fileField = route.at + "." + k.fileKey
			}
			v, err := r.resolve(route.at+"."+k.key, k.value, fileField, k.file, k.cred)
			if err != nil {
				return err
			}
			k.set(v)
		}
	}
	for name, v := range c.Telemetry.Headers {
		if c.Telemetry.Headers[name], err = r.resolve("telemetry.headers."+keyPath([]string{name}), v, "", "", ""); err != nil {
			return err
		}
	}
	return nil
}

type secretResolver struct {
	env     Environment
	baseDir string
	credDir string
}

var goTypeDetail = regexp.MustCompile(`^cannot decode TOML (\w+) into (?:struct field \S+ of type )?\*?(?:\[\])?(\S+)$`)

// tomlTypeName names the Go type a key decodes into as the TOML value
// expected there.
func tomlTypeName(goType string) string {
	switch goType {
	case "string", "config.Secret":
		return "string"
	case "config.Duration":
		return "duration string"
	case "bool":
		return "boolean"
	case "int", "int64":
		return "integer"
	}
	return goType
}

var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// resolve returns the secret from, in order: the inline value (or the
// ${VAR} it names), the *_file path, or $CREDENTIALS_DIRECTORY/credName.
func (r secretResolver) resolve(field string, inline Secret, fileField, path, credName string) (Secret, error) {
	if !inline.IsZero() && path != "" {
		return Secret{}, fmt.Errorf("%s and %s are both set; use one", field, fileField)
	}
	if !inline.IsZero() {
		raw := strings.TrimSpace(inline.Reveal())
		if m := envRef.FindStringSubmatch(raw); m != nil {
			v, ok := r.env.LookupEnv(m[1])
			if !ok || strings.TrimSpace(v) == "" {
				return Secret{}, fmt.Errorf("%s: environment variable %s is not set", field, m[1])
			}
			return envSecret(strings.TrimSpace(v), m[1]), nil
		}
		if strings.Contains(raw, "${") {
			return Secret{}, fmt.Errorf("%s: only a whole-value ${VAR} reference is supported", field)
		}
		return inlineSecret(raw), nil
	}
	return r.fromFile(fileField, path, credName, MaxSecretFileSize, true)
}

// fromFile reads the file at path (relative to the configuration file),
// or else $CREDENTIALS_DIRECTORY/credName if it exists; limit bounds its
// size. A secret is trimmed of surrounding white space; a certificate
// (trim false, possibly binary PKCS#12) is kept byte for byte.
func (r secretResolver) fromFile(fileField, path, credName string, limit int64, trim bool) (Secret, error) {
	if path != "" {
		if !filepath.IsAbs(path) {
			path = filepath.Join(r.baseDir, path)
		}
		return readSecretFile(fileField, path, r.credDir, limit, trim)
	}
	if r.credDir != "" && credName != "" && credNamePattern.MatchString(credName) {
		p := filepath.Join(r.credDir, credName)
		s, err := readSecretFile("$CREDENTIALS_DIRECTORY/"+credName, p, r.credDir, limit, trim)
		if errors.Is(err, fs.ErrNotExist) {
			return Secret{}, nil
		}
		return s.fromCredentialsDirectory(), err
	}
	return Secret{}, nil
}

// credNamePattern keeps a credential name (which includes a Slack route's
// name, not yet validated here) inside $CREDENTIALS_DIRECTORY.
var credNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// readSecretFile reads a secret file, refusing anything but a regular file
// of at most limit bytes, and ones that other users can read (systemd's
// credentials directory is trusted as is). The mode checked is that of
// the descriptor read from.
func readSecretFile(field, path, credDir string, limit int64, trim bool) (Secret, error) {
	trusted := credDir != "" && filepath.Dir(path) == filepath.Clean(credDir)
	f, err := readRegularFile(field, path, limit, func(info fs.FileInfo) error {
		if !trusted && info.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("%s: %s is readable by group or others (mode %04o); run chmod 600 on it", field, displayPath(path), info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		return Secret{}, err
	}
	v := string(f.data)
	if trim {
		v = strings.TrimSpace(v)
	}
	if strings.TrimSpace(v) == "" {
		return Secret{}, fmt.Errorf("%s: %s is empty", field, displayPath(path))
	}
	return fileSecret(v, path), nil
}

var (
	guidPattern      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	accountIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	namePattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	hostnamePattern  = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// Validate checks every field and returns the first problem, naming it.
func (c *Config) Validate() error {
	e := c.Entra
	if !guidPattern.MatchString(e.TenantID) {
		return fieldErr("entra.tenant_id", e.TenantID, "must be the directory (tenant) ID, a GUID")
	}
	auth, err := e.authMethod()
	if err != nil {
		return err
	}
	if auth != AuthManagedIdentity && !guidPattern.MatchString(e.ClientID) {
		return fieldErr("entra.client_id", e.ClientID, "must be the Application (client) ID of driftd's own app registration, a GUID")
	}
	if auth == AuthManagedIdentity && e.ClientID != "" && !guidPattern.MatchString(e.ClientID) {
		return fieldErr("entra.client_id", e.ClientID, "must be the user-assigned managed identity's client ID, a GUID")
	}
	if err := checkHTTPSURL("entra.authority_host", e.AuthorityHost); err != nil {
		return err
	}
	if err := checkHTTPSURL("entra.graph_url", e.GraphURL); err != nil {
		return err
	}
	if err := checkCAFile("entra.ca_file", e.CAFile); err != nil {
		return err
	}
	if e.MaxInFlight < 1 || e.MaxInFlight > MaxMaxInFlight {
		return fmt.Errorf("entra.max_in_flight: must be between 1 and %d (default %d)", MaxMaxInFlight, DefaultMaxInFlight)
	}

	cf := c.Cloudflare
	if !accountIDPattern.MatchString(cf.AccountID) {
		return fieldErr("cloudflare.account_id", cf.AccountID, "must be the 32-character hexadecimal account ID")
	}
	if cf.APIToken.IsZero() {
		return errors.New("cloudflare.api_token: not set (give api_token, api_token_file or $CREDENTIALS_DIRECTORY/" + CredCloudflareAPIToken + ")")
	}
	if err := checkHTTPSURL("cloudflare.api_url", cf.APIURL); err != nil {
		return err
	}
	if err := checkCAFile("cloudflare.ca_file", cf.CAFile); err != nil {
		return err
	}
	if cf.TeamDomain != "" && !hostnamePattern.MatchString(cf.TeamDomain) {
		return fieldErr("cloudflare.team_domain", cf.TeamDomain, "must be a host name such as \"acme.cloudflareaccess.com\" (no scheme, no path)")
	}

	if c.Expiry.Warning <= 0 {
		return errors.New("expiry.warning: must be positive (e.g. \"30d\")")
	}
	if c.Expiry.Critical <= 0 {
		return errors.New("expiry.critical: must be positive (e.g. \"7d\")")
	}
	if c.Expiry.Warning < c.Expiry.Critical {
		return fmt.Errorf("expiry.warning: %s is shorter than expiry.critical (%s)", time.Duration(c.Expiry.Warning), time.Duration(c.Expiry.Critical))
	}

	if c.Attribution.Lookback <= 0 || c.Attribution.Lookback > MaxAttributionLookback {
		return fmt.Errorf("attribution.lookback: %s is out of range (want more than 0 and at most 7d, e.g. \"2h\")", time.Duration(c.Attribution.Lookback))
	}

	if len(c.Integrations) == 0 {
		return errors.New("integration: at least one [[integration]] is required")
	}
	seen := map[string]bool{}
	for i, in := range c.Integrations {
		at := fmt.Sprintf("integration[%d]", i)
		if !namePattern.MatchString(in.Name) {
			return fieldErr(at+".name", in.Name, "must be 1-64 letters, digits, '.', '_' or '-'")
		}
		at = fmt.Sprintf("integration %q", in.Name)
		if seen[in.Name] {
			return fmt.Errorf("%s.name: duplicate integration name", at)
		}
		seen[in.Name] = true
		if !guidPattern.MatchString(in.EntraAppID) {
			return fieldErr(at+".entra_app_id", in.EntraAppID, "must be the Application (client) ID Cloudflare signs in with, a GUID")
		}
		if in.SCIMAppID != "" && !guidPattern.MatchString(in.SCIMAppID) {
			return fieldErr(at+".scim_app_id", in.SCIMAppID, "must be the SCIM enterprise app's Application ID, a GUID")
		}
		if in.CloudflareIdPID != "" && !guidPattern.MatchString(in.CloudflareIdPID) {
			return fieldErr(at+".cloudflare_idp_id", in.CloudflareIdPID, "must be the Cloudflare identity provider's UUID")
		}
		if err := validateBaseline(at, &in.Baseline); err != nil {
			return err
		}
	}
	if err := c.Daemon.validate(); err != nil {
		return err
	}
	for i := range c.Suppress {
		if err := c.Suppress[i].validate(i, c); err != nil {
			return err
		}
	}
	names := map[string]bool{}
	for _, route := range routesAt(&c.Notify) {
		if err := validateRoute(route, c, names); err != nil {
			return err
		}
	}
	return c.Telemetry.validate()
}

var routeNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// indexedRoute is a route with its place in the file,
// "notify.<transport>[i]".
type indexedRoute struct {
	RouteConfig
	at string
}

func routesAt(n *Notify) []indexedRoute {
	seen := map[string]int{}
	var out []indexedRoute
	for _, r := range n.Routes() {
		t := r.Transport()
		out = append(out, indexedRoute{r, fmt.Sprintf("notify.%s[%d]", t, seen[t])})
		seen[t]++
	}
	return out
}

// validateRoute checks a route's shared block and its transport's keys.
// Route names are unique across transports: a route's messages are
// queued under its name.
func validateRoute(route indexedRoute, c *Config, names map[string]bool) error {
	r := route.shared()
	at := route.at
	if !routeNamePattern.MatchString(r.Name) {
		return fieldErr(at+".name", r.Name, "must be 1-40 lower-case letters, digits, '_' or '-'")
	}
	if names[r.Name] {
		return fmt.Errorf("%s.name: duplicate route name %q", at, r.Name)
	}
	names[r.Name] = true
	at = fmt.Sprintf("notify.%s %q", route.Transport(), r.Name)
	if err := route.check(at); err != nil {
		return err
	}
	var err error
	if r.Severity, err = finding.ParseSeverity(r.MinSeverity); err != nil {
		return fieldErr(at+".min_severity", r.MinSeverity, "must be low, medium, high or critical")
	}
	// "0" (any zero duration) means no reminders.
	if r.Repeat, err = ParseDuration(r.RepeatInterval); err != nil {
		return fmt.Errorf("%s.repeat_interval: %v; \"0\" sends no reminders", at, err)
	}
	for _, name := range r.Integrations {
		if _, ok := c.Integration(name); !ok {
			return fieldErr(at+".integrations", name, "is not the name of a configured integration")
		}
	}
	return nil
}

func (t Telemetry) validate() error {
	switch t.Protocol {
	case "", "grpc", "http/protobuf":
	default:
		return fieldErr("telemetry.protocol", t.Protocol, "must be grpc or http/protobuf")
	}
	if t.ExportInterval <= 0 {
		return errors.New("telemetry.export_interval: must be positive (e.g. \"60s\")")
	}
	if err := checkCAFile("telemetry.ca_file", t.CAFile); err != nil {
		return err
	}
	if t.Endpoint != "" && t.Protocol == "http/protobuf" {
		u, err := url.Parse(t.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fieldErr("telemetry.endpoint", t.Endpoint, "must be a base URL such as \"https://otel.example:4318\" for http/protobuf")
		}
	}
	return nil
}

func (d Daemon) validate() error {
	if _, err := ParseSchedule(d.Schedule); err != nil {
		return fmt.Errorf("daemon.schedule: %q is not a cron spec or descriptor (e.g. \"@every 1h\", \"0 * * * *\"): %s", d.Schedule, oneLine(err.Error()))
	}
	if d.RunTimeout <= 0 {
		return errors.New("daemon.run_timeout: must be positive (e.g. \"10m\")")
	}
	if d.Jitter < 0 {
		return errors.New("daemon.jitter: must not be negative")
	}
	if !filepath.IsAbs(d.StateDir) {
		return fieldErr("daemon.state_dir", d.StateDir, "must be an absolute path")
	}
	if d.RetainSnapshots < 1 {
		return errors.New("daemon.retain_snapshots: must be at least 1")
	}
	if d.Listen != "" {
		if _, _, err := net.SplitHostPort(d.Listen); err != nil {
			return fieldErr("daemon.listen", d.Listen, "must be host:port, e.g. \"127.0.0.1:9464\"")
		}
	}
	if d.LogFormat != "text" && d.LogFormat != "json" {
		return fieldErr("daemon.log_format", d.LogFormat, "must be text or json")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(d.LogLevel)); err != nil {
		return fieldErr("daemon.log_level", d.LogLevel, "must be debug, info, warn or error")
	}
	return nil
}

// checkIDPattern is the shape of a check ID: ENTRA-CRED-001, DRIFT-001.
var checkIDPattern = regexp.MustCompile(`^[A-Z]+(-[A-Z]+)*-[0-9]{3}$`)

// ParseSchedule parses daemon.schedule.
func ParseSchedule(spec string) (cron.Schedule, error) {
	return cron.ParseStandard(spec)
}

func (s *Suppression) validate(i int, c *Config) error {
	at := fmt.Sprintf("suppress[%d]", i)
	// Whether the catalog has the check is the engine's to say
	// (engine.LoadConfig); config does not know the catalog.
	if !checkIDPattern.MatchString(s.Check) {
		return fieldErr(at+".check", s.Check, "is not a check ID (see driftd checks), e.g. \"ENTRA-SCIM-002\"")
	}
	if s.Integration != "" {
		if _, ok := c.Integration(s.Integration); !ok {
			return fieldErr(at+".integration", s.Integration, "is not the name of a configured integration")
		}
	}
	if strings.TrimSpace(s.Reason) == "" {
		return fmt.Errorf("%s.reason: required; say why the finding is accepted", at)
	}
	if s.Expires != "" {
		t, err := time.Parse("2006-01-02", s.Expires)
		if err != nil {
			t, err = time.Parse(time.RFC3339, s.Expires)
		}
		if err != nil {
			return fieldErr(at+".expires", s.Expires, "must be a date (2027-01-31) or an RFC 3339 time")
		}
		s.ExpiresAt = t.UTC()
	}
	return nil
}

// authMethod infers or checks how driftd authenticates to Entra.
func (e Entra) authMethod() (string, error) {
	hasSecret, hasCert := !e.ClientSecret.IsZero(), !e.Certificate.IsZero()
	switch e.Auth {
	case "":
		switch {
		case hasSecret && hasCert:
			return "", errors.New("entra.client_secret and entra.certificate_file are both set; use one")
		case hasSecret:
			return AuthClientSecret, nil
		case hasCert:
			return AuthCertificate, nil
		}
		return "", errors.New("entra.client_secret: not set (give client_secret, client_secret_file, certificate_file, or auth = \"managed_identity\")")
	case AuthClientSecret:
		if !hasSecret {
			return "", errors.New("entra.client_secret: not set but entra.auth is client_secret")
		}
	case AuthCertificate:
		if !hasCert {
			return "", errors.New("entra.certificate_file: not set but entra.auth is certificate")
		}
	case AuthManagedIdentity, AuthWorkloadIdentity:
	default:
		return "", fieldErr("entra.auth", e.Auth, "must be client_secret, certificate, managed_identity or workload_identity")
	}
	return e.Auth, nil
}

// AuthMethod returns the validated Entra authentication method.
func (e Entra) AuthMethod() string {
	m, _ := e.authMethod()
	return m
}

// validateBaseline checks the pinned values against the watch table,
// which says which values each setting accepts. The keys and their types
// are those of snapshot.Baseline, which the decoder enforces.
func validateBaseline(at string, b *snapshot.Baseline) error {
	for _, s := range watch.Settings() {
		v, pinned := s.Pinned(b)
		if !pinned {
			continue
		}
		field := at + ".baseline." + s.BaselineKey
		if len(s.Allowed) > 0 && !slices.Contains(s.Allowed, v.Str()) {
			return fieldErr(field, v.Str(), "must be "+oneOf(s.Allowed))
		}
		if s.NonEmpty && strings.TrimSpace(v.Str()) == "" {
			return fmt.Errorf("%s: must not be empty (remove the key to leave it unchecked)", field)
		}
	}
	return nil
}

// oneOf renders "a, b or c".
func oneOf(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

func fieldErr(field, value, want string) error {
	if value == "" {
		return fmt.Errorf("%s: not set; %s", field, want)
	}
	return fmt.Errorf("%s: %q %s", field, value, want)
}

func checkHTTPSURL(field, raw string) error {
	return checkURL(field, raw, false, false)
}

// checkURL requires an absolute https URL without user information. With
// loopbackHTTP, http is accepted too when the host is a loopback address
// or "localhost" (test servers). A secret URL (a Slack webhook) is never
// shown; neither is one that carries, or may carry, credentials.
func checkURL(field, raw string, loopbackHTTP, secret bool) error {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		return fmt.Errorf("%s: must not contain credentials (user:password@)", field)
	}
	want := "must be an https:// URL"
	if loopbackHTTP {
		want += " (http:// only to a loopback address)"
	}
	fail := func() error {
		if secret || strings.Contains(raw, "@") {
			return fmt.Errorf("%s: %s", field, want)
		}
		return fieldErr(field, raw, want)
	}
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fail()
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopbackHTTP && isLoopbackHost(u.Hostname()) {
			return nil
		}
	}
	return fail()
}

// isLoopbackHost reports whether host (no port, no brackets) is
// "localhost" or a loopback IP address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkCAFile(field, path string) error {
	if path == "" {
		return nil
	}
	f, err := readRegularFile(field, path, MaxCertificateFileSize, nil)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(f.data) {
		return fmt.Errorf("%s: %s contains no PEM certificate", field, displayPath(path))
	}
	return nil
}

// Integration returns the named integration, or false.
func (c *Config) Integration(name string) (Integration, bool) {
	for _, in := range c.Integrations {
		if in.Name == name {
			return in, true
		}
	}
	return Integration{}, false
}
