package job

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/jobtest"
)

// Tests of the whole job's pacing, under testing/synctest: the real SDK
// client, with its retryer and the pacing middleware, calls the fake's
// handler in process (inProcessHTTP) instead of over loopback, so that the
// whole run lives in a bubble and its clock is the bubble's. A call then
// arrives at the fake at the very instant the limiter let it go, and the
// rates the fake measures are exactly the rates the client sent, whatever
// the load on the machine. The figures on a real transport, with loopback
// and scheduler jitter, are measured by the benchmarks (bench_test.go).

// inProcessHTTP is an aws.HTTPClient that serves each request with the
// fake's handler in the calling goroutine, after a simulated network
// latency (in a bubble, on its clock).
type inProcessHTTP struct {
	h       http.Handler
	latency time.Duration // each way is half of it
	jitter  time.Duration // up to this much more, drawn at random
	// onRequest, when set, is called as each request is sent.
	onRequest func()

	mu  sync.Mutex
	rng *rand.Rand
}

func newInProcessHTTP(srv *cognitotest.Server, latency, jitter time.Duration, seed uint64) *inProcessHTTP {
	return &inProcessHTTP{h: srv.Handler(), latency: latency, jitter: jitter, rng: rand.New(rand.NewPCG(seed, 1))}
}

func (c *inProcessHTTP) delay() time.Duration {
	d := c.latency
	if c.jitter > 0 {
		c.mu.Lock()
		d += time.Duration(c.rng.Int64N(int64(c.jitter)))
		c.mu.Unlock()
	}
	return d / 2
}

// wait sleeps d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *inProcessHTTP) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if c.onRequest != nil {
		c.onRequest()
	}
	if err := wait(ctx, c.delay()); err != nil {
		return nil, err
	}
	sreq := req.Clone(ctx)
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, sreq)
	if req.Body != nil {
		req.Body.Close()
	}
	if err := wait(ctx, c.delay()); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// inProcessDeps returns the job's dependencies for a run against e's fake
// through an inProcessHTTP client.
func (e *testEnv) inProcessDeps(cfg Config, hc *inProcessHTTP) Deps {
	c := e.srv.Config()
	c.HTTPClient = hc
	return Deps{
		Cognito: cognito.NewClient(c, cfg.Retry),
		Store:   checkpoint.NewFile(cfg.CheckpointLocation()),
		Host:    "test",
	}
}

// TestRunRespectsRates runs 300 users of every kind at 100 reads/s and 60
// writes/s with 5 ms of latency, and checks that no second of the run (any
// one-second window) holds more calls of a category than its rate, that
// every user ends with the outcome and the MFA state the decision table
// wants, and that the rates bind (the run lasts as long as they say).
func TestRunRespectsRates(t *testing.T) {
	e := newTestEnv(t, 300) // outside the bubble: the fake's listener is not used
	before := snapshotUsers(e.srv)
	synctest.Test(t, func(t *testing.T) {
		e.srv.ResetStats() // the bubble's clock from here on
		cfg := e.config()
		cfg.ReadRPS, cfg.WriteRPS = 100, 60
		start := time.Now()
		sum, err := Run(t.Context(), cfg, e.inProcessDeps(cfg, newInProcessHTTP(e.srv, 5*time.Millisecond, 0, 1)))
		if err != nil {
			t.Fatalf("Run() = %v, want success", err)
		}
		elapsed := time.Since(start)
		for _, c := range []struct {
			cat  cognitotest.Category
			op   string
			rate float64
		}{{cognitotest.UserRead, "AdminGetUser", cfg.ReadRPS}, {cognitotest.UserResourceUpdate, "AdminSetUserMFAPreference", cfg.WriteRPS}} {
			got := e.srv.MaxInWindow(c.cat, time.Second)
			if float64(got) > c.rate {
				t.Errorf("%s: %d calls in one second, want at most %v", c.cat, got, c.rate)
			}
			// The rate binds: a run of n calls at r/s lasts about n/r s.
			if n := e.srv.Calls(c.op); elapsed.Seconds() < float64(n-1)/c.rate*0.9 {
				t.Errorf("%s: %d calls in %v, faster than %v/s allows", c.cat, n, elapsed, c.rate)
			}
		}
		if sum.Outcomes["failed"] != 0 || sum.Remaining != 0 {
			t.Errorf("outcomes = %v, remaining %d; want none failed or remaining", sum.Outcomes, sum.Remaining)
		}
		got := outcomesByUser(t, cfg.ReportLocation())
		for _, s := range e.seeds {
			if want := jobtest.For(s).Outcome; got[s.User.Username] != want {
				t.Errorf("%s (%s): outcome %q, want %q", s.User.Username, s.Kind, got[s.User.Username], want)
			}
		}
		e.checkFinalStates(t, before)
	})
}

// TestRunQuotaExact runs 3,000 users with the fake's quotas set exactly at
// the configured rates, per category, with 20 ms of latency and 10 ms of
// jitter, and checks that no second of the run holds more calls of a
// category than its quota allows and that nothing was throttled: the
// client's pacing, not the quota, keeps the run in bounds. The quotas are
// token buckets of quotaBurst tokens, as in the benchmarks.
func TestRunQuotaExact(t *testing.T) {
	const readRPS, writeRPS = 400.0, 250.0
	e := newTestEnv(t, 3000)
	e.srv.SetRecording(false)
	synctest.Test(t, func(t *testing.T) {
		e.srv.ResetStats()
		e.srv.SetQuota(cognitotest.UserRead, readRPS, quotaBurst(readRPS))
		e.srv.SetQuota(cognitotest.UserResourceUpdate, writeRPS, quotaBurst(writeRPS))
		cfg := e.config()
		cfg.ReadRPS, cfg.WriteRPS = readRPS, writeRPS
		sum, err := Run(t.Context(), cfg, e.inProcessDeps(cfg, newInProcessHTTP(e.srv, 20*time.Millisecond, 10*time.Millisecond, 3)))
		if err != nil {
			t.Fatalf("Run() = %v, want success", err)
		}
		if sum.Outcomes["failed"] != 0 || sum.Remaining != 0 {
			t.Errorf("outcomes = %v, remaining %d; want none failed or remaining", sum.Outcomes, sum.Remaining)
		}
		for _, c := range []struct {
			cat  cognitotest.Category
			op   string
			rate float64
		}{
			{cognitotest.UserRead, "AdminGetUser", readRPS},
			{cognitotest.UserResourceUpdate, "AdminSetUserMFAPreference", writeRPS},
		} {
			per := e.srv.PerSecond(c.cat)
			for i, n := range per {
				if float64(n) > c.rate {
					t.Errorf("%s: second %d of the run had %d calls, want at most the quota %v (all seconds: %v)", c.cat, i, n, c.rate, per)
				}
			}
			if st := e.srv.Stats(c.op); st.Throttled != 0 {
				t.Errorf("%s: %d of %d calls throttled, want none", c.op, st.Throttled, st.Received)
			}
		}
	})
}
