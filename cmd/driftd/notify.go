package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/internal/textsafe"
)

// defineNotifyTest is `driftd notify test [--route NAME]`: one test
// message per route, sent directly so an operator can check the wiring.
func defineNotifyTest(fs *flag.FlagSet) action {
	configPath := fs.String("config", config.DefaultPath, "configuration `file`")
	only := fs.String("route", "", "test only the route of this `name` (default: every route)")
	return func(ctx context.Context, args []string, stdout, _ io.Writer) (int, error) {
		if err := noArguments(args); err != nil {
			return exitError, err
		}
		cfg, err := engine.LoadConfig(*configPath)
		if err != nil {
			return exitError, err
		}
		if len(cfg.Notify.Routes()) == 0 {
			return exitError, errors.New("no [[notify.slack]], [[notify.webhook]] or [[notify.teams]] route is configured")
		}
		results, err := engine.TestRoutes(ctx, cfg, *only)
		if err != nil {
			return exitError, err
		}
		if len(results) == 0 {
			return exitError, fmt.Errorf("--route: no route named %q", *only)
		}
		failed := 0
		for _, r := range results {
			name := textsafe.Field(r.Route, textsafe.MaxName)
			if r.Err != nil {
				failed++
				fmt.Fprintf(stdout, "%s: FAILED: %s\n", name, textsafe.Field(r.Err.Error(), textsafe.MaxText))
				continue
			}
			fmt.Fprintf(stdout, "%s: sent\n", name)
		}
		if failed > 0 {
			return exitError, fmt.Errorf("%d of %d routes failed", failed, len(results))
		}
		return exitOK, nil
	}
}
