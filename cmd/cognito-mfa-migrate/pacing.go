package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/preflight"
)

// rpsFlag is the value of a --*-rps flag: requests per second, or "auto"
// for pacing that sees production.
type rpsFlag struct {
	auto bool
	rps  float64
}

// UnmarshalText parses "auto" or a number of requests per second.
func (r *rpsFlag) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.EqualFold(s, "auto") {
		*r = rpsFlag{auto: true}
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q: want requests per second (such as 10; 0 = unlimited) or auto", s)
	}
	*r = rpsFlag{rps: v}
	return nil
}

// String formats the value as it is parsed.
func (r rpsFlag) String() string {
	if r.auto {
		return "auto"
	}
	return strconv.FormatFloat(r.rps, 'f', -1, 64)
}

// rate returns the static rate: the value, or def when it is auto (the
// rate used while there is no usage data).
func (r rpsFlag) rate(def float64) float64 {
	if r.auto {
		return def
	}
	return r.rps
}

// pacingFlags configure pacing that sees production. Commands with an rps
// flag embed them.
type pacingFlags struct {
	Reserve     float64       `default:"${reserve}" help:"With an rps of auto: the share of each quota left to production's growth beyond its recent peak (0 to below 1)."`
	UsagePeriod time.Duration `default:"${usage_period}" help:"With an rps of auto: the CloudWatch metric period read (1m, or 5m where usage metrics come every five minutes) and how often the rates are decided."`
}

// pacing returns the job's pacing settings for these flags.
func (f pacingFlags) pacing() job.Pacing {
	return job.Pacing{Reserve: f.Reserve, Period: f.UsagePeriod}
}

// pacingSources builds the CloudWatch and Service Quotas readers of pacing
// from the AWS configuration, in the pool's Region. Their endpoints follow
// the SDK's chain (AWS_ENDPOINT_URL_CLOUDWATCH, AWS_ENDPOINT_URL_SERVICE_QUOTAS,
// AWS_ENDPOINT_URL), not --endpoint-url, which is Cognito's.
func pacingSources(cfg aws.Config, region string) job.PacingSources {
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.Region = region })
	sq := servicequotas.NewFromConfig(cfg, func(o *servicequotas.Options) { o.Region = region })
	return job.PacingSources{Usage: allowance.NewCloudWatchUsage(cw), Quotas: allowance.NewServiceQuotas(sq)}
}

// quotaSurvey is the preflight's reader of the applied quotas and
// production's recent use (preflight.QuotaSource): one survey as the
// pacing of --*-rps auto makes its first decision.
type quotaSurvey struct {
	src    job.PacingSources
	period time.Duration // the metric period read
}

// Usage implements preflight.QuotaSource.
func (q quotaSurvey) Usage(ctx context.Context) ([]preflight.Use, error) {
	figs, err := allowance.Survey(ctx, allowance.Config{
		Categories: []allowance.Category{
			{Name: "read", Resource: "UserRead", Default: job.QuotaUserRead},
			{Name: "write", Resource: "UserResourceUpdate", Default: job.QuotaUserResourceUpdate},
			{Name: "list", Resource: "UserList", Default: job.QuotaUserList},
		},
		Reserve: job.DefaultReserve, Period: q.period, Usage: q.src.Usage, Quotas: q.src.Quotas,
	})
	if err != nil && !errors.Is(err, allowance.ErrNoMetric) {
		return nil, err
	}
	source := map[string]string{"service-quotas": "Service Quotas", "default": "documented default", "flag": "flag"}
	uses := make([]preflight.Use, len(figs))
	for i, f := range figs {
		uses[i] = preflight.Use{Category: f.Category, Quota: f.Quota, Peak: f.Production, Throttled: f.ProductionThrottles > 0, FromSource: source[f.QuotaSource]}
		if f.Mode != allowance.ModeAuto {
			uses[i].FromSource += "; no usage data in CloudWatch yet"
		}
	}
	return uses, nil
}

// monitoringReachable reports whether CloudWatch and Service Quotas are
// where the SDK's chain points. It is false when --endpoint-url moves
// Cognito away from AWS (a test, a simulation, a private setup) while
// neither AWS_ENDPOINT_URL nor both AWS_ENDPOINT_URL_CLOUDWATCH and
// AWS_ENDPOINT_URL_SERVICE_QUOTAS say where they are: the job then reads no
// quotas or usage (the static rates, with one warning) rather than calling
// AWS's public endpoints from a setup that did not ask for them.
func monitoringReachable(cfg aws.Config, f awsFlags, getenv func(string) string) bool {
	if f.EndpointURL == "" || cfg.BaseEndpoint != nil {
		return true
	}
	return getenv("AWS_ENDPOINT_URL_CLOUDWATCH") != "" && getenv("AWS_ENDPOINT_URL_SERVICE_QUOTAS") != ""
}
