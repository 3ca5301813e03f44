package allowance

import (
	"context"
	"errors"
	"time"
)

// noCeiling is the Ceiling of a survey: nothing is paced.
type noCeiling struct{}

func (noCeiling) SetCeiling(float64) {}

// Survey reads the applied quotas and production's recent use of the
// categories once, as a controller's first decision does, and paces
// nothing: what the preflight reports. Categories need only Name, Resource,
// Default and Quota; the job has made no calls, so all the calls CloudWatch
// counts are production's. It returns the figures, in the order of
// cfg.Categories, and the errors met reading Service Quotas or CloudWatch
// (joined), or ErrNoMetric when CloudWatch has no usage data for any
// category.
func Survey(ctx context.Context, cfg Config) ([]Figures, error) {
	cats := make([]Category, len(cfg.Categories))
	for i, c := range cfg.Categories {
		c.Ceiling, c.Own = noCeiling{}, NewOwn(max(cfg.Period, time.Second))
		cats[i] = c
	}
	cfg.Categories = cats
	c := New(cfg)
	c.Start(ctx)
	figs := c.Figures()
	if err := errors.Join(c.loop.quotaErr, c.loop.usageErr); err != nil {
		return figs, err
	}
	for _, f := range figs {
		if f.Mode == ModeAuto {
			return figs, nil
		}
	}
	return figs, ErrNoMetric
}
