package job

import (
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/google/go-cmp/cmp"
)

// TestRateSeries feeds cumulative counters every 500 ms, as the recorder
// does, and checks the per-minute points, the partial last point a save
// records and the bound on a long run's series.
func TestRateSeries(t *testing.T) {
	t.Run("minutes and a partial one", func(t *testing.T) {
		var s rateSeries
		var c seriesCounts
		for ms := 500; ms <= 150_000; ms += 500 { // 2.5 minutes at 10 reads/s, 5 writes/s
			c.reads, c.writes = int64(ms/100), int64(ms/200)
			s.observe(time.Duration(ms)*time.Millisecond, c)
		}
		got := s.snapshot(150*time.Second, c)
		want := []checkpoint.Point{
			{Start: 0, Seconds: 60, Reads: 600, Writes: 300},
			{Start: 60, Seconds: 60, Reads: 600, Writes: 300},
			{Start: 120, Seconds: 30, Reads: 300, Writes: 150},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("snapshot (-want +got):\n%s", d)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		var s rateSeries
		var c seriesCounts
		const hours = 10
		for sec := 1; sec <= hours*3600; sec++ {
			c.reads += 2
			c.throttles += int64(sec % 2)
			s.observe(time.Duration(sec)*time.Second, c)
		}
		pts := s.snapshot(hours*time.Hour, c)
		if len(pts) > maxSeriesPoints+1 {
			t.Fatalf("%d points after %d hours, want at most %d", len(pts), hours, maxSeriesPoints+1)
		}
		var reads, throttles, end int64
		for i, p := range pts {
			if p.Start != end {
				t.Fatalf("point %d starts at %d, want %d (no gap, no overlap)", i, p.Start, end)
			}
			end = p.Start + p.Seconds
			reads += p.Reads
			throttles += p.Throttles
		}
		if reads != c.reads || throttles != c.throttles || end != hours*3600 {
			t.Errorf("series covers %d s with %d reads and %d throttles, want %d s, %d, %d", end, reads, throttles, hours*3600, c.reads, c.throttles)
		}
	})
	t.Run("no calls", func(t *testing.T) {
		var s rateSeries
		if got := s.snapshot(10*time.Second, seriesCounts{}); got != nil {
			t.Errorf("snapshot of a run with no call = %v, want nil", got)
		}
	})
}
