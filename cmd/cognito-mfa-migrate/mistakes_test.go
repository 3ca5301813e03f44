package main

// Mistakes operators make, each with the fix its message names and its exit
// code, through the built binary. Also the preflight and selftest commands
// end to end.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint/checkpointtest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// withEnv returns env with the variables of set replaced or added.
func withEnv(env []string, set ...string) []string {
	out := slices.Clone(env)
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		out = slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		out = append(out, kv)
	}
	return out
}

// without returns env without the variables named.
func without(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(e string) bool {
		k, _, _ := strings.Cut(e, "=")
		return slices.Contains(names, k)
	})
}

// execEnv runs the binary with env and args and returns it and its exit code.
func execEnv(t *testing.T, env []string, args ...string) (*proc, int) {
	t.Helper()
	p := startEnv(t, env, args...)
	return p, p.wait(t, time.Minute)
}

func TestOperatorMistakes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 20)
	const bucket = "mistakes-bucket"
	var armed atomic.Bool // the test's own setup is allowed
	s3url, s3c := checkpointtest.FakeS3Denying(t, func(method, path string) bool {
		return armed.Load() && strings.HasPrefix(path, "/"+bucket+"/denied/")
	}, bucket)
	put := func(key string, data []byte) {
		t.Helper()
		if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	put("denied/users.csv", usersCSV(f.seeds))
	put("ok/users.csv", usersCSV(f.seeds))
	armed.Store(true)

	// A shared config with two profiles, one of them SSO with no session.
	cfgFile := filepath.Join(f.dir, "aws-config")
	writeFile(t, cfgFile, []byte(`[default]
region = us-east-1

[profile dev]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = Admin
region = us-east-1
`))
	credsFile := filepath.Join(f.dir, "aws-credentials")
	writeFile(t, credsFile, []byte("[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = x\n"))
	profileEnv := withEnv(without(f.env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
		"AWS_CONFIG_FILE="+cfgFile, "AWS_SHARED_CREDENTIALS_FILE="+credsFile)

	jsonInput := filepath.Join(f.dir, "list-users.json")
	writeFile(t, jsonInput, []byte(`{"Users": [{"Username": "alice", "Attributes": []}]}`+"\n"))
	headerless := filepath.Join(f.dir, "names.csv")
	writeFile(t, headerless, []byte("alice\nbob\n"))
	never := filepath.Join(f.dir, "never-ran.csv")
	writeFile(t, never, usersCSV(f.seeds))

	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		want     []string
		noCalls  bool // no Cognito call may be made
	}{
		{"--region differs from the pool's", f.env, f.runArgs("--region", "eu-west-1"), 2,
			[]string{"the pool us-east-1_TestPool01 is in us-east-1", "pass --region us-east-1"}, true},
		{"AWS_REGION differs from the pool's", withEnv(f.env, "AWS_REGION=eu-west-1"), f.runArgs(), 2,
			[]string{"AWS_REGION (or the profile's region) is eu-west-1", "pass --region us-east-1"}, true},
		{"expired SSO session", profileEnv, f.runArgs("--profile", "dev"), 1,
			[]string{"aws sso login --profile dev"}, true},
		{"expired SSO session through AWS_PROFILE", withEnv(profileEnv, "AWS_PROFILE=dev"), f.runArgs(), 1,
			[]string{"aws sso login --profile dev"}, true},
		{"profile that does not exist", profileEnv, f.runArgs("--profile", "prod"), 2,
			[]string{`the AWS profile "prod" does not exist`, "ci, default, dev"}, true},
		{"S3 input denied", f.env, f.runArgs("--input", "s3://"+bucket+"/denied/users.csv", "--s3-endpoint-url", s3url,
			"--checkpoint", filepath.Join(f.dir, "s3in.checkpoint")), 1,
			[]string{"grant s3:GetObject on arn:aws:s3:::" + bucket + "/denied/users.csv"}, false},
		{"S3 checkpoint denied", f.env, f.runArgs("--checkpoint", "s3://"+bucket+"/denied/users.checkpoint", "--s3-endpoint-url", s3url), 1,
			[]string{"grant s3:GetObject on arn:aws:s3:::" + bucket + "/denied/users.checkpoint"}, true},
		{"S3 report denied", f.env, f.runArgs("--input", "s3://"+bucket+"/ok/users.csv", "--s3-endpoint-url", s3url,
			"--report", "s3://"+bucket+"/denied/report.csv", "--read-rps", "0", "--write-rps", "0"), 1,
			[]string{"grant s3:PutObject on arn:aws:s3:::" + bucket + "/denied/report.csv"}, false},
		{"JSON given as input", f.env, f.runArgs("--input", jsonInput), 2,
			[]string{"aws cognito-idp list-users", "cognito-mfa-migrate export"}, true},
		{"headerless list of usernames", f.env, f.runArgs("--input", headerless), 2,
			[]string{"add a first line that says username"}, true},
		{"status of an S3 checkpoint without a Region", without(f.env, "AWS_REGION"),
			[]string{"status", "--checkpoint", "s3://" + bucket + "/ok/users.checkpoint"}, 2,
			[]string{"no AWS Region is set", "pass --region"}, true},
		{"status of an input that never ran", f.env, []string{"status", "--input", never}, 2,
			[]string{"no run has started yet", "start one with run"}, true},
		{"preflight with an expired SSO session", profileEnv, []string{"preflight", "--user-pool-id", cognitotest.DefaultPoolID,
			"--profile", "dev", "--endpoint-url", f.srv.URL}, 1,
			[]string{"FAIL  credentials", "aws sso login --profile dev"}, true},
		{"preflight with a missing profile", profileEnv, []string{"preflight", "--user-pool-id", cognitotest.DefaultPoolID, "--profile", "nope"}, 2,
			[]string{`"nope" does not exist`, "ci, default, dev"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.srv.Calls("")
			p, code := execEnv(t, tt.env, tt.args...)
			msg := p.messages() + p.stdout.String()
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, p.stderr.tail())
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the message does not say %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "was it replaced during the run") || strings.Contains(msg, "no AWS credentials were found") {
				t.Errorf("the message still guesses wrong:\n%s", msg)
			}
			if tt.noCalls && f.srv.Calls("") != before {
				t.Errorf("%d Cognito calls were made, want none", f.srv.Calls("")-before)
			}
		})
	}
}

func TestWriteRPSAboveQuotaWarns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	p, code := f.exec(t, time.Minute, f.runArgs("--write-rps", "30")...)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderr.tail())
	}
	if msg := p.messages(); !strings.Contains(msg, "--write-rps 30 is above Cognito's UserResourceUpdate quota of 25/s") {
		t.Errorf("no warning naming the quota:\n%s", msg)
	}
}

// TestPreflightCommand runs preflight through the binary: a good setup
// passes (exit 0, text and JSON), a missing permission fails naming the
// grant (exit 1), and nothing in the pool changes.
func TestPreflightCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	env := withEnv(f.env, "AWS_ENDPOINT_URL_STS="+f.srv.URL)
	args := []string{"preflight", "--user-pool-id", cognitotest.DefaultPoolID, "--endpoint-url", f.srv.URL, "--input", f.input}
	p, code := execEnv(t, env, args...)
	out := p.stdout.String()
	if code != 0 || !strings.Contains(out, "preflight passed") || !strings.Contains(out, "account "+cognitotest.AccountID) {
		t.Fatalf("preflight of a good setup: exit %d\n%s\n%s", code, out, p.stderr.tail())
	}
	for _, line := range []string{"PASS  region", "PASS  permission AdminSetUserMFAPreference", "PASS  output --report", "SKIP  quotas"} {
		if !strings.Contains(out, line) {
			t.Errorf("output has no line %q:\n%s", line, out)
		}
	}
	p, code = execEnv(t, env, append(args, "--format", "json")...)
	var js struct {
		OK     bool `json:"ok"`
		Checks []struct{ Name, Status string }
	}
	if err := json.Unmarshal([]byte(p.stdout.String()), &js); err != nil || code != 0 || !js.OK || len(js.Checks) < 8 {
		t.Errorf("--format json: exit %d, %+v, %v\n%s", code, js, err, p.stdout.String())
	}

	f.srv.Deny("AdminSetUserMFAPreference")
	p, code = execEnv(t, env, args...)
	out = p.stdout.String()
	if code != 1 || !strings.Contains(out, "FAIL  permission AdminSetUserMFAPreference") ||
		!strings.Contains(out, "grant cognito-idp:AdminSetUserMFAPreference on arn:aws:cognito-idp:us-east-1:"+cognitotest.AccountID+":userpool/"+cognitotest.DefaultPoolID) {
		t.Errorf("preflight with a denied write: exit %d, want 1 naming the grant\n%s", code, out)
	}
	// --dry-run needs no write permission.
	if p, code := execEnv(t, env, append(args, "--dry-run")...); code != 0 {
		t.Errorf("preflight --dry-run with the write denied: exit %d, want 0\n%s", code, p.stdout.String())
	}
	f.srv.Deny()
	if n := f.srv.Stats("AdminSetUserMFAPreference").Applied; n != 0 {
		t.Errorf("preflight applied %d writes", n)
	}
	if _, err := os.Stat(f.checkpointPath()); err == nil {
		t.Errorf("preflight created a checkpoint")
	}
}

// TestRunPreflightWrongPool: run on a pool that does not exist stops before
// any checkpoint exists, naming the fix.
func TestRunPreflightWrongPool(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	args := f.runArgs()
	args[2] = "us-east-1_NoSuchPool"
	p, code := f.exec(t, time.Minute, args...)
	if code != 1 || !strings.Contains(p.messages(), "check --user-pool-id") {
		t.Errorf("run on an unknown pool: exit %d, want 1 naming the fix\n%s", code, p.stderr.tail())
	}
	if _, err := os.Stat(f.checkpointPath()); err == nil {
		t.Errorf("run on an unknown pool left a checkpoint behind")
	}
	if n := f.srv.Calls(""); n != 1 {
		t.Errorf("run on an unknown pool made %d calls, want 1 (the probe)", n)
	}
}

// TestSelftestCommand runs selftest through the binary against the fake.
func TestSelftestCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	args := []string{"selftest", "--user-pool-id", cognitotest.DefaultPoolID, "--endpoint-url", f.srv.URL, "--log-level", "warn"}
	p, code := f.exec(t, time.Minute, args...)
	if code != 0 || !strings.Contains(p.stdout.String(), "selftest passed") {
		t.Fatalf("selftest: exit %d\n%s\n%s", code, p.stdout.String(), p.stderr.tail())
	}
	if n := len(f.srv.Users(cognitotest.DefaultPoolID)); n != 0 || f.srv.ClientCount() != 0 {
		t.Errorf("selftest left %d users, %d app clients", n, f.srv.ClientCount())
	}
	f.srv.SetQuirks(cognitotest.Quirks{DisableAbsentFactors: true})
	p, code = f.exec(t, time.Minute, args...)
	if code != 1 || !strings.Contains(p.stdout.String(), "REFUTED") || !strings.Contains(p.stdout.String(), "settings not sent are left unchanged") {
		t.Errorf("selftest against a disagreeing fake: exit %d, want 1 naming the assumption\n%s", code, p.stdout.String())
	}
	if n := len(f.srv.Users(cognitotest.DefaultPoolID)); n != 0 {
		t.Errorf("selftest left %d users", n)
	}
}

// TestSelftestSIGTERM stops selftest in the middle of creating its users:
// it still deletes every one of them, and its app client.
func TestSelftestSIGTERM(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	f.srv.SetFaults("", cognitotest.Faults{Latency: 30 * time.Millisecond, Seed: 1})
	p := f.start(t, "selftest", "--user-pool-id", cognitotest.DefaultPoolID, "--endpoint-url", f.srv.URL, "--log-level", "warn")
	if !waitUntil(t, p, time.Minute, "4 users created", func() bool { return f.srv.Calls("AdminCreateUser") >= 4 }) {
		t.Fatalf("selftest exited before creating 4 users; stderr:\n%s", p.stderr.tail())
	}
	p.signal(t, syscall.SIGTERM)
	code := p.wait(t, time.Minute)
	if code != 4 {
		t.Errorf("exit code after SIGTERM = %d, want 4; stderr:\n%s", code, p.stderr.tail())
	}
	if n := len(f.srv.Users(cognitotest.DefaultPoolID)); n != 0 || f.srv.ClientCount() != 0 {
		t.Errorf("after SIGTERM selftest left %d users and %d app clients; stderr:\n%s", n, f.srv.ClientCount(), p.stderr.tail())
	}
	if !strings.Contains(p.messages(), "selftest interrupted") {
		t.Errorf("stderr does not say the selftest was interrupted:\n%s", p.messages())
	}
}
