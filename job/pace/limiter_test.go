package pace

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"
)

func TestLimiterCutsAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var changes []Change
		l := NewLimiter("write", 100, func(c Change) { changes = append(changes, c) })
		ctx := t.Context()
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		sent := time.Now()
		l.Throttled(sent)
		if got := l.Rate(); got != 100*DecreaseFactor {
			t.Fatalf("after a throttle Rate() = %v, want %v", got, 100*DecreaseFactor)
		}
		// The other calls on the wire at the old rate say nothing new.
		l.Throttled(sent)
		time.Sleep(100 * time.Millisecond)
		l.Throttled(time.Now())
		if got := l.Rate(); got != 100*DecreaseFactor {
			t.Fatalf("throttles right after a cut changed Rate() to %v, want %v", got, 100*DecreaseFactor)
		}
		if st := l.State(); st.Cuts != 1 || st.Throttles != 3 {
			t.Errorf("State() = %+v, want 1 cut, 3 throttles", st)
		}
		// A second throttle after the spacing cuts again.
		time.Sleep(cutSpacing)
		l.Throttled(time.Now())
		cut2 := 100 * DecreaseFactor * DecreaseFactor
		if got := l.Rate(); math.Abs(got-cut2) > 1e-9 {
			t.Fatalf("second cut: Rate() = %v, want %v", got, cut2)
		}
		// Recovery: additive, never above the configured rate.
		prev := l.Rate()
		for i := 0; i < 200 && l.Rate() < 100; i++ {
			time.Sleep(time.Second)
			if err := l.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			if r := l.Rate(); r < prev || r > 100 || r-prev > FastStep*100+1e-9 {
				t.Fatalf("step %d: Rate() went from %v to %v, want a step of at most %v up to 100", i, prev, r, FastStep*100)
			}
			prev = l.Rate()
		}
		if l.Rate() != 100 {
			t.Fatalf("Rate() = %v after recovery, want 100", l.Rate())
		}
		if len(changes) != 3 || changes[0].Reason != "throttled" || changes[1].Reason != "throttled" || changes[2].Reason != "recovered" || changes[2].To != 100 {
			t.Errorf("changes = %+v, want two cuts and one recovery to 100", changes)
		}
	})
}

func TestLimiterSlowNearCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter("read", 100, nil)
		_ = l.Wait(t.Context())
		l.Throttled(time.Now()) // ceiling 100, rate 70
		time.Sleep(cutSpacing)
		l.Throttled(time.Now()) // ceiling 70, rate 49
		var rates []float64
		for range 8 {
			time.Sleep(time.Second)
			_ = l.Wait(t.Context())
			rates = append(rates, l.Rate())
		}
		// Fast steps (5) up to 90% of the ceiling of 70 (63), slow steps (1) after.
		want := []float64{54, 59, 64, 65, 66, 67, 68, 69}
		for i := range want {
			if math.Abs(rates[i]-want[i]) > 1e-6 {
				t.Fatalf("rates = %v, want %v", rates, want)
			}
		}
	})
}

func TestLimiterThrottleAboutEverySecondDoesNotStarveRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter("write", 500, nil)
		ctx := t.Context()
		for range 60 { // a throttle every second for a minute
			for range 5 {
				_ = l.Wait(ctx)
				time.Sleep(200 * time.Millisecond)
			}
			l.Throttled(time.Now())
		}
		// Each second: one cut (×0.7) and one step (+25): the rate settles
		// near 25/0.3 ≈ 83, far above the floor.
		if r := l.Rate(); r < 50 {
			t.Errorf("Rate() = %v after a minute of one throttle a second, want it to settle well above the floor (%v)", r, l.floor())
		}
	})
}

func TestLimiterPaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter("read", 50, nil)
		start := time.Now()
		for range 101 {
			if err := l.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		// 101 calls at 50/s: the first is free, the other 100 take 2 s; the
		// window guard adds its margin at each window boundary.
		if got := time.Since(start); got < 2*time.Second || got > 2*time.Second+3*windowMargin {
			t.Errorf("101 calls at 50/s took %v, want about 2s", got)
		}
	})
}

func TestLimiterUnlimitedAndCanceled(t *testing.T) {
	l := NewLimiter("read", 0, nil)
	for range 1000 {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	l.Throttled(time.Now())
	if st := l.State(); st.Configured != 0 || st.Current != 0 || st.Cuts != 0 {
		t.Errorf("unlimited State() = %+v, want zeros and no cut", st)
	}
	slow := NewLimiter("write", 0.5, nil)
	_ = slow.Wait(t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := slow.Wait(ctx); err == nil {
		t.Error("Wait(canceled) = nil, want an error")
	}
}

// maxInWindow returns the largest number of times in any half-open window
// [t, t+w); times must be sorted.
func maxInWindow(times []time.Time, w time.Duration) int {
	best, i := 0, 0
	for j := range times {
		for times[j].Sub(times[i]) >= w {
			i++
		}
		best = max(best, j-i+1)
	}
	return best
}

// TestLimiterGuardSpreadsWakeUps checks the window guard on its own (the
// token bucket switched off): callers that all become due at once, as after
// a scheduling stall, go out at the rate, never in a burst.
func TestLimiterGuardSpreadsWakeUps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rps, callers = 100, 250
		l := NewLimiter("write", rps, nil)
		l.lim.SetLimit(rate.Inf)
		var (
			mu    sync.Mutex
			times []time.Time
			wg    sync.WaitGroup
		)
		for range callers {
			wg.Go(func() {
				if err := l.Wait(t.Context()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.SortFunc(times, time.Time.Compare)
		for _, c := range []struct {
			window time.Duration
			want   int
		}{
			{time.Second + windowMargin, rps},
			{shortWindow, rps * int(shortWindow) / int(time.Second)},
		} {
			if got := maxInWindow(times, c.window); got > c.want {
				t.Errorf("%d callers due at once: %d calls in a window of %v, want at most %d", callers, got, c.window, c.want)
			}
		}
		// Held to the rate, not slower: 250 calls at 100/s take about 2.5 s.
		if d := times[len(times)-1].Sub(times[0]); d > 2500*time.Millisecond+3*windowMargin {
			t.Errorf("%d callers took %v, want about 2.5s", callers, d)
		}
	})
}

// TestLimiterCutDoesNotPause checks that a cut lowers the pace at once
// without stopping calls while the guard's window still holds calls sent at
// the old rate, and that the window holds the new rate once it has passed.
func TestLimiterCutDoesNotPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter("write", 100, nil)
		ctx := t.Context()
		for range 200 { // two seconds at 100/s: the window is full
			if err := l.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		l.Throttled(time.Now())
		cutAt := time.Now()
		var times []time.Time
		for time.Since(cutAt) < 3*time.Second {
			if err := l.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			times = append(times, time.Now())
		}
		if gap := times[0].Sub(cutAt); gap > 50*time.Millisecond {
			t.Errorf("first call after the cut waited %v, want about 1/70 s", gap)
		}
		// The rate grows by a step a second after the cut: hold the calls to
		// the highest rate reached.
		want := int(math.Floor(l.Rate()))
		var after []time.Time
		for _, tm := range times {
			if tm.Sub(cutAt) >= time.Second+windowMargin {
				after = append(after, tm)
			}
		}
		if got := maxInWindow(after, time.Second); got > want {
			t.Errorf("%d calls in one second after the cut, want at most %d", got, want)
		}
		if low := int(3 * 100 * DecreaseFactor); len(times) < low {
			t.Errorf("%d calls in the 3 s after the cut, want at least %d (the cut rate)", len(times), low)
		}
	})
}

// TestLimiterRecoversExactly checks that additive steps that are not exact
// in floating point bring the rate back to exactly the configured value, not
// to a hair under it, and that the recovery is reported.
func TestLimiterRecoversExactly(t *testing.T) {
	for _, rps := range []float64{40, 7, 25, 123.4} {
		t.Run(fmt.Sprint(rps), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var recovered int
				l := NewLimiter("write", rps, func(c Change) {
					if c.Reason == "recovered" {
						recovered++
					}
				})
				_ = l.Wait(t.Context())
				l.Throttled(time.Now())
				// As soon as the rate reads as configured (to the hundredth,
				// as summaries show it), it is, and the recovery is reported.
				for i := 0; i < 100 && Round2(l.Rate()) < rps; i++ {
					time.Sleep(stepEvery)
					_ = l.Wait(t.Context())
				}
				if got := l.Rate(); got != rps || recovered != 1 {
					t.Errorf("after recovery Rate() = %v with %d recoveries reported, want %v and 1", got, recovered, rps)
				}
			})
		})
	}
}
