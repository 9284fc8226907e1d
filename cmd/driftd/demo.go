package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
)

// cmdDemo audits the built-in simulated tenant through the same code path
// as `driftd check`: real SDK clients, real HTTPS over loopback.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("demo", stderr)
	scenario := fs.String("scenario", demo.ScenarioDrifted, "simulated tenant: drifted or healthy")
	format := fs.String("format", "table", "output format: table, json or markdown")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	// Gaps are shown in the report; the demo keeps stderr for errors.
	opts, err := parseCheckFlags("demo", []string{"--format", *format, "--log-level", "error"}, stderr, false)
	if err != nil {
		return exitError, err
	}
	dir, err := os.MkdirTemp("", "driftd-demo-")
	if err != nil {
		return exitError, err
	}
	defer os.RemoveAll(dir)

	env, err := demo.Start(dir, *scenario, time.Now(), sim.Options{})
	if err != nil {
		return exitError, err
	}
	defer env.Close()
	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		return exitError, err
	}
	if opts.format == "table" {
		fmt.Fprintf(stdout, "Auditing a simulated %s tenant (Entra ID, Microsoft Graph and Cloudflare on loopback)…\n\n", *scenario)
	}
	if _, err := runAudit(ctx, cfg, opts, stdout, stderr); err != nil {
		return exitError, err
	}
	if opts.format == "table" {
		fmt.Fprint(stdout, "\nThis was a simulation. To audit your own tenant, copy config.example.toml to\n"+
			"/etc/driftd/config.toml, fill in your IDs and read-only credentials (see README:\n"+
			"Permissions), then run: driftd check --config /etc/driftd/config.toml\n")
	}
	// The findings are the point of the demo, not a failure.
	return exitOK, nil
}
