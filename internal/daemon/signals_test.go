package daemon

import (
	"context"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// forwarders counts the goroutines running forwardReloads.
func forwarders() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), ".forwardReloads(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitForwarders waits up to five seconds for want forwarders to run.
func waitForwarders(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for forwarders() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines forward SIGHUP, want %d", forwarders(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSignalHangupBecomesOneReload(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal)
	reload := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		forwardReloads(ctx, hup, reload)
	}()
	// Signals while nobody reloads join one pending request. (hup is
	// unbuffered: once the last send returns, the ones before it were
	// handled.)
	for range 4 {
		hup <- syscall.SIGHUP
	}
	if n := len(reload); n != 1 {
		t.Fatalf("%d reload requests pending, want 1", n)
	}
	<-reload
	hup <- syscall.SIGHUP
	select {
	case <-reload:
	case <-time.After(5 * time.Second):
		t.Fatal("a signal after the reload did not ask for another")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("forwardReloads did not return when its context was done")
	}
}

func TestSignalHangupForwarderExits(t *testing.T) {
	before := forwarders()

	// A real SIGHUP reaches the daemon's reload channel; stop ends the
	// goroutine before it returns.
	reload, stop := ReloadOnHangup(context.Background())
	waitForwarders(t, before+1)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reload:
	case <-time.After(5 * time.Second):
		stop()
		t.Fatal("SIGHUP did not ask for a reload")
	}
	stop()
	if n := forwarders(); n != before {
		t.Errorf("after stop: %d goroutines forward SIGHUP, want %d", n, before)
	}

	// The goroutine also ends with the daemon's context (SIGTERM).
	ctx, cancel := context.WithCancel(context.Background())
	_, stop = ReloadOnHangup(ctx)
	defer stop()
	waitForwarders(t, before+1)
	cancel()
	waitForwarders(t, before)
}
