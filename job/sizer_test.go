package job

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The sizer's tests run a simulated pool under testing/synctest: a
// dispatcher takes the real gate's slots as fast as it allows, and each user
// spends a fixed time d in calls, reports its attempts and releases its
// slot. The stub load reports whatever rates the test sets. d is no divisor
// of the sizer's 50 ms tick (no completion falls on a tick for thousands of
// ticks), and the test reads the target halfway between ticks, so that no
// two events whose order matters share an instant: the results are the
// same on every run.
//
// The sizer measures a user's time over windows of 250 ms, in which each
// slot completes a whole number of users; with d = 10.37 ms it measures
// 250/24 ms, 0.45% more than d. The cases keep rate × d × 2 at least 1%
// away from an integer, so that this cannot flip the ceiling.

// simStart is the gate's starting target, as run.go sets it.
const simStart = 4

// stubLoad is a load whose rates the test sets and whose waiting and
// attempts the simulated users report.
type stubLoad struct {
	mu          sync.Mutex
	read, write float64

	wait          atomic.Int64
	reads, writes atomic.Int64
}

func (l *stubLoad) rates() (float64, float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.read, l.write
}

func (l *stubLoad) setRates(read, write float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.read, l.write = read, write
}

func (l *stubLoad) waiting() int64           { return l.wait.Load() }
func (l *stubLoad) attempts() (int64, int64) { return l.reads.Load(), l.writes.Load() }
func (l *stubLoad) sent(reads, writes int64) { l.reads.Add(reads); l.writes.Add(writes) }
func (l *stubLoad) waitUntil(ctx context.Context) {
	l.wait.Add(1)
	<-ctx.Done()
	l.wait.Add(-1)
}

var _ load = (*stubLoad)(nil)

// simUser is how a simulated user behaves.
type simUser struct {
	calls         time.Duration // time in calls
	reads, writes int64         // attempts it reports when done
	// stuck is how many of the first users, instead, wait for a limiter
	// until the simulation ends: they hold slots but make no calls.
	stuck int64
}

// sim is a running simulation: the sizer, a dispatcher and the users.
type sim struct {
	gate   *gate
	load   *stubLoad
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startSim starts the sizer of cfg over load and a dispatcher of users u,
// at the start of the bubble's time. stop ends it.
func startSim(t *testing.T, cfg *Config, l *stubLoad, u simUser) *sim {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &sim{gate: newGate(min(simStart, int64(cfg.Workers))), load: l, cancel: cancel}
	sz := newSizer(s.gate, l, cfg)
	s.wg.Go(func() { sz.run(ctx) })
	s.wg.Go(func() {
		for i := int64(0); s.gate.acquire(ctx); i++ {
			s.wg.Go(func() {
				if i < u.stuck {
					l.waitUntil(ctx)
				} else {
					time.Sleep(u.calls)
					l.sent(u.reads, u.writes)
				}
				s.gate.release()
			})
		}
	})
	return s
}

// stop ends the simulation and waits for its users to finish.
func (s *sim) stop() {
	s.cancel()
	s.wg.Wait()
}

// target returns the gate's target now.
func (s *sim) target() int64 {
	_, target := s.gate.inFlight()
	return target
}

// littleTarget is the target the sizer's documentation promises once it
// has measured users: ceil(rate × seconds per user × 2) + 1, capped.
func littleTarget(rate float64, perUser time.Duration, limit int) int64 {
	if math.IsInf(rate, 1) {
		return int64(limit)
	}
	return min(int64(math.Ceil(rate*perUser.Seconds()*2))+1, int64(limit))
}

// checkRobust fails the test if rate × perUser × 2 is within 1% of an
// integer: the sizer's measurement error must not be able to flip the
// ceiling.
func checkRobust(t *testing.T, rate float64, perUser time.Duration) {
	t.Helper()
	x := rate * perUser.Seconds() * 2
	if math.Ceil(x*0.99) != math.Ceil(x*1.01) {
		t.Fatalf("bad test case: rate %v × %v × 2 = %v is within 1%% of an integer", rate, perUser, x)
	}
}

func TestSizerGrowsBeforeAnyUserCompletes(t *testing.T) {
	// Users that take 10 s never complete in the second observed: the time
	// since the start is a lower bound of a user's time, so the target at
	// the k-th tick is ceil(rate × k × 50 ms × 2) + 1, and never below the
	// gate's start. rate is the users per second of the binding limiter,
	// with the calls per user guessed from the mode.
	const observed = 20 // ticks
	tests := []struct {
		name        string
		cfg         Config
		read, write float64
		rate        float64 // users per second the limiters allow
	}{
		{"the write rate binds", Config{Workers: 1000}, 500, 97.3, 97.3},
		{"the read rate binds", Config{Workers: 1000}, 97.3, 500, 97.3},
		{"a slow limiter does not shrink the start", Config{Workers: 1000}, 500, 9.73, 9.73},
		{"dry run sizes by the read rate", Config{Workers: 1000, DryRun: true}, 97.3, 1, 97.3},
		{"verify reads twice per user", Config{Workers: 1000, Verify: true}, 194.6, 500, 97.3},
		{"unlimited reads, limited writes", Config{Workers: 1000}, math.Inf(1), 97.3, 97.3},
		{"capped at Workers", Config{Workers: 60}, 500, 97.3, 97.3},
		{"unlimited rates give the cap", Config{Workers: 64}, math.Inf(1), math.Inf(1), math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := startSim(t, &tt.cfg, &stubLoad{read: tt.read, write: tt.write}, simUser{calls: 10 * time.Second, reads: 1, writes: 1})
				defer s.stop()
				time.Sleep(25 * time.Millisecond) // halfway between ticks
				if got := s.target(); got != simStart {
					t.Fatalf("target before the first tick = %d, want the start %d", got, simStart)
				}
				for k := 1; k <= observed; k++ {
					time.Sleep(50 * time.Millisecond)
					want := max(littleTarget(tt.rate, time.Duration(k)*50*time.Millisecond, tt.cfg.Workers), simStart)
					if got := s.target(); got != want {
						t.Fatalf("target at tick %d (read %v/s, write %v/s) = %d, want %d", k, tt.read, tt.write, got, want)
					}
				}
				if inflight, _ := s.gate.inFlight(); inflight != s.target() {
					t.Errorf("users in flight = %d, want the target %d (the dispatcher fills every slot)", inflight, s.target())
				}
			})
		})
	}
}

func TestSizerConverges(t *testing.T) {
	// Once users complete, the sizer measures their time outside limiter
	// waits (d) and the calls per user, and holds the target at
	// ceil(rate × d × 2) + 1, capped at Workers.
	const d = 10370 * time.Microsecond
	tests := []struct {
		name        string
		cfg         Config
		read, write float64
		user        simUser
		rate        float64 // users per second the limiters allow
	}{
		{"the write rate binds", Config{Workers: 1000}, 5000, 265.2, simUser{calls: d, reads: 1, writes: 1}, 265.2},
		{"a higher rate", Config{Workers: 1000}, 5000, 1278, simUser{calls: d, reads: 1, writes: 1}, 1278},
		{"the read rate binds", Config{Workers: 1000}, 1278, 5000, simUser{calls: d, reads: 1, writes: 1}, 1278},
		{"reads per user are measured (retries)", Config{Workers: 1000}, 3 * 265.2, 5000, simUser{calls: d, reads: 3, writes: 1}, 265.2},
		{"writes per user are measured (no write needed)", Config{Workers: 1000}, 2000, 1, simUser{calls: d, reads: 1}, 2000},
		{"dry run sizes by the read rate", Config{Workers: 1000, DryRun: true}, 265.2, 1, simUser{calls: d, reads: 1}, 265.2},
		{"users waiting for a limiter are not busy", Config{Workers: 1000}, 5000, 265.2, simUser{calls: d, reads: 1, writes: 1, stuck: 3}, 265.2},
		{"capped at Workers", Config{Workers: 5}, 5000, 265.2, simUser{calls: d, reads: 1, writes: 1}, 265.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRobust(t, tt.rate, d)
			want := littleTarget(tt.rate, d, tt.cfg.Workers)
			synctest.Test(t, func(t *testing.T) {
				s := startSim(t, &tt.cfg, &stubLoad{read: tt.read, write: tt.write}, tt.user)
				defer s.stop()
				time.Sleep(5*time.Second + 25*time.Millisecond) // settle, then read halfway between ticks
				for k := range 40 {
					if got := s.target(); got != want {
						t.Fatalf("target %v after the start = %d, want ceil(%v/s × %v × 2) + 1 = %d (Workers %d)",
							5*time.Second+time.Duration(k)*50*time.Millisecond, got, tt.rate, d, want, tt.cfg.Workers)
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		})
	}
}

func TestSizerFollowsRateChanges(t *testing.T) {
	// A cut of the binding limiter lowers the target and a rise raises it
	// to what the new rate needs, with the time per user measured before.
	const d = 10370 * time.Microsecond
	steps := []struct {
		name  string
		write float64
	}{
		{"start", 1278},
		{"cut", 265.2},
		{"rise", 2290},
	}
	synctest.Test(t, func(t *testing.T) {
		s := startSim(t, &Config{Workers: 1000}, &stubLoad{read: 10000, write: steps[0].write}, simUser{calls: d, reads: 1, writes: 1})
		defer s.stop()
		time.Sleep(4*time.Second + 25*time.Millisecond)
		prev := int64(0)
		for i, st := range steps {
			want := littleTarget(st.write, d, 1000)
			checkRobust(t, st.write, d)
			s.load.setRates(10000, st.write)
			// A rise is followed at once, and its first window
			// overestimates the time per user (the users it adds are
			// in flight at the window's end); the estimate falls back
			// by a quarter a window.
			time.Sleep(3 * time.Second)
			for range 20 {
				if got := s.target(); got != want {
					t.Fatalf("%s to %v writes/s: target = %d, want %d", st.name, st.write, got, want)
				}
				time.Sleep(50 * time.Millisecond)
			}
			switch {
			case i == 0:
			case st.write < steps[i-1].write && want >= prev:
				t.Fatalf("bad test case: the cut does not lower the target (%d, then %d)", prev, want)
			case st.write > steps[i-1].write && want <= prev:
				t.Fatalf("bad test case: the rise does not raise the target (%d, then %d)", prev, want)
			}
			prev = want
		}
	})
}
