package job

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

func TestLimiterCutsAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var changes []LimitChange
		l := NewLimiter("write", 100, func(c LimitChange) { changes = append(changes, c) })
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
