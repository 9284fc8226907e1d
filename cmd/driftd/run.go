package main

import (
	"context"
	"flag"
	"io"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/daemon"
	"github.com/driftd/driftd/internal/engine"
)

// defineRun is `driftd run`: the scheduled daemon.
func defineRun(fs *flag.FlagSet) action {
	configPath := fs.String("config", config.DefaultPath, "configuration `file`")
	return func(ctx context.Context, args []string, _, stderr io.Writer) (int, error) {
		if err := noArguments(args); err != nil {
			return exitError, err
		}
		cfg, err := engine.LoadConfig(*configPath)
		if err != nil {
			return exitError, err
		}
		return exitOK, daemon.Serve(ctx, *configPath, cfg, stderr, versionString())
	}
}
