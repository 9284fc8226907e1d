package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/internal/telemetry"
	"github.com/driftd/driftd/notify/slack"
)

// cmdRun is `driftd run`: the scheduled daemon.
func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	configPath := fs.String("config", config.DefaultPath, "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	// SIGHUP asks for a reload; SIGTERM/SIGINT are the context (main).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default: // a reload is already pending
			}
		}
	}()

	tel, err := telemetry.Setup(ctx, cfg.Telemetry, versionString(), daemon.NewLogger(stderr, cfg.Daemon))
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer func() {
		// Flush what is buffered, but never hold up the exit for long.
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(shutdownCtx)
	}()

	d, err := daemon.New(ctx, daemon.Options{ConfigPath: *configPath, Config: cfg, Reload: reload, LogOutput: stderr,
		Telemetry: tel, Render: slack.Render, Senders: slackSenders(tel)})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}
