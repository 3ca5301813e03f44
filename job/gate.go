package job

import (
	"context"
	"sync/atomic"
)

// gate bounds the users in flight: the dispatcher acquires a slot before
// handing a user to a worker, the worker releases it when the user is done,
// and the sizer sets how many slots there are. It is safe for concurrent
// use; create one with newGate.
type gate struct {
	inflight atomic.Int64  // slots taken
	target   atomic.Int64  // slots allowed
	finished atomic.Int64  // users released so far
	freed    chan struct{} // signalled when a slot frees or the target grows
}

func newGate(target int64) *gate {
	g := &gate{freed: make(chan struct{}, 1)}
	g.target.Store(target)
	return g
}

// acquire waits until fewer users than the target are in flight and takes
// a slot. It returns false, taking none, when ctx ends first. One goroutine
// (the dispatcher) acquires; a release or a larger target wakes it, so no
// wake-up is missed.
func (g *gate) acquire(ctx context.Context) bool {
	for g.inflight.Load() >= g.target.Load() {
		select {
		case <-g.freed:
		case <-ctx.Done():
			return false
		}
	}
	g.inflight.Add(1)
	return true
}

// unacquire gives back a slot that was acquired but never used.
func (g *gate) unacquire() {
	g.inflight.Add(-1)
	g.wake()
}

// release frees the slot of a user that is done and counts it.
func (g *gate) release() {
	g.finished.Add(1)
	g.inflight.Add(-1)
	g.wake()
}

// setTarget changes how many users may be in flight.
func (g *gate) setTarget(n int64) {
	if old := g.target.Swap(n); n > old {
		g.wake()
	}
}

// inFlight returns the users in flight and the slots allowed now.
func (g *gate) inFlight() (inflight, target int64) { return g.inflight.Load(), g.target.Load() }

// done returns the users released so far.
func (g *gate) done() int64 { return g.finished.Load() }

func (g *gate) wake() {
	select {
	case g.freed <- struct{}{}:
	default:
	}
}
