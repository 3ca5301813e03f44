package job

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
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
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
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
	in := resumeBenchInput(b, dir, resumeBenchRows)
	srv := cognitotest.NewServer()
	b.Cleanup(srv.Close)
	srv.SetRecording(false)
	srv.SetUserSource(cognitotest.DefaultPoolID, resumeBenchUser)

	cfg := DefaultConfig()
	cfg.UserPoolID, cfg.Input, cfg.TempDir = cognitotest.DefaultPoolID, in, dir
	cfg.ReadRPS, cfg.WriteRPS = 0, 0
	cfg.ShutdownTimeout = 10 * time.Second
	cp := cfg.CheckpointLocation()
	half := resumeBenchCheckpoint(b, cfg, resumeBenchRows/2)
	full := resumeBenchCheckpoint(b, cfg, resumeBenchRows)

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

// resumeBenchInput writes a CSV of n distinct usernames.
func resumeBenchInput(b *testing.B, dir string, n int) string {
	b.Helper()
	path := filepath.Join(dir, "users.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "username")
	for i := range n {
		fmt.Fprintf(w, "resume-user-%07d\n", i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
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

// resumeBenchCheckpoint returns the encoded checkpoint of cfg's job with
// its first done rows migrated, as a run that stopped there leaves it.
func resumeBenchCheckpoint(b *testing.B, cfg Config, done int) []byte {
	b.Helper()
	open, err := Files{}.Opener(context.Background(), cfg.Input)
	if err != nil {
		b.Fatal(err)
	}
	scan, err := input.ScanInput(context.Background(), open.Open, cfg.Input, input.Options{}, cfg.TempDir)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	st := &checkpoint.State{
		Identity: checkpoint.Identity{PoolID: cfg.UserPoolID, InputSHA256: scan.SHA256, Mode: cfg.Mode(), Flags: cfg.identityFlags()},
		Rows:     make([]uint32, scan.Rows),
		Notes:    map[int]string{},
		Stats:    map[string]int64{},
		Runs:     []checkpoint.Run{{ID: "earlier", Started: now.Add(-time.Hour), Ended: now, Reason: StopSignal, Processed: int64(done)}},
		Created:  now.Add(-time.Hour),
		Updated:  now,
	}
	// Done rows as a real pool leaves them: mixed outcomes, states and
	// phone numbers (the phone's last digits are what makes a checkpoint
	// incompressible).
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int64{outcomePending.String(): int64(scan.Rows - done)}
	for i := range done {
		st.Rows[i] = resumeBenchRow(rng)
		counts[rowOutcome(st.Rows[i]).String()]++
	}
	st.Counts = counts
	data, err := st.Encode()
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// resumeBenchRow returns the checkpoint word of a done row drawn from a
// realistic mix of outcomes.
func resumeBenchRow(rng *rand.Rand) uint32 {
	s := userState{Found: true, Enabled: rng.IntN(20) != 0, LegacySMS: true,
		Phone: fmt.Sprintf("+1%03d555%04d", 200+rng.IntN(700), rng.IntN(10000))}
	switch r := rng.IntN(100); {
	case r < 70:
		return encodeRow(outcomeMigrated, &s)
	case r < 80:
		s.SMS, s.Preferred = true, mfaSMS
		return encodeRow(outcomeAlreadyMigrated, &s)
	case r < 88:
		s.LegacySMS = false
		return encodeRow(outcomeNoLegacyMFA, &s)
	case r < 93:
		s.Phone = ""
		return encodeRow(outcomeNoPhone, &s)
	case r < 97:
		return encodeRow(outcomeRejected, &s)
	default:
		return encodeRow(outcomeNotFound, &userState{})
	}
}
