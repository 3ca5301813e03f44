package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint/checkpointtest"
)

// stubLock is a checkpoint.Lock whose renewals take renewTook and answer
// with the errors the test queued (nil once the queue is empty).
type stubLock struct {
	renewTook time.Duration

	mu        sync.Mutex
	renewErrs []error
	renews    int
	releases  int
}

func (l *stubLock) Renew(context.Context) error {
	time.Sleep(l.renewTook)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.renews++
	if len(l.renewErrs) == 0 {
		return nil
	}
	err := l.renewErrs[0]
	l.renewErrs = l.renewErrs[1:]
	return err
}

func (l *stubLock) Release(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releases++
	return nil
}

func (l *stubLock) Info() checkpoint.LockInfo { return checkpoint.LockInfo{} }

func (l *stubLock) counts() (renews, releases int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.renews, l.releases
}

// stubStore hands out its lock after lockTook. Only Lock and String are
// used by a lease.
type stubStore struct {
	checkpoint.Store // nil: Load and Save are not used
	lock             *stubLock
	lockTook         time.Duration
}

func (s *stubStore) Lock(context.Context, string, time.Duration) (checkpoint.Lock, error) {
	time.Sleep(s.lockTook)
	return s.lock, nil
}

func (s *stubStore) String() string { return "stub://checkpoint" }

var errTransient = errors.New("connection reset")

// takeStubLease takes a lease with ttl on a stub store whose Lock takes
// lockTook, and returns it with the instant the acquisition began.
func takeStubLease(t *testing.T, lock *stubLock, ttl, lockTook time.Duration) (*lease, time.Time) {
	t.Helper()
	start := time.Now()
	l, err := takeLease(t.Context(), &stubStore{lock: lock, lockTook: lockTook}, "me", ttl)
	if err != nil {
		t.Fatalf("takeLease() = %v", err)
	}
	return l, start
}

// checkValidUntil checks that l is valid just before until and lost from
// until on. It sleeps until until.
func checkValidUntil(t *testing.T, l *lease, until time.Time) {
	t.Helper()
	time.Sleep(time.Until(until) - time.Nanosecond)
	if err := l.valid(); err != nil {
		t.Fatalf("valid() 1ns before %v = %v, want nil", until.Format(time.TimeOnly), err)
	}
	time.Sleep(time.Nanosecond)
	err := l.valid()
	if !errors.Is(err, errLeaseLost) {
		t.Fatalf("valid() at %v = %v, want errLeaseLost", until.Format(time.TimeOnly), err)
	}
	if !strings.Contains(err.Error(), "stub://checkpoint") {
		t.Errorf("valid() = %q, want it to name the checkpoint", err)
	}
	time.Sleep(time.Hour)
	if again := l.valid(); again != err {
		t.Errorf("valid() later = %v, want the same loss %v", again, err)
	}
}

func TestLeaseValidUntilTTLLessMargin(t *testing.T) {
	// The lease is valid for ttl less a margin (a tenth of ttl, at most
	// 5 s) from when the acquisition began, however long it took.
	tests := []struct {
		ttl, lockTook, valid time.Duration
	}{
		{2 * time.Minute, 2 * time.Second, 115 * time.Second},
		{30 * time.Second, 0, 27 * time.Second},
		{30 * time.Second, 10 * time.Second, 27 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("ttl %v, lock took %v", tt.ttl, tt.lockTook), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lock := &stubLock{}
				l, start := takeStubLease(t, lock, tt.ttl, tt.lockTook)
				checkValidUntil(t, l, start.Add(tt.valid))
				// A lapsed lease is not renewed: the lock may be another
				// runner's now.
				if err := l.renew(t.Context()); !errors.Is(err, errLeaseLost) {
					t.Errorf("renew() after the lease lapsed = %v, want errLeaseLost", err)
				}
				if renews, _ := lock.counts(); renews != 0 {
					t.Errorf("Lock.Renew called %d times after the lease lapsed, want 0", renews)
				}
				if l.heldUntilRelease() {
					t.Error("heldUntilRelease() = true after the lease lapsed, want false")
				}
			})
		})
	}
}

func TestLeaseRenewExtends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = time.Minute // margin 5 s
		lock := &stubLock{renewTook: 3 * time.Second}
		l, _ := takeStubLease(t, lock, ttl, 0)
		time.Sleep(40 * time.Second)
		renewStart := time.Now()
		if err := l.renew(t.Context()); err != nil {
			t.Fatalf("renew() = %v", err)
		}
		// Valid from when the renewal began, not when it ended.
		checkValidUntil(t, l, renewStart.Add(55*time.Second))
	})
}

func TestLeaseRenewErrorKeepsTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lock := &stubLock{renewErrs: []error{errTransient}}
		l, start := takeStubLease(t, lock, time.Minute, 0)
		time.Sleep(20 * time.Second)
		if err := l.renew(t.Context()); !errors.Is(err, errTransient) || errors.Is(err, errLeaseLost) {
			t.Fatalf("renew() = %v, want the transient error, not a loss", err)
		}
		checkValidUntil(t, l, start.Add(55*time.Second)) // unchanged
	})
}

func TestLeaseRenewLockLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lock := &stubLock{renewErrs: []error{fmt.Errorf("renew lock x: it was taken over: %w", checkpoint.ErrLockLost)}}
		l, _ := takeStubLease(t, lock, time.Minute, 0)
		time.Sleep(20 * time.Second)
		err := l.renew(t.Context())
		if !errors.Is(err, errLeaseLost) || !errors.Is(err, checkpoint.ErrLockLost) {
			t.Fatalf("renew() = %v, want errLeaseLost wrapping checkpoint.ErrLockLost", err)
		}
		if got := l.valid(); got != err {
			t.Errorf("valid() after the loss = %v, want the loss %v", got, err)
		}
		if l.heldUntilRelease() {
			t.Error("heldUntilRelease() = true after the loss, want false")
		}
		// Release after a loss: the lock is not this runner's to release.
		if got := l.release(t.Context()); got != err {
			t.Errorf("release() after the loss = %v, want the loss %v", got, err)
		}
		if _, releases := lock.counts(); releases != 0 {
			t.Errorf("Lock.Release called %d times after the loss, want 0", releases)
		}
		if l.heldUntilRelease() {
			t.Error("heldUntilRelease() = true after a lost lease was released, want false")
		}
	})
}

func TestLeaseRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lock := &stubLock{}
		l, _ := takeStubLease(t, lock, time.Minute, 0)
		for i := range 2 {
			if err := l.release(t.Context()); err != nil {
				t.Fatalf("release() #%d = %v, want nil", i+1, err)
			}
		}
		if _, releases := lock.counts(); releases != 1 {
			t.Errorf("Lock.Release called %d times, want 1", releases)
		}
		if err := l.valid(); !errors.Is(err, errLeaseLost) {
			t.Errorf("valid() after release = %v, want errLeaseLost", err)
		}
		if err := l.renew(t.Context()); !errors.Is(err, errLeaseLost) {
			t.Errorf("renew() after release = %v, want errLeaseLost", err)
		}
		if renews, _ := lock.counts(); renews != 0 {
			t.Errorf("Lock.Renew called %d times after release, want 0", renews)
		}
		if !l.heldUntilRelease() {
			t.Error("heldUntilRelease() = false after a release of a held lease, want true")
		}
	})
}

func TestLeaseReleaseDuringRenew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lock := &stubLock{renewTook: 2 * time.Second}
		l, _ := takeStubLease(t, lock, time.Minute, 0)
		renewed := make(chan error)
		go func() { renewed <- l.renew(t.Context()) }()
		time.Sleep(time.Second)
		if err := l.release(t.Context()); err != nil {
			t.Fatalf("release() = %v", err)
		}
		if err := <-renewed; !errors.Is(err, errLeaseLost) {
			t.Errorf("renew() that ended after release = %v, want errLeaseLost", err)
		}
		if err := l.valid(); !errors.Is(err, errLeaseLost) {
			t.Errorf("valid() after release = %v, want errLeaseLost (a renewal must not revive it)", err)
		}
	})
}

// keepRig runs lease.keep in a goroutine and records its lost calls and
// its log.
type keepRig struct {
	done   chan struct{}
	cancel context.CancelFunc

	mu   sync.Mutex
	lost []error
	log  bytes.Buffer
}

func (k *keepRig) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.log.Write(p)
}

func startKeep(t *testing.T, l *lease) *keepRig {
	t.Helper()
	k := &keepRig{done: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	k.cancel = cancel
	log := slog.New(slog.NewTextHandler(k, nil))
	go func() {
		defer close(k.done)
		l.keep(ctx, log, func(err error) {
			k.mu.Lock()
			defer k.mu.Unlock()
			k.lost = append(k.lost, err)
		})
	}()
	t.Cleanup(func() { cancel(); <-k.done })
	return k
}

// state returns, once the bubble is idle, whether keep has returned, the
// errors lost was called with, and the log.
func (k *keepRig) state() (returned bool, lost []error, log string) {
	synctest.Wait()
	select {
	case <-k.done:
		returned = true
	default:
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return returned, append([]error(nil), k.lost...), k.log.String()
}

func TestLeaseKeep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// ttl 30 s: keep renews every 10 s; each renewal holds the lease
		// for 27 s from its start.
		lostErr := fmt.Errorf("renew: %w", checkpoint.ErrLockLost)
		lock := &stubLock{renewErrs: []error{nil, errTransient, nil, lostErr}}
		l, _ := takeStubLease(t, lock, 30*time.Second, 0)
		k := startKeep(t, l)

		time.Sleep(29 * time.Second) // renewed at 10 s, failed at 20 s
		returned, lost, log := k.state()
		if !strings.Contains(log, "could not renew") || !strings.Contains(log, errTransient.Error()) {
			t.Errorf("log after a failed renewal = %q, want a warning with the error", log)
		}
		if err := l.valid(); err != nil || returned || len(lost) != 0 {
			t.Fatalf("at 29 s, renewed at 10 s (until 37 s), failed at 20 s: valid() = %v, keep returned %v, lost called with %v; want nil, running, no call",
				err, returned, lost)
		}
		time.Sleep(12 * time.Second) // past 40 s: the lock was lost
		returned, lost, _ = k.state()
		if !returned {
			t.Fatal("keep still runs after the lock was lost, want it to return")
		}
		if len(lost) != 1 || !errors.Is(lost[0], checkpoint.ErrLockLost) || !errors.Is(lost[0], errLeaseLost) {
			t.Fatalf("lost called with %v, want once with the loss", lost)
		}
		if renews, _ := lock.counts(); renews != 4 {
			t.Errorf("Lock.Renew called %d times, want 4 (at 10, 20, 30 and 40 s)", renews)
		}
		if got := l.valid(); got != lost[0] {
			t.Errorf("valid() = %v, want the loss", got)
		}
	})
}

func TestLeaseKeepUnrenewedLapses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Every renewal fails: the lease lapses at 27 s and keep reports
		// the loss at its next tick, 30 s, without asking the lock.
		lock := &stubLock{renewErrs: []error{errTransient, errTransient, errTransient, errTransient}}
		l, _ := takeStubLease(t, lock, 30*time.Second, 0)
		k := startKeep(t, l)
		time.Sleep(30*time.Second - time.Millisecond)
		if returned, lost, _ := k.state(); returned || len(lost) != 0 {
			t.Fatalf("keep returned %v with lost %v before 30 s, want it running", returned, lost)
		}
		time.Sleep(time.Millisecond)
		if returned, lost, _ := k.state(); !returned || len(lost) != 1 || !errors.Is(lost[0], errLeaseLost) {
			t.Fatalf("at 30 s keep returned %v, lost called with %v; want it returned after one call with errLeaseLost", returned, lost)
		}
		if renews, _ := lock.counts(); renews != 2 {
			t.Errorf("Lock.Renew called %d times, want 2 (at 10 and 20 s)", renews)
		}
	})
}

func TestLeaseKeepStopsWithCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lock := &stubLock{}
		l, _ := takeStubLease(t, lock, 30*time.Second, 0)
		k := startKeep(t, l)
		time.Sleep(25 * time.Second)
		k.cancel()
		if returned, lost, _ := k.state(); !returned || len(lost) != 0 {
			t.Fatalf("keep after its ctx ended: returned %v, lost %v; want returned, no loss", returned, lost)
		}
		if renews, _ := lock.counts(); renews != 2 {
			t.Errorf("Lock.Renew called %d times, want 2", renews)
		}
	})
}

func TestLeaseFileNeverLapsesByTime(t *testing.T) {
	// A flock cannot be taken over while this process lives: a File lease
	// holds however long it goes unrenewed, and ends only when the lock is
	// lost.
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "job.checkpoint")
		store := checkpoint.NewFile(path)
		l, err := takeLease(t.Context(), store, "me", 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(24 * time.Hour)
		if err := l.valid(); err != nil {
			t.Fatalf("valid() of a File lease a day later = %v, want nil", err)
		}
		if err := l.renew(t.Context()); err != nil {
			t.Fatalf("renew() = %v", err)
		}

		// Someone removes the lock file: the lock is lost.
		if err := os.Remove(path + ".lock"); err != nil {
			t.Fatal(err)
		}
		err = l.renew(t.Context())
		if !errors.Is(err, errLeaseLost) || !errors.Is(err, checkpoint.ErrLockLost) {
			t.Fatalf("renew() after the lock file was removed = %v, want errLeaseLost wrapping checkpoint.ErrLockLost", err)
		}
		if l.heldUntilRelease() {
			t.Error("heldUntilRelease() = true after the loss, want false")
		}
	})
}

func TestLeaseFileRelease(t *testing.T) {
	store := checkpoint.NewFile(filepath.Join(t.TempDir(), "job.checkpoint"))
	l, err := takeLease(t.Context(), store, "me", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := takeLease(t.Context(), store, "other", time.Minute); !errors.Is(err, checkpoint.ErrLocked) {
		t.Fatalf("takeLease() by a second runner = %v, want ErrLocked", err)
	}
	if err := l.release(t.Context()); err != nil {
		t.Fatalf("release() = %v", err)
	}
	if !l.heldUntilRelease() {
		t.Error("heldUntilRelease() = false, want true")
	}
	other, err := takeLease(t.Context(), store, "other", time.Minute)
	if err != nil {
		t.Fatalf("takeLease() after release = %v, want the lock", err)
	}
	if err := other.release(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseLapsesOnlyForStoresThatExpire(t *testing.T) {
	// With a ttl of 1 ns, any real acquisition takes longer than the
	// lease: an S3 lease has lapsed by the time takeLease returns, a File
	// lease has not.
	_, client := checkpointtest.FakeS3(t, "leases")
	tests := []struct {
		name      string
		store     checkpoint.Store
		wantLapse bool
	}{
		{"file", checkpoint.NewFile(filepath.Join(t.TempDir(), "job.checkpoint")), false},
		{"s3", checkpoint.NewS3(client, "leases", "job.checkpoint"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := takeLease(t.Context(), tt.store, "me", time.Nanosecond)
			if err != nil {
				t.Fatal(err)
			}
			defer l.release(t.Context())
			err = l.valid()
			if lapsed := errors.Is(err, errLeaseLost); lapsed != tt.wantLapse {
				t.Errorf("valid() of a %s lease older than its ttl = %v, want lapsed %v", tt.name, err, tt.wantLapse)
			}
		})
	}
}

func TestLeaseS3TakenOver(t *testing.T) {
	_, client := checkpointtest.FakeS3(t, "leases")
	const ttl = time.Minute
	first := checkpoint.NewS3(client, "leases", "job.checkpoint")
	l, err := takeLease(t.Context(), first, "first", ttl)
	if err != nil {
		t.Fatal(err)
	}
	// A second runner whose clock is past the first's lock expiry takes
	// the lock over.
	later := func() time.Time { return time.Now().Add(2 * ttl) }
	second := checkpoint.NewS3(client, "leases", "job.checkpoint")
	second.Now = later
	lock2, err := second.Lock(t.Context(), "second", ttl)
	if err != nil {
		t.Fatalf("Lock() by the second runner = %v", err)
	}

	err = l.renew(t.Context())
	if !errors.Is(err, errLeaseLost) || !errors.Is(err, checkpoint.ErrLockLost) {
		t.Fatalf("renew() after a takeover = %v, want errLeaseLost wrapping checkpoint.ErrLockLost", err)
	}
	if got := l.valid(); got != err {
		t.Errorf("valid() after the takeover = %v, want the loss %v", got, err)
	}
	if got := l.release(t.Context()); got != err {
		t.Errorf("release() after the takeover = %v, want the loss %v", got, err)
	}
	if l.heldUntilRelease() {
		t.Error("heldUntilRelease() = true after the takeover, want false")
	}
	// The second runner still holds its lock.
	if err := lock2.Renew(t.Context()); err != nil {
		t.Errorf("the second runner's Renew() after the first released = %v, want nil", err)
	}
	third := checkpoint.NewS3(client, "leases", "job.checkpoint")
	third.Now = later
	if _, err := third.Lock(t.Context(), "third", ttl); !errors.Is(err, checkpoint.ErrLocked) {
		t.Errorf("Lock() by a third runner = %v, want ErrLocked: the first runner must not release the second's lock", err)
	}
}
