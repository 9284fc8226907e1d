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
	"github.com/driftd/driftd/internal/telemetry"
	"github.com/driftd/driftd/internal/textsafe"
	"github.com/driftd/driftd/internal/transport"
	"github.com/driftd/driftd/notify"
	"github.com/driftd/driftd/notify/slack"
)

// slackSenders builds one transport per [[notify.slack]] route.
func slackSenders(tel *telemetry.Telemetry) func(*config.Config) (map[string]dispatch.Sender, error) {
	return func(cfg *config.Config) (map[string]dispatch.Sender, error) {
		base, err := transport.New("")
		if err != nil {
			return nil, err
		}
		client := &http.Client{Transport: tel.WrapTransport("slack", base), Timeout: 30 * time.Second}
		out := map[string]dispatch.Sender{}
		for _, route := range cfg.Notify.Slack {
			out[route.Name] = slack.New(route, client)
		}
		return out, nil
	}
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
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	if len(cfg.Notify.Slack) == 0 {
		return errors.New("no [[notify.slack]] route is configured")
	}
	senders, err := slackSenders(nil)(cfg)
	if err != nil {
		return err
	}
	failed, tested := 0, 0
	for _, route := range cfg.Notify.Slack {
		if *only != "" && route.Name != *only {
			continue
		}
		tested++
		batch := notify.Batch{Kind: notify.KindTest, Route: route.Name, RunAt: time.Now().UTC(), AccountID: cfg.Cloudflare.AccountID}
		for _, p := range slack.Render(batch, route) {
			sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := senders[route.Name].Send(sendCtx, p)
			cancel()
			if err != nil {
				failed++
				fmt.Fprintf(stdout, "%s: FAILED: %s\n", textsafe.Field(route.Name, textsafe.MaxName), textsafe.Field(err.Error(), textsafe.MaxText))
				break
			}
			fmt.Fprintf(stdout, "%s: sent\n", textsafe.Field(route.Name, textsafe.MaxName))
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
