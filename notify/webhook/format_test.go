package webhook

import (
	"fmt"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/config"
)

// Printing a notifier never shows its URL, secret or header values.
func TestNotifierPrintsNoSecret(t *testing.T) {
	n := New(config.WebhookRoute{Route: config.Route{Name: "automation"}, URL: config.NewSecret("https://example.test/hook?key=canary-1b7a"),
		Secret: config.NewSecret("whsec-canary-3c9e")}, nil)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, n); strings.Contains(out, "canary") || !strings.Contains(out, "automation") {
			t.Errorf("%s: %q", verb, out)
		}
	}
}
