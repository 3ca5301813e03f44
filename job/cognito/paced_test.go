package cognito

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// newPacedServer returns a fake with user "alice" and a client for it with
// the job's retry policy (4 attempts, 1 ms backoff).
func newPacedServer(t *testing.T) (*cognitotest.Server, *cip.Client) {
	t.Helper()
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	err := srv.AddUser(testPool, cognitotest.User{
		Username:   "alice",
		Attributes: map[string]string{"phone_number": "+14155550100"},
		Enabled:    true,
		MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, NewClient(srv.Config(), RetryOptions{MaxAttempts: 4, MaxThrottleAttempts: 4, MaxBackoff: time.Millisecond})
}

func getAlice(ctx context.Context, api API) error {
	_, err := api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(testPool), Username: aws.String("alice")})
	return err
}

func setAlice(ctx context.Context, api API) error {
	_, err := api.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{
		UserPoolId:     aws.String(testPool),
		Username:       aws.String("alice"),
		SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true},
	})
	return err
}

func TestPaceCountsCallsAndAttempts(t *testing.T) {
	srv, client := newPacedServer(t)
	stats := &Stats{}
	read, write := pace.NewLimiter("read", 0, nil), pace.NewLimiter("write", 0, nil)
	api := Pace(client, read, write, stats)
	ctx := t.Context()

	srv.FailNext("AdminGetUser", cognitotest.FaultError500, 1)
	if err := getAlice(ctx, api); err != nil {
		t.Fatalf("AdminGetUser with one 500 = %v, want it retried to success", err)
	}
	if err := getAlice(ctx, api); err != nil {
		t.Fatal(err)
	}
	srv.ThrottleNext("AdminSetUserMFAPreference", 2)
	if err := setAlice(ctx, api); err != nil {
		t.Fatalf("AdminSetUserMFAPreference with two throttles = %v, want it retried to success", err)
	}
	list := PaceList(client, pace.NewLimiter("list", 0, nil), stats)
	if _, err := list.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(testPool)}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		op                                  Op
		calls, attempts, throttled, errored int64
	}{
		{OpAdminGetUser, 2, 3, 0, 1},
		{OpAdminSetUserMFAPreference, 1, 3, 2, 0},
		{OpListUsers, 1, 1, 0, 0},
	}
	for _, tt := range tests {
		got := stats.Snapshot(tt.op)
		if got.Calls != tt.calls || got.Attempts != tt.attempts || got.Throttled != tt.throttled || got.Errors != tt.errored {
			t.Errorf("Snapshot(%s) = calls %d, attempts %d, throttled %d, errors %d; want %d, %d, %d, %d",
				tt.op, got.Calls, got.Attempts, got.Throttled, got.Errors, tt.calls, tt.attempts, tt.throttled, tt.errored)
		}
		if stats.Calls(tt.op) != tt.calls || stats.Attempts(tt.op) != tt.attempts {
			t.Errorf("Calls(%s), Attempts(%s) = %d, %d, want %d, %d", tt.op, tt.op, stats.Calls(tt.op), stats.Attempts(tt.op), tt.calls, tt.attempts)
		}
		// Every attempt counted is a request the fake received.
		if srvCalls := srv.Calls(tt.op.String()); int64(srvCalls) != tt.attempts {
			t.Errorf("the fake received %d %s requests, want %d (the attempts counted)", srvCalls, tt.op, tt.attempts)
		}
		if got.Retries != tt.attempts-tt.calls {
			t.Errorf("Snapshot(%s).Retries = %d, want %d", tt.op, got.Retries, tt.attempts-tt.calls)
		}
	}
	// Throttling answers are reported to the limiter of their category.
	if got := write.State().Throttles; got != 2 {
		t.Errorf("write limiter saw %d throttles, want 2", got)
	}
	if got := read.State().Throttles; got != 0 {
		t.Errorf("read limiter saw %d throttles, want 0", got)
	}
}

func TestPacePacesEveryAttempt(t *testing.T) {
	// A limiter at 1 request per second has one token: the first attempt
	// takes it; a retry (the fake answers 500) would have to wait about a
	// second, longer than the call's context allows, so the limiter
	// refuses it at once and it is never sent. Pacing per call instead of
	// per attempt would send the retry.
	for _, op := range []Op{OpAdminGetUser, OpAdminSetUserMFAPreference} {
		t.Run(op.String(), func(t *testing.T) {
			srv, client := newPacedServer(t)
			unlimited, slow := pace.NewLimiter("read", 0, nil), pace.NewLimiter("write", 1, nil)
			read, write := unlimited, slow
			call := setAlice
			if op == OpAdminGetUser {
				read, write, call = slow, unlimited, getAlice
			}
			stats := &Stats{}
			api := Pace(client, read, write, stats)
			srv.FailNext(op.String(), cognitotest.FaultError500, 1)
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			if err := call(ctx, api); err == nil {
				t.Fatal("the call = nil error, want the limiter's refusal of the retry")
			}
			if got := srv.Calls(op.String()); got != 1 {
				t.Errorf("the fake received %d requests, want 1: the retry must wait for the limiter", got)
			}
			if got := stats.Attempts(op); got != 1 {
				t.Errorf("Attempts(%s) = %d, want 1", op, got)
			}
		})
	}
}

// countingCheck is a fence check that counts its calls and returns err.
type countingCheck struct {
	n   atomic.Int64
	err error
}

func (c *countingCheck) check() error {
	c.n.Add(1)
	return c.err
}

func TestFenceStopsWritesBeforeTheyAreSent(t *testing.T) {
	srv, client := newPacedServer(t)
	lost := errors.New("this runner no longer holds the checkpoint lock")
	fc := &countingCheck{err: lost}
	stats := &Stats{}
	api := Fence(Pace(client, pace.NewLimiter("read", 0, nil), pace.NewLimiter("write", 0, nil), stats), fc.check)
	ctx := t.Context()

	err := setAlice(ctx, api)
	var fe *FencedError
	if !errors.As(err, &fe) || !errors.Is(err, lost) {
		t.Fatalf("a fenced write = %v, want a *FencedError wrapping the check's error", err)
	}
	if got := srv.Calls("AdminSetUserMFAPreference"); got != 0 {
		t.Errorf("the fake received %d AdminSetUserMFAPreference requests, want 0", got)
	}
	if got := fc.n.Load(); got != 1 {
		t.Errorf("the check was called %d times, want once: a fenced write is not retried", got)
	}
	if class, code := Classify(ctx.Err(), err); class != ClassFatal || code != CodeFenced {
		t.Errorf("Classify(fenced write) = %v, %q, want %v, %q", class, code, ClassFatal, CodeFenced)
	}
	if u, _ := srv.User(testPool, "alice"); u.SMSEnabled {
		t.Error("alice's SMS MFA was enabled by a fenced write")
	}

	// Reads are not fenced.
	if err := getAlice(ctx, api); err != nil {
		t.Errorf("a read through the fence = %v, want nil", err)
	}
	if got := srv.Calls("AdminGetUser"); got != 1 {
		t.Errorf("the fake received %d AdminGetUser requests, want 1", got)
	}
	if got := fc.n.Load(); got != 1 {
		t.Errorf("the check was called %d times after a read, want still 1: reads are not fenced", got)
	}

	// Once the check passes, writes go out.
	fc.err = nil
	if err := setAlice(ctx, api); err != nil {
		t.Fatalf("a write through an open fence = %v", err)
	}
	if got := srv.Calls("AdminSetUserMFAPreference"); got != 1 {
		t.Errorf("the fake received %d AdminSetUserMFAPreference requests, want 1", got)
	}
}

func TestFenceChecksAfterThePacingWait(t *testing.T) {
	// The fence is asked after the limiter has let the attempt go: an
	// attempt the limiter refuses (its context ends before a token comes)
	// never reaches the check, and one it lets go is checked then.
	srv, client := newPacedServer(t)
	fc := &countingCheck{}
	api := Fence(Pace(client, pace.NewLimiter("read", 0, nil), pace.NewLimiter("write", 1, nil), &Stats{}), fc.check)
	if err := setAlice(t.Context(), api); err != nil { // takes the limiter's one token
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := setAlice(ctx, api); err == nil {
		t.Fatal("a write the limiter cannot let go in time = nil error, want one")
	}
	if got := fc.n.Load(); got != 1 {
		t.Errorf("the check was called %d times, want 1: not for an attempt still waiting for the limiter", got)
	}
	if got := srv.Calls("AdminSetUserMFAPreference"); got != 1 {
		t.Errorf("the fake received %d writes, want 1", got)
	}
}
