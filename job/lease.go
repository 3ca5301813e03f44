package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
)

// errLeaseLost means this runner may no longer act on the job: its lock
// was taken over or removed, or it went unrenewed past its lifetime (the
// process was frozen or cut off), so another runner may hold it now.
var errLeaseLost = errors.New("this runner no longer holds the checkpoint lock")

// lease is this runner's hold on the checkpoint lock as this process knows
// it: the lock, and the moment after which another runner may have taken it
// over. That moment is when the last successful acquire or renewal began,
// plus the lock's lifetime, less a margin for the clocks of other hosts; it
// is measured on the monotonic clock, which keeps running while the
// process is stopped (SIGSTOP) or starved. Before each Cognito write, save,
// report and summary the runner checks valid, so that a runner frozen past
// its TTL and then resumed sends nothing it had queued.
//
// A file lock (flock) cannot be taken over while the process lives: its
// lease lapses only when the lock is lost. A lease is safe for concurrent
// use.
type lease struct {
	lock    checkpoint.Lock
	name    string // the checkpoint, for messages
	ttl     time.Duration
	expires bool // false for a lock that cannot be taken over while held

	mu       sync.Mutex
	until    time.Time // valid before this instant (monotonic)
	lost     error     // why the lease ended, once it has
	released bool
}

// leaseMargin is how long before the lock's own expiry the lease ends: the
// other runner judges expiry by its own clock.
func leaseMargin(ttl time.Duration) time.Duration { return min(ttl/10, 5*time.Second) }

// takeLease takes the lock of store for owner.
func takeLease(ctx context.Context, store checkpoint.Store, owner string, ttl time.Duration) (*lease, error) {
	start := time.Now()
	lock, err := store.Lock(ctx, owner, ttl)
	if err != nil {
		return nil, err
	}
	_, isFile := store.(*checkpoint.File)
	return &lease{lock: lock, name: store.String(), ttl: ttl, expires: !isFile, until: start.Add(ttl - leaseMargin(ttl))}, nil
}

// valid returns nil while the lease holds, else an error wrapping
// errLeaseLost that says why.
func (l *lease) valid() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.lost != nil:
		return l.lost
	case l.released:
		return fmt.Errorf("%w: it was released", errLeaseLost)
	case l.expires && !time.Now().Before(l.until):
		l.lost = fmt.Errorf("%w: it went unrenewed for longer than --lock-ttl %s (was the process frozen or cut off?), so another runner may have taken %s over",
			errLeaseLost, l.ttl, l.name)
		return l.lost
	}
	return nil
}

// renew renews the lock once. It returns an error wrapping errLeaseLost if
// the lease is gone (released, expired here, or taken over); other errors
// leave the lease as it was, to be retried.
func (l *lease) renew(ctx context.Context) error {
	if err := l.valid(); err != nil {
		return err
	}
	start := time.Now()
	err := l.lock.Renew(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.released:
		return fmt.Errorf("%w: it was released", errLeaseLost)
	case errors.Is(err, checkpoint.ErrLockLost):
		l.lost = fmt.Errorf("%w: %w", errLeaseLost, err)
		return l.lost
	case err != nil:
		return err
	}
	l.until = start.Add(l.ttl - leaseMargin(l.ttl))
	return nil
}

// keep renews the lease at a third of its lifetime until ctx ends, and
// calls lost once if the lease ends.
func (l *lease) keep(ctx context.Context, log *slog.Logger, lost func(error)) {
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := l.renew(ctx)
		switch {
		case err == nil, ctx.Err() != nil:
		case errors.Is(err, errLeaseLost):
			lost(err)
			return
		default:
			log.Warn("could not renew the checkpoint lock; will retry", "checkpoint", l.name, "error", err)
		}
	}
}

// release gives the lock up; from then on the lease is not valid. It
// returns the error that ended the lease if it had ended before (the lock
// is then not this runner's to release) or the error of the release.
func (l *lease) release(ctx context.Context) error {
	lost := l.valid()
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	if lost != nil {
		return lost
	}
	return l.lock.Release(ctx)
}

// heldUntilRelease reports whether the lease held until it was released:
// the outputs of a runner whose lease was lost are not written.
func (l *lease) heldUntilRelease() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost == nil
}
