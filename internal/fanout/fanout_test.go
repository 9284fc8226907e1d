package fanout

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestBoundAndPanic(t *testing.T) {
	g := New(2)
	var running, peak atomic.Int32
	for i := 0; i < 8; i++ {
		g.Go(func() {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
		})
	}
	g.Wait()
	if p := peak.Load(); p < 1 || p > 2 {
		t.Errorf("peak %d, want at most 2", p)
	}

	g = New(0)
	g.Go(func() { panic("boom") })
	g.Go(func() {})
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("Wait raised %v, want the function's panic", r)
		}
	}()
	g.Wait()
	t.Error("Wait returned despite a panic")
}
