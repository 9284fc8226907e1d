package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/dispatch"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/telemetry"
	"github.com/driftd/driftd/internal/textsafe"
	"github.com/driftd/driftd/internal/transport"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/transports"
)

// routeSenders builds the transport of every configured route, of every
// transport in the registry (notify/transports).
func routeSenders(tel *telemetry.Telemetry) func(*config.Config) (map[string]dispatch.Sender, error) {
	return func(cfg *config.Config) (map[string]dispatch.Sender, error) {
		base, err := transport.New("")
		if err != nil {
			return nil, err
		}
		return transports.Senders(&cfg.Notify, func(name string) *http.Client {
			return &http.Client{Transport: tel.WrapTransport(name, base), Timeout: 30 * time.Second}
		})
	}
}

// slackSenders is routeSenders: it builds every route's transport, Slack
// and webhook alike.
func slackSenders(tel *telemetry.Telemetry) func(*config.Config) (map[string]dispatch.Sender, error) {
	return routeSenders(tel)
}

// notifyTestFlags defines the flags of `driftd notify test`.
func notifyTestFlags() (fs *flag.FlagSet, configPath, route *string) {
	fs = newFlagSet("notify test")
	configPath = fs.String("config", config.DefaultPath, "configuration `file`")
	route = fs.String("route", "", "test only the route of this `name` (default: every route)")
	return fs, configPath, route
}

// cmdNotify is `driftd notify test [--route NAME]`: one test message per
// route, sent directly so an operator can check the wiring.
func cmdNotify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		return errors.New("usage: driftd notify test [--config FILE] [--route NAME]")
	}
	fs, configPath, only := notifyTestFlags()
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := engine.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	routes := cfg.Notify.Common()
	if len(routes) == 0 {
		return errors.New("no [[notify.slack]] or [[notify.webhook]] route is configured")
	}
	senders, err := routeSenders(nil)(cfg)
	if err != nil {
		return err
	}
	failed, tested := 0, 0
	for _, route := range routes {
		if *only != "" && route.Name != *only {
			continue
		}
		tested++
		name := textsafe.Field(route.Name, textsafe.MaxName)
		sender := senders[route.Name]
		batch := notify.Batch{Kind: notify.KindTest, Route: route.Name, RunAt: time.Now().UTC(), AccountID: cfg.Cloudflare.AccountID}
		msgs, err := sender.Render(batch)
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "%s: FAILED: rendering the test message failed\n", name)
			continue
		}
		for _, msg := range msgs {
			sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := sender.Deliver(sendCtx, msg)
			cancel()
			if err != nil {
				failed++
				fmt.Fprintf(stdout, "%s: FAILED: %s\n", name, textsafe.Field(err.Error(), textsafe.MaxText))
				break
			}
			fmt.Fprintf(stdout, "%s: sent\n", name)
		}
	}
	if tested == 0 {
		return fmt.Errorf("--route: no route named %q", *only)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d routes failed", failed, tested)
	}
	return nil
}
