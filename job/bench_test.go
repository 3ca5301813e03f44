package job

// Benchmarks of rate control and performance. Each one runs the real job
// (Run) through the real SDK client over HTTP against the fake Cognito
// (cognitotest) with its quotas and latency switched on, on a fixed
// workload, and reports its figures with b.ReportMetric. Run them all, once
// each (about four minutes), with
//
//	go test -run '^$' -bench 'Adherence|SharedQuota|Overhead|Memory|Latency' -benchtime 1x ./job/
//
// Rates are scaled up from Cognito's real quotas so that each benchmark
// takes seconds, not hours; the ratios are what count.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// benchUserPrefix starts the names of synthetic users: u0000000, u0000001...
const benchUserPrefix = "u"

// benchUsers returns the user source of synthetic pools: every name of the
// form u<digits> is a confirmed user with a phone number. When the number
// is a multiple of writeEvery the user has legacy SMS MFA (the user the
// migration exists for: a read, then a write); otherwise SMS_MFA is already
// on (a read, no write).
func benchUsers(writeEvery int) func(string) (cognitotest.User, bool) {
	return func(name string) (cognitotest.User, bool) {
		digits, ok := strings.CutPrefix(name, benchUserPrefix)
		if !ok {
			return cognitotest.User{}, false
		}
		i, err := strconv.Atoi(digits)
		if err != nil {
			return cognitotest.User{}, false
		}
		u := cognitotest.User{
			Username:   name,
			Enabled:    true,
			Attributes: map[string]string{"phone_number": "+14155550123"},
			MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}},
		}
		if i%writeEvery != 0 {
			u.SMSEnabled, u.Preferred = true, cognitotest.SMSMFA
		}
		return u, true
	}
}

func benchUsername(i int) string { return fmt.Sprintf("%s%07d", benchUserPrefix, i) }

// newSyntheticServer starts a fake whose default pool generates
// benchUsers(writeEvery) users on demand, with request recording off so
// that its memory does not grow with the calls.
func newSyntheticServer(tb testing.TB, writeEvery int) *cognitotest.Server {
	tb.Helper()
	srv := cognitotest.NewServer()
	tb.Cleanup(srv.Close)
	srv.SetRecording(false)
	srv.SetUserSource(cognitotest.DefaultPoolID, benchUsers(writeEvery))
	return srv
}

// unmanagedSyntheticServer is newSyntheticServer without the cleanup: the
// caller closes it, and once it drops it the fake's users can be collected.
func unmanagedSyntheticServer(writeEvery int) *cognitotest.Server {
	srv := cognitotest.NewServer()
	srv.SetRecording(false)
	srv.SetUserSource(cognitotest.DefaultPoolID, benchUsers(writeEvery))
	return srv
}

// writeBenchInput writes a plain CSV of n synthetic usernames to dir.
func writeBenchInput(tb testing.TB, dir string, n int) string {
	tb.Helper()
	path := filepath.Join(dir, fmt.Sprintf("users-%d.csv", n))
	writeUsernames(tb, path, n, benchUsername)
	return path
}

// benchConfig returns the default configuration for input, with progress
// reported often enough to watch the limiters.
func benchConfig(input string) Config {
	cfg := DefaultConfig()
	cfg.UserPoolID = cognitotest.DefaultPoolID
	cfg.Input = input
	cfg.ProgressInterval = 250 * time.Millisecond
	return cfg
}

// runBench runs the job against srv with a local checkpoint and returns its
// summary; it fails tb unless the run completed.
func runBench(tb testing.TB, srv *cognitotest.Server, cfg Config, onProgress func(Progress)) *Summary {
	tb.Helper()
	sum, err := Run(tb.Context(), cfg, Deps{
		Cognito:    cognito.NewClient(srv.Config(), cfg.Retry),
		Store:      checkpoint.NewFile(cfg.CheckpointLocation()),
		OnProgress: onProgress,
		Host:       "bench",
	})
	if err != nil {
		tb.Fatalf("Run() = %v, want success", err)
	}
	return sum
}

// steadyRate returns the mean of the per-second counts of c, leaving out the
// first and the last second of the run (ramp-up and drain) and the seconds
// before and after it.
func steadyRate(srv *cognitotest.Server, c cognitotest.Category) float64 {
	ps := srv.PerSecond(c)
	first, last := -1, -1
	for i, n := range ps {
		if n > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if last-first < 2 {
		return 0
	}
	sum := 0
	for _, n := range ps[first+1 : last] {
		sum += n
	}
	return float64(sum) / float64(last-first-1)
}

// quotaBurst is the burst of the fake's token-bucket quotas in these
// benchmarks and in the quota tests: the calls of 100 ms at the quota's rate
// (at least 2). Cognito does not document its burst; a bucket of one token
// would throttle any two calls that the network or the scheduler brings
// closer together than 1/rate, which would measure the jitter of a loaded
// loopback instead of the client's pacing. The client's window guard still
// keeps every second at or under the rate.
func quotaBurst(rps float64) int { return max(2, int(rps/10)) }

// BenchmarkRateAdherence runs 3,000 legacy users with the read and write
// rates set exactly at the fake's quotas and 50 ms of latency: the writes
// bind. It reports the write rate while the job sends writes (from the first
// write's arrival at the fake to the last one's) divided by the configured
// rate (goal ≥ 0.97), the same over the whole run as the summary gives it
// (start-up, the first read and the last answer included), and the share of
// write attempts throttled (goal ≤ 1%).
func BenchmarkRateAdherence(b *testing.B) {
	const users, readRPS, writeRPS = 3000, 400.0, 200.0
	for b.Loop() {
		srv := newSyntheticServer(b, 1)
		srv.SetRecording(true) // arrival times of 6,000 requests
		srv.SetFaults("", cognitotest.Faults{Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Seed: 1})
		srv.SetQuota(cognitotest.UserRead, readRPS, quotaBurst(readRPS))
		srv.SetQuota(cognitotest.UserResourceUpdate, writeRPS, quotaBurst(writeRPS))
		cfg := benchConfig(writeBenchInput(b, b.TempDir(), users))
		cfg.ReadRPS, cfg.WriteRPS = readRPS, writeRPS
		sum := runBench(b, srv, cfg, nil)
		if sum.Outcomes["migrated"] != users || sum.Outcomes["failed"] != 0 {
			b.Fatalf("outcomes = %v, want %d migrated", sum.Outcomes, users)
		}
		writes := srv.Requests("AdminSetUserMFAPreference")
		sending := writes[len(writes)-1].Time.Sub(writes[0].Time).Seconds()
		st := srv.Stats("AdminSetUserMFAPreference")
		b.ReportMetric(float64(len(writes)-1)/sending/writeRPS, "achieved/configured")
		b.ReportMetric(sum.Rates["write"].Achieved/writeRPS, "whole-run/configured")
		b.ReportMetric(float64(st.Throttled)/float64(st.Received), "throttled-share")
	}
}

// BenchmarkSharedQuota runs legacy users configured at 100 writes/s (250
// reads/s) while the fake's quotas are 40% of that, as when production
// traffic takes the rest: the limiter must find the quota, stay under it and
// keep it used. It reports accepted write calls per second over the whole
// run divided by the quota (goal ≥ 0.9), the share of write attempts
// throttled (goal ≤ 5%), the failed users (goal 0) and the write limiter's
// cuts.
func BenchmarkSharedQuota(b *testing.B) {
	const users, readRPS, writeRPS, share = 2400, 250.0, 100.0, 0.4
	for b.Loop() {
		srv := newSyntheticServer(b, 1)
		srv.SetFaults("", cognitotest.Faults{Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Seed: 2})
		srv.SetQuota(cognitotest.UserRead, share*readRPS, quotaBurst(share*readRPS))
		srv.SetQuota(cognitotest.UserResourceUpdate, share*writeRPS, quotaBurst(share*writeRPS))
		cfg := benchConfig(writeBenchInput(b, b.TempDir(), users))
		cfg.ReadRPS, cfg.WriteRPS = readRPS, writeRPS
		sum := runBench(b, srv, cfg, nil)
		st := srv.Stats("AdminSetUserMFAPreference")
		accepted := float64(st.Received-st.Throttled) / sum.DurationSeconds
		b.ReportMetric(accepted/(share*writeRPS), "achieved/quota")
		b.ReportMetric(float64(st.Throttled)/float64(st.Received), "throttled-share")
		b.ReportMetric(float64(sum.Outcomes["failed"]), "failed")
		b.ReportMetric(float64(sum.Rates["write"].Cuts), "cuts")
		if sum.Outcomes["migrated"] != users {
			b.Fatalf("outcomes = %v, want %d migrated", sum.Outcomes, users)
		}
	}
}

// BenchmarkLatency checks the claim that a run with the default worker
// settings keeps its rates at 20 ms and at 300 ms of latency, with no
// tuning: Little's law sizes the pool. It runs at the default rates (40
// reads/s, 10 writes/s, a quarter of the users needing a write) and at
// Cognito's full default quotas (120 reads/s, 25 writes/s, a fifth of the
// users needing a write), so that both limiters bind at once, the hardest
// case for the pool. It reports users per second in steady state (the first
// and last second left out) and over the whole run, divided by the users
// per second the rates allow, and the median and largest numbers of users
// allowed in flight.
func BenchmarkLatency(b *testing.B) {
	for _, rates := range []struct {
		name              string
		readRPS, writeRPS float64
		writeEvery        int
	}{
		{"default", DefaultReadRPS, DefaultWriteRPS, 4},
		{"full-quota", QuotaUserRead, QuotaUserResourceUpdate, 5},
	} {
		for _, latency := range []time.Duration{20 * time.Millisecond, 300 * time.Millisecond} {
			b.Run(fmt.Sprintf("%s/%v", rates.name, latency), func(b *testing.B) {
				allowed := min(rates.readRPS, rates.writeRPS*float64(rates.writeEvery)) // users per second
				users := int(10 * allowed)                                              // about 10 s
				for b.Loop() {
					srv := newSyntheticServer(b, rates.writeEvery)
					srv.SetFaults("", cognitotest.Faults{Latency: latency, Jitter: latency / 5, Seed: 4})
					cfg := benchConfig(writeBenchInput(b, b.TempDir(), users))
					cfg.ReadRPS, cfg.WriteRPS = rates.readRPS, rates.writeRPS
					var inFlight []int64 // users allowed in flight, every 250 ms
					sum := runBench(b, srv, cfg, func(p Progress) {
						if !p.Final {
							inFlight = append(inFlight, p.MaxWorker)
						}
					})
					slices.Sort(inFlight)
					b.ReportMetric(steadyRate(srv, cognitotest.UserRead)/allowed, "steady/allowed")
					b.ReportMetric(float64(users)/sum.DurationSeconds/allowed, "whole-run/allowed")
					b.ReportMetric(float64(inFlight[len(inFlight)/2]), "median-in-flight")
					b.ReportMetric(float64(inFlight[len(inFlight)-1]), "most-in-flight")
				}
			})
		}
	}
}

// bareLoop makes the calls the job makes for each of n users (AdminGetUser,
// then AdminSetUserMFAPreference) from workers goroutines, with no limiter,
// checkpoint or report, and returns users per second.
func bareLoop(tb testing.TB, c *cip.Client, n, workers int) float64 {
	tb.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	pool := cognitotest.DefaultPoolID
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				name := benchUsername(int(i))
				if _, err := c.AdminGetUser(tb.Context(), &cip.AdminGetUserInput{UserPoolId: &pool, Username: &name}); err != nil {
					failed.Add(1)
					continue
				}
				if _, err := c.AdminSetUserMFAPreference(tb.Context(), &cip.AdminSetUserMFAPreferenceInput{
					UserPoolId: &pool, Username: &name,
					SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true},
				}); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if failed.Load() > 0 {
		tb.Fatalf("bare loop: %d calls failed", failed.Load())
	}
	return float64(n) / secs
}

// cpuCost is what a stretch of the process cost: CPU time (user + system,
// from getrusage) and heap allocations. The fake runs in the same process,
// so both sides of a comparison include its share.
type cpuCost struct {
	cpu           time.Duration
	allocs, bytes uint64
}

// measureCost runs f and returns its cost.
func measureCost(tb testing.TB, f func()) cpuCost {
	tb.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocs, bytes := ms.Mallocs, ms.TotalAlloc
	before := rusageCPU(tb)
	f()
	cpu := rusageCPU(tb) - before
	runtime.ReadMemStats(&ms)
	return cpuCost{cpu: cpu, allocs: ms.Mallocs - allocs, bytes: ms.TotalAlloc - bytes}
}

// rusageCPU returns the process's user and system CPU time so far.
func rusageCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// plainClient returns a Cognito client as a plain SDK loop would build it:
// cognitoidentityprovider.NewFromConfig with the SDK's defaults (its HTTP
// client, retryer and middleware stack), aimed at srv, without anything
// NewClient adds. Its HTTP client is the SDK's default type; dials counts
// the connections it opens.
func plainClient(srv *cognitotest.Server, dials *atomic.Int64) *cip.Client {
	cfg := srv.Config()
	cfg.APIOptions = nil // the fake's config installs the body race workaround
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dial(ctx, network, addr)
		}
	})
	return cip.NewFromConfig(cfg)
}

// BenchmarkOverhead compares the whole job (input scan, dispatcher, limiters
// and pacing middleware, workers, recorder, checkpoint saves, report and
// summary) with a plain loop of the same SDK calls through a plain SDK
// client (plainClient) at the same concurrency, against the same fake with
// no latency and no limits. Each side runs twice, alternately, on a fresh
// fake, and the better run of each counts, so that load from outside the
// benchmark weighs less. It reports both in users per second and their
// ratio (goal ≥ 0.8), and the CPU time, heap allocations and bytes
// allocated per Cognito call of each (the process's, the fake's share included) with the job's CPU per
// call over the plain loop's (goal ≤ 1.15). CPU time, unlike users per
// second, does not depend on how much of the machine the benchmark gets.
// plain-dials counts the connections the plain loop opened: the SDK's
// request body race (job/internal/bodyrace) closes some of them.
func BenchmarkOverhead(b *testing.B) {
	const users, workers = 20000, 8
	const calls = 2 * users // a read and a write per user
	for b.Loop() {
		in := writeBenchInput(b, b.TempDir(), users)
		var bare, job float64
		var bareCost, jobCost cpuCost
		var dials atomic.Int64
		better := func(best *cpuCost, c cpuCost) {
			if best.cpu == 0 || c.cpu < best.cpu {
				*best = c
			}
		}
		for range 2 {
			// Each side gets a fake of its own, closed and dropped before
			// the next one starts: a fake holds every user it changed, and
			// the live heap of a fake kept until the benchmark's cleanup
			// would make the next side's garbage collections dearer.
			srv := unmanagedSyntheticServer(1)
			c := plainClient(srv, &dials)
			better(&bareCost, measureCost(b, func() { bare = max(bare, bareLoop(b, c, users, workers)) }))
			srv.Close()

			srv = unmanagedSyntheticServer(1)
			cfg := benchConfig(in)
			cfg.ReadRPS, cfg.WriteRPS, cfg.Workers, cfg.Reset = 0, 0, workers, true
			var sum *Summary
			better(&jobCost, measureCost(b, func() {
				start := time.Now()
				sum = runBench(b, srv, cfg, nil)
				job = max(job, float64(users)/time.Since(start).Seconds())
			}))
			srv.Close()
			if sum.Outcomes["migrated"] != users {
				b.Fatalf("outcomes = %v, want %d migrated", sum.Outcomes, users)
			}
		}
		perCall := func(c cpuCost) (µs, allocs, kB float64) {
			return float64(c.cpu.Microseconds()) / calls, float64(c.allocs) / calls, float64(c.bytes) / 1e3 / calls
		}
		bareUS, bareAllocs, bareKB := perCall(bareCost)
		jobUS, jobAllocs, jobKB := perCall(jobCost)
		b.ReportMetric(bare, "bare-users/s")
		b.ReportMetric(job, "job-users/s")
		b.ReportMetric(job/bare, "overhead-ratio")
		b.ReportMetric(bareUS, "bare-cpu-µs/call")
		b.ReportMetric(jobUS, "job-cpu-µs/call")
		b.ReportMetric(jobUS/bareUS, "cpu-ratio")
		b.ReportMetric(bareAllocs, "bare-allocs/call")
		b.ReportMetric(jobAllocs, "job-allocs/call")
		b.ReportMetric(bareKB, "bare-kB/call")
		b.ReportMetric(jobKB, "job-kB/call")
		b.ReportMetric(float64(dials.Load())/2, "plain-dials")
	}
}

// writeBenchExport writes an export CSV (FormatExport) of n synthetic
// users in which every legacyEvery-th user has legacy SMS MFA and the others
// have none, so that the job reads only the former.
func writeBenchExport(tb testing.TB, dir string, n, legacyEvery int) string {
	tb.Helper()
	path := filepath.Join(dir, fmt.Sprintf("export-%d.csv", n))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	w, err := input.NewExportWriter(bw)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		rec := input.ExportRecord{Username: benchUsername(i), HasPhone: true, UserStatus: "CONFIRMED", Enabled: true}
		if i%legacyEvery == 0 {
			rec.MFAOptions = "SMS:phone_number"
		}
		if err := w.Write(rec); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// heapWatch samples the heap every few milliseconds until stopped and keeps
// the peaks of the heap in use (live and garbage not yet collected) and of
// the live heap the last GC found.
type heapWatch struct {
	stop       chan struct{}
	done       chan struct{}
	peak, live uint64
}

func watchHeap() *heapWatch {
	h := &heapWatch{stop: make(chan struct{}), done: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	go func() {
		defer close(h.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			h.peak = max(h.peak, samples[0].Value.Uint64())
			h.live = max(h.live, samples[1].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// Stop ends the sampling and returns the peaks in MB.
func (h *heapWatch) Stop() (peakMB, liveMB float64) {
	close(h.stop)
	<-h.done
	return float64(h.peak) / 1e6, float64(h.live) / 1e6
}

// BenchmarkMemory runs a dry run over generated export CSVs of 100,000 and
// 1,000,000 rows (every 20th user with legacy MFA, so read; the others
// recorded without a call) and reports the peak heap of each and their
// ratio (goal: within 20%, ratio ≤ 1.2). The heap includes the fake, which
// keeps nothing per call with recording off.
func BenchmarkMemory(b *testing.B) {
	const legacyEvery = 20
	for b.Loop() {
		var peak, live [2]float64
		for i, rows := range []int{100_000, 1_000_000} {
			srv := newSyntheticServer(b, 1)
			cfg := benchConfig(writeBenchExport(b, b.TempDir(), rows, legacyEvery))
			cfg.DryRun = true
			cfg.ReadRPS, cfg.Workers = 0, 16
			runtime.GC()
			h := watchHeap()
			sum := runBench(b, srv, cfg, nil)
			peak[i], live[i] = h.Stop()
			srv.Close()
			if sum.Done != int64(rows) {
				b.Fatalf("%d rows: done %d, want all", rows, sum.Done)
			}
			b.Logf("%d rows: peak heap %.1f MB, peak live heap %.1f MB, %.1f s", rows, peak[i], live[i], sum.DurationSeconds)
		}
		b.ReportMetric(peak[0], "peak-MB-100k")
		b.ReportMetric(peak[1], "peak-MB-1M")
		b.ReportMetric(peak[1]/peak[0], "peak-ratio")
		b.ReportMetric(live[0], "live-MB-100k")
		b.ReportMetric(live[1], "live-MB-1M")
		b.ReportMetric(live[1]/live[0], "live-ratio")
	}
}
