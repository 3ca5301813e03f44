package cognitotest

import (
	"maps"
	"math"
	"slices"
	"time"
)

// Production traffic and usage metrics.
//
// Real Cognito quotas are shared by the job and by production's own calls,
// and AWS publishes each category's CallCount and ThrottleCount per minute
// in CloudWatch (AWS/Usage). The server simulates both: SetProduction makes
// simulated production calls of a category at a rate that may change at any
// time, taking tokens from the same quota buckets as the calls the server
// receives (SetQuota), with its throttled calls counted; every call, the
// server's and production's, is counted per metric period, and the server
// answers CloudWatch's ListMetrics and GetMetricData (see cloudwatch.go) and
// Service Quotas' ListServiceQuotas and GetServiceQuota (servicequotas.go)
// from those counts, so that tests compress minutes into seconds.

// DefaultMetricPeriod is the period of the usage metrics when SetUsageMetrics
// is not called: CloudWatch's one minute.
const DefaultMetricPeriod = time.Minute

// productionTick is how often the production generator wakes.
const productionTick = 2 * time.Millisecond

// UsageMetrics configures the simulated CloudWatch usage metrics.
type UsageMetrics struct {
	// Period is the metrics' native period (CloudWatch publishes usage
	// metrics per minute; some pages say five). Tests compress it to
	// seconds. Period boundaries are aligned on the Unix epoch. 0 means
	// DefaultMetricPeriod.
	Period time.Duration
	// Lag is how long after its end a period's datapoint is published.
	Lag time.Duration
	// Missing, if not nil, names periods (by their start) that are never
	// published, as when CloudWatch drops data.
	Missing func(start time.Time) bool
}

// UsagePeriod counts the calls of one category in one metric period.
type UsagePeriod struct {
	Start time.Time
	// Calls and Throttles count the requests the server received (and
	// throttled) in the period.
	Calls, Throttles int
	// ProductionCalls and ProductionThrottles count simulated production's
	// calls (and its throttled ones).
	ProductionCalls, ProductionThrottles int
}

// usageState is the usage simulation of a Server. It is guarded by
// Server.mu.
type usageState struct {
	cfg     UsageMetrics
	periods map[Category]map[int64]*UsagePeriod // by period index from the epoch
	prod    map[Category]*production
	started bool // the production generator runs
}

// production is the simulated production traffic of one category.
type production struct {
	rps  float64
	acc  float64 // calls due and not made yet (fractional)
	last time.Time
}

func (u *usageState) period() time.Duration {
	if u.cfg.Period <= 0 {
		return DefaultMetricPeriod
	}
	return u.cfg.Period
}

// countLocked counts one call of category c at t.
func (u *usageState) countLocked(t time.Time, c Category, prod, throttled bool) {
	if c == "" {
		return
	}
	if u.periods == nil {
		u.periods = map[Category]map[int64]*UsagePeriod{}
	}
	m := u.periods[c]
	if m == nil {
		m = map[int64]*UsagePeriod{}
		u.periods[c] = m
	}
	p := u.period()
	k := floorDiv(t.UnixNano(), int64(p))
	up := m[k]
	if up == nil {
		up = &UsagePeriod{Start: time.Unix(0, k*int64(p)).UTC()}
		m[k] = up
	}
	switch {
	case prod:
		up.ProductionCalls++
		if throttled {
			up.ProductionThrottles++
		}
	default:
		up.Calls++
		if throttled {
			up.Throttles++
		}
	}
}

// SetUsageMetrics configures the usage metrics the server publishes. Call it
// before the calls it should count: counts already made stay in the periods
// of the old configuration.
func (s *Server) SetUsageMetrics(m UsageMetrics) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Period != s.usage.period() && m.Period > 0 {
		s.usage.periods = nil
	}
	s.usage.cfg = m
}

// SetProduction makes simulated production traffic call category c at rps
// requests per second from now on, evenly spaced, replacing any earlier
// rate; rps <= 0 stops it. Production's calls take tokens from c's quota
// (SetQuota) like the calls the server receives; a call that finds no token
// is throttled and not retried. They appear in the usage metrics and in
// Usage, not in Stats or Requests.
func (s *Server) SetProduction(c Category, rps float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usage.prod == nil {
		s.usage.prod = map[Category]*production{}
	}
	p := s.usage.prod[c]
	if p == nil {
		p = &production{last: s.now()}
		s.usage.prod[c] = p
	}
	p.rps = max(rps, 0)
	if !s.usage.started {
		s.usage.started = true
		go s.produce()
	}
}

// produce is the production generator: it makes the calls that fall due
// every productionTick until the server is closed.
func (s *Server) produce() {
	t := time.NewTicker(productionTick)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		s.mu.Lock()
		s.produceLocked(s.now())
		s.mu.Unlock()
	}
}

// produceLocked makes production's calls that fell due by now. s.mu must
// be held.
func (s *Server) produceLocked(now time.Time) {
	for c, p := range s.usage.prod {
		if d := now.Sub(p.last); d > 0 {
			p.acc += p.rps * d.Seconds()
		}
		p.last = now
		for ; p.acc >= 1; p.acc-- {
			lim := s.quotas[c]
			throttled := lim != nil && !lim.AllowN(now, 1)
			s.usage.countLocked(now, c, true, throttled)
		}
	}
}

// BackfillProduction records, in category c's usage metrics, production
// calls at rps per second in each of the n whole metric periods before the
// current one, as the history CloudWatch holds when a job starts on an
// account in use. It takes no quota tokens (those periods are over) and
// adds to counts already there.
func (s *Server) BackfillProduction(c Category, rps float64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.usage.period()
	cur := time.Unix(0, floorDiv(s.now().UnixNano(), int64(p))*int64(p))
	calls := int(math.Round(rps * p.Seconds()))
	for k := 1; k <= n; k++ {
		at := cur.Add(-time.Duration(k) * p)
		for range calls {
			s.usage.countLocked(at, c, true, false)
		}
	}
}

// Usage returns the counts of category c per metric period, oldest first,
// from the periods that saw a call (published or not).
func (s *Server) Usage(c Category) []UsagePeriod {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.usage.periods[c]
	out := make([]UsagePeriod, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, *m[k])
	}
	return out
}

// publishedLocked returns c's periods published by now: ended at least Lag
// ago and not Missing.
func (s *Server) publishedLocked(c Category, now time.Time) []UsagePeriod {
	p := s.usage.period()
	var out []UsagePeriod
	for _, up := range s.usage.periods[c] {
		if up.Start.Add(p + s.usage.cfg.Lag).After(now) {
			continue
		}
		if s.usage.cfg.Missing != nil && s.usage.cfg.Missing(up.Start) {
			continue
		}
		out = append(out, *up)
	}
	slices.SortFunc(out, func(a, b UsagePeriod) int { return a.Start.Compare(b.Start) })
	return out
}
