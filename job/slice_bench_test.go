package job

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// sliceBenchRows is the size of the job BenchmarkSlice works on.
const sliceBenchRows = 5_000_000

// BenchmarkSlice measures what one short slice of a 5,000,000-row job costs
// outside its Cognito calls: a run with --max-users 1000 and limits off,
// resuming a checkpoint whose first half is done (so the slice also skips
// 2.5M done rows). It reports:
//
//   - s-outside-calls: the slice's wall time less the span from its first
//     Cognito call to the end of its last (the calls themselves run back to
//     back in between), for slices after the first (the scan is cached);
//
//   - first-slice-s-outside-calls: the same for the first slice of the job
//     on this machine, which scans the input and stores the scan;
//
//   - s-in-calls: the span of the 1,000 users' calls.
//
//     go test ./job -run '^$' -bench BenchmarkSlice -benchtime 3x -timeout 30m
func BenchmarkSlice(b *testing.B) {
	dir := b.TempDir()
	in, sum := sliceBenchInput(b, dir, sliceBenchRows)
	cfg := DefaultConfig()
	cfg.UserPoolID, cfg.Input, cfg.TempDir = cognitotest.DefaultPoolID, in, dir
	cfg.ReadRPS, cfg.WriteRPS = 0, 0
	cfg.MaxUsers = 1000
	cp := cfg.CheckpointLocation()
	half := sliceBenchCheckpoint(b, cfg, sum, sliceBenchRows, sliceBenchRows/2)

	slice := func() (outside, in time.Duration) {
		b.Helper()
		if err := os.WriteFile(cp, half, 0o600); err != nil {
			b.Fatal(err)
		}
		// A new fake each time: every slice's users need a write, as they
		// do in a real job (a fake's migrated users would read
		// already_migrated the next time).
		srv := cognitotest.NewServer()
		defer srv.Close()
		srv.SetRecording(false)
		srv.SetUserSource(cognitotest.DefaultPoolID, resumeBenchUser)
		api := &callSpan{API: cognito.NewClient(srv.Config(), cfg.Retry)}
		start := time.Now()
		s, err := Run(context.Background(), cfg, Deps{Cognito: api, Store: checkpoint.NewFile(cp)})
		wall := time.Since(start)
		if ExitCode(err) != 4 || s == nil || s.ThisRun.Outcomes[outcomeMigrated.String()] != 1000 {
			b.Fatalf("Run = %v, %+v; want a slice of 1000 migrated users (exit 4)", err, s)
		}
		span := api.last.Sub(api.first)
		return wall - span, span
	}
	first, _ := slice()
	var outside, calls time.Duration
	b.ResetTimer()
	for range b.N {
		o, c := slice()
		outside += o
		calls += c
	}
	b.ReportMetric(outside.Seconds()/float64(b.N), "s-outside-calls")
	b.ReportMetric(calls.Seconds()/float64(b.N), "s-in-calls")
	b.ReportMetric(first.Seconds(), "first-slice-s-outside-calls")
}

// callSpan records when the first Cognito call of a run started and when
// the last one ended.
type callSpan struct {
	cognito.API
	mu          sync.Mutex
	first, last time.Time
}

func (c *callSpan) begin() {
	c.mu.Lock()
	if c.first.IsZero() {
		c.first = time.Now()
	}
	c.mu.Unlock()
}

func (c *callSpan) end() {
	c.mu.Lock()
	c.last = time.Now()
	c.mu.Unlock()
}

func (c *callSpan) AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	c.begin()
	defer c.end()
	return c.API.AdminGetUser(ctx, in, optFns...)
}

func (c *callSpan) AdminSetUserMFAPreference(ctx context.Context, in *cip.AdminSetUserMFAPreferenceInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserMFAPreferenceOutput, error) {
	c.begin()
	defer c.end()
	return c.API.AdminSetUserMFAPreference(ctx, in, optFns...)
}

// sliceBenchInput writes a CSV of n distinct usernames and returns its path
// and SHA-256.
func sliceBenchInput(b *testing.B, dir string, n int) (string, string) {
	b.Helper()
	path := filepath.Join(dir, "users.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	fmt.Fprintln(w, "username")
	for i := range n {
		fmt.Fprintf(w, "slice-user-%07d\n", i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

// sliceBenchCheckpoint returns the encoded checkpoint of cfg's job of rows
// rows (input SHA-256 sum) with its first done rows finished.
func sliceBenchCheckpoint(b *testing.B, cfg Config, sum string, rows, done int) []byte {
	b.Helper()
	now := time.Now().UTC()
	st := &checkpoint.State{
		Identity: checkpoint.Identity{PoolID: cfg.UserPoolID, InputSHA256: sum, Mode: cfg.Mode(), Flags: cfg.identityFlags()},
		Rows:     make([]uint32, rows),
		Notes:    map[int]string{},
		Stats:    map[string]int64{},
		Runs:     []checkpoint.Run{{ID: "earlier", Started: now.Add(-time.Hour), Ended: now, Reason: StopMaxUsers, Processed: int64(done)}},
		Created:  now.Add(-time.Hour),
		Updated:  now,
	}
	rng := rand.New(rand.NewPCG(3, 4))
	counts := map[string]int64{outcomePending.String(): int64(rows - done)}
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
