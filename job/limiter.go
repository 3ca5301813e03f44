package job

import (
	"context"
	"math"
	"sync"
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
	// jitter between the moment a call is admitted and its arrival. It costs
	// up to 2% of the configured rate.
	windowMargin = 20 * time.Millisecond
)

// LimitChange describes one change of a category's rate, for logs.
type LimitChange struct {
	Category string  // "read", "write" or "list"
	From, To float64 // requests per second
	Reason   string  // "throttled" or "recovered"
}

// Limiter paces one API category with golang.org/x/time/rate and adapts the
// pace to throttling. A Limiter is safe for concurrent use. Create one with
// NewLimiter; the zero value is not usable.
type Limiter struct {
	category string
	max      float64 // configured rate; +Inf when unlimited
	lim      *rate.Limiter
	onChange func(LimitChange)

	mu        sync.Mutex
	sent      []time.Time // ring of recent send times, for the window guard
	head      int         // next slot of sent
	cur       float64
	ceiling   float64 // rate at the last throttle; 0 when none is remembered
	lastCut   time.Time
	lastStep  time.Time
	cuts      int64
	throttles int64
}

// NewLimiter returns a limiter for category at rps requests per second; rps
// <= 0 means unlimited. onChange, if not nil, is called once for every cut
// and once when the rate is back at the configured value; it must not block.
func NewLimiter(category string, rps float64, onChange func(LimitChange)) *Limiter {
	l := &Limiter{category: category, onChange: onChange}
	if rps <= 0 || math.IsInf(rps, 1) {
		l.max, l.cur = math.Inf(1), math.Inf(1)
		l.lim = rate.NewLimiter(rate.Inf, 1)
		return l
	}
	l.max, l.cur = rps, rps
	l.lim = rate.NewLimiter(rate.Limit(rps), 1)
	l.sent = make([]time.Time, max(1, int(math.Floor(rps))))
	return l
}

// Wait blocks until the next call of the category may be sent or ctx ends.
// The token bucket spaces calls evenly; the window guard then makes sure
// that no window of one second (plus windowMargin) holds more calls than the
// current rate, even when goroutines that were due during a scheduling
// stall all wake at once.
func (l *Limiter) Wait(ctx context.Context) error {
	l.grow(time.Now())
	if err := l.lim.Wait(ctx); err != nil {
		return err
	}
	if math.IsInf(l.max, 1) {
		return nil
	}
	for {
		l.mu.Lock()
		now := time.Now()
		n := min(max(1, int(math.Floor(l.cur))), len(l.sent))
		oldest := l.sent[(l.head-n+len(l.sent))%len(l.sent)]
		wait := oldest.Add(time.Second + windowMargin).Sub(now)
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
	l.cur = math.Max(l.cur*DecreaseFactor, l.floor())
	l.lastCut = now
	l.cuts++
	l.lim.SetLimitAt(now, rate.Limit(l.cur))
	to := l.cur
	l.mu.Unlock()
	if l.onChange != nil && to != from {
		l.onChange(LimitChange{Category: l.category, From: from, To: to, Reason: "throttled"})
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
		if l.ceiling > 0 && l.cur > 1.1*l.ceiling {
			l.ceiling = 0 // more quota than before: stop creeping
		}
	}
	l.lim.SetLimitAt(now, rate.Limit(l.cur))
	restored := l.cur >= l.max
	if restored {
		l.ceiling = 0
	}
	l.mu.Unlock()
	if restored && l.onChange != nil {
		l.onChange(LimitChange{Category: l.category, From: from, To: l.max, Reason: "recovered"})
	}
}

// floor is the least rate a cut goes down to: 1% of the configured rate, and
// at least one call every ten seconds.
func (l *Limiter) floor() float64 { return math.Max(0.01*l.max, 0.1) }

// LimiterState is a snapshot of a limiter.
type LimiterState struct {
	Configured float64 `json:"configured_rps"` // 0 when unlimited
	Current    float64 `json:"current_rps"`    // 0 when unlimited
	Cuts       int64   `json:"cuts"`           // times the rate was lowered
	Throttles  int64   `json:"throttles"`      // throttling answers seen
}

// State returns the limiter's current settings and counters.
func (l *Limiter) State() LimiterState {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := LimiterState{Configured: l.max, Current: l.cur, Cuts: l.cuts, Throttles: l.throttles}
	if math.IsInf(l.max, 1) {
		s.Configured, s.Current = 0, 0
	}
	return s
}

// Rate returns the current rate in requests per second (+Inf when unlimited).
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}
