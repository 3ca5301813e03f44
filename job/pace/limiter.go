package pace

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Adaptive rate control. On a throttling answer the rate is cut at once by
// DecreaseFactor (multiplicative decrease) and the rate at which Cognito
// throttled is remembered as the ceiling. Each second without throttling the
// rate grows additively: by FastStep×configured while below 90% of the
// ceiling (to get back quickly to what worked), by SlowStep×configured above
// it (to probe gently for quota that production traffic has freed). It never
// exceeds the configured rate.
const (
	DecreaseFactor = 0.7
	FastStep       = 0.05
	SlowStep       = 0.01
	// cutSpacing is the least time between two cuts, and between a cut and
	// the next step up: the throttling answers of calls already on the wire
	// when the rate was cut say nothing new.
	cutSpacing = 500 * time.Millisecond
	// stepEvery is how often the rate may grow. Steps are counted from the
	// last step (or from when the rate left its maximum), not from the last
	// cut, so that throttling that comes about once a second cannot starve
	// the recovery.
	stepEvery = time.Second
	// windowMargin widens the guard's one-second window to absorb the
	// jitter between the moment a call is admitted and its arrival, so that
	// no second at Cognito holds more calls than the rate. Measured on
	// loopback, that jitter stays under 10 ms on an idle machine and reaches
	// 20-30 ms with the CPU contended. The margin costs 2% of the rate: at
	// most floor(rate) calls go out per 1.02 s.
	windowMargin = 20 * time.Millisecond
	// shortWindow is the guard's short window: after a stall, the calls that
	// fell due go out at the rate, not all at once (x/time/rate hands out
	// reservations in advance, and goroutines that wake late all send), so
	// that a quota enforced as a token bucket with a small burst is not
	// overrun.
	shortWindow = 100 * time.Millisecond
)

// cut records a cut of the rate, for the window guard.
type cut struct {
	at     time.Time
	before float64 // the rate before the cut
}

// Change describes one change of a category's rate, for logs. Its fields
// are set by the limiter that reports it.
type Change struct {
	Category string  // "read", "write" or "list"
	From, To float64 // requests per second
	Reason   string  // "throttled" or "recovered"
}

// Limiter paces one API category with golang.org/x/time/rate and adapts the
// pace to throttling. A Limiter is safe for concurrent use. Create one with
// NewLimiter; the zero value is not usable.
type Limiter struct {
	category string
	max      float64 // configured rate, or the ceiling SetCeiling set; +Inf when unlimited; guarded by mu
	infinite bool    // unlimited: set at creation, never changed
	lim      *rate.Limiter
	onChange func(Change)
	waiters  atomic.Int64                          // callers in Wait
	observer atomic.Pointer[func(time.Time, bool)] // see SetObserver

	mu        sync.Mutex
	sent      []time.Time // ring of recent send times, for the window guard
	head      int         // next slot of sent
	cur       float64
	ceiling   float64 // rate at the last throttle; 0 when none is remembered
	lastCut   time.Time
	recent    []cut // the cuts of the last guard window, oldest first
	lastStep  time.Time
	cuts      int64
	throttles int64
}

// NewLimiter returns a limiter for category at rps requests per second; rps
// <= 0 means unlimited. onChange, if not nil, is called once for every cut
// and once when the rate is back at the configured value; it must not block.
func NewLimiter(category string, rps float64, onChange func(Change)) *Limiter {
	l := &Limiter{category: category, onChange: onChange}
	if rps <= 0 || math.IsInf(rps, 1) {
		l.max, l.cur, l.infinite = math.Inf(1), math.Inf(1), true
		l.lim = rate.NewLimiter(rate.Inf, 1)
		return l
	}
	l.max, l.cur = rps, rps
	l.lim = rate.NewLimiter(rate.Limit(rps), 1)
	l.sent = make([]time.Time, max(1, int(math.Floor(rps))))
	return l
}

// Wait blocks until the next call of the category may be sent. The token
// bucket spaces calls evenly; the window guard then checks the times calls
// were actually sent, so that when goroutines that were due during a
// scheduling stall all wake at once they do not go out in a burst: no window
// of one second (plus windowMargin) holds more calls than the current rate,
// and no window of shortWindow more than its share of it. Wait returns an
// error if ctx ends first, or at once if ctx's deadline comes too early.
func (l *Limiter) Wait(ctx context.Context) error {
	l.waiters.Add(1)
	defer l.waiters.Add(-1)
	l.grow(time.Now())
	if err := l.lim.Wait(ctx); err != nil {
		return err
	}
	if l.infinite {
		return nil
	}
	for {
		l.mu.Lock()
		now := time.Now()
		wait := l.guard(now)
		if wait <= 0 {
			l.sent[l.head] = now
			l.head = (l.head + 1) % len(l.sent)
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// guard returns how long a call must wait so that sending it at now keeps
// every window within the rate: floor(rate) calls (at least one) per second
// plus windowMargin, and ceil(rate×shortWindow) per shortWindow. The rate is
// the current one or, for a window that began before a cut, the rate then
// in force. l.mu must be held.
func (l *Limiter) guard(now time.Time) time.Duration {
	size := len(l.sent)
	// sentBefore returns the time of the k-th latest send (zero if none).
	sentBefore := func(k int) time.Time { return l.sent[(l.head-min(k, size)+size)%size] }
	// A window that began before a cut is held to the rate then in force:
	// holding it to the new one would stop all calls until the window has
	// drained, a far deeper cut than DecreaseFactor.
	r := l.cur
	for _, c := range l.recent {
		if now.Sub(c.at) < time.Second+windowMargin {
			r = math.Max(r, c.before)
		}
	}
	long := max(1, int(math.Floor(r)))
	short := max(1, int(math.Ceil(r*shortWindow.Seconds())))
	return max(sentBefore(long).Add(time.Second+windowMargin).Sub(now), sentBefore(short).Add(shortWindow).Sub(now))
}

// Throttled tells the limiter that Cognito throttled a call sent at sentAt.
// It cuts the rate at once, unless the call was sent before the last cut
// (it says nothing about the new rate) or the last cut is less than
// cutSpacing old (the answers of calls already on the wire).
func (l *Limiter) Throttled(sentAt time.Time) {
	now := time.Now()
	l.mu.Lock()
	l.throttles++
	if math.IsInf(l.max, 1) || sentAt.Before(l.lastCut) || now.Sub(l.lastCut) < cutSpacing {
		l.mu.Unlock()
		return
	}
	from := l.cur
	l.ceiling = l.cur
	past := func(c cut) bool { return now.Sub(c.at) >= time.Second+windowMargin }
	l.recent = append(slices.DeleteFunc(l.recent, past), cut{at: now, before: l.cur})
	l.cur = math.Max(l.cur*DecreaseFactor, l.floor())
	l.lastCut = now
	l.cuts++
	l.lim.SetLimitAt(now, rate.Limit(l.cur))
	to := l.cur
	l.mu.Unlock()
	if l.onChange != nil && to != from {
		l.onChange(Change{Category: l.category, From: from, To: to, Reason: "throttled"})
	}
}

// grow raises the rate by one additive step per second without throttling.
func (l *Limiter) grow(now time.Time) {
	l.mu.Lock()
	if l.cur >= l.max {
		l.lastStep = now // the step clock starts when the rate leaves the maximum
		l.mu.Unlock()
		return
	}
	if now.Sub(l.lastStep) < stepEvery || now.Sub(l.lastCut) < cutSpacing {
		l.mu.Unlock()
		return
	}
	from := l.cur
	steps := math.Floor(now.Sub(l.lastStep).Seconds() / stepEvery.Seconds())
	l.lastStep = now
	for ; steps > 0 && l.cur < l.max; steps-- {
		step := FastStep
		if l.ceiling > 0 && l.cur >= 0.9*l.ceiling {
			step = SlowStep
		}
		l.cur = math.Min(l.cur+step*l.max, l.max)
		if l.cur > l.max*(1-1e-9) {
			l.cur = l.max // not 39.99999 after steps of 0.4: the rate is back
		}
		if l.ceiling > 0 && l.cur > 1.1*l.ceiling {
			l.ceiling = 0 // more quota than before: stop creeping
		}
	}
	l.lim.SetLimitAt(now, rate.Limit(l.cur))
	restored, to := l.cur >= l.max, l.max
	if restored {
		l.ceiling = 0
	}
	l.mu.Unlock()
	if restored && l.onChange != nil {
		l.onChange(Change{Category: l.category, From: from, To: to, Reason: "recovered"})
	}
}

// floor is the least rate a cut goes down to: 1% of the configured rate, and
// at least one call every ten seconds.
func (l *Limiter) floor() float64 { return math.Max(0.01*l.max, 0.1) }

// State is a snapshot of a limiter.
type State struct {
	Configured float64 `json:"configured_rps"` // 0 when unlimited
	Current    float64 `json:"current_rps"`    // 0 when unlimited
	Cuts       int64   `json:"cuts"`           // times the rate was lowered
	Throttles  int64   `json:"throttles"`      // throttling answers seen
}

// State returns the limiter's current settings and counters.
func (l *Limiter) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := State{Configured: l.max, Current: l.cur, Cuts: l.cuts, Throttles: l.throttles}
	if math.IsInf(l.max, 1) {
		s.Configured, s.Current = 0, 0
	}
	return s
}

// Waiting returns the number of callers in Wait now.
func (l *Limiter) Waiting() int64 { return l.waiters.Load() }

// Rate returns the current rate in requests per second (+Inf when unlimited).
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}
