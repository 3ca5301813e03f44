package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// pacingFixture is a fixture whose fake also answers CloudWatch and Service
// Quotas (found through the SDK's AWS_ENDPOINT_URL_<SERVICE> variables),
// with a write quota of 100/s, 1-second metric periods and production
// writing 20/s.
func pacingFixture(t *testing.T, users int) *fixture {
	t.Helper()
	f := newFixture(t, users)
	f.env = append(f.env, "AWS_ENDPOINT_URL_CLOUDWATCH="+f.srv.URL, "AWS_ENDPOINT_URL_SERVICE_QUOTAS="+f.srv.URL)
	f.srv.SetQuota(cognitotest.UserResourceUpdate, 100, 20)
	f.srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: time.Second})
	f.srv.BackfillProduction(cognitotest.UserResourceUpdate, 20, 3)
	f.srv.SetProduction(cognitotest.UserResourceUpdate, 20)
	return f
}

// TestE2EAutoRates runs the binary with --write-rps auto: the pacing
// decision is logged, and the summary, the EMF metrics and status show the
// quota, production's use, the reserve and the allowed rate.
func TestE2EAutoRates(t *testing.T) {
	f := pacingFixture(t, 60)
	p, code := f.exec(t, time.Minute, f.runArgs("--write-rps", "auto", "--usage-period", "1s", "--metrics", "emf", "--metrics-interval", "1s")...)
	if code != 0 {
		t.Fatalf("exit code %d, want 0\n%s", code, p.stderr.tail())
	}
	if msgs := p.messages(); !strings.Contains(msgs, "pacing decision") || strings.Contains(p.stderr.String(), `"level":"WARN"`) {
		t.Errorf("want a pacing decision logged and no warning:\n%s", p.stderr.tail())
	}
	var sum job.Summary
	if err := json.Unmarshal(readFile(t, filepath.Join(f.dir, "users.summary.json")), &sum); err != nil {
		t.Fatal(err)
	}
	// 100 × 0.8 − 20
	if pf := sum.Rates["write"].Pacing; pf == nil || pf.Mode != "auto" || pf.Quota != 100 || pf.Reserve != 0.2 || pf.Allowed < 58 || pf.Allowed > 62 {
		t.Errorf("summary rates.write.pacing = %+v, want auto, quota 100, reserve 0.2, allowed ≈ 60", pf)
	}
	if out := p.stdout.String(); !strings.Contains(out, `"AdminSetUserMFAPreference.AllowedRate"`) || !strings.Contains(out, `"Reserve"`) {
		t.Errorf("EMF lines lack the pacing metrics:\n%s", out)
	}
	st, code := f.exec(t, 30*time.Second, "status", "--input", f.input)
	if code != 0 || !strings.Contains(st.stdout.String(), "write pacing auto: quota 100/s") {
		t.Errorf("status (exit %d) does not show the pacing:\n%s%s", code, st.stdout.String(), st.stderr.tail())
	}
}

// TestE2EAutoRatesWithoutPermission: without the CloudWatch permissions the
// run warns once, runs at the static rate and succeeds.
func TestE2EAutoRatesWithoutPermission(t *testing.T) {
	f := pacingFixture(t, 30)
	f.srv.Deny("cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "servicequotas:ListServiceQuotas")
	p, code := f.exec(t, time.Minute, f.runArgs("--write-rps", "auto", "--usage-period", "1s")...)
	if code != 0 {
		t.Fatalf("exit code %d, want 0\n%s", code, p.stderr.tail())
	}
	warns := strings.Count(p.stderr.String(), `"level":"WARN"`)
	// One for CloudWatch (the rates), one for Service Quotas (the quota).
	if warns != 2 || !strings.Contains(p.stderr.String(), "cloudwatch:GetMetricData") || !strings.Contains(p.stderr.String(), "servicequotas:ListServiceQuotas") {
		t.Errorf("%d warnings, want one naming the CloudWatch permissions and one naming Service Quotas:\n%s", warns, p.stderr.String())
	}
	var sum job.Summary
	if err := json.Unmarshal(readFile(t, filepath.Join(f.dir, "users.summary.json")), &sum); err != nil {
		t.Fatal(err)
	}
	if pf := sum.Rates["write"].Pacing; pf == nil || pf.Mode != "static" || pf.Allowed != job.DefaultWriteRPS {
		t.Errorf("summary rates.write.pacing = %+v, want static at %v/s", pf, job.DefaultWriteRPS)
	}
}

// TestE2EPreflightReadsQuotasAndProduction: preflight reports each
// category's applied quota and production's recent peak, and status and
// preflight accept the rates as auto from the environment, as the ECS task
// sets them.
func TestE2EPreflightReadsQuotasAndProduction(t *testing.T) {
	f := pacingFixture(t, 30)
	env := append(f.env, "AWS_ENDPOINT_URL_STS="+f.srv.URL, "COGNITO_MFA_MIGRATE_READ_RPS=auto", "COGNITO_MFA_MIGRATE_WRITE_RPS=auto")
	p, code := execEnv(t, env, "preflight", "--user-pool-id", cognitotest.DefaultPoolID, "--endpoint-url", f.srv.URL, "--input", f.input, "--usage-period", "1s")
	out := p.stdout.String()
	if code != 0 || !strings.Contains(out, "PASS  quota UserResourceUpdate") || !strings.Contains(out, "quota 100/s (Service Quotas), production's recent peak 2") {
		t.Errorf("preflight: exit %d, want the write quota from Service Quotas and production's peak of about 20/s\n%s%s", code, out, p.stderr.tail())
	}
	p, _ = execEnv(t, env, "status", "--input", f.input) // no checkpoint yet: only the flags are checked
	if msg := p.stderr.String(); strings.Contains(msg, "rps") || !strings.Contains(msg, "no run has started yet") {
		t.Errorf("status with COGNITO_MFA_MIGRATE_WRITE_RPS=auto, want only the missing checkpoint:\n%s", msg)
	}
}
