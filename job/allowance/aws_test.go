package allowance_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// clients returns real CloudWatch and Service Quotas clients aimed at srv.
func clients(srv *cognitotest.Server) (*cloudwatch.Client, *servicequotas.Client) {
	cfg := srv.Config()
	return cloudwatch.NewFromConfig(cfg), servicequotas.NewFromConfig(cfg)
}

// call makes n AdminGetUser calls through the real Cognito client.
func call(t *testing.T, srv *cognitotest.Server, n int) {
	t.Helper()
	c := srv.Client()
	for range n {
		_, _ = c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(cognitotest.DefaultPoolID), Username: aws.String("nobody")})
	}
}

func TestCloudWatchUsageDiscoversDimensionsAndReadsPeriods(t *testing.T) {
	var now time.Time
	base := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	now = base
	srv := cognitotest.NewServer(cognitotest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: time.Minute, Lag: 30 * time.Second})
	call(t, srv, 3)
	now = base.Add(time.Minute)
	call(t, srv, 5)
	now = base.Add(2*time.Minute + 31*time.Second) // the second minute is published, the third is not over

	cw, _ := clients(srv)
	u := allowance.NewCloudWatchUsage(cw)
	dims, err := u.Dimensions(t.Context(), "UserRead")
	if err != nil {
		t.Fatalf("Dimensions(UserRead): %v", err)
	}
	got := map[string]string{}
	for _, d := range dims {
		got[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	want := map[string]string{"Service": cognitotest.UsageService, "Type": "API", "Resource": "UserRead", "Class": "None"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Dimensions(UserRead)[%s] = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if _, err := u.Dimensions(t.Context(), "UserResourceUpdate"); !errors.Is(err, allowance.ErrNoMetric) {
		t.Errorf("Dimensions of a category never called: err = %v, want ErrNoMetric", err)
	}
	pts, err := u.Usage(t.Context(), []string{"UserRead", "UserResourceUpdate"}, base.Add(-time.Hour), now, time.Minute)
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	rp := pts["UserRead"]
	if len(rp) != 2 || !rp[0].Start.Equal(base) || rp[0].Calls != 3 || !rp[1].Start.Equal(base.Add(time.Minute)) || rp[1].Calls != 5 {
		t.Errorf("Usage(UserRead) = %+v, want 3 calls at %v and 5 at +1m", rp, base)
	}
	if _, ok := pts["UserResourceUpdate"]; ok {
		t.Errorf("Usage has points for a category without a metric: %+v", pts["UserResourceUpdate"])
	}
}

func TestCloudWatchUsageFiveMinuteData(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	now := base
	srv := cognitotest.NewServer(cognitotest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: 5 * time.Minute})
	for i := range 3 {
		now = base.Add(time.Duration(i)*5*time.Minute + time.Minute)
		call(t, srv, 2+i)
	}
	now = base.Add(15 * time.Minute)
	cw, _ := clients(srv)
	pts, err := allowance.NewCloudWatchUsage(cw).Usage(t.Context(), []string{"UserRead"}, base, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rp := pts["UserRead"]
	if len(rp) != 3 || rp[1].Start.Sub(rp[0].Start) != 5*time.Minute || rp[2].Calls != 4 {
		t.Errorf("5-minute data queried per minute = %+v, want 3 points 5 minutes apart, the last with 4 calls", rp)
	}
}

func TestServiceQuotasMatchesCategoryNames(t *testing.T) {
	srv := cognitotest.NewServer()
	defer srv.Close()
	srv.SetQuota(cognitotest.UserRead, 200, 200) // an applied increase
	_, sq := clients(srv)
	got, err := allowance.NewServiceQuotas(sq).Quotas(t.Context(), []string{"UserRead", "UserResourceUpdate", "UserList", "NoSuchCategory"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"UserRead": 200, "UserResourceUpdate": 25, "UserList": 30}
	if len(got) != len(want) {
		t.Errorf("Quotas = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Quotas[%s] = %v, want %v", k, got[k], v)
		}
	}
}

func TestAdaptersReportDenial(t *testing.T) {
	srv := cognitotest.NewServer()
	defer srv.Close()
	call(t, srv, 1)
	srv.Deny("cloudwatch:ListMetrics", "servicequotas:ListServiceQuotas")
	cw, sq := clients(srv)
	ctx := context.Background()
	_, err := allowance.NewCloudWatchUsage(cw).Usage(ctx, []string{"UserRead"}, time.Now().Add(-time.Hour), time.Now(), time.Minute)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Errorf("Usage with ListMetrics denied: err = %v, want AccessDeniedException", err)
	}
	_, err = allowance.NewServiceQuotas(sq).Quotas(ctx, []string{"UserRead"})
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Errorf("Quotas denied: err = %v, want AccessDeniedException", err)
	}
}

type lastCeiling struct{ v float64 }

func (c *lastCeiling) SetCeiling(rps float64) { c.v = rps }

// TestControllerOverTheSDKLateAndMissingData drives the controller through
// the real CloudWatch and Service Quotas clients against the fake, on the
// fake's clock: usage published three minutes late, with periods missing.
func TestControllerOverTheSDKLateAndMissingData(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	now := base
	srv := cognitotest.NewServer(cognitotest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	missing := func(s time.Time) bool { return s.Equal(base.Add(3*time.Minute)) || s.Equal(base.Add(4*time.Minute)) }
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: time.Minute, Lag: 3 * time.Minute, Missing: missing})
	// "Production" here is calls the controller did not make: 2/s for
	// five minutes, then 5/s for three.
	for m := range 8 {
		now = base.Add(time.Duration(m)*time.Minute + time.Second)
		perMinute := 120
		if m >= 5 {
			perMinute = 300
		}
		call(t, srv, perMinute)
	}
	cw, sq := clients(srv)
	ceil := &lastCeiling{}
	c := allowance.New(allowance.Config{
		Categories: []allowance.Category{{Name: "read", Resource: "UserRead", Static: 40, Default: 120, Ceiling: ceil, Own: allowance.NewOwn(time.Minute)}},
		Reserve:    0.2, Period: time.Minute,
		Usage: allowance.NewCloudWatchUsage(cw), Quotas: allowance.NewServiceQuotas(sq),
		Now: func() time.Time { return now },
	})
	now = base.Add(8 * time.Minute)
	c.Start(t.Context()) // minutes 0-4 are published, 3 and 4 are missing
	if ceil.v != 94 {
		t.Errorf("ceiling at +8m = %v, want 120 × 0.8 − 2 = 94 from minutes 0-2", ceil.v)
	}
	now = base.Add(11 * time.Minute)
	c.Step(t.Context(), now) // minutes 5-7 arrived, late
	if ceil.v != 91 {
		t.Errorf("ceiling at +11m = %v, want 120 × 0.8 − 5 = 91 once the late minutes arrived", ceil.v)
	}
	if f := c.Figures()[0]; f.Production != 5 || f.QuotaSource != "service-quotas" {
		t.Errorf("Figures() = %+v", f)
	}
}

func TestSurvey(t *testing.T) {
	srv := cognitotest.NewServer()
	defer srv.Close()
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: time.Second})
	srv.SetQuota(cognitotest.UserResourceUpdate, 25, 5)
	srv.BackfillProduction(cognitotest.UserResourceUpdate, 10, 3)
	cw, sq := clients(srv)
	cfg := allowance.Config{
		Categories: []allowance.Category{
			{Name: "read", Resource: "UserRead", Default: 120},
			{Name: "write", Resource: "UserResourceUpdate", Default: 25},
		},
		Reserve: 0.2, Period: time.Second,
		Usage: allowance.NewCloudWatchUsage(cw), Quotas: allowance.NewServiceQuotas(sq),
	}
	figs, err := allowance.Survey(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Survey: %v", err)
	}
	if w := figs[1]; w.Mode != allowance.ModeAuto || w.Quota != 25 || w.Production < 9 || w.Production > 11 {
		t.Errorf("write figures = %+v, want auto, quota 25, production ≈ 10", w)
	}
	if r := figs[0]; r.Mode != allowance.ModeStatic || r.Quota != 120 {
		t.Errorf("read figures (no usage data) = %+v, want static, quota 120", r)
	}
	srv.Deny("GetMetricData")
	if _, err := allowance.Survey(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("Survey with GetMetricData denied: err = %v, want AccessDenied", err)
	}
}
