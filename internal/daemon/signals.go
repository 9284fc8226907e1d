package daemon

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// ReloadOnHangup turns SIGHUP into reload requests for the daemon, at most
// one pending at a time. Its goroutine exits when ctx is done or stop is
// called; stop also stops listening for SIGHUP and returns only once the
// goroutine has exited.
func ReloadOnHangup(ctx context.Context) (reload <-chan struct{}, stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	requests := make(chan struct{}, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		forwardReloads(ctx, hup, requests)
	}()
	return requests, func() {
		signal.Stop(hup)
		cancel()
		<-exited
	}
}

// forwardReloads queues a reload request for every signal on hup until
// ctx is done. Signals that arrive while a request is pending join it.
func forwardReloads(ctx context.Context, hup <-chan os.Signal, reload chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			select {
			case reload <- struct{}{}:
			default: // a reload is already pending
			}
		}
	}
}
