package job

import (
	"context"
	"math"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// load is what the sizer reads of a run: the rates the limiters allow now,
// the callers waiting for a limiter, and the attempts sent so far. It must
// be safe for concurrent use.
type load interface {
	rates() (read, write float64) // requests per second allowed now; +Inf when unlimited
	waiting() int64               // callers waiting for a limiter now
	attempts() (reads, writes int64)
}

// limiterLoad is the load of a run: its two limiters and its call counters.
type limiterLoad struct {
	read, write *pace.Limiter
	stats       *cognito.Stats
}

func (l limiterLoad) rates() (float64, float64) { return l.read.Rate(), l.write.Rate() }
func (l limiterLoad) waiting() int64            { return l.read.Waiting() + l.write.Waiting() }
func (l limiterLoad) attempts() (int64, int64) {
	return l.stats.Attempts(cognito.OpAdminGetUser), l.stats.Attempts(cognito.OpAdminSetUserMFAPreference)
}

// sizer sets how many users may be in flight (the gate's target) by
// Little's law: the users per second the limiters allow now, times the
// seconds a user spends in calls and retry backoff (limiter waits
// excluded), times a margin of 2 so that users always wait at the binding
// limiters (a limiter left without a waiter loses its slot: its bucket
// holds one token), plus one; capped by max.
//
// A user's time outside limiter waits is itself measured by Little's law,
// over windows of at least 250 ms and 10 completed users (or 2 s): the mean
// number of users in flight less the mean number waiting for a limiter,
// both sampled every 50 ms, divided by the users completed per second. The
// estimate follows a rise faster than a fall: too few users in flight cost
// rate, too many cost little. While every slot is taken and no user
// completes, the time since the last completion (or since the start) is a
// lower bound of that time and raises the target every 50 ms: this is how
// the pool grows in the first tens of milliseconds of a run, and how it
// makes room when the users in flight sleep in retry backoff.
//
// A sizer is used by one goroutine, the one running run.
type sizer struct {
	gate *gate
	load load
	max  int64
	// Until users complete, the calls per user are guessed: a read, a
	// write unless dry run, and a second read to verify.
	readsPerUser, writesPerUser float64
}

// newSizer returns a sizer for a run with cfg's limits.
func newSizer(g *gate, l load, cfg *Config) *sizer {
	s := &sizer{gate: g, load: l, max: int64(cfg.Workers), readsPerUser: 1}
	if !cfg.DryRun {
		s.writesPerUser = 1
		if cfg.Verify {
			s.readsPerUser = 2
		}
	}
	return s
}

// run sizes the gate every 50 ms until ctx ends.
func (s *sizer) run(ctx context.Context) {
	const (
		tick      = 50 * time.Millisecond
		minWindow = 250 * time.Millisecond
		maxWindow = 2 * time.Second
		minDone   = 10
		margin    = 2.0  // users in flight per user the limiters keep busy
		alphaUp   = 0.5  // weight of a new window that raises the estimate
		alphaDown = 0.25 // weight of a new window that lowers it
	)
	t := time.NewTicker(tick)
	defer t.Stop()
	readsPerUser, writesPerUser := s.readsPerUser, s.writesPerUser
	perUser := 0.0 // seconds per user outside limiter waits; 0 until users complete
	lastDone, prevAt := time.Now(), time.Now()
	var seen, prevUsers, prevReads, prevWrites, inflightSum, waitingSum, samples int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		inflight, cur := s.gate.inFlight()
		inflightSum += inflight
		waitingSum += s.load.waiting()
		samples++
		users := s.gate.done()
		if users != seen {
			seen, lastDone = users, now
		}
		if done, window := users-prevUsers, now.Sub(prevAt); done > 0 &&
			(perUser == 0 || window >= maxWindow || window >= minWindow && done >= minDone) {
			reads, writes := s.load.attempts()
			n := float64(done)
			busy := float64(inflightSum-waitingSum) / float64(samples) // users in calls or retry backoff
			w := math.Max(busy*window.Seconds()/n, 0.001)
			switch {
			case perUser == 0:
				perUser = w
				readsPerUser, writesPerUser = float64(reads-prevReads)/n, float64(writes-prevWrites)/n
			default:
				alpha := alphaDown
				if w > perUser {
					alpha = alphaUp
				}
				perUser = (1-alpha)*perUser + alpha*w
				readsPerUser = (1-alphaDown)*readsPerUser + alphaDown*float64(reads-prevReads)/n
				writesPerUser = (1-alphaDown)*writesPerUser + alphaDown*float64(writes-prevWrites)/n
			}
			prevAt, prevUsers, prevReads, prevWrites = now, users, reads, writes
			inflightSum, waitingSum, samples = 0, 0, 0
		}

		readRate, writeRate := s.load.rates()
		rate := math.Inf(1) // users per second the limiters allow
		if readsPerUser > 0 {
			rate = math.Min(rate, readRate/readsPerUser)
		}
		if writesPerUser > 0 {
			rate = math.Min(rate, writeRate/writesPerUser)
		}
		want := s.max
		if !math.IsInf(rate, 1) {
			secs := perUser
			if inflight >= cur {
				// Every slot is taken and none has freed since lastDone
				// (the start, before any user completes): the users in
				// flight take at least that long.
				secs = math.Max(secs, now.Sub(lastDone).Seconds())
			}
			want = int64(math.Ceil(rate*secs*margin)) + 1
			if perUser == 0 {
				want = max(want, cur) // no estimate yet: only grow
			}
		}
		if want = min(max(want, 1), s.max); want != cur {
			s.gate.setTarget(want)
		}
	}
}
