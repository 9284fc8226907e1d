package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// redacted is what a Secret shows wherever it could be printed.
const redacted = "[REDACTED]"

// Secret holds a credential. Every way Go has of printing or encoding a
// value shows "[REDACTED]"; only Reveal returns the real value, and it is
// called only where the credential is handed to an SDK.
type Secret struct {
	value string
	// source says where value came from, for `driftd config show`; it
	// names a variable or a path, never the value.
	source string
}

// NewSecret wraps a credential value.
func NewSecret(v string) Secret { return Secret{value: v} }

// The sources Load's resolution records.
func envSecret(v, variable string) Secret { return Secret{value: v, source: "from $" + variable} }
func inlineSecret(v string) Secret        { return Secret{value: v, source: "inline"} }

// fromCredentialsDirectory relabels a secret read from
// $CREDENTIALS_DIRECTORY (systemd LoadCredential=).
func (s Secret) fromCredentialsDirectory() Secret {
	s.source = "from credentials directory"
	return s
}

// Source says where the value came from, never the value: "from
// $VAR", "from file /abs/path", "from credentials directory", "inline"
// or "not set". A Secret not built by Load (NewSecret) is "inline".
func (s Secret) Source() string {
	switch {
	case s.value == "":
		return "not set"
	case s.source == "":
		return "inline"
	}
	return s.source
}

// Reveal returns the credential itself.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no value is set.
func (s Secret) IsZero() bool { return s.value == "" }

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x …) print the
// redaction marker.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }

// UnmarshalText keeps the raw configured text (which may be a ${VAR}
// reference); Load resolves it afterwards.
func (s *Secret) UnmarshalText(b []byte) error {
	s.value = string(b)
	return nil
}
