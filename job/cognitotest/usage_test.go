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
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

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

// This example gives the simulated account a history of production
// traffic on the write quota, and finds its usage metric the way a client
// must, through the real CloudWatch client: the AWS/Usage CallCount whose
// Resource dimension is the category.
func ExampleServer_BackfillProduction() {
	srv := cognitotest.NewServer()
	defer srv.Close()
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: time.Second}) // a "minute" compressed to a second
	srv.BackfillProduction(cognitotest.UserResourceUpdate, 10, 3)      // 10 writes a second, the last 3 periods

	cw := cloudwatch.NewFromConfig(srv.Config())
	metrics, err := cw.ListMetrics(context.Background(), &cloudwatch.ListMetricsInput{
		Namespace: aws.String("AWS/Usage"), MetricName: aws.String("CallCount"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Resource"), Value: aws.String("UserResourceUpdate")}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range metrics.Metrics[0].Dimensions {
		fmt.Printf("%s=%s\n", aws.ToString(d.Name), aws.ToString(d.Value))
	}
	fmt.Println(sum(srv.Usage(cognitotest.UserResourceUpdate)).ProductionCalls, "production calls")
	// Output:
	// Class=None
	// Resource=UserResourceUpdate
	// Service=Cognito User Pools
	// Type=API
	// 30 production calls
}
