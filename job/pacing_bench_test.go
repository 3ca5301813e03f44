package job

import (
	"flag"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// BenchmarkPacingSeesProduction measures pacing that sees production
// (--write-rps auto) in three scenarios of issue 11: 2,000 legacy users, a
// write quota of 25/s, --reserve 0.2, and CloudWatch periods compressed
// from a minute to pacingPeriod (published pacingLag after their end). The
// quota is a token bucket holding one second of calls (pacingBurst):
// Cognito documents no burst, and with a smaller bucket the benchmark
// measures the scheduling stalls of a loaded machine, which bunch the
// simulated production's calls and the job's arrivals (with 5 tokens and a
// load average of 15 on 2 cores, production saw a few throttles at 80% of
// the quota; on a quiet machine none). Simulated production
// calls the same quota as the job, starting at 40% of it before the run.
// Run it with
//
//	go test -run '^$' -bench PacingSeesProduction -benchtime 1x -timeout 30m ./job/
//
// It takes about ten minutes: the job runs at the real write quota.
func BenchmarkPacingSeesProduction(b *testing.B) {
	for _, sc := range pacingScenarios {
		b.Run(sc.name, func(b *testing.B) {
			for b.Loop() {
				res := runPacingScenario(b, *pacingUsers, sc.steps)
				sc.report(b, res)
			}
		})
	}
}

var pacingUsers = flag.Int("pacing.users", 2000, "users of BenchmarkPacingSeesProduction")

const (
	pacingQuota  = 25.0
	pacingBurst  = 25
	benchReserve = 0.2
	pacingPeriod = 2 * time.Second
	pacingLag    = 200 * time.Millisecond
	// pacingStepAt and pacingBackAt are when production changes, in
	// periods from the run's start.
	pacingStepAt = 15
	pacingBackAt = 30
)

// allowanceFor is what the job may take with production at share of the quota.
func allowanceFor(share float64) float64 {
	return math.Max(pacingQuota*(1-benchReserve)-share*pacingQuota, allowance.FloorShare*pacingQuota)
}

// prodStep sets production to share of the quota at period at of the run.
type prodStep struct {
	at    int
	share float64
}

var pacingScenarios = []struct {
	name   string
	steps  []prodStep
	report func(*testing.B, *pacingResult)
}{
	{"steady-40%", nil, func(b *testing.B, r *pacingResult) {
		want := allowanceFor(0.4)
		rate := r.ourRate(2, r.lastPeriod()-1)
		b.ReportMetric(rate, "useful-writes/s")
		b.ReportMetric(rate/want, "useful/allowance")
		b.ReportMetric(float64(r.prodThrottles(0, math.MaxInt)), "production-throttles")
		if rate < 0.85*want {
			b.Errorf("useful write rate %.2f/s, want ≥ 0.85 × %.2f", rate, want)
		}
	}},
	{"step-40%-55%", []prodStep{{pacingStepAt, 0.55}}, func(b *testing.B, r *pacingResult) {
		want := allowanceFor(0.55)
		settle := r.settle(pacingStepAt, want)
		b.ReportMetric(settle, "settle-periods")
		b.ReportMetric(r.ourRate(pacingStepAt+3, r.lastPeriod()-1), "useful-writes/s-after")
		b.ReportMetric(want, "allowance-after")
		b.ReportMetric(float64(r.prodThrottles(0, math.MaxInt)), "production-throttles")
		if n := r.prodThrottles(0, math.MaxInt); n != 0 || settle > 2 {
			b.Errorf("production throttled %d times, settled after %.2f periods; want 0 and ≤ 2", n, settle)
		}
	}},
	{"step-40%-75%-40%", []prodStep{{pacingStepAt, 0.75}, {pacingBackAt, 0.4}}, func(b *testing.B, r *pacingResult) {
		last := r.lastThrottledPeriod()
		stop := 0.0
		if last >= 0 {
			stop = float64(last + 1 - pacingStepAt) // periods from the step to the end of the last throttled one
		}
		recovered := r.ourRate(pacingBackAt+allowance.PeakPeriods+3, r.lastPeriod()-1)
		b.ReportMetric(float64(r.prodThrottles(0, math.MaxInt)), "production-throttles")
		b.ReportMetric(stop, "throttles-stop-periods")
		b.ReportMetric(float64(r.prodThrottles(pacingStepAt+2, math.MaxInt)), "throttles-after-2-periods")
		b.ReportMetric(r.ourRate(pacingStepAt+2, pacingBackAt), "useful-writes/s-during")
		b.ReportMetric(recovered, "useful-writes/s-recovered")
		if stop > 2 || recovered < 0.85*allowanceFor(0.4) {
			b.Errorf("production throttles stopped after %.0f periods (want ≤ 2); recovered rate %.2f/s (want ≥ %.2f)", stop, recovered, 0.85*allowanceFor(0.4))
		}
	}},
}

// pacingResult is what a scenario run observed.
type pacingResult struct {
	start   time.Time                 // the run's start, aligned on a period
	periods []cognitotest.UsagePeriod // write usage per period, from the fake
	limits  []limitSample             // the write limiter over time
}

type limitSample struct {
	at               time.Time
	current, allowed float64
}

// index returns the period number (from the run's start) of t.
func (r *pacingResult) index(t time.Time) int {
	return int(math.Floor(t.Sub(r.start).Seconds() / pacingPeriod.Seconds()))
}

func (r *pacingResult) lastPeriod() int { return r.index(r.periods[len(r.periods)-1].Start) }

// ourRate is the job's accepted writes per second over periods [from, to).
func (r *pacingResult) ourRate(from, to int) float64 {
	var n, k int
	for _, p := range r.periods {
		if i := r.index(p.Start); i >= from && i < to {
			n += p.Calls - p.Throttles
		}
	}
	k = to - from
	if k <= 0 {
		return 0
	}
	return float64(n) / (float64(k) * pacingPeriod.Seconds())
}

// prodThrottles counts production's throttled calls in periods [from, to).
func (r *pacingResult) prodThrottles(from, to int) int {
	var n int
	for _, p := range r.periods {
		if i := r.index(p.Start); i >= from && i < to {
			n += p.ProductionThrottles
		}
	}
	return n
}

func (r *pacingResult) lastThrottledPeriod() int {
	last := -1
	for _, p := range r.periods {
		if p.ProductionThrottles > 0 {
			last = r.index(p.Start)
		}
	}
	return last
}

// settle returns the periods from the start of period step until the write
// limiter's rate is at or under want for good, give or take one call per
// period: production's use is measured in whole calls per period, which a
// 2-second period turns into steps of 0.5/s (a real minute, 0.017/s).
func (r *pacingResult) settle(step int, want float64) float64 {
	at := r.start.Add(time.Duration(step) * pacingPeriod)
	settled := time.Time{}
	for _, s := range r.limits {
		if s.at.Before(at) {
			continue
		}
		if s.current > want+1/pacingPeriod.Seconds() {
			settled = time.Time{}
		} else if settled.IsZero() {
			settled = s.at
		}
	}
	if settled.IsZero() {
		return math.Inf(1)
	}
	return settled.Sub(at).Seconds() / pacingPeriod.Seconds()
}

// runPacingScenario runs the job with --write-rps auto while production
// follows steps, and returns what the fake and the progress saw.
func runPacingScenario(tb testing.TB, users int, steps []prodStep) *pacingResult {
	tb.Helper()
	srv := newSyntheticServer(tb, 1)
	srv.SetQuota(cognitotest.UserResourceUpdate, pacingQuota, pacingBurst)
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: pacingPeriod, Lag: pacingLag})
	// Production's use is in CloudWatch before the run, and goes on; the
	// run starts on a period boundary.
	srv.BackfillProduction(cognitotest.UserResourceUpdate, 0.4*pacingQuota, 5)
	srv.SetProduction(cognitotest.UserResourceUpdate, 0.4*pacingQuota)
	start := time.Now().Truncate(pacingPeriod).Add(pacingPeriod)
	time.Sleep(time.Until(start))
	res := &pacingResult{start: start}
	for _, s := range steps {
		t := time.AfterFunc(time.Until(start.Add(time.Duration(s.at)*pacingPeriod)), func() {
			srv.SetProduction(cognitotest.UserResourceUpdate, s.share*pacingQuota)
		})
		defer t.Stop()
	}
	var mu sync.Mutex
	cfg := benchConfig(writeBenchInput(tb, tb.TempDir(), users))
	cfg.ReadRPS, cfg.WriteRPS = 100, DefaultWriteRPS
	cfg.ProgressInterval = 100 * time.Millisecond
	cfg.Pacing = Pacing{AutoWrite: true, Reserve: benchReserve, Period: pacingPeriod}
	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{tb}, nil))
	}
	sum, err := Run(tb.Context(), cfg, Deps{
		Cognito: cognito.NewClient(srv.Config(), cfg.Retry), Store: checkpoint.NewFile(cfg.CheckpointLocation()),
		Host: "bench", Pacing: pacingSourcesFor(srv), Logger: logger,
		OnProgress: func(p Progress) {
			if f := p.Write.Pacing; f != nil {
				mu.Lock()
				res.limits = append(res.limits, limitSample{at: time.Now(), current: p.Write.Current, allowed: f.Allowed})
				mu.Unlock()
			}
		},
	})
	if err != nil {
		tb.Fatalf("Run() = %v, want success", err)
	}
	if sum.Outcomes["migrated"] != int64(users) {
		tb.Fatalf("outcomes = %v, want %d migrated", sum.Outcomes, users)
	}
	srv.SetProduction(cognitotest.UserResourceUpdate, 0)
	for _, p := range srv.Usage(cognitotest.UserResourceUpdate) {
		if !p.Start.Before(start) {
			res.periods = append(res.periods, p)
		}
	}
	if testing.Verbose() {
		for _, p := range res.periods {
			tb.Logf("period %3d: ours %3d (%d throttled), production %3d (%d throttled)", res.index(p.Start), p.Calls, p.Throttles, p.ProductionCalls, p.ProductionThrottles)
		}
	}
	return res
}

// testWriter writes log lines to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(p))
	return len(p), nil
}
