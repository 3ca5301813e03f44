package selftest_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/selftest"
)

const pool = cognitotest.DefaultPoolID

func newServer(t *testing.T) (*cognitotest.Server, *cip.Client) {
	t.Helper()
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	return srv, srv.Client(func(o *cip.Options) { o.Retryer = aws.NopRetryer{} })
}

func run(t *testing.T, srv *cognitotest.Server, c *cip.Client, cfg selftest.Config) (*selftest.Report, string, error) {
	t.Helper()
	cfg.PoolID, cfg.Dir = pool, t.TempDir()
	rep, err := selftest.Run(t.Context(), cfg, c)
	var b bytes.Buffer
	if rep != nil {
		if werr := rep.WriteText(&b); werr != nil {
			t.Fatal(werr)
		}
	}
	return rep, b.String(), err
}

func status(rep *selftest.Report, name string) selftest.Status {
	for _, r := range rep.Results {
		if r.Name == name {
			return r.Status
		}
	}
	return ""
}

func TestSelftestPasses(t *testing.T) {
	srv, c := newServer(t)
	rep, out, err := run(t, srv, c, selftest.Config{})
	if err != nil || !rep.OK() {
		t.Fatalf("selftest against the fake: %v\n%s", err, out)
	}
	for _, r := range rep.Results {
		if r.Status != selftest.Held {
			t.Errorf("%s %s = %s (%s), want held", r.Kind, r.Name, r.Status, r.Detail)
		}
	}
	for _, name := range []string{"settings not sent are left unchanged", "SMS cannot be enabled without phone_number",
		"UNCONFIRMED is rejected with UserNotConfirmedException", "RESET_REQUIRED is rejected with PasswordResetRequiredException",
		"legacy SMS shows as MFAOptions only", "MFAOptions keeps the SMS entry after migration"} {
		if status(rep, name) != selftest.Held {
			t.Errorf("assumption %q not checked and held:\n%s", name, out)
		}
	}
	if n := len(srv.Users(pool)); n != 0 || srv.ClientCount() != 0 {
		t.Errorf("selftest left %d users and %d app clients", n, srv.ClientCount())
	}
	if rep.Created != 8 || rep.Deleted != 8 {
		t.Errorf("created %d, deleted %d users; want 8, 8", rep.Created, rep.Deleted)
	}
	t.Log("\n" + out)
	if !strings.Contains(out, "selftest passed") {
		t.Errorf("output does not say it passed:\n%s", out)
	}
}

// TestSelftestNamesRefutedAssumption runs the self-test against fakes that
// each disagree with one assumption: it must name that one.
func TestSelftestNamesRefutedAssumption(t *testing.T) {
	tests := []struct {
		quirk cognitotest.Quirks
		want  string
	}{
		{cognitotest.Quirks{DisableAbsentFactors: true}, "settings not sent are left unchanged"},
		{cognitotest.Quirks{SMSWithoutPhone: true}, "SMS cannot be enabled without phone_number"},
		{cognitotest.Quirks{AcceptUnconfirmed: true}, "UNCONFIRMED is rejected with UserNotConfirmedException"},
		{cognitotest.Quirks{ClearLegacyOnEnable: true}, "MFAOptions keeps the SMS entry after migration"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv, c := newServer(t)
			srv.SetQuirks(tt.quirk)
			rep, out, err := run(t, srv, c, selftest.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || status(rep, tt.want) != selftest.Refuted {
				t.Errorf("against a fake with %+v: OK %v, %q %s; want it refuted\n%s", tt.quirk, rep.OK(), tt.want, status(rep, tt.want), out)
			}
			if !strings.Contains(out, "selftest FAILED") || !strings.Contains(out, tt.want) {
				t.Errorf("output does not name the refuted assumption:\n%s", out)
			}
			if n := len(srv.Users(pool)); n != 0 {
				t.Errorf("selftest left %d users", n)
			}
		})
	}
}

func TestSelftestRefusesBusyPool(t *testing.T) {
	srv, c := newServer(t)
	if err := srv.AddSeeds(pool, cognitotest.Mix(40, 3)); err != nil {
		t.Fatal(err)
	}
	before := len(srv.Users(pool))
	_, _, err := run(t, srv, c, selftest.Config{})
	if !errors.Is(err, selftest.ErrNotScratch) {
		t.Fatalf("selftest in a pool of %d users = %v, want ErrNotScratch", before, err)
	}
	if srv.Calls("AdminCreateUser") != 0 {
		t.Errorf("a refused selftest created users")
	}
	rep, out, err := run(t, srv, c, selftest.Config{Force: true})
	if err != nil || !rep.OK() {
		t.Fatalf("--force: %v\n%s", err, out)
	}
	if n := len(srv.Users(pool)); n != before {
		t.Errorf("after a forced selftest the pool has %d users, want the %d it had", n, before)
	}
}

// TestSelftestSkipsWhatThePoolForbids: without an app client, the TOTP and
// UNCONFIRMED states are reported skipped, not passed.
func TestSelftestSkipsWhatThePoolForbids(t *testing.T) {
	srv, c := newServer(t)
	srv.Deny("CreateUserPoolClient")
	rep, out, err := run(t, srv, c, selftest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"totp-preferred", "totp-enabled", "unconfirmed", "settings not sent are left unchanged",
		"UNCONFIRMED is rejected with UserNotConfirmedException"} {
		if got := status(rep, name); got != selftest.Skipped {
			t.Errorf("%s = %q, want skipped\n%s", name, got, out)
		}
	}
	if !rep.OK() {
		t.Errorf("skipped checks made the selftest fail:\n%s", out)
	}
	if n := len(srv.Users(pool)); n != 0 {
		t.Errorf("selftest left %d users", n)
	}
}

// TestSelftestCleansUpWhenInterrupted cancels the self-test once its users
// exist: it still deletes them.
func TestSelftestCleansUpWhenInterrupted(t *testing.T) {
	srv, c := newServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rep, err := selftest.Run(ctx, selftest.Config{PoolID: pool, Dir: t.TempDir(), OnUsersCreated: cancel}, c)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted selftest = %v, want context.Canceled", err)
	}
	if rep.Created == 0 || rep.Deleted != rep.Created {
		t.Errorf("created %d, deleted %d", rep.Created, rep.Deleted)
	}
	if n := len(srv.Users(pool)); n != 0 || srv.ClientCount() != 0 {
		t.Errorf("interrupted selftest left %d users, %d clients", n, srv.ClientCount())
	}
}

// TestSelftestSetupRefused: a pool that refuses a call the self-test
// cannot do without ends it with that error, and it still deletes the users
// it made.
func TestSelftestSetupRefused(t *testing.T) {
	srv, c := newServer(t)
	srv.Deny("AdminSetUserSettings")
	_, _, err := run(t, srv, c, selftest.Config{})
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("selftest with AdminSetUserSettings denied = %v, want the AccessDeniedException", err)
	}
	if n := len(srv.Users(pool)); n != 0 {
		t.Errorf("selftest left %d users", n)
	}
}

// TestSelftestUndeletableUsers: users it cannot delete make the self-test
// fail and are named.
func TestSelftestUndeletableUsers(t *testing.T) {
	srv, c := newServer(t)
	srv.Deny("AdminDeleteUser")
	rep, out, err := run(t, srv, c, selftest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Leftover) != 8 || !strings.Contains(out, "NOT DELETED") {
		t.Errorf("selftest that cannot delete: OK %v, leftover %d\n%s", rep.OK(), len(rep.Leftover), out)
	}
}

// TestSelftestPoolWithMFARequired: where sign-in demands MFA set-up first,
// the TOTP states cannot be reached and are reported skipped, not passed;
// the other checks still run.
func TestSelftestPoolWithMFARequired(t *testing.T) {
	srv, c := newServer(t)
	if err := srv.SetMFAConfiguration(pool, "ON"); err != nil {
		t.Fatal(err)
	}
	rep, out, err := run(t, srv, c, selftest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"totp-preferred", "totp-enabled", "settings not sent are left unchanged"} {
		if got := status(rep, name); got != selftest.Skipped {
			t.Errorf("%s = %q, want skipped\n%s", name, got, out)
		}
	}
	if got := status(rep, "SMS cannot be enabled without phone_number"); got != selftest.Held {
		t.Errorf("the other checks did not run:\n%s", out)
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"status": "skipped"`) || !strings.Contains(js.String(), `"ok": true`) {
		t.Errorf("JSON form: %v\n%s", err, js.String())
	}
}

// TestSelftestSweepsEarlierLeftovers: users a killed self-test left (it
// could not clean up) are deleted by the next one; other users are not.
func TestSelftestSweepsEarlierLeftovers(t *testing.T) {
	srv, c := newServer(t)
	for _, name := range []string{selftest.Prefix + "0badf00d-sms", selftest.Prefix + "0badf00d-nomfa", "alice"} {
		if err := srv.AddUser(pool, cognitotest.User{Username: name, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	rep, out, err := run(t, srv, c, selftest.Config{})
	if err != nil || !rep.OK() {
		t.Fatalf("selftest: %v\n%s", err, out)
	}
	users := srv.Users(pool)
	if rep.Swept != 2 || len(users) != 1 || users[0].Username != "alice" {
		t.Errorf("swept %d, pool has %v; want 2 swept and only alice left", rep.Swept, users)
	}
}
