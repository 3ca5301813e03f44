package job

import (
	"context"
	"testing"
	"testing/synctest"
)

// acquirer runs one gate.acquire in its own goroutine, as the dispatcher
// does, and tells whether it has returned and with what.
type acquirer struct {
	done chan bool
}

func startAcquire(ctx context.Context, g *gate) *acquirer {
	a := &acquirer{done: make(chan bool, 1)}
	go func() { a.done <- g.acquire(ctx) }()
	return a
}

// result returns acquire's result and true once it has returned, after
// every goroutine of the bubble is blocked; false while it still waits.
func (a *acquirer) result() (got, returned bool) {
	synctest.Wait()
	select {
	case got := <-a.done:
		return got, true
	default:
		return false, false
	}
}

func checkInFlight(t *testing.T, g *gate, inflight, target int64) {
	t.Helper()
	if gi, gt := g.inFlight(); gi != inflight || gt != target {
		t.Fatalf("inFlight() = %d, %d, want %d, %d", gi, gt, inflight, target)
	}
}

// fill takes the gate's n slots without blocking.
func fill(t *testing.T, g *gate, n int) {
	t.Helper()
	for i := range n {
		if a := startAcquire(t.Context(), g); !acquired(a.result()) {
			t.Fatalf("acquire %d of %d blocked or failed below the target", i+1, n)
		}
	}
}

// acquired reports whether an acquire returned true.
func acquired(got, returned bool) bool { return got && returned }

func TestGateBlocksAtTheTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate(3)
		fill(t, g, 3)
		checkInFlight(t, g, 3, 3)
		a := startAcquire(t.Context(), g)
		if _, returned := a.result(); returned {
			t.Fatal("acquire at the target returned, want it to wait")
		}
		checkInFlight(t, g, 3, 3)
		g.release() // also cleans up: the waiting acquire takes the slot
		if got, returned := a.result(); !got || !returned {
			t.Fatalf("acquire after a release = %v (returned %v), want true", got, returned)
		}
	})
}

func TestGateWakes(t *testing.T) {
	tests := []struct {
		name       string
		free       func(g *gate)
		wantTarget int64
		wantDone   int64
	}{
		{"release", (*gate).release, 2, 1},
		{"unacquire", (*gate).unacquire, 2, 0},
		{"a larger target", func(g *gate) { g.setTarget(3) }, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGate(2)
				fill(t, g, 2)
				a := startAcquire(t.Context(), g)
				if _, returned := a.result(); returned {
					t.Fatal("acquire at the target returned, want it to wait")
				}
				tt.free(g)
				if got, returned := a.result(); !got || !returned {
					t.Fatalf("acquire after %s = %v (returned %v), want true", tt.name, got, returned)
				}
				checkInFlight(t, g, tt.wantTarget, tt.wantTarget)
				if got := g.done(); got != tt.wantDone {
					t.Errorf("done() = %d, want %d", got, tt.wantDone)
				}
			})
		})
	}
}

func TestGateSmallerTargetDoesNotWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate(3)
		fill(t, g, 3)
		g.setTarget(1)
		checkInFlight(t, g, 3, 1)
		a := startAcquire(t.Context(), g)
		g.release()
		g.release() // 1 in flight: still at the target
		if _, returned := a.result(); returned {
			t.Fatal("acquire with as many in flight as the lowered target returned, want it to wait")
		}
		g.release()
		if got, returned := a.result(); !got || !returned {
			t.Fatalf("acquire below the lowered target = %v (returned %v), want true", got, returned)
		}
		checkInFlight(t, g, 1, 1)
		if got := g.done(); got != 3 {
			t.Errorf("done() = %d, want 3", got)
		}
	})
}

func TestGateAcquireCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate(1)
		fill(t, g, 1)
		ctx, cancel := context.WithCancel(t.Context())
		a := startAcquire(ctx, g)
		if _, returned := a.result(); returned {
			t.Fatal("acquire at the target returned, want it to wait")
		}
		cancel()
		if got, returned := a.result(); got || !returned {
			t.Fatalf("acquire after its ctx ended = %v (returned %v), want false", got, returned)
		}
		checkInFlight(t, g, 1, 1) // it took no slot

		// A slot freed after the cancellation is still there to take.
		g.release()
		if a := startAcquire(t.Context(), g); !acquired(a.result()) {
			t.Fatal("acquire after a cancelled one and a release blocked, want true")
		}
	})
}

func TestGateUnacquireGivesBackASlot(t *testing.T) {
	g := newGate(2)
	ctx := t.Context()
	if !g.acquire(ctx) || !g.acquire(ctx) {
		t.Fatal("acquire below the target = false, want true")
	}
	g.unacquire()
	checkInFlight(t, g, 1, 2)
	if got := g.done(); got != 0 {
		t.Errorf("done() after unacquire = %d, want 0: a slot given back is no user done", got)
	}
	if !g.acquire(ctx) {
		t.Fatal("acquire after unacquire = false, want true")
	}
	checkInFlight(t, g, 2, 2)
}
