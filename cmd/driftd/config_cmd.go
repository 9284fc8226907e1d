package main

import (
	"context"
	"errors"
	"flag"
	"io"
)

// defineConfigCheck is `driftd config check`.
func defineConfigCheck(*flag.FlagSet) action {
	return func(context.Context, []string, io.Writer, io.Writer) (int, error) {
		return exitError, errors.New("config check: not built yet")
	}
}

// defineConfigShow is `driftd config show`.
func defineConfigShow(*flag.FlagSet) action {
	return func(context.Context, []string, io.Writer, io.Writer) (int, error) {
		return exitError, errors.New("config show: not built yet")
	}
}
