package job

import (
	"context"
	"sync"
	"time"
)

// stopper decides how a run ends and when: the reason and error it ends
// with, the cancellation of the dispatcher and of the calls in flight, and
// the stop budget. Every goroutine of a run may call stop; it is safe for
// concurrent use.
//
// The first reason wins, with one exception: a fatal or max-failures stop
// overrides a graceful one (a signal, --max-duration, --max-users,
// persistent throttling), because its error is what the operator must see:
// credentials that expire while the calls in flight drain after a signal
// end the run with exit 1 and the credentials' fix, not with exit 4.
//
// A graceful stop stops dispatching at once and gives the calls in flight
// half of the budget; a fatal one cancels them at once. The budget runs
// from the first stop: after the drain come the final save, the release of
// the lock, and the report and summary if time is left (see deadline).
type stopper struct {
	budget         time.Duration
	cancelDispatch context.CancelFunc
	cancelCalls    context.CancelFunc
	onFirst        func(reason string, drain time.Duration) // logs the stop; called once, without the lock held

	mu     sync.Mutex
	reason string
	err    error
	at     time.Time   // the first stop
	timer  *time.Timer // cancels the calls in flight when the drain's share of the budget is spent
}

// newStopper returns a stopper with the given budget. cancelDispatch and
// cancelCalls must not be nil; onFirst may be.
func newStopper(budget time.Duration, cancelDispatch, cancelCalls context.CancelFunc, onFirst func(string, time.Duration)) *stopper {
	return &stopper{budget: budget, cancelDispatch: cancelDispatch, cancelCalls: cancelCalls, onFirst: onFirst}
}

// drain is the share of the budget the calls in flight get.
func (s *stopper) drain() time.Duration { return s.budget / 2 }

// stop asks the run to stop for reason, with err saying why when it is not
// simply asked to. See the type's documentation for which reason wins.
func (s *stopper) stop(reason string, err error) {
	hard := !resumable(reason)
	s.mu.Lock()
	first := s.reason == ""
	switch {
	case first:
		s.reason, s.err, s.at = reason, err, time.Now()
	case hard && resumable(s.reason):
		s.reason, s.err = reason, err // the budget still runs from the first stop
	default:
		s.mu.Unlock()
		return
	}
	s.cancelDispatch()
	switch {
	case hard:
		if s.timer != nil {
			s.timer.Stop()
		}
		s.cancelCalls()
	case first:
		s.timer = time.AfterFunc(s.drain(), s.cancelCalls)
	}
	s.mu.Unlock()
	if first && s.onFirst != nil {
		s.onFirst(reason, s.drain())
	}
}

// stopped returns the reason and error of the stop, or "" and nil while
// the run goes on.
func (s *stopper) stopped() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason, s.err
}

// deadline returns when the stop budget ends: the first stop plus the
// budget. ok is false while no stop was asked for: a run that completes has
// no deadline.
func (s *stopper) deadline() (t time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason == "" {
		return time.Time{}, false
	}
	return s.at.Add(s.budget), true
}

// close releases the stopper's timer. The stopper must not be used after.
func (s *stopper) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
	}
}
