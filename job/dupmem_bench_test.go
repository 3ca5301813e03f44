package job

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// dupBenchRows is the size of the inputs of BenchmarkDuplicateMemory.
const dupBenchRows = 5_000_000

// BenchmarkDuplicateMemory measures the peak heap of a run over 5,000,000
// rows, from Run's start (input scan, duplicate detection, checkpoint) to
// its first Cognito call, where it is stopped (the call finishes, the
// checkpoint is saved and the 5,000,000-line report is written, all
// counted), for three shapes of input:
//
//   - unique: 5,000,000 distinct usernames;
//   - repeated: 1,000,000 usernames, the whole list appended 5 times (an
//     export appended to itself);
//   - alternating: two usernames, alternating.
//
// Goal (issue 10): the peak heap of every shape within 2× that of unique.
//
//	go test ./job -run '^$' -bench BenchmarkDuplicateMemory -benchtime 1x
func BenchmarkDuplicateMemory(b *testing.B) {
	shapes := []struct {
		name string
		user func(i int) string
	}{
		{"unique", func(i int) string { return fmt.Sprintf("user-%07d", i) }},
		{"repeated", func(i int) string { return fmt.Sprintf("user-%07d", i%(dupBenchRows/5)) }},
		{"alternating", func(i int) string { return []string{"alice", "bob"}[i%2] }},
	}
	srv := cognitotest.NewServer()
	b.Cleanup(srv.Close)
	srv.SetRecording(false)
	srv.SetUserSource(cognitotest.DefaultPoolID, resumeBenchUser)
	peaks := map[string]float64{}
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			dir := b.TempDir()
			in := filepath.Join(dir, "users.csv")
			writeUsernames(b, in, dupBenchRows, shape.user)
			cfg := DefaultConfig()
			cfg.UserPoolID, cfg.Input, cfg.TempDir = cognitotest.DefaultPoolID, in, dir
			cfg.ReadRPS, cfg.WriteRPS = 0, 0
			cfg.ShutdownTimeout = 10 * time.Second
			var peak uint64
			for b.Loop() {
				b.StopTimer()
				os.Remove(cfg.CheckpointLocation())
				os.Remove(cfg.SummaryLocation())
				runtime.GC()
				base := heapBytes()
				b.StartTimer()
				ctx, cancel := context.WithCancel(context.Background())
				api := &firstCall{API: cognito.NewClient(srv.Config(), cfg.Retry), first: cancel}
				stop := sampleHeap(&peak, base)
				sum, err := Run(ctx, cfg, Deps{Cognito: api, Store: checkpoint.NewFile(cfg.CheckpointLocation())})
				stop()
				cancel()
				if ExitCode(err) != 4 || sum == nil || sum.Rows != dupBenchRows {
					b.Fatalf("Run = %+v, %v; want a stop (exit 4) over %d rows", sum, err, dupBenchRows)
				}
			}
			mb := float64(peak) / (1 << 20)
			peaks[shape.name] = mb
			b.ReportMetric(mb, "peak-heap-MB")
			if u := peaks["unique"]; u > 0 && shape.name != "unique" {
				b.ReportMetric(mb/u, "x-unique")
			}
		})
	}
}
