package cognito

import (
	"math"
	"sync/atomic"
	"time"
)

// Op identifies a Cognito operation the job calls.
type Op int

// The operations the job calls. Their String forms are the API names.
const (
	OpAdminGetUser Op = iota
	OpAdminSetUserMFAPreference
	OpListUsers
	// NumOps is the number of operations, for arrays indexed by Op.
	NumOps
)

var opNames = [NumOps]string{"AdminGetUser", "AdminSetUserMFAPreference", "ListUsers"}

// String returns the API name of the operation.
func (o Op) String() string { return opNames[o] }

// latency histogram: bucket i holds durations in [b^i, b^(i+1)) microseconds,
// with b = 2^(1/4) (four buckets per doubling, so a percentile is within ~19%).
const (
	histBuckets = 120 // up to ~10^9 µs
	histBase    = 1.189207115002721
)

// opCounters are the live counters of one operation. Safe for concurrent use.
type opCounters struct {
	calls     atomic.Int64 // logical calls made by workers
	attempts  atomic.Int64 // requests sent, retries included
	throttled atomic.Int64 // attempts answered with a throttling code
	failed    atomic.Int64 // attempts that ended in any other error
	latencyNs atomic.Int64 // sum of attempt latencies
	hist      [histBuckets]atomic.Int64
	histNs    [histBuckets]atomic.Int64 // sum of the latencies in each bucket
}

func (c *opCounters) observe(d time.Duration, throttled, failed bool) {
	c.attempts.Add(1)
	if throttled {
		c.throttled.Add(1)
	} else if failed {
		c.failed.Add(1)
	}
	c.latencyNs.Add(int64(d))
	us := float64(d.Microseconds())
	i := 0
	if us >= 1 {
		i = min(int(math.Log(us)/math.Log(histBase)), histBuckets-1)
	}
	c.hist[i].Add(1)
	c.histNs[i].Add(int64(d))
}

// Stats holds the call counters of a run. The zero value is ready to use and
// safe for concurrent use.
type Stats struct {
	ops [NumOps]opCounters
}

// Calls returns the calls made of op so far (retries not counted).
func (s *Stats) Calls(op Op) int64 { return s.ops[op].calls.Load() }

// Attempts returns the requests sent for op so far, retries included.
func (s *Stats) Attempts(op Op) int64 { return s.ops[op].attempts.Load() }

// OpStats is a snapshot of one operation's counters.
type OpStats struct {
	Calls     int64   `json:"calls"`
	Attempts  int64   `json:"attempts"`
	Retries   int64   `json:"retries"`
	Throttled int64   `json:"throttled"`
	Errors    int64   `json:"errors"`
	P50Ms     float64 `json:"p50_ms,omitempty"` // omitted when no latency was recorded
	P99Ms     float64 `json:"p99_ms,omitempty"`
	MeanMs    float64 `json:"mean_ms,omitempty"`

	hist, histNs [histBuckets]int64
	sumNs        int64
}

// Snapshot returns the counters of op.
func (s *Stats) Snapshot(op Op) OpStats {
	c := &s.ops[op]
	o := OpStats{Calls: c.calls.Load(), Attempts: c.attempts.Load(), Throttled: c.throttled.Load(), Errors: c.failed.Load()}
	o.Retries = max(o.Attempts-o.Calls, 0)
	for i := range o.hist {
		o.hist[i], o.histNs[i] = c.hist[i].Load(), c.histNs[i].Load()
	}
	o.sumNs = c.latencyNs.Load()
	o.setLatencies()
	return o
}

// setLatencies sets the mean and percentiles from the recorded latencies.
func (o *OpStats) setLatencies() {
	o.MeanMs = 0
	if o.Attempts > 0 {
		o.MeanMs = roundMs(float64(o.sumNs) / float64(o.Attempts))
	}
	o.P50Ms, o.P99Ms = o.percentile(0.50), o.percentile(0.99)
}

// roundMs converts nanoseconds to milliseconds with two decimals.
func roundMs(ns float64) float64 { return math.Round(ns/1e4) / 100 }

// Sub returns the counters accumulated since prev, for per-interval metrics.
func (o OpStats) Sub(prev OpStats) OpStats {
	d := OpStats{
		Calls: o.Calls - prev.Calls, Attempts: o.Attempts - prev.Attempts, Retries: o.Retries - prev.Retries,
		Throttled: o.Throttled - prev.Throttled, Errors: o.Errors - prev.Errors,
	}
	for i := range d.hist {
		d.hist[i], d.histNs[i] = o.hist[i]-prev.hist[i], o.histNs[i]-prev.histNs[i]
	}
	d.sumNs = o.sumNs - prev.sumNs
	d.setLatencies()
	return d
}

// percentile returns quantile q of the recorded latencies, in ms: the mean
// of the latencies recorded in the histogram bucket that holds the
// quantile. It is a recorded value when they are equal (one call, or a
// steady endpoint), and always within the bucket (~19% wide), never a
// bucket bound that no call took.
func (o OpStats) percentile(q float64) float64 {
	var n int64
	for _, v := range o.hist {
		n += v
	}
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i, v := range o.hist {
		seen += v
		if seen >= rank {
			return roundMs(float64(o.histNs[i]) / float64(v))
		}
	}
	return 0
}
