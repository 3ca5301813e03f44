// Package checkpointtest is the conformance suite every checkpoint.Store
// backend passes, in the manner of testing/fstest and nettest.TestConn: a
// backend's test calls Run with a constructor of fresh, empty stores.
//
// The suite checks the Store contract: an empty store loads ErrNotFound, saves
// round-trip exactly, Save is a compare-and-swap (stale version, create over an
// existing checkpoint and update of a missing one all fail with ErrConflict),
// methods honour a cancelled context, concurrent savers with the same version
// produce exactly one winner, loads during saves see whole saves, and the run
// lock refuses a second holder with a
// *LockedError naming the first, can be released, renewed and, where the
// backend allows it, taken over once expired. Run it with -race.
package checkpointtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
)

// Option configures Run.
type Option func(*config)

type config struct {
	setClock    func(s checkpoint.Store, now func() time.Time)
	expiring    bool
	concurrency int
}

// WithClock lets Run drive the clock of the stores it tests: Run calls set on
// every store newStore returns, before using it, with a fake clock that Run
// advances. Without it Run skips the subtests that need time to pass.
func WithClock(set func(s checkpoint.Store, now func() time.Time)) Option {
	return func(c *config) { c.setClock = set }
}

// WithExpiringLocks declares that the backend lets a new run take over a lock
// that has expired (S3). Without it Run checks the opposite: an expired lock
// is still refused while its holder lives (flock). Both checks need WithClock.
func WithExpiringLocks() Option {
	return func(c *config) { c.expiring = true }
}

// WithConcurrency sets how many goroutines the concurrency subtests start;
// the default is 8.
func WithConcurrency(n int) Option {
	return func(c *config) { c.concurrency = n }
}

// Run runs the conformance suite as subtests of t. newStore must return a new
// Store at a fresh, empty location each time it is called; the suite uses
// one Store value as several independent runners would, so a backend must not
// share in-process state between the callers of one value. Stores must be
// safe for concurrent use.
func Run(t *testing.T, newStore func(t *testing.T) checkpoint.Store, opts ...Option) {
	t.Helper()
	cfg := config{concurrency: 8}
	for _, o := range opts {
		o(&cfg)
	}
	s := suite{cfg: cfg, newStore: newStore}
	t.Run("LoadEmpty", s.loadEmpty)
	t.Run("RoundTrip", s.roundTrip)
	t.Run("Overwrite", s.overwrite)
	t.Run("Conflict", s.conflict)
	t.Run("CancelledContext", s.cancelled)
	t.Run("ConcurrentSave", s.concurrentSave)
	t.Run("ConcurrentCreate", s.concurrentCreate)
	t.Run("LoadDuringSaves", s.loadDuringSaves)
	t.Run("Lock", s.lock)
	t.Run("LockIsNotData", s.lockIsNotData)
	t.Run("ReleaseTwice", s.releaseTwice)
	t.Run("ConcurrentLock", s.concurrentLock)
	t.Run("Renew", s.renew)
	t.Run("ExpiredLock", s.expiredLock)
}

type suite struct {
	cfg      config
	newStore func(t *testing.T) checkpoint.Store
}

// clock is a fake clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// store returns a fresh store and, if the backend takes one, its fake clock.
func (s suite) store(t *testing.T) (checkpoint.Store, *clock) {
	t.Helper()
	st := s.newStore(t)
	clk := &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	if s.cfg.setClock != nil {
		s.cfg.setClock(st, clk.Now)
	}
	return st, clk
}

func (s suite) needClock(t *testing.T) {
	t.Helper()
	if s.cfg.setClock == nil {
		t.Skip("the backend's clock is not injectable (no WithClock option)")
	}
}

// mustSave saves and fails the test on error.
func mustSave(t *testing.T, st checkpoint.Store, data []byte, version string) string {
	t.Helper()
	v, err := st.Save(t.Context(), data, version)
	if err != nil {
		t.Fatalf("Save(%d bytes, %q) = %v, want nil", len(data), version, err)
	}
	if v == "" {
		t.Fatalf("Save(%d bytes, %q) returned an empty version", len(data), version)
	}
	return v
}

// wantLoad loads and checks the content and version.
func wantLoad(t *testing.T, st checkpoint.Store, data []byte, version string) {
	t.Helper()
	got, v, err := st.Load(t.Context())
	if err != nil {
		t.Fatalf("Load() = %v, want nil", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("Load() = %d bytes %.20q, want %d bytes %.20q", len(got), got, len(data), data)
	}
	if v != version {
		t.Errorf("Load() version = %q, want %q", v, version)
	}
}

func (s suite) loadEmpty(t *testing.T) {
	st, _ := s.store(t)
	data, v, err := st.Load(t.Context())
	if !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("Load() on an empty store = %q, %q, %v, want ErrNotFound", data, v, err)
	}
	if st.String() == "" {
		t.Errorf("String() = \"\", want the location")
	}
	if !strings.Contains(err.Error(), st.String()) {
		t.Errorf("Load() error %q does not name the location %q", err, st.String())
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func (s suite) roundTrip(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"text", []byte("cognito-mfa-migrate checkpoint v1\nhello\n")},
		{"binary with zeros", []byte{0, 1, 2, 0, 0, 255, '\n', '\r', 0}},
		{"1MiB random", randomBytes(1<<20, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := s.store(t)
			v := mustSave(t, st, tt.data, "")
			wantLoad(t, st, tt.data, v)
		})
	}
}

func (s suite) overwrite(t *testing.T) {
	st, _ := s.store(t)
	v1 := mustSave(t, st, []byte("one"), "")
	v2 := mustSave(t, st, []byte("two, longer"), v1)
	if v2 == v1 {
		t.Errorf("Save(new data, %q) returned the same version", v1)
	}
	wantLoad(t, st, []byte("two, longer"), v2)
	v3 := mustSave(t, st, []byte("3"), v2)
	if v3 == v2 || v3 == v1 {
		t.Errorf("Save(new data, %q) = %q, want a new version (earlier: %q, %q)", v2, v3, v1, v2)
	}
	wantLoad(t, st, []byte("3"), v3)
}

func (s suite) conflict(t *testing.T) {
	tests := []struct {
		name string
		// setup saves what the store holds before the conflicting save and
		// returns the version the conflicting save uses.
		setup func(t *testing.T, st checkpoint.Store) (version string)
	}{
		{"stale version", func(t *testing.T, st checkpoint.Store) string {
			v1 := mustSave(t, st, []byte("first"), "")
			mustSave(t, st, []byte("second"), v1)
			return v1
		}},
		{"create over existing", func(t *testing.T, st checkpoint.Store) string {
			mustSave(t, st, []byte("first"), "")
			return ""
		}},
		{"made-up version", func(t *testing.T, st checkpoint.Store) string {
			mustSave(t, st, []byte("first"), "")
			return "not-a-version"
		}},
		{"update of missing", func(t *testing.T, st checkpoint.Store) string {
			return "not-a-version"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := s.store(t)
			version := tt.setup(t, st)
			before, beforeV, beforeErr := st.Load(t.Context())
			_, err := st.Save(t.Context(), []byte("intruder"), version)
			if !errors.Is(err, checkpoint.ErrConflict) {
				t.Fatalf("Save(%q) = %v, want ErrConflict", version, err)
			}
			after, afterV, afterErr := st.Load(t.Context())
			if !bytes.Equal(after, before) || afterV != beforeV || (afterErr == nil) != (beforeErr == nil) {
				t.Errorf("after a conflicting Save, Load() = %q, %q, %v; want it unchanged: %q, %q, %v",
					after, afterV, afterErr, before, beforeV, beforeErr)
			}
		})
	}
}

func (s suite) cancelled(t *testing.T) {
	st, _ := s.store(t)
	v := mustSave(t, st, []byte("kept"), "")
	held, err := st.Lock(t.Context(), "holder", time.Minute)
	if err != nil {
		t.Fatalf("Lock() = %v", err)
	}
	t.Cleanup(func() { _ = held.Release(context.Background()) })

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"Load", func() error { _, _, err := st.Load(ctx); return err }},
		{"Save", func() error { _, err := st.Save(ctx, []byte("lost"), v); return err }},
		{"Save create", func() error { _, err := st.Save(ctx, []byte("lost"), ""); return err }},
		{"Lock", func() error { _, err := st.Lock(ctx, "other", time.Minute); return err }},
		{"Renew", func() error { return held.Renew(ctx) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, context.Canceled) {
				t.Errorf("%s(cancelled context) = %v, want an error wrapping context.Canceled", c.name, err)
			}
		})
	}
	wantLoad(t, st, []byte("kept"), v)
	if _, err := st.Lock(t.Context(), "other", time.Minute); !errors.Is(err, checkpoint.ErrLocked) {
		t.Errorf("Lock() after a cancelled Renew = %v, want ErrLocked (the lock is still held)", err)
	}
	// Release with a cancelled context either releases or fails with
	// context.Canceled, never anything else.
	if err := held.Release(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Release(cancelled context) = %v, want nil or context.Canceled", err)
	}
}

// race starts n goroutines running f(i) and returns their errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one error is nil and all others wrap want,
// and returns the winner's index.
func oneWinner(t *testing.T, what string, errs []error, want error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("%s: goroutines %d and %d both succeeded, want exactly one", what, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, want):
			t.Errorf("%s: goroutine %d: %v, want %v", what, i, err, want)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no goroutine succeeded, want exactly one", what)
	}
	return winner
}

func payload(i int) []byte { return fmt.Appendf(nil, "writer %d %s", i, strings.Repeat("x", 1000*i)) }

func (s suite) concurrentSave(t *testing.T) {
	st, _ := s.store(t)
	v0 := mustSave(t, st, []byte("base"), "")
	versions := make([]string, s.cfg.concurrency)
	errs := race(s.cfg.concurrency, func(i int) (err error) {
		versions[i], err = st.Save(t.Context(), payload(i), v0)
		return err
	})
	w := oneWinner(t, fmt.Sprintf("%d concurrent Save(_, %q)", len(errs), v0), errs, checkpoint.ErrConflict)
	wantLoad(t, st, payload(w), versions[w])
}

func (s suite) concurrentCreate(t *testing.T) {
	st, _ := s.store(t)
	versions := make([]string, s.cfg.concurrency)
	errs := race(s.cfg.concurrency, func(i int) (err error) {
		versions[i], err = st.Save(t.Context(), payload(i), "")
		return err
	})
	w := oneWinner(t, fmt.Sprintf("%d concurrent Save(_, \"\")", len(errs)), errs, checkpoint.ErrConflict)
	wantLoad(t, st, payload(w), versions[w])
}

// loadDuringSaves checks that saves are atomic: readers loading while a
// writer saves always see one saved content with its own version.
func (s suite) loadDuringSaves(t *testing.T) {
	st, _ := s.store(t)
	const saves = 20
	saved := make(map[string][]byte, saves) // version -> content
	v := mustSave(t, st, payload(0), "")
	saved[v] = payload(0)

	type read struct {
		data    []byte
		version string
	}
	reads := make([][]read, s.cfg.concurrency)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range reads {
		wg.Go(func() {
			for {
				data, version, err := st.Load(t.Context())
				if err != nil {
					t.Errorf("Load() during saves = %v", err)
					return
				}
				reads[i] = append(reads[i], read{data, version})
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	for i := 1; i <= saves; i++ {
		next, err := st.Save(t.Context(), payload(i), v)
		if err != nil {
			t.Errorf("Save(%d) = %v", i, err)
			break
		}
		v = next
		saved[v] = payload(i)
	}
	close(done)
	wg.Wait()
	for i, rs := range reads {
		for _, r := range rs {
			if want, ok := saved[r.version]; !ok || !bytes.Equal(r.data, want) {
				t.Fatalf("reader %d: Load() = %d bytes %.20q with version %q, which is not a saved content with its version",
					i, len(r.data), r.data, r.version)
			}
		}
	}
}

// mustLock locks and fails the test on error; the lock is released at cleanup.
func mustLock(t *testing.T, st checkpoint.Store, owner string, ttl time.Duration) checkpoint.Lock {
	t.Helper()
	l, err := st.Lock(t.Context(), owner, ttl)
	if err != nil {
		t.Fatalf("Lock(%q) = %v, want nil", owner, err)
	}
	t.Cleanup(func() { _ = l.Release(context.Background()) })
	return l
}

// wantLocked checks that err is a *LockedError naming owner and the store.
func wantLocked(t *testing.T, st checkpoint.Store, err error, owner string) *checkpoint.LockedError {
	t.Helper()
	if !errors.Is(err, checkpoint.ErrLocked) {
		t.Fatalf("Lock() while held by %q = %v, want ErrLocked", owner, err)
	}
	var le *checkpoint.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Lock() error %v (%T) is not a *LockedError", err, err)
	}
	if le.Holder.Owner != owner {
		t.Errorf("LockedError.Holder.Owner = %q, want %q", le.Holder.Owner, owner)
	}
	for _, want := range []string{owner, st.String()} {
		if !strings.Contains(le.Error(), want) {
			t.Errorf("LockedError message %q does not contain %q", le.Error(), want)
		}
	}
	return le
}

func (s suite) lock(t *testing.T) {
	st, _ := s.store(t)
	l := mustLock(t, st, "runner-a on host-1", time.Minute)
	if got := l.Info().Owner; got != "runner-a on host-1" {
		t.Errorf("Info().Owner = %q, want %q", got, "runner-a on host-1")
	}
	if info := l.Info(); !info.Expires.After(info.Acquired) {
		t.Errorf("Info() = %+v, want Expires after Acquired", info)
	}
	_, err := st.Lock(t.Context(), "runner-b", time.Minute)
	wantLocked(t, st, err, "runner-a on host-1")
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := st.Lock(t.Context(), "runner-b", ttl); err == nil || errors.Is(err, checkpoint.ErrLocked) {
			t.Errorf("Lock(ttl %v) = %v, want an error about the ttl", ttl, err)
		}
	}

	if err := l.Release(t.Context()); err != nil {
		t.Fatalf("Release() = %v, want nil", err)
	}
	l2 := mustLock(t, st, "runner-b", time.Minute)
	if err := l2.Renew(t.Context()); err != nil {
		t.Errorf("Renew() = %v, want nil", err)
	}
	_, err = st.Lock(t.Context(), "runner-c", time.Minute)
	wantLocked(t, st, err, "runner-b")
	if err := l2.Release(t.Context()); err != nil {
		t.Errorf("Release() = %v, want nil", err)
	}
}

func (s suite) lockIsNotData(t *testing.T) {
	st, _ := s.store(t)
	mustLock(t, st, "holder", time.Minute)
	if _, _, err := st.Load(t.Context()); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("Load() of an empty but locked store = %v, want ErrNotFound", err)
	}
	v := mustSave(t, st, []byte("saved under lock"), "")
	wantLoad(t, st, []byte("saved under lock"), v)
}

func (s suite) releaseTwice(t *testing.T) {
	st, _ := s.store(t)
	l := mustLock(t, st, "holder", time.Minute)
	if err := l.Release(t.Context()); err != nil {
		t.Fatalf("Release() = %v, want nil", err)
	}
	if err := l.Release(t.Context()); err != nil {
		t.Errorf("second Release() = %v, want nil", err)
	}
	if err := l.Renew(t.Context()); !errors.Is(err, checkpoint.ErrLockLost) {
		t.Errorf("Renew() after Release = %v, want ErrLockLost", err)
	}
	other := mustLock(t, st, "other", time.Minute)
	if err := l.Release(t.Context()); err != nil {
		t.Errorf("Release() of a released lock while another holds it = %v, want nil", err)
	}
	_, err := st.Lock(t.Context(), "third", time.Minute)
	wantLocked(t, st, err, "other")
	if err := other.Release(t.Context()); err != nil {
		t.Errorf("Release() = %v, want nil", err)
	}
}

func (s suite) concurrentLock(t *testing.T) {
	st, _ := s.store(t)
	locks := make([]checkpoint.Lock, s.cfg.concurrency)
	errs := race(s.cfg.concurrency, func(i int) (err error) {
		locks[i], err = st.Lock(t.Context(), fmt.Sprintf("runner-%d", i), time.Minute)
		return err
	})
	w := oneWinner(t, fmt.Sprintf("%d concurrent Lock", len(errs)), errs, checkpoint.ErrLocked)
	if err := locks[w].Release(t.Context()); err != nil {
		t.Errorf("Release() = %v, want nil", err)
	}
}

func (s suite) renew(t *testing.T) {
	s.needClock(t)
	st, clk := s.store(t)
	t0 := clk.Now()
	l := mustLock(t, st, "holder", time.Minute)
	if got, want := l.Info(), (checkpoint.LockInfo{Owner: "holder", Acquired: t0, Expires: t0.Add(time.Minute)}); !got.Acquired.Equal(want.Acquired) || !got.Expires.Equal(want.Expires) {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}
	clk.Advance(40 * time.Second)
	if err := l.Renew(t.Context()); err != nil {
		t.Fatalf("Renew() = %v, want nil", err)
	}
	want := t0.Add(100 * time.Second)
	if got := l.Info(); !got.Expires.Equal(want) || !got.Acquired.Equal(t0) {
		t.Errorf("Info() after Renew = %+v, want Acquired %v, Expires %v", got, t0, want)
	}
	clk.Advance(40 * time.Second) // past the first expiry, before the renewed one
	_, err := st.Lock(t.Context(), "other", time.Minute)
	le := wantLocked(t, st, err, "holder")
	if !le.Holder.Expires.Equal(want) {
		t.Errorf("LockedError.Holder.Expires = %v, want the renewed expiry %v", le.Holder.Expires, want)
	}
	if !strings.Contains(le.Error(), want.UTC().Format(time.RFC3339)) {
		t.Errorf("LockedError message %q does not name the expiry %v", le.Error(), want.UTC().Format(time.RFC3339))
	}
}

func (s suite) expiredLock(t *testing.T) {
	s.needClock(t)
	st, clk := s.store(t)
	old := mustLock(t, st, "crashed", time.Minute)
	clk.Advance(2 * time.Minute)
	if !s.cfg.expiring {
		_, err := st.Lock(t.Context(), "newcomer", time.Minute)
		wantLocked(t, st, err, "crashed")
		return
	}

	locks := make([]checkpoint.Lock, s.cfg.concurrency)
	errs := race(s.cfg.concurrency, func(i int) (err error) {
		locks[i], err = st.Lock(t.Context(), fmt.Sprintf("newcomer-%d", i), time.Minute)
		return err
	})
	w := oneWinner(t, fmt.Sprintf("%d concurrent Lock of an expired lock", len(errs)), errs, checkpoint.ErrLocked)
	t.Cleanup(func() { _ = locks[w].Release(context.Background()) })
	winner := fmt.Sprintf("newcomer-%d", w)

	if err := old.Renew(t.Context()); !errors.Is(err, checkpoint.ErrLockLost) {
		t.Errorf("Renew() of a taken-over lock = %v, want ErrLockLost", err)
	}
	if err := old.Release(t.Context()); !errors.Is(err, checkpoint.ErrLockLost) {
		t.Errorf("Release() of a taken-over lock = %v, want ErrLockLost", err)
	}
	_, err := st.Lock(t.Context(), "late", time.Minute)
	wantLocked(t, st, err, winner)
	if err := locks[w].Release(t.Context()); err != nil {
		t.Errorf("Release() by the new holder = %v, want nil", err)
	}
	mustLock(t, st, "late", time.Minute)
}
