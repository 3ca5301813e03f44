package job

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// resumeBenchRows is the size of the job BenchmarkResume resumes.
const resumeBenchRows = 1_000_000

// BenchmarkResume measures what resuming a 1,000,000-row job whose first
// half is done costs before the first new Cognito call: scanning the CSV
// (SHA-256, duplicates), loading and checking the checkpoint, saving the run
// start, and skipping the 500,000 done rows. It reports:
//
//   - s-to-first-call: from Run's start to its first AdminGetUser;
//   - peak-heap-MB: the largest heap (live and unswept objects) seen while
//     Run ran, above the heap before it started;
//   - checkpoint-KB: the size of the half-done checkpoint, and
//     done-checkpoint-KB that of the same job finished.
//
// Each iteration stops the run right after its first call (a graceful stop:
// the call finishes, the checkpoint is saved, the 1,000,000-line report is
// written), so ns/op is the whole short run.
//
//	go test ./job -run '^$' -bench BenchmarkResume -benchtime 3x
func BenchmarkResume(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "users.csv")
	sum := writeUsernames(b, in, resumeBenchRows, func(i int) string { return fmt.Sprintf("resume-user-%07d", i) })
	srv := cognitotest.NewServer()
	b.Cleanup(srv.Close)
	srv.SetRecording(false)
	srv.SetUserSource(cognitotest.DefaultPoolID, resumeBenchUser)

	cfg := DefaultConfig()
	cfg.UserPoolID, cfg.Input, cfg.TempDir = cognitotest.DefaultPoolID, in, dir
	cfg.ReadRPS, cfg.WriteRPS = 0, 0
	cfg.ShutdownTimeout = 10 * time.Second
	cp := cfg.CheckpointLocation()
	half := doneCheckpoint(b, cfg, sum, resumeBenchRows, resumeBenchRows/2, StopSignal, 1)
	full := doneCheckpoint(b, cfg, sum, resumeBenchRows, resumeBenchRows, StopSignal, 1)

	var toFirst time.Duration
	var peak uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := os.WriteFile(cp, half, 0o600); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		base := heapBytes()
		b.StartTimer()

		ctx, cancel := context.WithCancel(context.Background())
		api := &firstCall{API: cognito.NewClient(srv.Config(), cfg.Retry), first: cancel}
		stopSampling := sampleHeap(&peak, base)
		start := time.Now()
		sum, err := Run(ctx, cfg, Deps{Cognito: api, Store: checkpoint.NewFile(cp)})
		stopSampling()
		cancel()
		if ExitCode(err) != 4 || sum == nil {
			b.Fatalf("Run = %v, want a stop (exit 4)", err)
		}
		at := api.at.Load()
		if at == nil {
			b.Fatal("Run made no Cognito call")
		}
		toFirst += at.Sub(start)
		if got := sum.Done; got < resumeBenchRows/2 || got > resumeBenchRows/2+int64(cfg.Workers) {
			b.Fatalf("rows done after the stop = %d, want %d plus at most the users in flight", got, resumeBenchRows/2)
		}
	}
	b.ReportMetric(toFirst.Seconds()/float64(b.N), "s-to-first-call")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(len(half))/1024, "checkpoint-KB")
	b.ReportMetric(float64(len(full))/1024, "done-checkpoint-KB")
}

// firstCall is the Cognito client of BenchmarkResume: it records when the
// first call is made and then calls first (which stops the run).
type firstCall struct {
	cognito.API
	at    atomic.Pointer[time.Time]
	once  sync.Once
	first func()
}

func (f *firstCall) AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	f.once.Do(func() {
		now := time.Now()
		f.at.Store(&now)
		f.first()
	})
	return f.API.AdminGetUser(ctx, in, optFns...)
}

// heapMetric is the runtime/metrics name of the bytes in heap objects, live
// or not yet swept.
const heapMetric = "/memory/classes/heap/objects:bytes"

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap samples the heap every millisecond until the returned function
// is called, and raises *peak to the largest value seen above base.
func sampleHeap(peak *uint64, base uint64) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if h := heapBytes(); h > base && h-base > *peak {
				*peak = h - base
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// resumeBenchUser is the synthetic pool of BenchmarkResume: every name is a
// user with legacy SMS MFA.
func resumeBenchUser(name string) (cognitotest.User, bool) {
	return cognitotest.User{
		Username:   name,
		Enabled:    true,
		Attributes: map[string]string{"phone_number": "+12065550100", "phone_number_verified": "true"},
		MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}},
	}, true
}
