// Package statelock keeps a second `driftd run` off a state directory
// that a daemon already uses: two daemons would both audit and both
// notify. The lock is flock(2) on state_dir/driftd.lock, so the kernel
// releases it when the holder exits, however it exits.
package statelock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FileName is the lock file inside the state directory.
const FileName = "driftd.lock"

// HeldError says another process holds the lock.
type HeldError struct {
	Dir string
	// PID is the holder's process ID, 0 if it could not be read.
	PID int
}

func (e *HeldError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("another driftd run is using %s", e.Dir)
	}
	return fmt.Sprintf("another driftd run (PID %d) is using %s", e.PID, e.Dir)
}

// Lock is a held state-directory lock.
type Lock struct {
	f *os.File
}

// Acquire takes the lock of dir without waiting, creating dir and the
// lock file if needed, and writes this process's PID into the file. If
// another process holds it, the error is a *HeldError naming that PID.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// The file is never removed: unlinking a lock file lets a newcomer
	// lock a fresh inode while the old holder still runs.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &HeldError{Dir: dir, PID: holder(path)}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}

// holder reads the PID in the lock file. The holder writes it just after
// locking, so an empty file is read again for a moment.
func holder(path string) int {
	for range 10 {
		data, err := os.ReadFile(path)
		if err != nil {
			return 0
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0
}

// Release gives the lock up. The PID is cleared so that a stale number
// never names an unrelated process; the file stays.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	return err
}
