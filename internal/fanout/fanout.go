// Package fanout runs independent reads concurrently with a bound, and
// carries a panic in one of them back to the goroutine that waits: a
// panic in a goroutine of its own would end the process, while in the
// reader's goroutine the audit recovers it into a failed run.
package fanout

import "sync"

// Group runs functions concurrently. The zero value has no bound.
type Group struct {
	sem    chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	panics []any
}

// New returns a Group running at most limit functions at once (no bound
// when limit < 1).
func New(limit int) *Group {
	g := &Group{}
	if limit > 0 {
		g.sem = make(chan struct{}, limit)
	}
	return g
}

// Go runs fn in a goroutine of its own, once a slot is free.
func (g *Group) Go(fn func()) {
	g.wg.Add(1)
	if g.sem != nil {
		g.sem <- struct{}{}
	}
	go func() {
		defer g.wg.Done()
		if g.sem != nil {
			defer func() { <-g.sem }()
		}
		defer func() {
			if r := recover(); r != nil {
				g.mu.Lock()
				g.panics = append(g.panics, r)
				g.mu.Unlock()
			}
		}()
		fn()
	}()
}

// Wait waits for every function and raises the first panic again.
func (g *Group) Wait() {
	g.wg.Wait()
	if len(g.panics) > 0 {
		panic(g.panics[0])
	}
}
