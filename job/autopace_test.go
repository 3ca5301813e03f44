package job

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// pacingSources returns the CloudWatch and Service Quotas readers of
// pacing, through the real SDK clients aimed at srv.
func pacingSourcesFor(srv *cognitotest.Server) PacingSources {
	cfg := srv.Config()
	return PacingSources{
		Usage:  allowance.NewCloudWatchUsage(cloudwatch.NewFromConfig(cfg)),
		Quotas: allowance.NewServiceQuotas(servicequotas.NewFromConfig(cfg)),
	}
}

// autoRun runs users legacy users with --write-rps auto (static 20/s)
// against a fake whose write quota is 100/s, production using prod/s of
// it, and 1-second metric periods. deny names IAM actions the fake refuses.
func autoRun(t *testing.T, users int, prod float64, deny ...string) (*Summary, *cognitotest.Server, string) {
	t.Helper()
	const quota = 100.0
	srv := newSyntheticServer(t, 1)
	srv.SetQuota(cognitotest.UserResourceUpdate, quota, int(quota/5))
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: time.Second, Lag: 100 * time.Millisecond})
	srv.Deny(deny...)
	// Production's use is in CloudWatch before the run starts, and goes on.
	srv.BackfillProduction(cognitotest.UserResourceUpdate, prod, 3)
	srv.SetProduction(cognitotest.UserResourceUpdate, prod)
	var logs syncBuffer
	cfg := benchConfig(writeBenchInput(t, t.TempDir(), users))
	cfg.ReadRPS, cfg.WriteRPS = 1000, 20
	cfg.Pacing = Pacing{AutoWrite: true, Reserve: 0.2, Period: time.Second}
	sum, err := Run(t.Context(), cfg, Deps{
		Cognito: cognito.NewClient(srv.Config(), cfg.Retry), Store: checkpoint.NewFile(cfg.CheckpointLocation()),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Host: "test", Pacing: pacingSourcesFor(srv),
	})
	if err != nil {
		t.Fatalf("Run() = %v, want success\n%s", err, logs.String())
	}
	if sum.Outcomes["migrated"] != int64(users) {
		t.Fatalf("outcomes = %v, want %d migrated", sum.Outcomes, users)
	}
	return sum, srv, logs.String()
}

func TestRunAutoPacingTakesWhatProductionLeaves(t *testing.T) {
	if testing.Short() {
		t.Skip("a run of several seconds")
	}
	sum, srv, logs := autoRun(t, 200, 40)
	f := sum.Rates["write"].Pacing
	if f == nil {
		t.Fatalf("summary write rate has no pacing figures: %+v", sum.Rates["write"])
	}
	// allowed = 100 × 0.8 − 40
	if f.Mode != allowance.ModeAuto || f.Quota != 100 || f.QuotaSource != "service-quotas" || f.Reserve != 0.2 ||
		f.Production < 36 || f.Production > 44 || f.Allowed < 36 || f.Allowed > 44 {
		t.Errorf("write pacing = %+v, want auto, quota 100 from Service Quotas, production ≈ 40, allowed ≈ 40", *f)
	}
	var prodThrottled int
	for _, p := range srv.Usage(cognitotest.UserResourceUpdate) {
		prodThrottled += p.ProductionThrottles
	}
	if prodThrottled != 0 {
		t.Errorf("production was throttled %d times", prodThrottled)
	}
	if !strings.Contains(logs, "pacing decision") || strings.Contains(logs, "level=WARN") {
		t.Errorf("want a logged pacing decision and no warning:\n%s", logs)
	}
	var b strings.Builder
	if err := sum.WriteText(&b); err != nil || !strings.Contains(b.String(), "write pacing auto: quota 100/s (service-quotas)") {
		t.Errorf("summary text lacks the pacing line:\n%s", b.String())
	}
}

func TestRunAutoPacingFallsBackWithoutPermission(t *testing.T) {
	if testing.Short() {
		t.Skip("runs of several seconds")
	}
	t.Run("cloudwatch", func(t *testing.T) {
		sum, _, logs := autoRun(t, 60, 40, "cloudwatch:GetMetricData", "cloudwatch:ListMetrics")
		if f := sum.Rates["write"].Pacing; f == nil || f.Mode != allowance.ModeStatic || f.Allowed != 20 {
			t.Errorf("write pacing = %+v, want the static 20/s", f)
		}
		if n := strings.Count(logs, "level=WARN"); n != 1 || !strings.Contains(logs, "cloudwatch:GetMetricData") {
			t.Errorf("%d warnings, want 1 naming the permission:\n%s", n, logs)
		}
	})
	t.Run("servicequotas", func(t *testing.T) {
		sum, _, logs := autoRun(t, 40, 8, "servicequotas:ListServiceQuotas")
		// The documented 25/s, not the fake's 100/s: 25 × 0.8 − 8.
		if f := sum.Rates["write"].Pacing; f == nil || f.Mode != allowance.ModeAuto || f.QuotaSource != "default" || f.Quota != 25 || f.Allowed < 10 || f.Allowed > 14 {
			t.Errorf("write pacing = %+v, want auto on the documented quota 25/s, allowed ≈ 12/s", f)
		}
		if n := strings.Count(logs, "level=WARN"); n != 1 || !strings.Contains(logs, "servicequotas:ListServiceQuotas") {
			t.Errorf("%d warnings, want 1 naming the permission:\n%s", n, logs)
		}
	})
}

func TestExportAutoPacing(t *testing.T) {
	srv := newPool(t, tenthLegacy(600))
	srv.SetQuota(cognitotest.UserList, 30, 6)
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: time.Second})
	srv.BackfillProduction(cognitotest.UserList, 6, 3)
	srv.SetProduction(cognitotest.UserList, 6)
	cfg := testExportConfig(filepath.Join(t.TempDir(), "pool.users.csv"))
	cfg.Pacing = Pacing{AutoList: true, Reserve: 0.2, Period: time.Second}
	sum, err := Export(t.Context(), cfg, ExportDeps{Cognito: exportClient(srv), Pacing: pacingSourcesFor(srv)})
	if err != nil {
		t.Fatalf("Export() = %v, want success", err)
	}
	// 30 × 0.8 − 6: decided before the first ListUsers call.
	if f := sum.Rate.Pacing; f == nil || f.Mode != allowance.ModeAuto || f.Quota != 30 || f.Allowed < 17 || f.Allowed > 19 {
		t.Errorf("list pacing = %+v, want auto, quota 30, allowed ≈ 18", f)
	}
	var b strings.Builder
	if err := sum.WriteText(&b); err != nil || !strings.Contains(b.String(), "list pacing auto") {
		t.Errorf("export summary lacks the pacing line:\n%s", b.String())
	}
}

// TestPacingFiguresShown checks that the pacing figures of a run reach the
// EMF metrics, the summary text and status.
func TestPacingFiguresShown(t *testing.T) {
	read := &allowance.Figures{Category: "UserRead", Mode: allowance.ModeStatic, Quota: 120, QuotaSource: "default", Reserve: 0.2, Allowed: 40}
	write := &allowance.Figures{Category: "UserResourceUpdate", Mode: allowance.ModeAuto, Quota: 25, QuotaSource: "service-quotas",
		Production: 10, ProductionThrottles: 2, Reserve: 0.2, Allowed: 10}
	p := Progress{Elapsed: time.Minute, Rows: 10, Final: true,
		Read:  pace.RateSummary{Configured: 40, Current: 40, Pacing: read},
		Write: pace.RateSummary{Configured: 10, Current: 7, Pacing: write}}
	p.Calls[cognito.OpAdminGetUser].Attempts, p.Calls[cognito.OpAdminSetUserMFAPreference].Attempts = 5, 5
	var out bytes.Buffer
	NewEMF(&out, testPool, "apply", "run", 0).Observe(p)
	docs := emfDocs(t, out.Bytes())
	want := map[string]float64{
		"AdminSetUserMFAPreference.Quota": 25, "AdminSetUserMFAPreference.ProductionRate": 10,
		"AdminSetUserMFAPreference.AllowedRate": 10, "AdminSetUserMFAPreference.ProductionThrottles": 2,
		"AdminGetUser.Quota": 120, "AdminGetUser.AllowedRate": 40, "Reserve": 0.2,
	}
	for k, v := range want {
		if got, ok := docs[0][k].(float64); !ok || got != v {
			t.Errorf("EMF %s = %v, want %v", k, docs[0][k], v)
		}
	}

	sum := &Summary{Rates: map[string]pace.RateSummary{"write": p.Write}}
	var b strings.Builder
	_ = sum.WriteText(&b)
	if !strings.Contains(b.String(), "write pacing auto: quota 25/s (service-quotas), production 10/s, reserve 20%, allowed 10/s, production throttled 2 times") {
		t.Errorf("summary text:\n%s", b.String())
	}

	figs := map[string]float64{}
	pacingFigureMap(figs, "write", write)
	st := &Status{Runs: []checkpoint.Run{{ID: "r", Figures: figs}}}
	b.Reset()
	_ = st.WriteText(&b)
	if !strings.Contains(b.String(), "write pacing auto: quota 25/s, production 10/s, reserve 20%, allowed 10/s") {
		t.Errorf("status text:\n%s", b.String())
	}
}
