package cognitotest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// TestProductionSharesTheQuota checks, on the server's clock, that
// production's calls take tokens from the same bucket as the requests the
// server receives: a client call right after production emptied the bucket
// is throttled, and a production call right after the client emptied it is
// counted as production's throttle, apart from the client's.
func TestProductionSharesTheQuota(t *testing.T) {
	var nowNs atomic.Int64
	nowNs.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, nowNs.Load()).UTC() }
	advance := func(d time.Duration) { nowNs.Add(int64(d)) }
	s := NewServer(WithClock(now))
	defer s.Close()
	s.SetUsageMetrics(UsageMetrics{Period: time.Second})
	s.SetQuota(UserRead, 10, 1) // a token every 100 ms, one at most
	// Production at 10/s, driven by the test (produce) rather than by the
	// generator SetProduction starts, so that the order of calls is fixed.
	s.mu.Lock()
	s.usage.prod = map[Category]*production{UserRead: {rps: 10, last: now()}}
	s.mu.Unlock()
	produce := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.produceLocked(now())
	}
	c := s.Client(func(o *cip.Options) { o.RetryMaxAttempts = 1 })
	call := func() error {
		_, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(DefaultPoolID), Username: aws.String("nobody")})
		return err
	}

	// Production's call at +100 ms takes the bucket's token: the client's
	// call at the same instant is throttled.
	advance(100 * time.Millisecond)
	produce()
	_ = call()
	// +200 ms: the client takes the new token first, and production's
	// call at the same instant is throttled.
	advance(100 * time.Millisecond)
	_ = call()
	produce()

	var got UsagePeriod
	for _, p := range s.Usage(UserRead) {
		got.Calls += p.Calls
		got.Throttles += p.Throttles
		got.ProductionCalls += p.ProductionCalls
		got.ProductionThrottles += p.ProductionThrottles
	}
	want := UsagePeriod{Calls: 2, Throttles: 1, ProductionCalls: 2, ProductionThrottles: 1}
	got.Start = time.Time{}
	if got != want {
		t.Errorf("usage = %+v, want %+v", got, want)
	}
	if st := s.Stats("AdminGetUser"); st.Received != 2 || st.Throttled != 1 {
		t.Errorf("Stats = %+v: production's calls must not count as received requests", st)
	}
}
