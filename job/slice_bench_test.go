package job

import (
	"context"
	"fmt"
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
	in := filepath.Join(dir, "users.csv")
	sum := writeUsernames(b, in, sliceBenchRows, func(i int) string { return fmt.Sprintf("slice-user-%07d", i) })
	cfg := DefaultConfig()
	cfg.UserPoolID, cfg.Input, cfg.TempDir = cognitotest.DefaultPoolID, in, dir
	cfg.ReadRPS, cfg.WriteRPS = 0, 0
	cfg.MaxUsers = 1000
	cp := cfg.CheckpointLocation()
	half := doneCheckpoint(b, cfg, sum, sliceBenchRows, sliceBenchRows/2, StopMaxUsers, 3)

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
