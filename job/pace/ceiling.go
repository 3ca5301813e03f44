package pace

import (
	"math"
	"slices"
	"time"

	"golang.org/x/time/rate"
)

// SetCeiling changes the highest rate the limiter allows, in requests per
// second, as the production-aware pacing (package job/allowance) decides it
// at run time. The adaptive control on throttling goes on below the new
// ceiling: a rate above it is lowered at once; a rate at the old ceiling
// moves to the new one at once; a rate still recovering from a cut keeps
// recovering, now towards the new ceiling. rps <= 0 is ignored (a limiter
// cannot become unlimited), as is a call on an unlimited limiter. It is safe
// for concurrent use.
func (l *Limiter) SetCeiling(rps float64) {
	if rps <= 0 || math.IsNaN(rps) || math.IsInf(rps, 0) {
		return
	}
	now := time.Now()
	l.mu.Lock()
	if math.IsInf(l.max, 1) {
		l.mu.Unlock()
		return
	}
	old := l.max
	from := l.cur
	atMax := l.cur >= old*(1-1e-9)
	l.max = rps
	if atMax || l.cur > rps {
		l.cur = rps
	}
	if l.ceiling > rps {
		l.ceiling = 0
	}
	// The window guard keeps the times of the last floor(rate) sends: a
	// higher ceiling needs a longer ring, or the guard would cap the rate
	// at the old length.
	if n := max(1, int(math.Floor(rps))); n > len(l.sent) {
		size := len(l.sent)
		ring := make([]time.Time, n)
		for k := 1; k <= size; k++ { // k-th latest send goes k slots before the new head
			ring[n-k] = l.sent[(l.head-k+size)%size]
		}
		l.sent, l.head = ring, 0
	}
	if l.cur < from {
		// A cut by the ceiling: the window guard holds windows that
		// began before it to the old rate, as after a throttling cut.
		past := func(c cut) bool { return now.Sub(c.at) >= time.Second+windowMargin }
		l.recent = append(slices.DeleteFunc(l.recent, past), cut{at: now, before: from})
	}
	l.lim.SetLimitAt(now, rate.Limit(l.cur))
	l.mu.Unlock()
}

// ObserveAttempt tells the limiter's observer, if any, that an attempt was
// sent at sentAt and whether Cognito throttled it.
func (l *Limiter) ObserveAttempt(sentAt time.Time, throttled bool) {
	if o := l.observer.Load(); o != nil {
		(*o)(sentAt, throttled)
	}
}

// SetObserver makes the limiter call f for every attempt of its category,
// with the time it was sent and whether it was throttled: production-aware
// pacing counts the job's own calls with it, to tell them apart from
// production's in CloudWatch's counts. f must be safe for concurrent use and
// must not block. nil removes it.
func (l *Limiter) SetObserver(f func(sentAt time.Time, throttled bool)) {
	if f == nil {
		l.observer.Store(nil)
		return
	}
	l.observer.Store(&f)
}
