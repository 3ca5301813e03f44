package job

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// TestRunThrottlingStorm throttles a burst of write calls in the middle of a
// run, as Cognito does when production traffic takes the quota, and checks
// that the write limiter's rate goes down at once, comes back to the
// configured rate once the storm is over, logs each change once, and that
// no user ends failed. The run is stopped (as by a signal) as soon as the
// rate is back, so it lasts as long as the recovery does.
func TestRunThrottlingStorm(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("paced run that lasts as long as the recovery (about 15 s); not under -race")
	}
	const readRPS, writeRPS, stormCalls = 80.0, 40.0, 10
	e := newTestEnv(t, 3000) // more users than the run needs: it is stopped once the rate is back
	e.srv.SetRecording(false)
	e.srv.SetFaults("", cognitotest.Faults{Latency: 20 * time.Millisecond, Seed: 5})
	cfg := e.config()
	cfg.ReadRPS, cfg.WriteRPS = readRPS, writeRPS

	var logs syncBuffer
	d := e.deps(cfg)
	d.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var (
		stormAt            time.Duration // when the storm was sent; 0 before
		lowest             = writeRPS    // lowest write rate seen after it
		cuts               int64
		lowered, recovered bool
	)
	d.OnProgress = func(p Progress) {
		switch {
		case stormAt == 0 && p.Write.Achieved > 0 && p.Elapsed > time.Second:
			// A quarter second of throttled answers, once the run is going.
			stormAt = p.Elapsed
			e.srv.ThrottleNext("AdminSetUserMFAPreference", stormCalls)
		case stormAt > 0:
			lowest = min(lowest, p.Write.Current)
			cuts = p.Write.Cuts
			lowered = lowered || p.Write.Current < writeRPS
			if lowered && p.Write.Current == writeRPS && !recovered {
				recovered = true
				t.Logf("write rate back at %v/s %v after the storm; lowest %v/s, %d cuts", writeRPS, p.Elapsed-stormAt, lowest, cuts)
				stop()
			}
		}
	}
	sum, err := Run(ctx, cfg, d)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("Run() = %v, want ErrStopped (the test stops the run once the rate is back)", err)
	}
	if !recovered {
		t.Fatalf("the write rate never came back to %v/s after the storm (lowest %v/s, %d cuts)", writeRPS, lowest, cuts)
	}
	if lowest > writeRPS*pace.DecreaseFactor {
		t.Errorf("lowest write rate after the storm = %v/s, want at most %v/s (one cut)", lowest, writeRPS*pace.DecreaseFactor)
	}
	if st := e.srv.Stats("AdminSetUserMFAPreference"); st.Throttled < stormCalls {
		t.Errorf("the fake throttled %d write calls, want the %d of the storm", st.Throttled, stormCalls)
	}
	if sum.Outcomes["failed"] != 0 {
		t.Errorf("failed = %d after a throttling storm, want 0", sum.Outcomes["failed"])
	}
	if rs := sum.Rates["write"]; rs.Cuts != cuts || rs.Cuts < 1 || rs.Throttles < rs.Cuts {
		t.Errorf("summary write rates = %+v, want the %d cuts seen in progress and at least as many throttles", rs, cuts)
	}
	lowLogs := strings.Count(logs.String(), "rate lowered")
	backLogs := strings.Count(logs.String(), "rate back to the configured value")
	if int64(lowLogs) != cuts || backLogs != 1 {
		t.Errorf("logs have %d 'rate lowered' and %d 'rate back' lines, want one per cut (%d) and one", lowLogs, backLogs, cuts)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
