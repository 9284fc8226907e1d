package config

import "fmt"

// TeamsRoute posts each batch as Adaptive Cards to a Microsoft Teams
// Workflows incoming webhook ("Post to a channel when a webhook request is
// received"). Cards never mention anyone: a Workflows webhook cannot
// resolve a mention without the user's ID, and a finding is not a page.
type TeamsRoute struct {
	Route
	// WebhookURL is a secret: its signature (sig=) is the credential.
	WebhookURL     Secret `toml:"webhook_url"`
	WebhookURLFile string `toml:"webhook_url_file"`
}

// Common implements RouteConfig.
func (r *TeamsRoute) Common() Route { return r.Route }

// Transport implements RouteConfig.
func (r *TeamsRoute) Transport() string { return TransportTeams }

func (r *TeamsRoute) shared() *Route { return &r.Route }

func (r *TeamsRoute) secrets() []secretKey {
	return []secretKey{
		{key: "webhook_url", fileKey: "webhook_url_file", file: r.WebhookURLFile, cred: "teams_" + r.Name + "_webhook_url", value: r.WebhookURL, set: func(s Secret) { r.WebhookURL = s }},
	}
}

func (r *TeamsRoute) check(at string) error {
	if r.WebhookURL.IsZero() {
		return fmt.Errorf("%s: set webhook_url (or webhook_url_file, or $CREDENTIALS_DIRECTORY/teams_%s_webhook_url)", at, r.Name)
	}
	// The URL is a secret: say what is wrong without printing it.
	return checkURL(at+".webhook_url", r.WebhookURL.Reveal(), true, true)
}
