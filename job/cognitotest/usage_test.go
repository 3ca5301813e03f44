package cognitotest_test

import (
	"context"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// Production and the client share a category's quota bucket: with
// production taking the whole quota, the client's calls are throttled, and
// production's own throttled calls are counted apart from the client's.
func TestProductionSharesTheQuota(t *testing.T) {
	srv := cognitotest.NewServer()
	defer srv.Close()
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: time.Second})
	srv.SetQuota(cognitotest.UserRead, 20, 1)
	srv.SetProduction(cognitotest.UserRead, 20)
	for sum(srv.Usage(cognitotest.UserRead)).ProductionCalls < 10 {
		time.Sleep(20 * time.Millisecond)
	}
	c := srv.Client(func(o *cip.Options) { o.RetryMaxAttempts = 1 })
	for range 40 {
		_, _ = c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(cognitotest.DefaultPoolID), Username: aws.String("nobody")})
	}
	srv.SetProduction(cognitotest.UserRead, 0)
	got := sum(srv.Usage(cognitotest.UserRead))
	if got.Calls != 40 || got.Throttles == 0 || got.Throttles != srv.Stats("AdminGetUser").Throttled {
		t.Errorf("client calls %d, throttled %d (Stats: %d); want 40, some, equal", got.Calls, got.Throttles, srv.Stats("AdminGetUser").Throttled)
	}
	if got.ProductionThrottles == 0 {
		t.Errorf("production was never throttled while the client took its tokens: %+v", got)
	}
	if srv.Calls("") != 40 {
		t.Errorf("Calls() = %d: production's calls must not count as received requests", srv.Calls(""))
	}
}

func sum(ps []cognitotest.UsagePeriod) cognitotest.UsagePeriod {
	var s cognitotest.UsagePeriod
	for _, p := range ps {
		s.Calls += p.Calls
		s.Throttles += p.Throttles
		s.ProductionCalls += p.ProductionCalls
		s.ProductionThrottles += p.ProductionThrottles
	}
	return s
}

func TestMonitoringDenied(t *testing.T) {
	srv := cognitotest.NewServer()
	defer srv.Close()
	srv.Deny("cloudwatch:GetMetricData", "servicequotas:GetServiceQuota")
	cw, sq := cloudwatch.NewFromConfig(srv.Config()), servicequotas.NewFromConfig(srv.Config())
	ctx := context.Background()
	if _, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Usage")}); err != nil {
		t.Errorf("ListMetrics (allowed) = %v", err)
	}
	_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(time.Now().Add(-time.Hour)), EndTime: aws.Time(time.Now()),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("a"), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Sum"),
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Usage"), MetricName: aws.String("CallCount")}}}}})
	if err == nil {
		t.Error("GetMetricData (denied) succeeded")
	}
	if _, err := sq.GetServiceQuota(ctx, &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String("cognito-idp"), QuotaCode: aws.String("L-COGRUPD1")}); err == nil {
		t.Error("GetServiceQuota (denied) succeeded")
	}
	srv.Deny()
	out, err := sq.GetServiceQuota(ctx, &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String("cognito-idp"), QuotaCode: aws.String("L-COGRUPD1")})
	if err != nil || aws.ToFloat64(out.Quota.Value) != 25 {
		t.Errorf("GetServiceQuota after Deny() = %v, %v; want 25", out, err)
	}
}

// This example simulates production traffic on the write quota and reads
// its use per period the way AWS publishes it, through the real CloudWatch
// client: the AWS/Usage CallCount of the category.
func ExampleServer_SetProduction() {
	srv := cognitotest.NewServer()
	defer srv.Close()
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: time.Second}) // a "minute" compressed to a second
	srv.SetQuota(cognitotest.UserResourceUpdate, 25, 5)
	srv.SetProduction(cognitotest.UserResourceUpdate, 10) // production: 10 writes a second
	time.Sleep(2100 * time.Millisecond)
	srv.SetProduction(cognitotest.UserResourceUpdate, 0)

	cw := cloudwatch.NewFromConfig(srv.Config())
	ctx := context.Background()
	metrics, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{
		Namespace: aws.String("AWS/Usage"), MetricName: aws.String("CallCount"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Resource"), Value: aws.String("UserResourceUpdate")}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range metrics.Metrics[0].Dimensions {
		fmt.Printf("%s=%s\n", aws.ToString(d.Name), aws.ToString(d.Value))
	}
	// Output:
	// Class=None
	// Resource=UserResourceUpdate
	// Service=Cognito User Pools
	// Type=API
}
