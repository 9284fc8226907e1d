package daemon

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/telemetry"
)

// Serve is `driftd run`: the daemon of cfg (loaded from configPath, which
// SIGHUP re-reads) with telemetry and every configured notification
// route, until ctx ends. version names driftd in telemetry.
func Serve(ctx context.Context, configPath string, cfg *config.Config, logOutput io.Writer, version string) error {
	// SIGHUP asks for a reload; SIGTERM/SIGINT are the context.
	reload, stopReloads := ReloadOnHangup(ctx)
	defer stopReloads()

	var telOpts []telemetry.Option
	if cfg.Daemon.Listen != "" {
		// The health listener serves /metrics too.
		telOpts = append(telOpts, telemetry.WithPrometheus())
	}
	tel, err := telemetry.Setup(ctx, cfg.Telemetry, version, NewLogger(logOutput, cfg.Daemon), telOpts...)
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer func() {
		// Flush what is buffered, but never hold up the exit for long.
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(shutdownCtx)
	}()

	d, err := New(ctx, Options{ConfigPath: configPath, Config: cfg, Reload: reload, LogOutput: logOutput,
		Telemetry: tel, Senders: engine.Senders(tel)})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}
