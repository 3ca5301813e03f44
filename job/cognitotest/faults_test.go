package cognitotest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// call runs one request of op against user "u" in pool and returns its error.
func call(ctx context.Context, c *cip.Client, op string) error {
	var err error
	switch op {
	case "AdminGetUser":
		_, err = c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("u")})
	case "ListUsers":
		_, err = c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool)})
	case "AdminSetUserMFAPreference":
		_, err = c.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: aws.String(pool), Username: aws.String("u"),
			SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true}})
	case "AdminSetUserSettings":
		_, err = c.AdminSetUserSettings(ctx, &cip.AdminSetUserSettingsInput{UserPoolId: aws.String(pool), Username: aws.String("u"),
			MFAOptions: []types.MFAOptionType{{DeliveryMedium: types.DeliveryMediumTypeSms, AttributeName: aws.String("phone_number")}}})
	case "AdminCreateUser":
		_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String("created")})
	default:
		panic("unknown op " + op)
	}
	return err
}

// TestThrottleTypedVsGeneric checks that the throttle reaches the SDK as
// Cognito's does: typed where the SDK models TooManyRequestsException, a
// generic API error where it does not.
func TestThrottleTypedVsGeneric(t *testing.T) {
	tests := []struct {
		op    string
		typed bool
	}{
		{"AdminGetUser", true},
		{"ListUsers", true},
		{"AdminCreateUser", true},
		{"AdminSetUserMFAPreference", false},
		{"AdminSetUserSettings", false},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			s := newServer(t)
			addUsers(t, s, legacyUser("u"))
			s.ThrottleNext(tt.op, 1)
			err := call(t.Context(), s.Client(noRetry), tt.op)

			var typed *types.TooManyRequestsException
			if got := errors.As(err, &typed); got != tt.typed {
				t.Errorf("%s error %v: errors.As(*types.TooManyRequestsException) = %v, want %v", tt.op, err, got, tt.typed)
			}
			var generic *smithy.GenericAPIError
			if got := errors.As(err, &generic); got == tt.typed {
				t.Errorf("%s error %v: errors.As(*smithy.GenericAPIError) = %v, want %v", tt.op, err, got, !tt.typed)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "TooManyRequestsException" || ae.ErrorMessage() != "Rate exceeded" {
				t.Errorf("%s error = %v, want API error TooManyRequestsException %q", tt.op, err, "Rate exceeded")
			}
			reqs := s.Requests(tt.op)
			if len(reqs) != 1 || reqs[0].Status != 400 || reqs[0].Outcome != cognitotest.OutcomeThrottled {
				t.Errorf("%s requests = %+v, want one throttled 400", tt.op, reqs)
			}
			if u, _ := s.User(pool, "u"); !stateOf(u).equal(stateOf(legacyUser("u"))) {
				t.Errorf("%s throttled but user changed: %+v", tt.op, stateOf(u))
			}
			// The next call goes through.
			if err := call(t.Context(), s.Client(noRetry), tt.op); err != nil {
				t.Errorf("%s after the throttle = %v, want success", tt.op, err)
			}
		})
	}
}

// TestDefaultClientRetries checks that a default SDK client retries 500s
// and connection resets, and what the retry does to the user.
func TestDefaultClientRetries(t *testing.T) {
	tests := []struct {
		kind        cognitotest.FaultKind
		wantApplied int // times the change was applied on the server
		wantStats   cognitotest.OpStats
	}{
		{cognitotest.FaultError500, 1, cognitotest.OpStats{Received: 2, OK: 1, Faulted500: 1, Applied: 1}},
		{cognitotest.FaultResetBefore, 1, cognitotest.OpStats{Received: 2, OK: 1, ResetBefore: 1, Applied: 1}},
		// The first attempt is applied, its answer lost; the retry applies
		// the same (idempotent) change again.
		{cognitotest.FaultResetAfter, 2, cognitotest.OpStats{Received: 2, OK: 1, ResetAfter: 1, Applied: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			s := newServer(t)
			addUsers(t, s, legacyUser("u"))
			s.FailNext("AdminSetUserMFAPreference", tt.kind, 1)
			if err := call(t.Context(), s.Client(), "AdminSetUserMFAPreference"); err != nil {
				t.Fatalf("AdminSetUserMFAPreference with one %v = %v, want success after retry", tt.kind, err)
			}
			if got := s.Stats("AdminSetUserMFAPreference"); got != tt.wantStats {
				t.Errorf("Stats = %+v, want %+v", got, tt.wantStats)
			}
			u, _ := s.User(pool, "u")
			if want := (mfaState{SMS: true, Preferred: "SMS_MFA", MFAOptions: smsOption}); !stateOf(u).equal(want) {
				t.Errorf("after retry: state = %+v, want %+v (one MFAOptions entry)", stateOf(u), want)
			}
			reqs := s.Requests("AdminSetUserMFAPreference")
			if len(reqs) != 2 || string(reqs[0].Body) != string(reqs[1].Body) {
				t.Errorf("requests = %d, want 2 identical attempts", len(reqs))
			}
		})
	}

	t.Run("create retried after reset_after sees its own user", func(t *testing.T) {
		s := newServer(t)
		s.FailNext("AdminCreateUser", cognitotest.FaultResetAfter, 1)
		err := call(t.Context(), s.Client(), "AdminCreateUser")
		if got, want := errCode(err), "UsernameExistsException"; got != want {
			t.Errorf("AdminCreateUser after reset_after = %q, want %q (non-idempotent retry)", got, want)
		}
		if _, ok := s.User(pool, "created"); !ok {
			t.Errorf("User(created) missing, want created once")
		}
	})
}

// TestResetSeenByClient checks that a reset reaches the client as a
// connection error, not an API error.
func TestResetSeenByClient(t *testing.T) {
	for _, kind := range []cognitotest.FaultKind{cognitotest.FaultResetBefore, cognitotest.FaultResetAfter} {
		t.Run(kind.String(), func(t *testing.T) {
			s := newServer(t)
			addUsers(t, s, legacyUser("u"))
			s.FailNext("", kind, 1)
			err := call(t.Context(), s.Client(noRetry), "AdminGetUser")
			var ae smithy.APIError
			if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), "connection reset") {
				t.Errorf("AdminGetUser with %v = %v, want a connection reset error", kind, err)
			}
		})
	}
}

func TestRandomFaultsReproducible(t *testing.T) {
	run := func(seed int64) []cognitotest.Outcome {
		s := newServer(t)
		addUsers(t, s, legacyUser("u"))
		s.SetFaults("", cognitotest.Faults{Error500: 0.3, ResetBefore: 0.2, ResetAfter: 0.1, Seed: seed})
		c := s.Client(noRetry)
		for range 40 {
			_ = call(t.Context(), c, "AdminGetUser")
		}
		var out []cognitotest.Outcome
		for _, r := range s.Requests("") {
			out = append(out, r.Outcome)
		}
		return out
	}
	a, b, other := run(7), run(7), run(8)
	if !slices.Equal(a, b) {
		t.Errorf("outcomes with seed 7 differ between runs:\n%v\n%v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("outcomes with seeds 7 and 8 are equal: %v", a)
	}
	for _, want := range []cognitotest.Outcome{cognitotest.OutcomeOK, cognitotest.OutcomeError500, cognitotest.OutcomeResetBefore, cognitotest.OutcomeResetAfter} {
		if !slices.Contains(a, want) {
			t.Errorf("outcomes %v lack %q", a, want)
		}
	}

	t.Run("op setting overrides default and zero clears", func(t *testing.T) {
		s := newServer(t)
		addUsers(t, s, legacyUser("u"))
		s.SetFaults("", cognitotest.Faults{Error500: 1})
		s.SetFaults("ListUsers", cognitotest.Faults{Latency: time.Millisecond})
		c := s.Client(noRetry)
		if err := call(t.Context(), c, "ListUsers"); err != nil {
			t.Errorf("ListUsers = %v, want success (own setting)", err)
		}
		if got := errCode(call(t.Context(), c, "AdminGetUser")); got != "InternalErrorException" {
			t.Errorf("AdminGetUser error = %q, want InternalErrorException", got)
		}
		s.SetFaults("", cognitotest.Faults{})
		if err := call(t.Context(), c, "AdminGetUser"); err != nil {
			t.Errorf("AdminGetUser after clearing = %v, want success", err)
		}
	})
}

func TestLatencyHonoursContext(t *testing.T) {
	s := cognitotest.NewServer()
	t.Cleanup(s.Close)
	addUsers(t, s, legacyUser("u"))
	s.SetFaults("AdminGetUser", cognitotest.Faults{Latency: time.Hour})
	s.SetFaults("ListUsers", cognitotest.Faults{Latency: 5 * time.Millisecond, Jitter: 5 * time.Millisecond})
	c := s.Client(noRetry)

	if err := call(t.Context(), c, "ListUsers"); err != nil {
		t.Errorf("ListUsers with latency = %v, want success", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := call(ctx, c, "AdminGetUser"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AdminGetUser with an hour of latency = %v, want context.DeadlineExceeded", err)
	}
	s.Close() // waits for the handler, which must not sleep an hour
	if got := s.Stats("AdminGetUser"); got.Canceled != 1 || got.Applied != 0 {
		t.Errorf("Stats(AdminGetUser) = %+v, want 1 canceled, 0 applied", got)
	}
}

// TestCloseDuringLatency closes the server while a write sleeps in injected
// latency: the client must see an error and the user must be unchanged.
func TestCloseDuringLatency(t *testing.T) {
	var armed atomic.Bool
	arrived := make(chan struct{}, 1)
	clock := func() time.Time {
		if armed.Load() {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
		return time.Now()
	}
	s := cognitotest.NewServer(cognitotest.WithClock(clock))
	t.Cleanup(s.Close)
	addUsers(t, s, legacyUser("u"))
	s.SetFaults("AdminSetUserMFAPreference", cognitotest.Faults{Latency: time.Hour})
	armed.Store(true)
	errc := make(chan error, 1)
	go func() { errc <- call(t.Context(), s.Client(noRetry), "AdminSetUserMFAPreference") }()
	<-arrived
	s.Close()
	if err := <-errc; err == nil {
		t.Errorf("AdminSetUserMFAPreference cut short by Close = nil, want an error")
	}
	if u, _ := s.User(pool, "u"); u.SMSEnabled {
		t.Errorf("user changed by a call cut short by Close")
	}
}

// TestQuota sends calls faster than the quota, at a frozen clock, and counts.
func TestQuota(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := newServer(t, cognitotest.WithClock(clock.Now))
	addUsers(t, s, legacyUser("u"))
	c := s.Client(noRetry)
	s.SetQuota(cognitotest.UserRead, 10, 5)

	count := func(op string, n int) (ok, throttled int) {
		t.Helper()
		for range n {
			switch code := errCode(call(t.Context(), c, op)); code {
			case "":
				ok++
			case "TooManyRequestsException":
				throttled++
			default:
				t.Fatalf("%s error = %q, want success or TooManyRequestsException", op, code)
			}
		}
		return ok, throttled
	}
	steps := []struct {
		name          string
		advance       time.Duration
		op            string
		n             int
		wantOK, wantT int
	}{
		{"burst", 0, "AdminGetUser", 12, 5, 7},
		{"other category unlimited", 0, "AdminSetUserMFAPreference", 30, 30, 0},
		{"half a second refills 5", 500 * time.Millisecond, "AdminGetUser", 8, 5, 3},
		{"a long pause refills only the burst", time.Minute, "AdminGetUser", 8, 5, 3},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		if ok, th := count(st.op, st.n); ok != st.wantOK || th != st.wantT {
			t.Errorf("%s: %d x %s = %d ok, %d throttled, want %d, %d", st.name, st.n, st.op, ok, th, st.wantOK, st.wantT)
		}
	}
	if got := s.Stats("AdminGetUser"); got.Received != 28 || got.Throttled != 13 {
		t.Errorf("Stats(AdminGetUser) = %+v, want 28 received, 13 throttled", got)
	}
	s.SetQuota(cognitotest.UserRead, 0, 0)
	if ok, th := count("AdminGetUser", 20); ok != 20 || th != 0 {
		t.Errorf("after turning the quota off: %d ok, %d throttled, want 20, 0", ok, th)
	}
}

// TestQuotaRealClock sends concurrently faster than the quota on the real
// clock and checks the number served against what the bucket allows in the
// time measured.
func TestQuotaRealClock(t *testing.T) {
	s := newServer(t)
	addUsers(t, s, legacyUser("u"))
	const rps, burst, calls = 50, 5, 200
	s.SetQuota(cognitotest.UserResourceUpdate, rps, burst)
	c := s.Client(noRetry)
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range calls / 8 {
				_ = call(t.Context(), c, "AdminSetUserMFAPreference")
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	st := s.Stats("AdminSetUserMFAPreference")
	maxOK := burst + int(elapsed.Seconds()*rps) + 1
	if st.Received != calls || st.OK+st.Throttled != calls || st.OK > maxOK || st.OK < burst {
		t.Errorf("Stats = %+v after %v, want %d received, between %d and %d ok, rest throttled", st, elapsed, calls, burst, maxOK)
	}
}

func TestAccessKey(t *testing.T) {
	s := newServer(t, cognitotest.WithAccessKey("AKIDGOOD"))
	addUsers(t, s, legacyUser("u"))
	if err := call(t.Context(), s.Client(noRetry), "AdminGetUser"); err != nil {
		t.Errorf("AdminGetUser with the accepted key = %v, want success", err)
	}
	bad := s.Client(noRetry, func(o *cip.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("AKIDOTHER", "SECRET", "")
	})
	for _, op := range []string{"AdminGetUser", "AdminSetUserMFAPreference", "ListUsers"} {
		err := call(t.Context(), bad, op)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "UnrecognizedClientException" || ae.ErrorMessage() != "The security token included in the request is invalid." {
			t.Errorf("%s with another key = %v, want UnrecognizedClientException", op, err)
		}
	}
	if u, _ := s.User(pool, "u"); u.SMSEnabled {
		t.Errorf("rejected write changed the user")
	}
}

func TestSetAuthError(t *testing.T) {
	s := newServer(t)
	addUsers(t, s, legacyUser("u"))
	c := s.Client(noRetry)
	for _, code := range []string{"NotAuthorizedException", "ExpiredTokenException", "AccessDeniedException", "UnrecognizedClientException"} {
		t.Run(code, func(t *testing.T) {
			s.SetAuthError(code, "")
			for _, op := range []string{"AdminGetUser", "AdminSetUserMFAPreference", "AdminSetUserSettings", "ListUsers", "AdminCreateUser"} {
				if got := errCode(call(t.Context(), c, op)); got != code {
					t.Errorf("%s error = %q, want %q", op, got, code)
				}
			}
		})
	}
	s.SetAuthError("NotAuthorizedException", "custom text")
	if err := call(t.Context(), c, "AdminGetUser"); !strings.Contains(fmt.Sprint(err), "custom text") {
		t.Errorf("AdminGetUser = %v, want message %q", err, "custom text")
	}
	s.SetAuthError("", "")
	if err := call(t.Context(), c, "AdminGetUser"); err != nil {
		t.Errorf("AdminGetUser after clearing = %v, want success", err)
	}
	if u, _ := s.User(pool, "u"); !stateOf(u).equal(stateOf(legacyUser("u"))) {
		t.Errorf("user changed by rejected calls: %+v", stateOf(u))
	}
}
