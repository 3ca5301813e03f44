package allowance

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/smithy-go"
)

// stubUsage serves fixed datapoints of one category, or an error.
type stubUsage struct {
	pts   func(start, end time.Time) []Point
	err   error
	calls int
}

func (s *stubUsage) Usage(_ context.Context, cats []string, start, end time.Time, _ time.Duration) (map[string][]Point, error) {
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	var out []Point
	for _, p := range s.pts(start, end) {
		if !p.Start.Before(start) && p.Start.Before(end) {
			out = append(out, p)
		}
	}
	return map[string][]Point{cats[0]: out}, nil
}

type stubQuotas struct {
	q   map[string]float64
	err error
}

func (s stubQuotas) Quotas(context.Context, []string) (map[string]float64, error) { return s.q, s.err }

type ceiling struct{ got []float64 }

func (c *ceiling) SetCeiling(rps float64) { c.got = append(c.got, rps) }
func (c *ceiling) last() float64 {
	if len(c.got) == 0 {
		return math.NaN()
	}
	return c.got[len(c.got)-1]
}

var t0 = time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)

// perPeriod returns datapoints every period from t0 with production's rate
// prod(start) per second and throttles thr(start), plus own calls (which
// the caller also records in Own).
func perPeriod(period time.Duration, prod func(time.Time) float64, thr func(time.Time) float64, own *Own) func(start, end time.Time) []Point {
	return func(start, end time.Time) []Point {
		var out []Point
		for s := t0; s.Before(end); s = s.Add(period) {
			calls, throttles := own.Count(s, s.Add(period))
			p := Point{Start: s, Calls: calls + prod(s)*period.Seconds(), Throttles: throttles}
			if thr != nil {
				p.Throttles += thr(s)
			}
			out = append(out, p)
		}
		return out
	}
}

type logs struct{ buf bytes.Buffer }

func (l *logs) logger() *slog.Logger { return slog.New(slog.NewTextHandler(&l.buf, nil)) }
func (l *logs) count(level string) int {
	return strings.Count(l.buf.String(), "level="+level)
}

func newTest(u Usage, q Quotas, lg *slog.Logger) (*Controller, *ceiling, *Own) {
	ceil, own := &ceiling{}, NewOwn(time.Minute)
	c := New(Config{
		Categories: []Category{{Name: "write", Resource: "UserResourceUpdate", Static: 10, Default: 25, Ceiling: ceil, Own: own}},
		Reserve:    0.2, Period: time.Minute, Usage: u, Quotas: q, Logger: lg,
	})
	return c, ceil, own
}

func TestAllowedIsQuotaLessReserveLessProductionsPeak(t *testing.T) {
	var l logs
	u := &stubUsage{}
	c, ceil, own := newTest(u, stubQuotas{q: map[string]float64{"UserResourceUpdate": 25}}, l.logger())
	// Our own 8 calls a second in every period: they must not count as
	// production's.
	for s := t0; s.Before(t0.Add(20 * time.Minute)); s = s.Add(time.Second) {
		for range 8 {
			own.Add(s, false)
		}
	}
	prod := func(s time.Time) float64 {
		if s.Sub(t0) >= 10*time.Minute && s.Sub(t0) < 11*time.Minute {
			return 12 // a one-minute peak
		}
		return 10
	}
	u.pts = perPeriod(time.Minute, prod, nil, own)
	c.readQuotas(t.Context())

	c.Step(t.Context(), t0.Add(5*time.Minute+time.Second))
	if got := ceil.last(); got != 10 { // 25 × 0.8 − 10
		t.Fatalf("ceiling with production at 10/s = %v, want 10", got)
	}
	f := c.Figures()[0]
	if f.Mode != ModeAuto || f.Quota != 25 || f.QuotaSource != "service-quotas" || f.Production != 10 || f.Reserve != 0.2 || f.Allowed != 10 {
		t.Errorf("Figures() = %+v", f)
	}
	// The peak counts for PeakPeriods periods, then production's lower
	// use frees the rate again.
	c.Step(t.Context(), t0.Add(11*time.Minute+time.Second))
	if got := ceil.last(); got != 8 {
		t.Errorf("ceiling after a 12/s peak = %v, want 8", got)
	}
	c.Step(t.Context(), t0.Add(15*time.Minute+time.Second))
	if got := ceil.last(); got != 8 {
		t.Errorf("ceiling 4 periods after the peak = %v, want 8 (the peak is still recent)", got)
	}
	c.Step(t.Context(), t0.Add(16*time.Minute+time.Second))
	if got := ceil.last(); got != 10 {
		t.Errorf("ceiling %d periods after the peak = %v, want 10", PeakPeriods, got)
	}
	if n := strings.Count(l.buf.String(), "pacing decision"); n != 3 {
		t.Errorf("logged %d pacing decisions for 3 changes:\n%s", n, l.buf.String())
	}
	if !strings.Contains(l.buf.String(), "production_rps=12") {
		t.Errorf("the decision log does not show production's use:\n%s", l.buf.String())
	}
}

func TestProductionThrottleCutsAtOnce(t *testing.T) {
	u := &stubUsage{}
	c, ceil, own := newTest(u, nil, nil)
	throttledAt := t0.Add(6 * time.Minute)
	u.pts = perPeriod(time.Minute, func(time.Time) float64 { return 5 }, func(s time.Time) float64 {
		if s.Equal(throttledAt) {
			return 3
		}
		return 0
	}, own)
	c.Step(t.Context(), t0.Add(6*time.Minute))
	if got := ceil.last(); got != 15 {
		t.Fatalf("ceiling before the throttle = %v, want 15", got)
	}
	// Our own throttles are ours: they cut nothing here (the limiter
	// handles them).
	own.Add(t0.Add(5*time.Minute+time.Second), true)
	c.Step(t.Context(), t0.Add(6*time.Minute+time.Second))
	if got := ceil.last(); got != 15 {
		t.Fatalf("ceiling after a throttle of ours = %v, want 15", got)
	}
	c.Step(t.Context(), t0.Add(7*time.Minute+time.Second))
	if got := ceil.last(); got != 15*CutFactor {
		t.Fatalf("ceiling after production was throttled = %v, want %v", got, 15*CutFactor)
	}
	if f := c.Figures()[0]; f.ProductionThrottles != 3 || !strings.Contains(f.Reason, "throttled") {
		t.Errorf("Figures() = %+v, want 3 production throttles and the reason", f)
	}
	// Held while the throttled period is recent, then released.
	c.Step(t.Context(), t0.Add(11*time.Minute+time.Second))
	if got := ceil.last(); got != 15*CutFactor {
		t.Errorf("ceiling 4 periods after = %v, want %v", got, 15*CutFactor)
	}
	c.Step(t.Context(), t0.Add(12*time.Minute+time.Second))
	if got := ceil.last(); got != 15 {
		t.Errorf("ceiling once the throttled period is old = %v, want 15", got)
	}
}

func TestLateAndMissingData(t *testing.T) {
	var l logs
	u := &stubUsage{}
	c, ceil, own := newTest(u, nil, l.logger())
	var lag time.Duration
	missing := map[time.Time]bool{}
	full := perPeriod(time.Minute, func(s time.Time) float64 {
		if s.Sub(t0) >= 8*time.Minute {
			return 14
		}
		return 10
	}, nil, own)
	u.pts = func(start, end time.Time) []Point {
		var out []Point
		for _, p := range full(start, end) {
			if !missing[p.Start] && !p.Start.Add(time.Minute+lag).After(end) {
				out = append(out, p)
			}
		}
		return out
	}
	// Data three periods late: the decision uses the newest periods there are.
	lag = 3 * time.Minute
	c.Step(t.Context(), t0.Add(9*time.Minute))
	if got := ceil.last(); got != 10 {
		t.Fatalf("ceiling with late data = %v, want 10", got)
	}
	// The late periods arrive: production's rise is seen.
	lag = 0
	c.Step(t.Context(), t0.Add(10*time.Minute))
	if got := ceil.last(); got != 6 {
		t.Fatalf("ceiling once late data arrived = %v, want 6", got)
	}
	// Missing periods are unknown, not zero: the recent peak stands.
	for s := t0.Add(10 * time.Minute); s.Before(t0.Add(13 * time.Minute)); s = s.Add(time.Minute) {
		missing[s] = true
	}
	c.Step(t.Context(), t0.Add(13*time.Minute))
	if got := ceil.last(); got != 6 {
		t.Errorf("ceiling with 3 missing periods = %v, want 6", got)
	}
	// No data for longer than StalePeriods: the static rate, one warning.
	for s := t0; s.Before(t0.Add(40 * time.Minute)); s = s.Add(time.Minute) {
		missing[s] = true
	}
	for k := range 3 {
		c.Step(t.Context(), t0.Add(time.Duration(30+k)*time.Minute))
	}
	if got, f := ceil.last(), c.Figures()[0]; got != 10 || f.Mode != ModeStatic {
		t.Errorf("ceiling without data = %v (%+v), want the static 10", got, f)
	}
	if n := l.count("WARN"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, l.buf.String())
	}
}

func TestFiveMinuteData(t *testing.T) {
	u := &stubUsage{}
	c, ceil, own := newTest(u, nil, nil)
	// 5-minute datapoints queried per minute: one point in five, each the
	// sum of five minutes (production 6/s, we 4/s).
	for s := t0; s.Before(t0.Add(30 * time.Minute)); s = s.Add(time.Second) {
		for range 4 {
			own.Add(s, false)
		}
	}
	u.pts = func(start, end time.Time) []Point {
		var out []Point
		for s := t0; !s.Add(5 * time.Minute).After(end); s = s.Add(5 * time.Minute) {
			calls, _ := own.Count(s, s.Add(5*time.Minute))
			out = append(out, Point{Start: s, Calls: calls + 6*300})
		}
		return out
	}
	c.Step(t.Context(), t0.Add(25*time.Minute))
	if got := ceil.last(); got != 14 { // 25 × 0.8 − 6
		t.Errorf("ceiling with 5-minute data = %v, want 14 (production 6/s, not 5× that)", got)
	}
	if f := c.Figures()[0]; f.Production != 6 {
		t.Errorf("production = %v/s, want 6", f.Production)
	}
}

func TestNoPermissionFallsBackWithOneWarning(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}
	t.Run("cloudwatch", func(t *testing.T) {
		var l logs
		u := &stubUsage{err: denied}
		c, ceil, _ := newTest(u, nil, l.logger())
		for k := range 5 {
			c.Step(t.Context(), t0.Add(time.Duration(k)*time.Minute))
		}
		if got, f := ceil.last(), c.Figures()[0]; got != 10 || f.Mode != ModeStatic {
			t.Errorf("ceiling = %v (%+v), want the static 10", got, f)
		}
		if u.calls != 1 {
			t.Errorf("CloudWatch was called %d times after a denial, want 1", u.calls)
		}
		if n := l.count("WARN"); n != 1 || !strings.Contains(l.buf.String(), "cloudwatch:GetMetricData") {
			t.Errorf("%d warnings, want 1 naming the permission:\n%s", n, l.buf.String())
		}
	})
	t.Run("servicequotas", func(t *testing.T) {
		var l logs
		u := &stubUsage{}
		c, ceil, own := newTest(u, stubQuotas{err: denied}, l.logger())
		u.pts = perPeriod(time.Minute, func(time.Time) float64 { return 4 }, nil, own)
		c.readQuotas(t.Context())
		c.Step(t.Context(), t0.Add(5*time.Minute))
		if got, f := ceil.last(), c.Figures()[0]; got != 16 || f.QuotaSource != "default" || f.Mode != ModeAuto {
			t.Errorf("ceiling = %v (%+v), want 16 from the documented quota", got, f)
		}
		if n := l.count("WARN"); n != 1 || !strings.Contains(l.buf.String(), "servicequotas:ListServiceQuotas") {
			t.Errorf("%d warnings, want 1 naming the permission:\n%s", n, l.buf.String())
		}
	})
}

func TestRunDecidesEveryPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &stubUsage{pts: func(time.Time, time.Time) []Point { return nil }}
		c, ceil, _ := newTest(u, nil, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		time.Sleep(3*time.Minute + 15*time.Second) // decisions at 0, then 1m12s, 2m12s, 3m12s
		synctest.Wait()
		cancel()
		<-done
		if u.calls != 4 || len(ceil.got) != 4 {
			t.Errorf("in 3 periods: %d queries, %d decisions; want 4 each (one at the start)", u.calls, len(ceil.got))
		}
	})
}

func TestTransientErrorKeepsTheLastDecision(t *testing.T) {
	u := &stubUsage{}
	c, ceil, own := newTest(u, nil, nil)
	u.pts = perPeriod(time.Minute, func(time.Time) float64 { return 2 }, nil, own)
	c.Step(t.Context(), t0.Add(5*time.Minute))
	u.err = errors.New("connection reset")
	c.Step(t.Context(), t0.Add(6*time.Minute))
	if got := ceil.last(); got != 18 || c.Figures()[0].Mode != ModeAuto {
		t.Errorf("ceiling after one failed query = %v, want the last decision 18", got)
	}
}

// hungUsage never answers: it returns when the call's context ends.
type hungUsage struct{}

func (hungUsage) Usage(ctx context.Context, _ []string, _, _ time.Time, _ time.Duration) (map[string][]Point, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestHungCloudWatchFallsBackAfterTheCallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l logs
		c, ceil, _ := newTest(hungUsage{}, nil, l.logger())
		start := time.Now()
		c.Start(t.Context())
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("the first decision took %v against a hung endpoint, want the 10s call timeout", d)
		}
		if got := ceil.last(); got != 10 || l.count("WARN") != 1 {
			t.Errorf("ceiling %v, %d warnings; want the static 10 and one warning:\n%s", got, l.count("WARN"), l.buf.String())
		}
		// A signal while starting cuts the wait short.
		c2, _, _ := newTest(hungUsage{}, nil, nil)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start = time.Now()
		c2.Start(ctx)
		if d := time.Since(start); d != time.Second {
			t.Errorf("Start with a context ending after 1s took %v", d)
		}
	})
}
