package statelock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestSecondAcquireNamesTheHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A second open file description conflicts with the first even in
	// the same process, as a second driftd process would.
	_, err = Acquire(dir)
	var held *HeldError
	if !errors.As(err, &held) || held.PID != os.Getpid() {
		t.Fatalf("second Acquire: %v", err)
	}
	if want := fmt.Sprintf("another driftd run (PID %d) is using %s", os.Getpid(), dir); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("lock file mode %o, want 600", perm)
	}

	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := Acquire(dir)
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	defer again.Release()
}
