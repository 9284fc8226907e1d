package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	serve := fs.String("serve", "", "keep the simulated tenant running and write a config for it into this directory, to try driftd run and the other commands against it")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if *serve != "" {
		return serveDemo(ctx, *serve, *scenario, stdout)
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

// serveDemo keeps the simulator running until interrupted, with a config
// (fast schedule, state in dir) that any driftd command can use.
func serveDemo(ctx context.Context, dir, scenario string, stdout io.Writer) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return exitError, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return exitError, err
	}
	env, err := demo.Start(abs, scenario, time.Now(), sim.Options{})
	if err != nil {
		return exitError, err
	}
	defer env.Close()
	f, err := os.OpenFile(env.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return exitError, err
	}
	_, err = fmt.Fprintf(f, "\n[daemon]\nschedule = \"@every 15s\"\nstate_dir = %q\nlisten = \"127.0.0.1:9464\"\n", filepath.Join(abs, "state"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return exitError, err
	}
	fmt.Fprintf(stdout, "Simulated %s tenant running. In another terminal try:\n\n"+
		"  driftd check --config %[2]s\n"+
		"  driftd run --config %[2]s          # audits every 15 s; Ctrl-C to stop\n"+
		"  driftd status --config %[2]s\n"+
		"  driftd findings --config %[2]s\n"+
		"  driftd baseline approve --config %[2]s\n\n"+
		"Press Ctrl-C to stop the simulator.\n", scenario, env.ConfigPath)
	<-ctx.Done()
	return exitOK, nil
}
