package job

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// stopperRig is a stopper with the two contexts a run gives it and a
// record of its onFirst calls. It must be made inside a synctest bubble.
type stopperRig struct {
	s               *stopper
	dispatch, calls context.Context

	mu           sync.Mutex
	firstReasons []string
	firstDrains  []time.Duration
	callsAt      time.Time // when the calls' context ended
}

func newStopperRig(t *testing.T, budget time.Duration) *stopperRig {
	t.Helper()
	r := &stopperRig{}
	var cancelDispatch, cancelCalls context.CancelFunc
	r.dispatch, cancelDispatch = context.WithCancel(t.Context())
	r.calls, cancelCalls = context.WithCancel(t.Context())
	context.AfterFunc(r.calls, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.callsAt = time.Now()
	})
	r.s = newStopper(budget, cancelDispatch, cancelCalls, func(reason string, drain time.Duration) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.firstReasons = append(r.firstReasons, reason)
		r.firstDrains = append(r.firstDrains, drain)
	})
	t.Cleanup(r.s.close)
	return r
}

func (r *stopperRig) checkStopped(t *testing.T, reason string, err error) {
	t.Helper()
	gotReason, gotErr := r.s.stopped()
	if gotReason != reason || gotErr != err {
		t.Errorf("stopped() = %q, %v, want %q, %v", gotReason, gotErr, reason, err)
	}
}

// ended reports whether ctx has ended, once the bubble is idle.
func ended(ctx context.Context) bool {
	synctest.Wait()
	return ctx.Err() != nil
}

// callsEnded returns when the calls' context ended (zero while it lives),
// once the bubble is idle.
func (r *stopperRig) callsEnded() time.Time {
	synctest.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.callsAt
}

// first returns the reasons and drains onFirst was called with.
func (r *stopperRig) first() ([]string, []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.firstReasons...), append([]time.Duration(nil), r.firstDrains...)
}

func TestStopperFirstGracefulReasonWins(t *testing.T) {
	graceful := []string{StopSignal, StopMaxDuration, StopMaxUsers, StopThrottled}
	for _, first := range graceful {
		for _, second := range graceful {
			if second == first {
				continue
			}
			t.Run(first+"_then_"+second, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := newStopperRig(t, 10*time.Second)
					firstErr, secondErr := errors.New("first"), errors.New("second")
					r.s.stop(first, firstErr)
					time.Sleep(time.Second)
					r.s.stop(second, secondErr)
					r.checkStopped(t, first, firstErr)
				})
			})
		}
	}
}

func TestStopperHardStopOverridesGraceful(t *testing.T) {
	for _, hard := range []string{StopFatal, StopMaxFailures} {
		t.Run(hard, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const budget = 10 * time.Second
				r := newStopperRig(t, budget)
				start := time.Now()
				r.s.stop(StopSignal, nil)
				if ended(r.calls) {
					t.Fatal("a graceful stop cancelled the calls at once, want them to drain")
				}
				time.Sleep(time.Second)
				hardErr := errors.New("credentials expired")
				r.s.stop(hard, hardErr)
				r.checkStopped(t, hard, hardErr)
				if at := r.callsEnded(); !at.Equal(start.Add(time.Second)) {
					t.Errorf("calls ended %v after the first stop, want at once at the %s stop (%v)", at.Sub(start), hard, time.Second)
				}
				if d, ok := r.s.deadline(); !ok || !d.Equal(start.Add(budget)) {
					t.Errorf("deadline() = %v, %v, want the first stop + budget (%v), true", d.Sub(start), ok, budget)
				}

				// Nothing overrides the hard stop: neither a graceful one
				// nor another hard one.
				r.s.stop(StopSignal, nil)
				r.s.stop(StopFatal, errors.New("later"))
				r.checkStopped(t, hard, hardErr)
				if reasons, _ := r.first(); len(reasons) != 1 || reasons[0] != StopSignal {
					t.Errorf("onFirst called with %q, want once with %q", reasons, StopSignal)
				}
			})
		})
	}
}

func TestStopperHardStopFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newStopperRig(t, 10*time.Second)
		err := errors.New("wrong pool")
		r.s.stop(StopFatal, err)
		if !ended(r.dispatch) || !ended(r.calls) {
			t.Fatalf("after a fatal stop: dispatch ended %v, calls ended %v, want both at once", ended(r.dispatch), ended(r.calls))
		}
		r.s.stop(StopSignal, nil)
		r.checkStopped(t, StopFatal, err)
	})
}

func TestStopperGracefulDrain(t *testing.T) {
	// A graceful stop stops dispatching at once and cancels the calls in
	// flight when half the budget is spent.
	for _, budget := range []time.Duration{10 * time.Second, 3 * time.Second} {
		t.Run(budget.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newStopperRig(t, budget)
				time.Sleep(time.Minute) // the run went on for a while
				start := time.Now()
				r.s.stop(StopMaxDuration, nil)
				if !ended(r.dispatch) {
					t.Fatal("a graceful stop did not cancel dispatch at once")
				}
				time.Sleep(budget/2 - time.Nanosecond)
				if ended(r.calls) {
					t.Fatalf("calls cancelled %v after the stop, want them to get budget/2 = %v", r.callsEnded().Sub(start), budget/2)
				}
				// A second graceful stop neither restarts nor shortens the drain.
				r.s.stop(StopSignal, nil)
				if ended(r.calls) {
					t.Fatal("a second graceful stop cancelled the calls")
				}
				time.Sleep(time.Nanosecond)
				if !ended(r.calls) {
					t.Fatalf("calls still running budget/2 = %v after the stop, want them cancelled", budget/2)
				}
				if got := r.callsEnded().Sub(start); got != budget/2 {
					t.Errorf("calls cancelled %v after the stop, want %v", got, budget/2)
				}
				if _, drains := r.first(); len(drains) != 1 || drains[0] != budget/2 {
					t.Errorf("onFirst got drains %v, want once %v", drains, budget/2)
				}
			})
		})
	}
}

func TestStopperDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const budget = 8 * time.Second
		r := newStopperRig(t, budget)
		if d, ok := r.s.deadline(); ok || !d.IsZero() {
			t.Fatalf("deadline() before any stop = %v, %v, want zero, false", d, ok)
		}
		if reason, err := r.s.stopped(); reason != "" || err != nil {
			t.Fatalf("stopped() before any stop = %q, %v, want \"\", nil", reason, err)
		}
		time.Sleep(time.Hour)
		first := time.Now()
		r.s.stop(StopSignal, nil)
		time.Sleep(3 * time.Second)
		r.s.stop(StopThrottled, nil)
		for _, when := range []string{"after a second stop", "after the drain"} {
			if d, ok := r.s.deadline(); !ok || !d.Equal(first.Add(budget)) {
				t.Errorf("deadline() %s = %v after the first stop, %v, want %v, true", when, d.Sub(first), ok, budget)
			}
			time.Sleep(budget)
		}
	})
}

func TestStopperOnFirstOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newStopperRig(t, 4*time.Second)
		done := make(chan struct{})
		for _, reason := range []string{StopSignal, StopSignal, StopMaxUsers, StopFatal, StopMaxFailures, StopSignal} {
			go func() { r.s.stop(reason, nil); done <- struct{}{} }()
			<-done
		}
		if reasons, _ := r.first(); len(reasons) != 1 || reasons[0] != StopSignal {
			t.Errorf("onFirst called with %q, want once with %q", reasons, StopSignal)
		}
	})
}

func TestStopperCloseStopsTheDrainTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newStopperRig(t, 4*time.Second)
		r.s.stop(StopSignal, nil)
		r.s.close()
		time.Sleep(time.Minute)
		if ended(r.calls) {
			t.Error("calls cancelled after close, want the drain timer stopped")
		}
	})
}

func TestStopperNilOnFirst(t *testing.T) {
	_, cancel := context.WithCancel(t.Context())
	s := newStopper(time.Second, cancel, cancel, nil)
	defer s.close()
	s.stop(StopSignal, nil) // must not panic
	if reason, _ := s.stopped(); reason != StopSignal {
		t.Errorf("stopped() = %q, want %q", reason, StopSignal)
	}
}
