// Package transports is the registry of notification transports, as
// Alertmanager's receivers are: each maps its name (the
// [[notify.<name>]] table) to the configuration type of its routes —
// which lists the route's secret keys — and to the constructor of its
// sender. The outbox and the dispatcher know nothing of transports; a
// new one is a package under notify/, a route type in config, and an
// entry here.
package transports

import (
	"fmt"
	"net/http"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/dispatch"
	"github.com/driftd/driftd/notify/slack"
	"github.com/driftd/driftd/notify/teams"
	"github.com/driftd/driftd/notify/webhook"
)

// Transport is one entry of the registry.
type Transport struct {
	// Name is the transport's name, as in [[notify.<name>]].
	Name string
	// New builds the sender of one of the transport's routes; the route
	// is of the transport's configuration type.
	New func(route config.RouteConfig, client *http.Client) (dispatch.Sender, error)
}

// All is the registry.
func All() []Transport {
	return []Transport{
		{Name: config.TransportSlack, New: func(r config.RouteConfig, c *http.Client) (dispatch.Sender, error) {
			route, ok := r.(*config.SlackRoute)
			if !ok {
				return nil, typeError(config.TransportSlack, r)
			}
			return slack.New(*route, c), nil
		}},
		{Name: config.TransportWebhook, New: func(r config.RouteConfig, c *http.Client) (dispatch.Sender, error) {
			route, ok := r.(*config.WebhookRoute)
			if !ok {
				return nil, typeError(config.TransportWebhook, r)
			}
			return webhook.New(*route, c), nil
		}},
		{Name: config.TransportTeams, New: func(r config.RouteConfig, c *http.Client) (dispatch.Sender, error) {
			route, ok := r.(*config.TeamsRoute)
			if !ok {
				return nil, typeError(config.TransportTeams, r)
			}
			return teams.New(*route, c), nil
		}},
	}
}

func typeError(transport string, r config.RouteConfig) error {
	return fmt.Errorf("notify.%s %q: route of transport %s given to the %s transport", transport, r.Common().Name, r.Transport(), transport)
}

// Lookup returns the registry entry of a transport.
func Lookup(name string) (Transport, bool) {
	for _, t := range All() {
		if t.Name == name {
			return t, true
		}
	}
	return Transport{}, false
}

// Senders builds the sender of every configured route, keyed by route
// name. client returns the HTTP client a transport's requests go
// through (its timeouts, proxy, TLS and instrumentation).
func Senders(n *config.Notify, client func(transport string) *http.Client) (map[string]dispatch.Sender, error) {
	out := map[string]dispatch.Sender{}
	for _, route := range n.Routes() {
		t, ok := Lookup(route.Transport())
		if !ok {
			return nil, fmt.Errorf("notify.%s: no such notification transport", route.Transport())
		}
		s, err := t.New(route, client(t.Name))
		if err != nil {
			return nil, err
		}
		out[route.Common().Name] = s
	}
	return out, nil
}
