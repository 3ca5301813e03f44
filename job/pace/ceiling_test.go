package pace

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestLimiterSetCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter("write", 10, nil)
		l.SetCeiling(4)
		if got := l.Rate(); got != 4 {
			t.Fatalf("a lower ceiling: Rate() = %v, want 4 at once", got)
		}
		// From the ceiling, a higher ceiling is taken at once, and the
		// window guard lets the higher rate through.
		l.SetCeiling(25)
		if got := l.Rate(); got != 25 {
			t.Fatalf("a higher ceiling from the ceiling: Rate() = %v, want 25", got)
		}
		ctx := t.Context()
		start := time.Now()
		n := 0
		for time.Since(start) < 2*time.Second {
			if err := l.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n < 45 || n > 52 {
			t.Errorf("%d calls in 2 s at a ceiling of 25/s, want about 50", n)
		}
		// Below the ceiling after a throttle, a new ceiling above the
		// current rate leaves the recovery to the adaptive control.
		time.Sleep(time.Second)
		l.Throttled(time.Now())
		cut := l.Rate()
		l.SetCeiling(30)
		if got := l.Rate(); got != cut {
			t.Errorf("after a cut, a higher ceiling changed Rate() from %v to %v", cut, got)
		}
		if st := l.State(); st.Configured != 30 {
			t.Errorf("State().Configured = %v, want the ceiling 30", st.Configured)
		}
		l.SetCeiling(0) // ignored
		if st := l.State(); st.Configured != 30 {
			t.Errorf("SetCeiling(0) changed the ceiling to %v", st.Configured)
		}
	})
}

func TestLimiterObserver(t *testing.T) {
	l := NewLimiter("read", 0, nil)
	var calls, throttles int
	l.SetObserver(func(_ time.Time, throttled bool) {
		calls++
		if throttled {
			throttles++
		}
	})
	l.ObserveAttempt(time.Now(), false)
	l.ObserveAttempt(time.Now(), true)
	l.SetObserver(nil)
	l.ObserveAttempt(time.Now(), true)
	if calls != 2 || throttles != 1 {
		t.Errorf("observer saw %d calls, %d throttles; want 2, 1", calls, throttles)
	}
}
