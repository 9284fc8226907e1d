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
}

// NewSecret wraps a credential value.
func NewSecret(v string) Secret { return Secret{value: v} }

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
