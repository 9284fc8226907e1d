package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/driftd/driftd/internal/audit"
	"github.com/driftd/driftd/internal/cli"
	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/engine"
)

// defineConfigCheck is `driftd config check`.
func defineConfigCheck(fs *flag.FlagSet) action {
	configPath := fs.String("config", config.DefaultPath, "configuration `file`")
	return func(_ context.Context, args []string, stdout, _ io.Writer) (int, error) {
		if err := noArguments(args); err != nil {
			return exitError, err
		}
		cfg, err := loadConfigOffline(*configPath)
		if err != nil {
			return exitError, err
		}
		fmt.Fprintf(stdout, "config OK: %s (%s)\n", cli.OneLine(absPath(*configPath)), configSummary(cfg))
		return exitOK, nil
	}
}

// defineConfigShow is `driftd config show`.
func defineConfigShow(fs *flag.FlagSet) action {
	configPath := fs.String("config", config.DefaultPath, "configuration `file`")
	format := fs.String("format", config.ShowTOML, "output `format`: toml or json")
	return func(_ context.Context, args []string, stdout, _ io.Writer) (int, error) {
		if err := noArguments(args); err != nil {
			return exitError, err
		}
		if *format != config.ShowTOML && *format != config.ShowJSON {
			return exitError, fmt.Errorf("--format: %q is not toml or json", *format)
		}
		// Loaded in full, as check does: a secret's source is known only
		// once it is resolved, and what is shown is what would run.
		cfg, err := loadConfigOffline(*configPath)
		if err != nil {
			return exitError, err
		}
		out, err := config.Show(cfg, *format)
		if err != nil {
			return exitError, err
		}
		_, err = stdout.Write(out)
		return exitOK, err
	}
}

// loadConfigOffline loads the configuration as check and run do, then
// builds their API clients, which is where the Entra certificate is
// parsed and the CA bundles are loaded into the TLS configuration. The
// clients send nothing until a read, and none is made.
func loadConfigOffline(path string) (*config.Config, error) {
	cfg, err := engine.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if _, err := audit.NewReaders(cfg, nil); err != nil {
		return nil, err
	}
	return cfg, nil
}

// configSummary is the parenthesis of config check's line: "entra auth
// client_secret, 2 integrations, 1 Slack route, 0 webhook routes, …".
func configSummary(cfg *config.Config) string {
	parts := []string{"entra auth " + cfg.Entra.AuthMethod(), count(len(cfg.Integrations), "integration", "integrations")}
	perTransport := map[string]int{}
	for _, r := range cfg.Notify.Routes() {
		perTransport[r.Transport()]++
	}
	for _, t := range config.Transports() {
		name := transportName(t)
		parts = append(parts, count(perTransport[t], name+" route", name+" routes"))
	}
	parts = append(parts, count(len(cfg.Suppress), "suppression", "suppressions"))
	if cfg.Telemetry.Endpoint != "" {
		// Not the endpoint itself: it may carry a token in its URL.
		parts = append(parts, "telemetry endpoint set")
	}
	return cli.OneLine(strings.Join(parts, ", "))
}

// transportName is how a transport reads in prose: products capitalised
// ("Slack", "Teams"), the generic webhook not.
func transportName(t string) string {
	if t == config.TransportWebhook || t == "" {
		return t
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// absPath names the file checked unambiguously; as given if that fails.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
