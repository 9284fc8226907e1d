package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/driftd/driftd/internal/cli"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/demo/preview"
	"github.com/driftd/driftd/report"
)

// defineDemo is `driftd demo`: an audit of the built-in simulated tenant.
func defineDemo(fs *flag.FlagSet) action {
	scenario := fs.String("scenario", demo.ScenarioDrifted, "the simulated tenant's `scenario`: "+strings.Join(demo.ScenarioNames(), ", "))
	format := fs.String("format", "table", "output `format`: table, json, markdown, junit or html")
	serve := fs.String("serve", "", "keep the simulated tenant running and write a config for it into this `dir`ectory, to try driftd run and the other commands against it")
	return func(ctx context.Context, args []string, stdout, _ io.Writer) (int, error) {
		if err := noArguments(args); err != nil {
			return exitError, err
		}
		if *serve != "" {
			return exitOK, preview.Serve(ctx, *serve, *scenario, stdout)
		}
		out, err := report.ParseFormat(*format)
		if err != nil {
			return exitError, fmt.Errorf("--format: %w", err)
		}
		// The findings are the point of the demo, not a failure.
		return exitOK, preview.Show(ctx, *scenario, out, stdout, cli.IsTerminal(stdout))
	}
}
