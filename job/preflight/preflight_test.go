package preflight_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint/checkpointtest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/preflight"
)

const pool = cognitotest.DefaultPoolID

// setup is a good setup: a pool with users, an input naming them, outputs
// in a writable folder.
type setup struct {
	srv  *cognitotest.Server
	cfg  preflight.Config
	deps preflight.Deps
	dir  string
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	if err := srv.AddSeeds(pool, cognitotest.Mix(50, 1)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "users.csv")
	var b strings.Builder
	b.WriteString("username\n")
	for _, u := range srv.Users(pool) {
		b.WriteString(u.Username + "\n")
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := preflight.Config{
		PoolID: pool, Region: cognitotest.Region, Input: in,
		Outputs: []preflight.Output{
			{Flag: "--checkpoint", Location: filepath.Join(dir, "users.checkpoint"), Checkpoint: true},
			{Flag: "--report", Location: filepath.Join(dir, "users.report.csv")},
		},
		ReadRPS: job.DefaultReadRPS, WriteRPS: job.DefaultWriteRPS, ListRPS: job.DefaultListRPS,
	}
	noRetry := func(o *cip.Options) { o.Retryer = aws.NopRetryer{} }
	deps := preflight.Deps{Cognito: srv.Client(noRetry), STS: sts.NewFromConfig(srv.Config())}
	return &setup{srv: srv, cfg: cfg, deps: deps, dir: dir}
}

// check returns the check named name, failing the test if there is none.
func check(t *testing.T, r *preflight.Report, name string) preflight.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	var b bytes.Buffer
	_ = r.WriteText(&b)
	t.Fatalf("no check %q in:\n%s", name, b.String())
	return preflight.Check{}
}

func TestPreflightGoodSetup(t *testing.T) {
	s := newSetup(t)
	r := preflight.Run(t.Context(), s.cfg, s.deps)
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("preflight of a good setup failed:\n%s", b.String())
	}
	for _, name := range []string{"region", "credentials", "pool", "permission AdminGetUser", "permission AdminSetUserMFAPreference",
		"permission ListUsers", "input", "output --checkpoint", "output --report", "rates"} {
		if c := check(t, r, name); c.Status != preflight.StatusPass {
			t.Errorf("check %s = %s (%s), want pass", name, c.Status, c.Detail)
		}
	}
	if c := check(t, r, "quotas"); c.Status != preflight.StatusSkip || !strings.Contains(c.Detail, "not read") {
		t.Errorf("quotas check = %+v, want skipped without a quota source", c)
	}
	if r.Account != cognitotest.AccountID {
		t.Errorf("account = %q, want %q", r.Account, cognitotest.AccountID)
	}
	n := len(s.srv.Users(pool))
	if c := check(t, r, "estimate"); !strings.Contains(c.Detail, fmt.Sprintf("%d rows: %d AdminGetUser calls", n, n)) || !strings.Contains(c.Detail, "MAU") {
		t.Errorf("estimate = %q, want %d reads and the MAU cost", c.Detail, n)
	}
	// Nothing changed: the probes used users that do not exist.
	if n := s.srv.Stats("AdminSetUserMFAPreference").Applied; n != 0 {
		t.Errorf("preflight applied %d writes, want 0", n)
	}
	if ents, _ := os.ReadDir(s.dir); len(ents) != 1 {
		t.Errorf("preflight left files behind: %v", ents)
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		OK     bool
		Checks []preflight.Check
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil || !decoded.OK || len(decoded.Checks) != len(r.Checks) {
		t.Errorf("JSON form = %s (%v), want ok and every check", js.String(), err)
	}
}

func TestPreflightFailures(t *testing.T) {
	tests := []struct {
		name      string
		change    func(t *testing.T, s *setup)
		check     string
		wantFix   string
		wantNoRun bool // the check stops everything after it
	}{
		{"wrong region", func(t *testing.T, s *setup) { s.cfg.Region = "eu-west-1" }, "region", "--region us-east-1", true},
		{"unknown pool", func(t *testing.T, s *setup) { s.cfg.PoolID = "us-east-1_NoSuchPool" }, "pool", "check --user-pool-id", false},
		{"missing permission", func(t *testing.T, s *setup) { s.srv.Deny("AdminSetUserMFAPreference") },
			"permission AdminSetUserMFAPreference", "grant cognito-idp:AdminSetUserMFAPreference on arn:aws:cognito-idp:us-east-1:" + cognitotest.AccountID + ":userpool/" + pool, false},
		{"missing read permission", func(t *testing.T, s *setup) { s.srv.Deny("AdminGetUser") },
			"permission AdminGetUser", "grant cognito-idp:AdminGetUser", false},
		{"unwritable output", func(t *testing.T, s *setup) {
			s.cfg.Outputs[1].Location = filepath.Join(s.dir, "no-such-folder", "report.csv")
		}, "output --report", "mkdir -p", false},
		{"output under a file", func(t *testing.T, s *setup) {
			s.cfg.Outputs[1].Location = filepath.Join(s.cfg.Input, "report.csv")
		}, "output --report", "choose another location", false},
		{"expired credentials", func(t *testing.T, s *setup) { s.srv.SetAuthError("ExpiredTokenException", "") }, "credentials", "aws sso login", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			tt.change(t, s)
			r := preflight.Run(t.Context(), s.cfg, s.deps)
			if r.OK() {
				t.Fatalf("preflight passed, want it to fail")
			}
			c := check(t, r, tt.check)
			if c.Status != preflight.StatusFail || !strings.Contains(c.Fix, tt.wantFix) {
				t.Errorf("check %s = %s, fix %q; want fail naming %q", tt.check, c.Status, c.Fix, tt.wantFix)
			}
			if tt.wantNoRun && (len(r.Checks) != 1 || s.srv.Calls("") != 0) {
				t.Errorf("after a wrong Region: %d checks, %d calls; want 1 check and no call", len(r.Checks), s.srv.Calls(""))
			}
		})
	}
}

func TestPreflightS3(t *testing.T) {
	const bucket = "preflight-bucket"
	deny := func(method, path string) bool {
		return strings.HasPrefix(path, "/"+bucket+"/locked/")
	}
	_, client := checkpointtest.FakeS3Denying(t, deny, bucket)
	s := newSetup(t)
	s.deps.S3 = client
	s.cfg.Outputs = []preflight.Output{
		{Flag: "--checkpoint", Location: "s3://" + bucket + "/run/users.checkpoint", Checkpoint: true},
		{Flag: "--report", Location: "s3://" + bucket + "/locked/users.report.csv"},
		{Flag: "--summary", Location: "s3://" + bucket + "/run/users.summary.json"},
		{Flag: "--output", Location: "s3://" + bucket + "/run/new.csv"},
	}
	// An existing output is never written by preflight.
	const old = "the summary of an earlier slice"
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("run/users.summary.json"),
		Body: strings.NewReader(old)}); err != nil {
		t.Fatal(err)
	}
	r := preflight.Run(t.Context(), s.cfg, s.deps)
	for _, name := range []string{"output --summary", "output --output"} {
		if c := check(t, r, name); c.Status != preflight.StatusPass {
			t.Errorf("%s: %+v, want pass", name, c)
		}
	}
	got, err := client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("run/users.summary.json")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(b) != old {
		t.Errorf("preflight changed an existing output to %q", b)
	}
	if c := check(t, r, "output --checkpoint"); c.Status != preflight.StatusPass {
		t.Errorf("writable S3 checkpoint: %+v, want pass", c)
	}
	c := check(t, r, "output --report")
	if c.Status != preflight.StatusFail || !strings.Contains(c.Fix, "grant s3:PutObject on arn:aws:s3:::"+bucket+"/locked/users.report.csv") {
		t.Errorf("denied S3 report: %+v, want fail naming s3:PutObject and the object", c)
	}
	// The probe objects are gone.
	out, err := client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 {
		t.Errorf("preflight left %d objects in the bucket, want only the existing summary", len(out.Contents))
	}
}

func TestCheap(t *testing.T) {
	s := newSetup(t)
	r := preflight.Cheap(t.Context(), s.cfg, s.deps)
	if !r.OK() {
		t.Fatalf("Cheap failed on a good setup: %+v", r.Checks)
	}
	if n := s.srv.Calls(""); n != 1 {
		t.Errorf("Cheap made %d calls, want 1 (a read of a user that does not exist)", n)
	}
	// Once a checkpoint exists (a resumed run), Cheap makes no call.
	if err := os.WriteFile(s.cfg.Outputs[0].Location, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !preflight.Cheap(t.Context(), s.cfg, s.deps).OK() || s.srv.Calls("") != 1 {
		t.Errorf("Cheap with a checkpoint: %d calls in all, want still 1", s.srv.Calls(""))
	}
	s.srv.Deny("AdminGetUser")
	os.Remove(s.cfg.Outputs[0].Location)
	if r := preflight.Cheap(t.Context(), s.cfg, s.deps); r.OK() {
		t.Errorf("Cheap passed when AdminGetUser is denied")
	}
	s.cfg.Outputs[0].Location = filepath.Join(s.dir, "missing", "cp")
	if preflight.Cheap(t.Context(), s.cfg, s.deps).OK() {
		t.Errorf("Cheap passed with a checkpoint in a missing folder")
	}
}

func TestRateWarnings(t *testing.T) {
	if w := preflight.RateWarnings(40, 10, 10); len(w) != 0 {
		t.Errorf("RateWarnings(defaults) = %q, want none", w)
	}
	w := preflight.RateWarnings(40, 30, 10)
	if len(w) != 1 || !strings.Contains(w[0], "--write-rps 30 is above Cognito's UserResourceUpdate quota of 25/s") {
		t.Errorf("RateWarnings(write 30) = %q, want one naming the UserResourceUpdate quota", w)
	}
}

// TestPreflightHungEndpoint: an endpoint that does not answer ends each
// check at CallTimeout, naming the endpoint, instead of hanging.
func TestPreflightHungEndpoint(t *testing.T) {
	s := newSetup(t)
	s.srv.SetFaults("", cognitotest.Faults{Latency: 10 * time.Second, Seed: 1})
	s.cfg.CallTimeout = 50 * time.Millisecond
	done := make(chan *preflight.Report, 1)
	go func() { done <- preflight.Run(t.Context(), s.cfg, s.deps) }()
	var r *preflight.Report
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("preflight against a hung endpoint did not end")
	}
	c := check(t, r, "pool")
	if c.Status != preflight.StatusFail || !strings.Contains(c.Fix, "did not answer in time") {
		t.Errorf("pool check against a hung endpoint = %+v, want a failure naming the endpoint", c)
	}
}

func TestPreflightPoolWithMFAOff(t *testing.T) {
	s := newSetup(t)
	if err := s.srv.SetMFAConfiguration(pool, "OFF"); err != nil {
		t.Fatal(err)
	}
	r := preflight.Run(t.Context(), s.cfg, s.deps)
	if c := check(t, r, "pool"); c.Status != preflight.StatusWarn || !strings.Contains(c.Fix, "MFA is OFF") {
		t.Errorf("pool with MFA off: %+v, want a warning", c)
	}
	if !r.OK() {
		t.Errorf("a warning failed the preflight")
	}
}
