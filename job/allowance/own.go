package allowance

import (
	"sync"
	"time"
)

// ownBuckets is how many buckets Own keeps: enough for the periods a
// decision reads back (lookbackPeriods) at the coarsest granularity the
// controller recognises, 5 periods a datapoint.
const ownBuckets = ownPerPeriod * lookbackPeriods * 5

// ownPerPeriod is Own's resolution: buckets per metric period.
const ownPerPeriod = 20

// Own counts the job's own calls of one category and their throttling
// answers in time buckets aligned on the Unix epoch, so that the controller
// can subtract them from CloudWatch's counts of the same period. It is safe
// for concurrent use. Create it with NewOwn.
type Own struct {
	res time.Duration

	mu      sync.Mutex
	buckets map[int64]*[2]int64 // bucket index → calls, throttles
	newest  int64
}

// NewOwn returns a counter for metric periods of length period.
func NewOwn(period time.Duration) *Own {
	return &Own{res: max(period/ownPerPeriod, time.Millisecond), buckets: map[int64]*[2]int64{}}
}

// Add counts one call sent at t, throttled or not.
func (o *Own) Add(t time.Time, throttled bool) {
	i := t.UnixNano() / int64(o.res)
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buckets[i]
	if b == nil {
		b = new([2]int64)
		o.buckets[i] = b
		if i > o.newest {
			o.newest = i
			for k := range o.buckets { // keep the map bounded
				if k <= i-ownBuckets {
					delete(o.buckets, k)
				}
			}
		}
	}
	b[0]++
	if throttled {
		b[1]++
	}
}

// Count returns the calls and throttles counted in [start, end).
func (o *Own) Count(start, end time.Time) (calls, throttles float64) {
	from, to := ceilDiv(start.UnixNano(), int64(o.res)), ceilDiv(end.UnixNano(), int64(o.res))
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, b := range o.buckets {
		if i >= from && i < to {
			calls += float64(b[0])
			throttles += float64(b[1])
		}
	}
	return calls, throttles
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}
