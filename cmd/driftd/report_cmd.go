package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/driftd/driftd/internal/engine"
	"github.com/driftd/driftd/report"
)

// defineReport is `driftd report`: the one-file HTML audit report of the
// latest recorded run, with the history of the last runs. It reads the
// store only.
func defineReport(fs *flag.FlagSet) action {
	configPath := stateConfigFlag(fs)
	htmlPath := fs.String("html", "", "write the HTML report to this `file` (- for standard output)")
	runs := fs.Int("runs", 30, "chart the open findings of this `number` of recent runs")
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
		if err := noArguments(args); err != nil {
			return exitError, err
		}
		if *htmlPath == "" {
			return exitError, errors.New("usage: driftd report --html FILE [--runs N] [--config FILE]")
		}
		if *runs < 1 {
			return exitError, errors.New("--runs: must be at least 1")
		}
		cfg, st, err := engine.OpenState(ctx, *configPath, false)
		if err != nil {
			return exitError, err
		}
		defer st.Close()
		doc, err := engine.HTMLReport(ctx, st, cfg, *runs, time.Now())
		if err != nil {
			return exitError, err
		}
		var buf bytes.Buffer
		if err := report.WriteHTML(&buf, doc); err != nil {
			return exitError, fmt.Errorf("rendering the report: %w", err)
		}
		if *htmlPath == "-" {
			_, err := stdout.Write(buf.Bytes())
			return exitOK, err
		}
		if err := writeFileAtomic(*htmlPath, buf.Bytes()); err != nil {
			return exitError, err
		}
		fmt.Fprintf(stderr, "wrote %s (run %d)\n", *htmlPath, doc.Runs[0].ID)
		return exitOK, nil
	}
}

// writeFileAtomic replaces path with data through a temporary file in
// the same directory, so a reader never sees half a report.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".driftd-report-*")
	if err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("--html: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("--html: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--html: %w", err)
	}
	return nil
}
