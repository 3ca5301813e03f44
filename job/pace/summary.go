package pace

import (
	"math"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
)

// RateSummary describes one rate-limited category over a run: what it was
// configured to, where adaptive control left it, what was achieved, and how
// often the API throttled. It is a plain value, safe to copy.
type RateSummary struct {
	Configured float64 `json:"configured_rps"` // 0 = unlimited
	Current    float64 `json:"current_rps"`    // after adaptive cuts; 0 = unlimited
	Achieved   float64 `json:"achieved_rps"`   // requests sent per second by this run
	Throttles  int64   `json:"throttles"`
	Cuts       int64   `json:"rate_cuts"`
	// Pacing holds the figures of pacing that sees production (package
	// allowance) when the category's rate is auto: quota, production's
	// use, reserve, allowed rate. nil otherwise.
	Pacing *allowance.Figures `json:"pacing,omitempty"`
}

// Summary describes l and what was achieved through it: attempts requests
// sent over elapsed. A nil l describes an unlimited category with nothing
// sent; elapsed <= 0 leaves Achieved at 0.
func (l *Limiter) Summary(attempts int64, elapsed time.Duration) RateSummary {
	var st State
	if l != nil {
		st = l.State()
	}
	s := RateSummary{Configured: Round2(st.Configured), Current: Round2(st.Current), Throttles: st.Throttles, Cuts: st.Cuts}
	if secs := elapsed.Seconds(); secs > 0 {
		s.Achieved = Round2(float64(attempts) / secs)
	}
	return s
}

// Round2 rounds v to two decimals for logs and summaries; infinities and
// NaN become 0 (JSON has no form for them).
func Round2(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return math.Round(v*100) / 100
}
