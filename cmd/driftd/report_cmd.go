package main

import (
	"context"
	"errors"
	"flag"
	"io"
)

// defineReport is `driftd report`.
func defineReport(*flag.FlagSet) action {
	return func(context.Context, []string, io.Writer, io.Writer) (int, error) {
		return exitError, errors.New("report: not built yet")
	}
}
