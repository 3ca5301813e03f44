package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/gocarina/gocsv"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/jobtest"
)

const testPool = cognitotest.DefaultPoolID

// testEnv is a fake pool seeded with a mix of users and a CSV naming them.
type testEnv struct {
	srv   *cognitotest.Server
	seeds []cognitotest.Seed
	dir   string
	input string
}

func newTestEnv(t *testing.T, n int, opts ...cognitotest.Option) *testEnv {
	t.Helper()
	srv := cognitotest.NewServer(opts...)
	t.Cleanup(srv.Close)
	seeds := cognitotest.Mix(n, 1)
	if err := srv.AddSeeds(testPool, seeds); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{srv: srv, seeds: seeds, dir: t.TempDir()}
	var b strings.Builder
	b.WriteString("username\n")
	for _, s := range seeds {
		b.WriteString(s.User.Username + "\n")
	}
	e.input = e.writeFile(t, "users.csv", b.String())
	return e
}

func (e *testEnv) writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// config returns a configuration for fast test runs: high rates, quick
// retries, a checkpoint next to the input.
func (e *testEnv) config() Config {
	cfg := DefaultConfig()
	cfg.UserPoolID = testPool
	cfg.Input = e.input
	cfg.ReadRPS, cfg.WriteRPS = 2000, 1000
	cfg.Retry = cognito.RetryOptions{MaxBackoff: 20 * time.Millisecond}
	cfg.ProgressInterval = 100 * time.Millisecond
	cfg.SaveInterval = 200 * time.Millisecond
	return cfg
}

func (e *testEnv) deps(cfg Config) Deps {
	return Deps{
		Cognito: cognito.NewClient(e.srv.Config(), cfg.Retry),
		Store:   checkpoint.NewFile(cfg.CheckpointLocation()),
		Host:    "test",
	}
}

func (e *testEnv) run(t *testing.T, cfg Config) (*Summary, error) {
	t.Helper()
	return Run(t.Context(), cfg, e.deps(cfg))
}

// readReport parses a report CSV.
func readReport(t *testing.T, path string) []ReportRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []ReportRow
	if err := gocsv.Unmarshal(f, &rows); err != nil {
		t.Fatalf("parse report %s: %v", path, err)
	}
	return rows
}

// checkFinalStates checks every seeded user against what the decision
// table says a real run leaves.
func (e *testEnv) checkFinalStates(t *testing.T, before map[string]cognitotest.User) {
	t.Helper()
	for _, s := range e.seeds {
		if !s.InPool {
			continue
		}
		u, ok := e.srv.User(testPool, s.User.Username)
		if !ok {
			t.Fatalf("user %s disappeared", s.User.Username)
		}
		w := jobtest.For(s)
		if u.SMSEnabled != w.SMS || u.Preferred != w.Preferred || u.TOTPEnabled != w.TOTP {
			t.Errorf("%s (%s): SMS %v preferred %q TOTP %v, want SMS %v preferred %q TOTP %v",
				u.Username, s.Kind, u.SMSEnabled, u.Preferred, u.TOTPEnabled, w.SMS, w.Preferred, w.TOTP)
		}
		if len(u.MFAOptions) != len(s.User.MFAOptions) {
			t.Errorf("%s (%s): MFAOptions %v, want them untouched %v", u.Username, s.Kind, u.MFAOptions, s.User.MFAOptions)
		}
		if !w.Migrated() && before != nil {
			b := before[u.Username]
			if u.SMSEnabled != b.SMSEnabled || u.Preferred != b.Preferred || u.EmailEnabled != b.EmailEnabled || u.TOTPEnabled != b.TOTPEnabled {
				t.Errorf("%s (%s) changed although not migrated: before %+v after %+v", u.Username, s.Kind, b, u)
			}
		}
	}
}

func snapshotUsers(srv *cognitotest.Server) map[string]cognitotest.User {
	m := map[string]cognitotest.User{}
	for _, u := range srv.Users(testPool) {
		m[u.Username] = u
	}
	return m
}

func outcomesByUser(t *testing.T, path string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, r := range readReport(t, path) {
		if _, dup := m[r.Username]; dup {
			t.Errorf("report lists %s twice", r.Username)
		}
		m[r.Username] = r.Outcome
	}
	return m
}

// TestRunDecisionTable runs a pool of every seeded kind and checks each
// user's outcome and final state against jobtest's hand-written table. The
// rejected outcomes of UNCONFIRMED and RESET_REQUIRED users
// (jobtest.Want.ModelConsistency) are model consistency: the fake rejects
// them by the same inferred table the planner reads.
func TestRunDecisionTable(t *testing.T) {
	e := newTestEnv(t, 300)
	before := snapshotUsers(e.srv)
	cfg := e.config()
	sum, err := e.run(t, cfg)
	if err != nil {
		t.Fatalf("Run() = %v, want success", err)
	}
	kinds := map[string]bool{}
	got := outcomesByUser(t, cfg.ReportLocation())
	for _, s := range e.seeds {
		kinds[s.Kind] = true
		if want := jobtest.For(s).Outcome; got[s.User.Username] != want {
			t.Errorf("%s (%s): outcome %q, want %q", s.User.Username, s.Kind, got[s.User.Username], want)
		}
	}
	if len(kinds) != len(cognitotest.MixKinds()) {
		t.Fatalf("the pool covers %d kinds, want all %d", len(kinds), len(cognitotest.MixKinds()))
	}
	e.checkFinalStates(t, before)

	// No request ever carries a settings object other than SMSMfaSettings.
	writes := e.srv.Requests("AdminSetUserMFAPreference")
	if len(writes) == 0 {
		t.Fatal("no AdminSetUserMFAPreference request recorded")
	}
	for _, req := range writes {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Fatal(err)
		}
		for k := range body {
			if k != "SMSMfaSettings" && k != "Username" && k != "UserPoolId" {
				t.Errorf("AdminSetUserMFAPreference request carries %s: %s", k, req.Body)
			}
		}
	}
	if n := e.srv.Calls("AdminSetUserSettings"); n != 0 {
		t.Errorf("AdminSetUserSettings called %d times, want never", n)
	}
	if sum.Outcomes["migrated"] == 0 || sum.ExitCode != 0 || sum.Remaining != 0 {
		t.Errorf("summary = %+v, want migrated users, exit 0, nothing remaining", sum)
	}
}

func TestRunReportDetails(t *testing.T) {
	e := newTestEnv(t, len(cognitotest.MixKinds()))
	cfg := e.config()
	if _, err := e.run(t, cfg); err != nil {
		t.Fatal(err)
	}
	byKind := map[string]ReportRow{}
	rows := readReport(t, cfg.ReportLocation())
	for i, r := range rows {
		byKind[e.seeds[i].Kind] = r
		if r.Line != i+2 {
			t.Errorf("row %d has line %d, want %d", i, r.Line, i+2)
		}
	}
	totp := byKind[cognitotest.KindLegacyTOTPPref]
	if totp.Call != callEnableSMS.String() || totp.PreferredBefore != mfaTOTP || totp.PreferredAfter != mfaTOTP ||
		totp.MFAAfter != "SMS_MFA SOFTWARE_TOKEN_MFA" || totp.LegacyMFA != "SMS" {
		t.Errorf("TOTP-preferred row = %+v, want SMS enabled only and TOTP still preferred", totp)
	}
	plain := byKind[cognitotest.KindLegacySMS]
	if plain.Call != callEnableSMSPreferred.String() || plain.PreferredAfter != mfaSMS || !strings.HasPrefix(plain.Phone, "+1******") {
		t.Errorf("legacy row = %+v, want SMS enabled and preferred, masked phone", plain)
	}
	if r := byKind[cognitotest.KindLegacyDisabled]; r.Enabled != "false" || r.Outcome != "migrated" {
		t.Errorf("disabled user row = %+v, want migrated and enabled=false", r)
	}
	// Model consistency: the code is the fake's, by the inferred table.
	if r := byKind[cognitotest.KindUnconfirmed]; r.Detail != "UserNotConfirmedException" {
		t.Errorf("unconfirmed row detail = %q, want the error code", r.Detail)
	}
	for _, r := range rows {
		for _, s := range e.seeds {
			if p := s.User.Attributes["phone_number"]; p != "" && strings.Contains(fmt.Sprint(r), p) {
				t.Errorf("report row leaks phone %s: %+v", p, r)
			}
		}
	}
}

func TestDryRunThenRunThenRerun(t *testing.T) {
	e := newTestEnv(t, 400)
	before := snapshotUsers(e.srv)

	dry := e.config()
	dry.DryRun = true
	dsum, err := e.run(t, dry)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if n := e.srv.Calls("AdminSetUserMFAPreference"); n != 0 {
		t.Fatalf("dry run made %d write calls, want 0", n)
	}
	if after := snapshotUsers(e.srv); len(after) != len(before) {
		t.Fatal("dry run changed the pool")
	}
	if dsum.Cost == nil || dsum.Cost.WriteCalls != dsum.Outcomes["would_migrate"] {
		t.Errorf("dry-run cost = %+v, want write calls = would_migrate %d", dsum.Cost, dsum.Outcomes["would_migrate"])
	}

	real := e.config()
	rsum, err := e.run(t, real)
	if err != nil {
		t.Fatalf("real run: %v", err)
	}
	if dsum.Outcomes["would_migrate"] != rsum.Outcomes["migrated"] || rsum.Outcomes["migrated"] == 0 {
		t.Errorf("dry run would_migrate = %d, real run migrated = %d; want equal and > 0", dsum.Outcomes["would_migrate"], rsum.Outcomes["migrated"])
	}
	// One write per migrated user, plus one per user Cognito rejected (the
	// dry run predicted those rejections from the user status).
	if n := int64(e.srv.Calls("AdminSetUserMFAPreference")); n != rsum.Outcomes["migrated"]+rsum.Outcomes["rejected"] {
		t.Errorf("write calls = %d, want one per migrated or rejected user (%d)", n, rsum.Outcomes["migrated"]+rsum.Outcomes["rejected"])
	}
	// Model consistency: the dry run's prediction and the fake's answers
	// come from the same inferred table (see TestModelConsistencyRejections).
	if dsum.Outcomes["rejected"] != rsum.Outcomes["rejected"] {
		t.Errorf("dry run predicted %d rejections, the real run had %d", dsum.Outcomes["rejected"], rsum.Outcomes["rejected"])
	}

	// The same checkpoint again: nothing left to do, no call.
	calls := e.srv.Calls("AdminGetUser")
	again, err := e.run(t, real)
	if err != nil || again.StopReason != StopNothingLeft {
		t.Fatalf("rerun on a finished checkpoint = %v, %v; want nothing left to do", again.StopReason, err)
	}
	if e.srv.Calls("AdminGetUser") != calls {
		t.Error("rerun on a finished checkpoint called Cognito")
	}

	// A fresh checkpoint: every migrated user now reads already_migrated.
	writes := e.srv.Calls("AdminSetUserMFAPreference")
	fresh := e.config()
	fresh.Reset = true
	fsum, err := e.run(t, fresh)
	if err != nil {
		t.Fatal(err)
	}
	if n := int64(e.srv.Calls("AdminSetUserMFAPreference") - writes); fsum.Outcomes["migrated"] != 0 || n != fsum.Outcomes["rejected"] {
		t.Errorf("second real run migrated %d users and made %d writes, want none but the %d rejected users' again", fsum.Outcomes["migrated"], n, fsum.Outcomes["rejected"])
	}
	if fsum.Outcomes["already_migrated"] != rsum.Outcomes["migrated"]+rsum.Outcomes["already_migrated"] {
		t.Errorf("second run already_migrated = %d, want %d", fsum.Outcomes["already_migrated"], rsum.Outcomes["migrated"]+rsum.Outcomes["already_migrated"])
	}
}

func TestRunSurvivesFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 users with faults")
	}
	e := newTestEnv(t, 2000)
	before := snapshotUsers(e.srv)
	faults := cognitotest.Faults{Error500: 0.05, ResetBefore: 0.01, ResetAfter: 0.01, Seed: 7}
	e.srv.SetFaults("AdminGetUser", faults)
	e.srv.SetFaults("AdminSetUserMFAPreference", faults)

	// Throttling bursts on the write operation, as Cognito sends them.
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				e.srv.ThrottleNext("AdminSetUserMFAPreference", 10)
			}
		}
	})
	cfg := e.config()
	cfg.WriteRPS = 500
	sum, err := e.run(t, cfg)
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("Run() = %v, want success", err)
	}
	if sum.Outcomes["failed"] != 0 {
		t.Errorf("failed = %d, want 0", sum.Outcomes["failed"])
	}
	st := e.srv.Stats("AdminSetUserMFAPreference")
	if st.Throttled == 0 || st.ResetAfter == 0 || st.Faulted500 == 0 {
		t.Errorf("fault injection did not happen: %+v", st)
	}
	got := outcomesByUser(t, cfg.ReportLocation())
	for _, s := range e.seeds {
		if want := jobtest.For(s).Outcome; got[s.User.Username] != want {
			t.Errorf("%s (%s): outcome %q, want %q", s.User.Username, s.Kind, got[s.User.Username], want)
		}
	}
	e.checkFinalStates(t, before)
}

func TestRunFatalErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *testEnv, cfg *Config, d *Deps)
		wantMsg string
	}{
		{"wrong pool", func(e *testEnv, cfg *Config, d *Deps) { cfg.UserPoolID = "us-east-1_NoSuchPool" }, "--user-pool-id"},
		{"rejected credentials", func(e *testEnv, cfg *Config, d *Deps) {
			c := e.srv.Config()
			c.Credentials = staticCreds("AKIDWRONG")
			d.Cognito = cognito.NewClient(c, cfg.Retry)
		}, "credentials"},
		{"expired token", func(e *testEnv, cfg *Config, d *Deps) {
			e.srv.SetAuthError("ExpiredTokenException", "The security token included in the request is expired")
		}, "refresh the credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, 500, cognitotest.WithAccessKey(cognitotest.DefaultAccessKeyID))
			cfg := e.config()
			cfg.ReadRPS = 100
			d := e.deps(cfg)
			tt.setup(e, &cfg, &d)
			sum, err := Run(t.Context(), cfg, d)
			if ExitCode(err) != 1 {
				t.Fatalf("Run() = %v (exit %d), want a fatal error (exit 1)", err, ExitCode(err))
			}
			var fe *cognito.FatalError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Run() error = %q, want a cognito.FatalError mentioning %q", err, tt.wantMsg)
			}
			if n := e.srv.Calls("AdminGetUser"); n > 2*DefaultWorkers {
				t.Errorf("%d AdminGetUser calls before stopping, want a few", n)
			}
			if sum == nil || sum.Outcomes["pending"] == 0 || sum.Outcomes["failed"] != 0 {
				t.Errorf("summary outcomes = %v, want users left pending, none failed", sum.Outcomes)
			}
		})
	}
}

func TestRunInvalidInput(t *testing.T) {
	e := newTestEnv(t, 3)
	names := []string{e.seeds[0].User.Username, e.seeds[1].User.Username}
	e.input = e.writeFile(t, "bad.csv", "username\n"+names[0]+"\nhas space\n"+names[1]+"\n"+names[0]+"\n\"\"\n")
	cfg := e.config()
	if _, err := e.run(t, cfg); err != nil {
		t.Fatalf("Run() = %v, want success (bad rows are recorded, not fatal)", err)
	}
	rows := readReport(t, cfg.ReportLocation())
	want := []struct {
		line    int
		outcome string
		detail  string
	}{
		{2, jobtest.For(e.seeds[0]).Outcome, ""}, {3, "invalid_input", "whitespace"}, {4, jobtest.For(e.seeds[1]).Outcome, ""},
		{5, "duplicate", "duplicate of line 2"}, {6, "invalid_input", "empty"},
	}
	if len(rows) != len(want) {
		t.Fatalf("report has %d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Line != w.line || r.Outcome != w.outcome || !strings.Contains(r.Detail, w.detail) {
			t.Errorf("report row %d = line %d %s %q, want line %d %s containing %q", i, r.Line, r.Outcome, r.Detail, w.line, w.outcome, w.detail)
		}
	}

	cfg.Input = filepath.Join(e.dir, "missing.csv")
	_, err := e.run(t, cfg)
	if ExitCode(err) != 2 || !errors.Is(err, input.ErrInput) || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("Run(missing file) = %v (exit %d), want an input error naming the file (exit 2)", err, ExitCode(err))
	}
}

func staticCreds(key string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(key, "secret", "")
}

func TestRunStopsOnSystemicFailures(t *testing.T) {
	e := newTestEnv(t, 400)
	e.srv.SetFaults("AdminGetUser", cognitotest.Faults{Error500: 1}) // Cognito is broken
	cfg := e.config()
	cfg.ReadRPS, cfg.Workers = 200, 4
	cfg.Retry.MaxAttempts = 2
	cfg.MaxFailures = Threshold{Count: 5}
	sum, err := e.run(t, cfg)
	if ExitCode(err) != 1 || sum == nil || sum.StopReason != StopMaxFailures {
		t.Fatalf("Run() = %v (exit %d), want a stop at --max-failures (exit 1)", err, ExitCode(err))
	}
	if !strings.Contains(err.Error(), "InternalErrorException") {
		t.Errorf("error %q does not name the last error code", err)
	}
	failed, pending := sum.Outcomes["failed"], sum.Outcomes["pending"]
	// Past the 6th failure, only the users in flight (at most Workers) and the
	// results already queued for the recorder (at most 2×Workers) may add to it.
	if failed <= 5 || failed > 6+3*int64(cfg.Workers) || pending < 300 {
		t.Errorf("failed %d, pending %d: want the run stopped just past 5 failures, most users untouched", failed, pending)
	}

	// Cognito recovers: the next run retries the failed users and finishes.
	e.srv.SetFaults("AdminGetUser", cognitotest.Faults{})
	sum, err = e.run(t, cfg)
	if err != nil || sum.Outcomes["failed"] != 0 || sum.Remaining != 0 {
		t.Fatalf("rerun = %v, outcomes %v; want every user done, none failed", err, sum.Outcomes)
	}
	got := outcomesByUser(t, cfg.ReportLocation())
	for _, s := range e.seeds {
		if want := jobtest.For(s).Outcome; got[s.User.Username] != want {
			t.Errorf("%s (%s): outcome %q, want %q", s.User.Username, s.Kind, got[s.User.Username], want)
		}
	}
}
