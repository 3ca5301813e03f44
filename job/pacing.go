package job

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// Pacing configures pacing that sees production (--read-rps auto,
// --write-rps auto, --list-rps auto; package allowance). The zero value
// turns it off: the static rates apply.
type Pacing struct {
	AutoRead, AutoWrite, AutoList bool
	// Reserve is the share of each quota left to production's growth
	// beyond its recent peak, in [0, 1).
	Reserve float64
	// Period is the CloudWatch metric period queried and the cadence of
	// decisions: whole seconds, at least 1 s; 0 = allowance.DefaultPeriod.
	Period time.Duration
	// ReadQuota, WriteQuota and ListQuota replace the applied quotas of
	// Service Quotas when > 0 (--read-quota, ...).
	ReadQuota, WriteQuota, ListQuota float64
}

// Enabled reports whether any category is paced automatically.
func (p Pacing) Enabled() bool { return p.AutoRead || p.AutoWrite || p.AutoList }

// DefaultReserve is --reserve's default.
const DefaultReserve = allowance.DefaultReserve

// validate checks the pacing settings. Errors wrap ErrUsage.
func (p Pacing) validate() error {
	switch {
	case math.IsNaN(p.Reserve) || p.Reserve < 0 || p.Reserve >= 1:
		return fmt.Errorf("%w: --reserve must be a share of the quota from 0 to below 1, such as 0.2", ErrUsage)
	case p.Period < 0 || p.Period > 0 && (p.Period < time.Second || p.Period%time.Second != 0) ||
		p.Period >= time.Minute && p.Period%time.Minute != 0:
		return fmt.Errorf("%w: --usage-period must be a whole number of minutes, such as 1m or 5m (CloudWatch's periods for usage metrics); whole seconds under a minute are for simulations", ErrUsage)
	}
	for _, q := range []struct {
		name string
		v    float64
	}{{"--read-quota", p.ReadQuota}, {"--write-quota", p.WriteQuota}, {"--list-quota", p.ListQuota}} {
		if math.IsNaN(q.v) || q.v < 0 {
			return fmt.Errorf("%w: %s must be a positive number of requests per second (0 = ask Service Quotas)", ErrUsage, q.name)
		}
	}
	return nil
}

// PacingSources are where pacing that sees production reads its data: usage
// metrics (CloudWatch) and applied quotas (Service Quotas). Either may be
// nil: no usage data means the static rates, no quotas the documented
// defaults.
type PacingSources struct {
	Usage  allowance.Usage
	Quotas allowance.Quotas
}

// newPacer returns the controller of the categories set to auto, or nil.
// It makes each limiter count its own calls for the controller.
func newPacer(p Pacing, src PacingSources, log *slog.Logger, cats ...pacedCategory) *allowance.Controller {
	period := p.Period
	if period <= 0 {
		period = allowance.DefaultPeriod
	}
	var list []allowance.Category
	for _, c := range cats {
		if !c.auto || c.lim == nil {
			continue
		}
		own := allowance.NewOwn(period)
		c.lim.SetObserver(own.Add)
		list = append(list, allowance.Category{Name: c.name, Resource: c.resource, Static: c.static, Default: c.quota,
			Quota: c.override, Ceiling: c.lim, Own: own})
	}
	if len(list) == 0 {
		return nil
	}
	return allowance.New(allowance.Config{Categories: list, Reserve: p.Reserve, Period: period, Usage: src.Usage, Quotas: src.Quotas, Logger: log})
}

// pacedCategory is one category offered to newPacer.
type pacedCategory struct {
	name, resource  string
	auto            bool
	lim             *pace.Limiter
	static          float64 // the static rate (fallback)
	quota, override float64 // documented default; the operator's --*-quota
}

// pacingFigures returns the figures of the quota category resource (such as
// "UserResourceUpdate"), or nil when c is nil or does not pace it.
func pacingFigures(c *allowance.Controller, resource string) *allowance.Figures {
	if c == nil {
		return nil
	}
	for _, f := range c.Figures() {
		if f.Category == resource {
			return &f
		}
	}
	return nil
}

// pacingFigureMap adds a category's pacing figures to a run's figures (the
// history entry status shows).
func pacingFigureMap(m map[string]float64, name string, f *allowance.Figures) {
	if f == nil {
		return
	}
	m[name+"_quota_rps"] = f.Quota
	m[name+"_production_rps"] = f.Production
	m[name+"_allowed_rps"] = f.Allowed
	m[name+"_production_throttles"] = f.ProductionThrottles
	m["reserve"] = f.Reserve
	if f.Mode == allowance.ModeAuto {
		m[name+"_auto"] = 1
	} else {
		m[name+"_auto"] = 0
	}
}

// startPacer makes the controller's first decision (cut short if
// startCtx ends: a signal while starting), then runs it on wg until ctx
// ends. It does nothing when c is nil.
func startPacer(startCtx, ctx context.Context, c *allowance.Controller, wg *sync.WaitGroup) {
	if c == nil {
		return
	}
	c.Start(startCtx)
	wg.Go(func() { c.Run(ctx) })
}
