package allowance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/aws/smithy-go"
)

// Tuning of the controller.
const (
	// DefaultReserve is the share of each quota left to production's
	// growth beyond its recent peak.
	DefaultReserve = 0.2
	// DefaultPeriod is the metric period queried, and how often the
	// controller decides: CloudWatch's usage metrics are per minute.
	DefaultPeriod = time.Minute
	// PeakPeriods is how many of the latest periods with data production's
	// peak is taken over.
	PeakPeriods = 5
	// FloorShare is the least share of the quota the job is allowed, so
	// that it always makes some progress.
	FloorShare = 0.02
	// CutFactor is what is left of the allowed rate after a period in which
	// production was throttled.
	CutFactor = 0.5
	// StalePeriods is how old, in periods (or datapoint spans), the newest
	// datapoint may be before the data counts as missing and the
	// controller falls back to the static rate.
	StalePeriods = 10
	// lookbackPeriods is how far back each decision reads: stale data plus
	// a peak window of it.
	lookbackPeriods = StalePeriods + PeakPeriods
	// minThrottles is the least excess of ThrottleCount over the job's own
	// throttles in a period that counts as production being throttled; it
	// absorbs a call of ours counted in the neighbouring period.
	minThrottles = 1
	// logChange is the least relative change of the allowed rate that is
	// logged (and counted in Figures.Changes).
	logChange = 0.03
)

// Point is one datapoint of a category's usage metrics: the sums of
// CallCount and ThrottleCount over the period starting at Start.
type Point struct {
	Start     time.Time
	Calls     float64
	Throttles float64
}

// Usage reads the usage metrics of quota categories (such as
// "UserResourceUpdate"): the datapoints whose period starts in [start, end),
// at the given period, by category, oldest first. A category without data
// has no entry. CloudWatchUsage is the implementation over CloudWatch.
type Usage interface {
	Usage(ctx context.Context, categories []string, start, end time.Time, period time.Duration) (map[string][]Point, error)
}

// Quotas reads the applied request-rate quotas of categories, in requests
// per second, by category; a category without an applied quota has no
// entry. ServiceQuotas is the implementation over Service Quotas.
type Quotas interface {
	Quotas(ctx context.Context, categories []string) (map[string]float64, error)
}

// Ceiling receives the rate the controller allows a category. The job's
// limiter implements it.
type Ceiling interface {
	SetCeiling(rps float64)
}

// Category is one quota category the controller paces.
type Category struct {
	Name     string  // the job's name of it, used in logs: "read", "write", "list"
	Resource string  // the quota category: "UserRead", "UserResourceUpdate", "UserList"
	Static   float64 // the rate used without usage data (the static --*-rps)
	Default  float64 // the documented default quota, used when Service Quotas has none
	Quota    float64 // a quota given by the operator (--*-quota); 0 = ask Service Quotas
	Ceiling  Ceiling // where the allowed rate goes
	Own      *Own    // the job's own calls of the category
}

// Config configures a Controller.
type Config struct {
	Categories []Category
	Reserve    float64       // share of the quota left to production's growth, in [0, 1)
	Period     time.Duration // metric period and decision cadence; 0 = DefaultPeriod
	Usage      Usage         // nil: no usage data (static rates)
	Quotas     Quotas        // nil: documented defaults
	Logger     *slog.Logger  // nil discards
	// CallTimeout bounds each call to Usage and Quotas; 0 = the period,
	// at most 10 s.
	CallTimeout time.Duration
	// Now is the clock decisions are made by (the time Start and Run pass
	// to Step); nil means time.Now. Run's timers are real time.
	Now func() time.Time
}

// Figures are a category's current pacing figures, for status, the summary,
// progress and metrics.
type Figures struct {
	Category    string  `json:"category"`     // the quota category, such as UserResourceUpdate
	Mode        string  `json:"mode"`         // ModeAuto, or ModeStatic when there is no usage data
	Quota       float64 `json:"quota_rps"`    // the category's quota
	QuotaSource string  `json:"quota_source"` // "service-quotas", "default" or "flag"
	// Production is production's peak use over the recent periods, in
	// requests per second.
	Production float64 `json:"production_rps"`
	// ProductionThrottles counts production's throttled calls in the
	// recent periods.
	ProductionThrottles float64 `json:"production_throttles"`
	Reserve             float64 `json:"reserve"`
	Allowed             float64 `json:"allowed_rps"` // the ceiling of the job's rate
	Reason              string  `json:"reason"`      // why, in words
	Changes             int     `json:"changes"`     // decisions that changed the allowed rate
}

// Modes of Figures.
const (
	ModeAuto   = "auto"
	ModeStatic = "static"
)

// Controller sets each category's ceiling from its quota and production's
// measured use. Create it with New (the zero value is not usable) and run
// it with Run, or Start then Run; Start, Step and Run must be called from
// one goroutine, Figures from any. Failures of CloudWatch or Service Quotas
// are logged and reflected in the figures, never returned.
type Controller struct {
	cfg  Config
	log  *slog.Logger
	loop loop // owned by the goroutine that calls Start, Step and Run

	mu   sync.Mutex // guards figs, which Figures reads from any goroutine
	figs []Figures
}

// loop is what the deciding goroutine knows between decisions.
type loop struct {
	cats     []*catState
	started  bool  // Start was called
	warned   bool  // the fallback warning was logged
	denied   bool  // CloudWatch denied access: no more queries
	failing  bool  // the last Usage call failed
	quotaErr error // the error reading the quotas, for Survey
	usageErr error // the last error reading usage, for Survey
}

// catState is what the controller knows of one category, in its loop.
type catState struct {
	Category
	span         time.Duration // time one datapoint covers
	spanKnown    bool          // span was measured from the data
	lastData     time.Time     // start of the newest datapoint seen
	lastThrottle time.Time     // start of the newest period in which production was throttled
	cutTo        float64       // the allowed rate after that throttle
	allowed      float64
	mode         string
}

// New returns a controller. It calls nothing until Run.
func New(cfg Config) *Controller {
	if cfg.Period <= 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = min(cfg.Period, 10*time.Second)
	}
	c := &Controller{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, cat := range cfg.Categories {
		q, src := cat.Default, "default"
		if cat.Quota > 0 {
			q, src = cat.Quota, "flag"
		}
		c.loop.cats = append(c.loop.cats, &catState{Category: cat, span: cfg.Period, allowed: cat.Static, mode: ModeStatic})
		c.figs = append(c.figs, Figures{Category: cat.Resource, Mode: ModeStatic, Quota: q, QuotaSource: src,
			Reserve: cfg.Reserve, Allowed: cat.Static, Reason: "no decision yet: the static rate"})
	}
	return c
}

// Figures returns the current figures of every category, in the order of
// Config.Categories.
func (c *Controller) Figures() []Figures {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.figs)
}

// Run reads the quotas and decides at once, then every period, a fifth of
// a period after each period's end (periods are aligned on the epoch, as
// CloudWatch's are), until ctx ends. Failures of CloudWatch or Service
// Quotas are logged, never returned.
func (c *Controller) Run(ctx context.Context) {
	if !c.loop.started {
		c.Start(ctx)
	}
	p := c.cfg.Period
	for {
		next := time.Now().Truncate(p).Add(p + p/5)
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		c.Step(ctx, c.cfg.Now())
	}
}

// Start reads the quotas and makes the first decision, so that the job's
// first calls are paced by it. Run calls it unless it was called before;
// call it before Run, from the same goroutine, to wait for the first
// decision. Each call it makes is bounded by Config.CallTimeout.
func (c *Controller) Start(ctx context.Context) {
	c.loop.started = true
	c.readQuotas(ctx)
	c.Step(ctx, c.cfg.Now())
}

// readQuotas sets each category's quota from Service Quotas, unless the
// operator gave one.
func (c *Controller) readQuotas(ctx context.Context) {
	var ask []string
	for _, cat := range c.loop.cats {
		if cat.Quota <= 0 {
			ask = append(ask, cat.Resource)
		}
	}
	if len(ask) == 0 {
		return
	}
	if c.cfg.Quotas == nil {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	got, err := c.cfg.Quotas.Quotas(qctx, ask)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("pacing: could not read the applied quotas from Service Quotas; using Cognito's documented defaults"+fixFor(err, "servicequotas:ListServiceQuotas"),
			"error", errText(err))
		c.loop.quotaErr = err
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, cat := range c.loop.cats {
		if q, ok := got[cat.Resource]; ok && cat.Quota <= 0 && q > 0 {
			c.figs[i].Quota, c.figs[i].QuotaSource = q, "service-quotas"
		}
	}
}

// Step makes one decision at now: it reads the usage of the recent periods
// and sets each category's ceiling. Run calls it every period; tests call
// it directly.
func (c *Controller) Step(ctx context.Context, now time.Time) {
	var pts map[string][]Point
	var err error
	switch {
	case c.cfg.Usage == nil:
		err = errNoSource
	case c.loop.denied:
		err = errDenied
	default:
		longest := c.cfg.Period
		names := make([]string, len(c.loop.cats))
		for i, cat := range c.loop.cats {
			names[i] = cat.Resource
			longest = max(longest, cat.span)
		}
		uctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
		pts, err = c.cfg.Usage.Usage(uctx, names, now.Add(-lookbackPeriods*longest), now, c.cfg.Period)
		cancel()
		if err != nil && ctx.Err() != nil {
			return // the run is ending
		}
		if isDenied(err) {
			c.loop.denied = true
		}
		c.loop.usageErr = err
	}
	switch {
	case err != nil && !c.loop.failing:
		c.loop.failing = true
		if !c.loop.warned {
			c.loop.warned = true
			c.log.Warn("pacing: CloudWatch usage metrics are unavailable; the static rates apply until they are"+fixFor(err, "cloudwatch:GetMetricData and cloudwatch:ListMetrics"),
				"error", errText(err))
		} else {
			c.log.Info("pacing: CloudWatch usage metrics are unavailable", "error", errText(err))
		}
	case err == nil && c.loop.failing:
		c.loop.failing = false
		c.log.Info("pacing: CloudWatch usage metrics are available again")
	}
	for i, cat := range c.loop.cats {
		c.decide(i, cat, pts[cat.Resource], err, now)
	}
}

// decide sets one category's ceiling from its datapoints.
func (c *Controller) decide(i int, cat *catState, pts []Point, usageErr error, now time.Time) {
	c.mu.Lock()
	f := c.figs[i]
	c.mu.Unlock()
	quota := f.Quota
	floor := FloorShare * quota

	if usageErr == nil {
		cat.span, cat.spanKnown = span(pts, cat.span, cat.spanKnown, c.cfg.Period)
	}
	// Only whole periods, no older than StalePeriods spans.
	var known []Point
	for _, p := range pts {
		if !p.Start.Add(cat.span).After(now) && now.Sub(p.Start) <= StalePeriods*cat.span {
			known = append(known, p)
		}
	}
	if len(known) == 0 {
		stale := cat.lastData.IsZero() || now.Sub(cat.lastData) > StalePeriods*cat.span
		if usageErr != nil && !stale {
			return // a failed query: keep the last decision while it is recent
		}
		reason := "no usage data: the static rate"
		if usageErr != nil {
			reason = "usage metrics unavailable: the static rate"
		}
		if !c.loop.warned && usageErr == nil {
			c.loop.warned = true
			c.log.Warn("pacing: CloudWatch has no usage data for the category yet; the static rate applies until it has",
				"category", cat.Name, "resource", cat.Resource, "static_rps", cat.Static)
		}
		c.apply(i, cat, ModeStatic, cat.Static, 0, 0, reason)
		return
	}
	cat.lastData = known[len(known)-1].Start
	recent := known[max(0, len(known)-PeakPeriods):]
	var peak, throttles float64
	var throttledAt time.Time
	for _, p := range recent {
		calls, _ := cat.Own.Count(p.Start, p.Start.Add(cat.span))
		// Our throttles are counted over the period widened by a bucket
		// each side: one of ours counted by CloudWatch in the next period
		// must not pass for production's.
		_, thr := cat.Own.Count(p.Start.Add(-cat.Own.res), p.Start.Add(cat.span+cat.Own.res))
		peak = math.Max(peak, math.Max(p.Calls-calls, 0)/cat.span.Seconds())
		if excess := p.Throttles - thr; excess >= minThrottles {
			throttles += excess
			throttledAt = p.Start
		}
	}
	allowed := quota*(1-c.cfg.Reserve) - peak
	reason := fmt.Sprintf("quota %.4g/s × (1 − reserve %.2g) − production's peak %.4g/s over the last %d periods", quota, c.cfg.Reserve, peak, len(recent))
	if throttledAt.After(cat.lastThrottle) {
		// A new period in which production was throttled: cut at once,
		// from what was allowed, whatever the figures say.
		cat.lastThrottle = throttledAt
		cat.cutTo = math.Max(floor, math.Min(allowed, cat.allowed*CutFactor))
	}
	if !throttledAt.IsZero() && !cat.lastThrottle.After(throttledAt) {
		if cat.cutTo < allowed {
			allowed = cat.cutTo
			reason = fmt.Sprintf("production was throttled (%.0f calls in the recent periods): held at %.0f%% of the rate allowed then", throttles, 100*CutFactor)
		}
	}
	allowed = math.Min(math.Max(allowed, floor), quota)
	c.apply(i, cat, ModeAuto, allowed, peak, throttles, reason)
}

// apply records a decision, sets the ceiling, and logs it when it changes
// the mode or the allowed rate by more than logChange of it (smaller moves
// are the noise of whole calls counted per period: they set the ceiling
// without a log line).
func (c *Controller) apply(i int, cat *catState, mode string, allowed, prod, throttles float64, reason string) {
	allowed = math.Round(allowed*100) / 100
	changed := mode != cat.mode || math.Abs(allowed-cat.allowed) > logChange*math.Max(cat.allowed, 0.01)
	c.mu.Lock()
	f := &c.figs[i]
	f.Mode, f.Production, f.ProductionThrottles, f.Allowed, f.Reason = mode, round2(prod), throttles, allowed, reason
	if changed {
		f.Changes++
	}
	fig := *f
	c.mu.Unlock()
	cat.Ceiling.SetCeiling(allowed)
	if changed {
		c.log.Info("pacing decision", "category", cat.Name, "resource", cat.Resource, "mode", mode,
			"quota_rps", fig.Quota, "quota_source", fig.QuotaSource, "production_rps", fig.Production,
			"production_throttles", throttles, "reserve", c.cfg.Reserve,
			"from_rps", cat.allowed, "allowed_rps", allowed, "why", reason)
	}
	cat.allowed, cat.mode = allowed, mode
}

// span returns the time one datapoint covers: the period queried, or the
// least spacing of the datapoints when it is longer (5-minute data queried
// per minute comes one point in five). The span only shrinks once known:
// gaps from missing periods make spacings longer, never shorter, than the
// granularity. With fewer than two datapoints the previous span stands.
func span(pts []Point, prev time.Duration, known bool, period time.Duration) (time.Duration, bool) {
	gap := time.Duration(math.MaxInt64)
	for k := 1; k < len(pts); k++ {
		if d := pts[k].Start.Sub(pts[k-1].Start); d > 0 {
			gap = min(gap, d)
		}
	}
	switch {
	case gap == time.Duration(math.MaxInt64):
		return prev, known
	case known:
		return max(min(prev, gap), period), true
	default:
		return max(gap, period), true
	}
}

var (
	errNoSource = errors.New("no CloudWatch endpoint configured (with --endpoint-url, set AWS_ENDPOINT_URL_CLOUDWATCH and AWS_ENDPOINT_URL_SERVICE_QUOTAS)")
	errDenied   = errors.New("access to CloudWatch was denied earlier in the run")
)

// isDenied reports whether err says the credentials may not call the action.
func isDenied(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "NoSuchResourceException":
		return true
	}
	return false
}

// fixFor returns advice for a failure, naming the IAM actions when it is a
// denial.
func fixFor(err error, actions string) string {
	if isDenied(err) {
		return " (fix: allow " + actions + " for --*-rps auto)"
	}
	return ""
}

// errText is err's text, or its API code and message when it is an API error.
func errText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
