package job

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// Metrics in CloudWatch Embedded Metric Format (EMF).
//
// An EMF document is one JSON object per line: CloudWatch Logs extracts the
// metrics it declares from the log event, so a job that writes them on
// stdout under ECS (awslogs) or Lambda gets CloudWatch metrics without any
// API call or extra permission. See
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html.
//
// Every document carries the dimensions UserPoolId and Mode (one dimension
// set, so each metric is one CloudWatch custom metric per pool and mode) and
// these metrics, for the interval since the previous document:
//
//	Rows                  Count         rows recorded by this run
//	Rows.<outcome>        Count         rows recorded per outcome (migrated, failed, ...)
//	RemainingRows         Count         rows of the job not done yet (a gauge)
//	<Op>.Calls            Count         calls made (retries not included)
//	<Op>.Retries          Count         attempts beyond the first
//	<Op>.Throttles        Count         attempts answered with a throttling error
//	<Op>.Errors           Count         attempts answered with any other error
//	<Op>.Rate             Count/Second  attempts per second achieved
//	<Op>.RateLimit        Count/Second  the limiter's current rate (absent when unlimited)
//	<Op>.LatencyP50       Milliseconds  attempt latency, median (absent without attempts)
//	<Op>.LatencyP99       Milliseconds  attempt latency, 99th percentile
//	<Op>.Quota            Count/Second  the category's quota (with --*-rps auto)
//	<Op>.ProductionRate   Count/Second  production's recent peak use of it (auto)
//	<Op>.AllowedRate      Count/Second  the rate pacing allows the job (auto)
//	<Op>.ProductionThrottles Count      production's throttled calls, recent periods (auto)
//	Reserve               None          the share of the quota kept for production (auto)
//
// where <Op> is AdminGetUser, AdminSetUserMFAPreference or ListUsers; an
// operation appears once this run has called it. The counts of all the
// documents of a run add up to its summary's this_run and calls figures.
// RunId, IntervalSeconds and Final are plain properties (not dimensions:
// a run ID would make a new metric per run).

// MetricsNamespace is the CloudWatch namespace of the job's metrics.
const MetricsNamespace = "CognitoMFAMigrate"

// DefaultMetricsInterval is how often metrics are written by default. One
// minute is CloudWatch's standard resolution.
const DefaultMetricsInterval = time.Minute

// Metric dimensions.
const (
	dimensionPool = "UserPoolId"
	dimensionMode = "Mode"
)

// EMF turns the successive Progress snapshots of one run into CloudWatch
// Embedded Metric Format documents, one JSON line per interval, and a last
// one at the final snapshot so that the counts of a run add up exactly to
// its summary.
//
// Create it with NewEMF and pass its Observe method to the run's progress
// reporting. An EMF is safe for concurrent use, though snapshots are meant
// to come from one goroutine, in order. Write errors do not stop the run:
// the first is kept and returned by Err, and nothing more is written.
type EMF struct {
	// Now returns the time stamped on each document; nil means time.Now.
	// Set it before the first Observe.
	Now func() time.Time

	w        io.Writer
	interval time.Duration
	pool     string
	mode     string
	runID    string

	mu     sync.Mutex
	lastAt time.Duration // Progress.Elapsed of the last document
	last   [cognito.NumOps]cognito.OpStats
	sent   map[string]int64 // counts written so far, per metric
	err    error
	lines  int
}

// NewEMF returns an EMF that writes to w at most once per interval (and at
// the final snapshot), for a run of mode ("apply", "dry-run", "export")
// on the user pool poolID, tagged with runID. An interval of 0 or less
// writes a document at every snapshot.
func NewEMF(w io.Writer, poolID, mode, runID string, interval time.Duration) *EMF {
	return &EMF{w: w, interval: interval, pool: poolID, mode: mode, runID: runID, sent: map[string]int64{}}
}

// Observe takes one snapshot of the run. It writes a document when the
// interval has passed since the last one (measured on Progress.Elapsed) or
// when p is the final snapshot.
func (e *EMF) Observe(p Progress) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return
	}
	if !p.Final && e.interval > 0 && p.Elapsed-e.lastAt < e.interval {
		return
	}
	doc := e.document(p)
	line, err := json.Marshal(doc)
	if err != nil {
		e.err = fmt.Errorf("encode metrics: %w", err)
		return
	}
	if _, err := e.w.Write(append(line, '\n')); err != nil {
		e.err = fmt.Errorf("write metrics: %w", err)
		return
	}
	e.lastAt, e.last = p.Elapsed, p.Calls
	e.lines++
}

// Err returns the first error met encoding or writing a document, or nil.
func (e *EMF) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Lines returns the number of documents written.
func (e *EMF) Lines() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lines
}

// emfMetric is a MetricDefinition of the EMF specification.
type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// emfDirective is a MetricDirective of the EMF specification.
type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

// emfMeta is the _aws member of an EMF document.
type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// EMF units used by the job.
const (
	unitCount  = "Count"
	unitRate   = "Count/Second"
	unitMillis = "Milliseconds"
)

// document builds the document of the interval ending at p. It updates
// e.sent.
func (e *EMF) document(p Progress) map[string]any {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	secs := (p.Elapsed - e.lastAt).Seconds()
	doc := map[string]any{
		dimensionPool:     e.pool,
		dimensionMode:     e.mode,
		"RunId":           e.runID,
		"IntervalSeconds": pace.Round2(secs),
		"Final":           p.Final,
	}
	var metrics []emfMetric
	add := func(name, unit string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		doc[name] = v
		metrics = append(metrics, emfMetric{Name: name, Unit: unit})
	}
	// count adds the part of a cumulative count not written yet. Counts
	// that can dip (retries are attempts minus calls, and a call is counted
	// before its first attempt) are written as their running maximum, which
	// never exceeds the final value: the documents still add up to it.
	count := func(name string, cumulative int64) {
		d := max(cumulative-e.sent[name], 0)
		e.sent[name] += d
		add(name, unitCount, float64(d))
	}

	count("Rows", p.ThisRun)
	for _, o := range allOutcomes() {
		if (o == outcomeMigrated && e.mode == "dry-run") || (o == outcomeWouldMigrate && e.mode == "apply") {
			continue
		}
		count("Rows."+o.String(), p.ThisRunOutcomes[o.String()])
	}
	add("RemainingRows", unitCount, float64(max(p.Rows-p.Done, 0)))

	limits := [cognito.NumOps]pace.RateSummary{cognito.OpAdminGetUser: p.Read, cognito.OpAdminSetUserMFAPreference: p.Write}
	for op := range cognito.NumOps {
		c := p.Calls[op]
		if c.Attempts == 0 && c.Calls == 0 {
			continue
		}
		name := op.String()
		count(name+".Calls", c.Calls)
		count(name+".Retries", c.Retries)
		count(name+".Throttles", c.Throttled)
		count(name+".Errors", c.Errors)
		d := c.Sub(e.last[op])
		if secs > 0 {
			add(name+".Rate", unitRate, pace.Round2(float64(max(d.Attempts, 0))/secs))
		}
		if l := limits[op]; l.Configured > 0 {
			add(name+".RateLimit", unitRate, l.Current)
		}
		addPacingMetrics(add, name, limits[op].Pacing)
		if d.Attempts > 0 {
			add(name+".LatencyP50", unitMillis, d.P50Ms)
			add(name+".LatencyP99", unitMillis, d.P99Ms)
		}
	}
	if r, ok := pacingReserve(p); ok {
		add("Reserve", "None", r)
	}
	doc["_aws"] = emfMeta{
		Timestamp: now().UnixMilli(),
		CloudWatchMetrics: []emfDirective{{
			Namespace:  MetricsNamespace,
			Dimensions: [][]string{{dimensionPool, dimensionMode}},
			Metrics:    metrics,
		}},
	}
	return doc
}

// addPacingMetrics adds an operation's pacing figures to an EMF document.
func addPacingMetrics(add func(name, unit string, v float64), op string, f *allowance.Figures) {
	if f == nil {
		return
	}
	add(op+".Quota", unitRate, f.Quota)
	add(op+".ProductionRate", unitRate, f.Production)
	add(op+".AllowedRate", unitRate, f.Allowed)
	add(op+".ProductionThrottles", unitCount, f.ProductionThrottles)
}

// pacingReserve returns the reserve of the first category of p paced
// automatically.
func pacingReserve(p Progress) (float64, bool) {
	for _, rs := range []pace.RateSummary{p.Read, p.Write} {
		if rs.Pacing != nil {
			return rs.Pacing.Reserve, true
		}
	}
	return 0, false
}
