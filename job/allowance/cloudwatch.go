package allowance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// The CloudWatch usage metrics of a quota category (reference §9).
const (
	UsageNamespace     = "AWS/Usage"
	MetricCallCount    = "CallCount"
	MetricThrottles    = "ThrottleCount"
	DimensionResource  = "Resource"
	DimensionService   = "Service"
	maxListMetricPages = 10
)

// CloudWatchAPI is the part of the CloudWatch client CloudWatchUsage calls.
// *cloudwatch.Client satisfies it.
type CloudWatchAPI interface {
	ListMetrics(ctx context.Context, in *cloudwatch.ListMetricsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error)
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var _ CloudWatchAPI = (*cloudwatch.Client)(nil)

// ErrNoMetric means CloudWatch lists no CallCount metric for a category:
// nothing called it in the last two weeks, or the dimensions differ.
var ErrNoMetric = errors.New("no AWS/Usage CallCount metric for the category")

// CloudWatchUsage reads the AWS/Usage CallCount and ThrottleCount of
// Cognito's quota categories. The full dimension set of each category
// (Service, Type, Resource, Class) is discovered once with ListMetrics
// (Resource=<category>) rather than assumed; a category that has none yet is
// looked up again at the next call. It is safe for concurrent use. Create it
// with NewCloudWatchUsage.
type CloudWatchUsage struct {
	api CloudWatchAPI

	mu   sync.Mutex
	dims map[string][]cwtypes.Dimension // by category
}

// NewCloudWatchUsage returns a Usage over api.
func NewCloudWatchUsage(api CloudWatchAPI) *CloudWatchUsage {
	return &CloudWatchUsage{api: api, dims: map[string][]cwtypes.Dimension{}}
}

// Dimensions returns the dimension set of category's CallCount metric,
// found with ListMetrics, or ErrNoMetric.
func (u *CloudWatchUsage) Dimensions(ctx context.Context, category string) ([]cwtypes.Dimension, error) {
	u.mu.Lock()
	d, ok := u.dims[category]
	u.mu.Unlock()
	if ok {
		return d, nil
	}
	var best []cwtypes.Dimension
	in := &cloudwatch.ListMetricsInput{
		Namespace:  aws.String(UsageNamespace),
		MetricName: aws.String(MetricCallCount),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String(DimensionResource), Value: aws.String(category)}},
	}
	for range maxListMetricPages {
		out, err := u.api.ListMetrics(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("cloudwatch ListMetrics %s/%s Resource=%s: %w", UsageNamespace, MetricCallCount, category, err)
		}
		for _, m := range out.Metrics {
			// Prefer Cognito's own metric when another service has a
			// category of the same name.
			if best == nil || strings.Contains(strings.ToLower(dimValue(m.Dimensions, DimensionService)), "cognito") {
				best = m.Dimensions
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	if best == nil {
		return nil, fmt.Errorf("%w %s", ErrNoMetric, category)
	}
	u.mu.Lock()
	u.dims[category] = best
	u.mu.Unlock()
	return best, nil
}

func dimValue(ds []cwtypes.Dimension, name string) string {
	for _, d := range ds {
		if aws.ToString(d.Name) == name {
			return aws.ToString(d.Value)
		}
	}
	return ""
}

// Usage implements Usage with one GetMetricData call (a CallCount and a
// ThrottleCount query per category, Sum, at period rounded to whole
// seconds). Categories without a metric yet have no entry; it fails only
// when no category could be read.
func (u *CloudWatchUsage) Usage(ctx context.Context, categories []string, start, end time.Time, period time.Duration) (map[string][]Point, error) {
	secs := int32(max(1, math.Round(period.Seconds())))
	var queries []cwtypes.MetricDataQuery
	var firstErr error
	for i, c := range categories {
		dims, err := u.Dimensions(ctx, c)
		if err != nil {
			if !errors.Is(err, ErrNoMetric) && firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, m := range []struct{ id, name string }{{"c", MetricCallCount}, {"t", MetricThrottles}} {
			queries = append(queries, cwtypes.MetricDataQuery{
				Id: aws.String(fmt.Sprintf("%s%d", m.id, i)),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String(UsageNamespace), MetricName: aws.String(m.name), Dimensions: dims},
					Period: aws.Int32(secs),
					Stat:   aws.String("Sum"),
				},
				ReturnData: aws.Bool(true),
			})
		}
	}
	if len(queries) == 0 {
		return nil, firstErr // nil when no category has a metric yet: no data
	}
	calls, throttles := map[string]map[int64]float64{}, map[string]map[int64]float64{}
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end), MetricDataQueries: queries,
		ScanBy: cwtypes.ScanByTimestampAscending,
	}
	for {
		out, err := u.api.GetMetricData(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("cloudwatch GetMetricData %s: %w", UsageNamespace, err)
		}
		for _, r := range out.MetricDataResults {
			id := aws.ToString(r.Id)
			var i int
			if _, err := fmt.Sscanf(id[1:], "%d", &i); err != nil || i >= len(categories) {
				continue
			}
			dst := calls
			if id[0] == 't' {
				dst = throttles
			}
			m := dst[categories[i]]
			if m == nil {
				m = map[int64]float64{}
				dst[categories[i]] = m
			}
			for k, ts := range r.Timestamps {
				if k < len(r.Values) {
					m[ts.UnixNano()] += r.Values[k]
				}
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	res := map[string][]Point{}
	for c, m := range calls {
		for ns, v := range m {
			res[c] = append(res[c], Point{Start: time.Unix(0, ns), Calls: v, Throttles: throttles[c][ns]})
		}
		sortPoints(res[c])
	}
	return res, nil
}

func sortPoints(p []Point) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].Start.Before(p[j-1].Start); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}
