package slack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/driftd/driftd/internal/config"
)

// Printing a notifier (a log line, a %+v in a panic) never shows its
// token or webhook URL: fmt cannot call the redaction of unexported
// fields, so the notifier prints its route's name only.
func TestNotifierPrintsNoSecret(t *testing.T) {
	n := New(config.SlackRoute{Route: config.Route{Name: "security"}, Token: config.NewSecret("xoxb-canary-4f1e"),
		WebhookURL: config.NewSecret("https://hooks.slack.com/services/canary-9d2c")}, nil)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, n); strings.Contains(out, "canary") || !strings.Contains(out, "security") {
			t.Errorf("%s: %q", verb, out)
		}
	}
}
