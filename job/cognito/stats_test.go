package cognito

import (
	"testing"
	"time"
)

// TestOpStatsLatencies checks that the percentiles are latencies calls
// took, not histogram bucket bounds, and that the mean is rounded.
func TestOpStatsLatencies(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		name          string
		latencies     []time.Duration
		p50, p99, avg float64
	}{
		{"one call", []time.Duration{ms(2)}, 2, 2, 2},
		{"steady with a tail", append(repeat(ms(10), 98), ms(500), ms(500)), 10, 500, 19.8},
		{"mean rounded to 2 decimals", []time.Duration{ms(1), ms(1), ms(2)}, 1, 2, 1.33},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Stats
			for _, d := range tt.latencies {
				s.ops[OpAdminGetUser].observe(d, false, false)
			}
			got := s.Snapshot(OpAdminGetUser)
			if got.P50Ms != tt.p50 || got.P99Ms != tt.p99 || got.MeanMs != tt.avg {
				t.Errorf("Snapshot = p50 %v, p99 %v, mean %v; want %v, %v, %v", got.P50Ms, got.P99Ms, got.MeanMs, tt.p50, tt.p99, tt.avg)
			}
		})
	}
	t.Run("interval", func(t *testing.T) {
		var s Stats
		s.ops[OpListUsers].observe(ms(100), false, false)
		prev := s.Snapshot(OpListUsers)
		s.ops[OpListUsers].observe(ms(3), false, false)
		s.ops[OpListUsers].observe(ms(3), false, false)
		d := s.Snapshot(OpListUsers).Sub(prev)
		if d.Attempts != 2 || d.P50Ms != 3 || d.P99Ms != 3 || d.MeanMs != 3 {
			t.Errorf("Sub = %+v, want 2 attempts at 3 ms", d)
		}
	})
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}
