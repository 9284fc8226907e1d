package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/telemetry"
	"github.com/driftd/driftd/notify/slack"
)

// runFlags defines the flags of `driftd run`.
func runFlags() (fs *flag.FlagSet, configPath *string) {
	fs = newFlagSet("run")
	configPath = fs.String("config", config.DefaultPath, "configuration `file`")
	return fs, configPath
}

// cmdRun is `driftd run`: the scheduled daemon.
func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs, configPath := runFlags()
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := engine.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	// SIGHUP asks for a reload; SIGTERM/SIGINT are the context (main).
	reload, stopReloads := reloadOnHangup(ctx)
	defer stopReloads()

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

// reloadOnHangup turns SIGHUP into reload requests for the daemon, at most
// one pending at a time. Its goroutine exits when ctx is done or stop is
// called; stop also stops listening for SIGHUP and returns only once the
// goroutine has exited.
func reloadOnHangup(ctx context.Context) (reload <-chan struct{}, stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	requests := make(chan struct{}, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		forwardReloads(ctx, hup, requests)
	}()
	return requests, func() {
		signal.Stop(hup)
		cancel()
		<-exited
	}
}

// forwardReloads queues a reload request for every signal on hup until
// ctx is done. Signals that arrive while a request is pending join it.
func forwardReloads(ctx context.Context, hup <-chan os.Signal, reload chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			select {
			case reload <- struct{}{}:
			default: // a reload is already pending
			}
		}
	}
}
