// Package storetest opens a state store in a test's temporary directory.
package storetest

import (
	"context"
	"testing"

	"github.com/driftd/driftd/internal/store"
)

// Open opens a new store in its own temporary directory, closed when the
// test ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
