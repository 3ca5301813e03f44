package cognitotest_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// t0 is half a second into a calendar second.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)

// callsAt sends one AdminGetUser at each offset from t0, in order.
func callsAt(t *testing.T, s *cognitotest.Server, clock *fakeClock, offsets ...time.Duration) {
	t.Helper()
	c := s.Client(noRetry)
	for _, off := range offsets {
		clock.Set(t0.Add(off))
		if err := call(t.Context(), c, "AdminGetUser"); err != nil {
			t.Fatalf("AdminGetUser at %v = %v", off, err)
		}
	}
}

func TestPerSecondAndMaxInWindow(t *testing.T) {
	ms := time.Millisecond
	// Arrivals (absolute): 12:00:00.5, .7, .9, 12:00:01.1, 12:00:03.0.
	offsets := []time.Duration{0, 200 * ms, 400 * ms, 600 * ms, 2500 * ms}

	for _, recording := range []bool{true, false} {
		t.Run(fmt.Sprint("recording=", recording), func(t *testing.T) {
			clock := newFakeClock(t0)
			s := newServer(t, cognitotest.WithClock(clock.Now))
			addUsers(t, s, legacyUser("u"))
			s.SetRecording(recording)
			s.ResetStats()
			callsAt(t, s, clock, offsets...)

			if got, want := s.PerSecond(cognitotest.UserRead), []int{3, 1, 0, 1}; !slices.Equal(got, want) {
				t.Errorf("PerSecond(UserRead) = %v, want %v", got, want)
			}
			if got := s.PerSecond(cognitotest.UserResourceUpdate); !slices.Equal(got, []int{0, 0, 0, 0}) {
				t.Errorf("PerSecond(UserResourceUpdate) = %v, want zeros", got)
			}
			windows := []struct {
				w          time.Duration
				exact, bin int // exact answer, and the histogram's upper bound
			}{
				{time.Second, 4, 4},
				{600 * ms, 3, 4},
				{601 * ms, 4, 4},
				{200 * ms, 1, 2}, // half-open: .5 and .7 are not in one 200 ms window
				{201 * ms, 2, 2},
				{time.Minute, 5, 5},
				{0, 0, 0},
			}
			for _, w := range windows {
				want := w.exact
				if !recording {
					want = w.bin
				}
				if got := s.MaxInWindow(cognitotest.UserRead, w.w); got != want {
					t.Errorf("MaxInWindow(UserRead, %v) = %d, want %d", w.w, got, want)
				}
				if got := s.MaxInWindow(cognitotest.UserResourceUpdate, w.w); got != 0 {
					t.Errorf("MaxInWindow(UserResourceUpdate, %v) = %d, want 0", w.w, got)
				}
			}
			wantRecorded := 0
			if recording {
				wantRecorded = len(offsets)
			}
			if got := len(s.Requests("")); got != wantRecorded {
				t.Errorf("len(Requests) = %d, want %d", got, wantRecorded)
			}
			if got := s.Calls("AdminGetUser"); got != 5 {
				t.Errorf("Calls(AdminGetUser) = %d, want 5", got)
			}

			s.ResetStats()
			if got := s.PerSecond(cognitotest.UserRead); !slices.Equal(got, []int{0}) {
				t.Errorf("PerSecond after ResetStats = %v, want [0]", got)
			}
			if got := s.Stats(""); got != (cognitotest.OpStats{}) {
				t.Errorf("Stats after ResetStats = %+v, want zero", got)
			}
		})
	}
}

func TestRequestsRecording(t *testing.T) {
	clock := newFakeClock(t0)
	s := newServer(t, cognitotest.WithClock(clock.Now))
	addUsers(t, s, legacyUser("u"))
	c := s.Client(noRetry)
	_ = call(t.Context(), c, "AdminGetUser")
	_ = call(t.Context(), c, "AdminSetUserMFAPreference")
	_, _ = c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("ghost")})

	want := []struct {
		op      string
		status  int
		outcome cognitotest.Outcome
		code    string
		body    string
	}{
		{"AdminGetUser", 200, cognitotest.OutcomeOK, "", `"Username":"u"`},
		{"AdminSetUserMFAPreference", 200, cognitotest.OutcomeOK, "", `"SMSMfaSettings":{"Enabled":true,"PreferredMfa":true}`},
		{"AdminGetUser", 400, cognitotest.OutcomeError, "UserNotFoundException", `"Username":"ghost"`},
	}
	got := s.Requests("")
	if len(got) != len(want) {
		t.Fatalf("Requests() = %d requests, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Op != w.op || g.Status != w.status || g.Outcome != w.outcome || g.Code != w.code || !g.Time.Equal(t0) || !strings.Contains(string(g.Body), w.body) {
			t.Errorf("Requests()[%d] = %+v (body %s), want %s %d %s %q with %s", i, g, g.Body, w.op, w.status, w.outcome, w.code, w.body)
		}
	}
	if n := len(s.Requests("AdminGetUser")); n != 2 {
		t.Errorf("len(Requests(AdminGetUser)) = %d, want 2", n)
	}
	wantStats := cognitotest.OpStats{Received: 2, OK: 1, Errors: 1, Applied: 1}
	if st := s.Stats("AdminGetUser"); st != wantStats {
		t.Errorf("Stats(AdminGetUser) = %+v, want %+v", st, wantStats)
	}
	got[0].Body[0] = 'X'
	if again := s.Requests(""); again[0].Body[0] == 'X' {
		t.Errorf("Requests returned a shared body")
	}
}

func TestSyntheticSource(t *testing.T) {
	const synth = "us-east-1_Synth01"
	s := newServer(t)
	var mu sync.Mutex
	asked := map[string]int{}
	s.SetUserSource(synth, func(name string) (cognitotest.User, bool) {
		mu.Lock()
		asked[name]++
		mu.Unlock()
		if !strings.HasPrefix(name, "user-") {
			return cognitotest.User{}, false
		}
		u := legacyUser(name)
		u.Created = t0
		return u, true
	})
	c := s.Client(noRetry)
	get := func(name string) (*cip.AdminGetUserOutput, error) {
		return c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(synth), Username: aws.String(name)})
	}

	out, err := get("user-5")
	if err != nil || len(out.MFAOptions) != 1 || len(out.UserMFASettingList) != 0 {
		t.Fatalf("AdminGetUser(user-5) = %+v, %v, want a generated legacy user", out, err)
	}
	if n := len(s.Users(synth)); n != 0 {
		t.Errorf("after a read: %d stored users, want 0", n)
	}
	_, err = c.AdminSetUserMFAPreference(t.Context(), &cip.AdminSetUserMFAPreferenceInput{UserPoolId: aws.String(synth), Username: aws.String("user-5"),
		SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true}})
	if err != nil {
		t.Fatalf("AdminSetUserMFAPreference(user-5) = %v", err)
	}
	if users := s.Users(synth); len(users) != 1 || !users[0].SMSEnabled {
		t.Errorf("after a write: stored users %+v, want user-5 migrated", users)
	}
	if out, err := get("user-5"); err != nil || !slices.Equal(out.UserMFASettingList, []string{"SMS_MFA"}) {
		t.Errorf("AdminGetUser(user-5) after migrating = %+v, %v, want SMS_MFA", out, err)
	}
	if u, ok := s.User(synth, "user-6"); !ok || u.SMSEnabled || len(u.MFAOptions) != 1 {
		t.Errorf("User(user-6) = %+v, %v, want a generated legacy user", u, ok)
	}
	if _, err := get("nobody"); errCode(err) != "UserNotFoundException" {
		t.Errorf("AdminGetUser(nobody) = %v, want UserNotFoundException", err)
	}
	_, err = c.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: aws.String(synth), Username: aws.String("user-7")})
	if errCode(err) != "UsernameExistsException" {
		t.Errorf("AdminCreateUser(user-7) = %v, want UsernameExistsException", err)
	}
	lo, err := c.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(synth)})
	if err != nil || len(lo.Users) != 1 || aws.ToString(lo.Users[0].Username) != "user-5" {
		t.Errorf("ListUsers(synthetic) = %+v, %v, want only the stored user-5", lo, err)
	}

	s.SetUserSource(synth, func(name string) (cognitotest.User, bool) { return cognitotest.User{Username: "other"}, true })
	if _, err := get("user-9"); errCode(err) != "InternalErrorException" {
		t.Errorf("AdminGetUser with a source returning the wrong name = %v, want InternalErrorException", err)
	}
}

// TestConcurrentUse hammers one server from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	s := newServer(t)
	for i := range 20 {
		addUsers(t, s, legacyUser(fmt.Sprintf("u%02d", i)))
	}
	s.SetFaults("", cognitotest.Faults{Error500: 0.05, ResetBefore: 0.05, ResetAfter: 0.05, Seed: 1})
	s.SetQuota(cognitotest.UserRead, 1000, 50)
	c := s.Client()
	var wg sync.WaitGroup
	const workers, per = 8, 25
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				name := fmt.Sprintf("u%02d", (w*per+i)%20)
				_, _ = c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(name)})
				_, _ = c.AdminSetUserMFAPreference(t.Context(), &cip.AdminSetUserMFAPreferenceInput{UserPoolId: aws.String(pool), Username: aws.String(name),
					SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: i%2 == 0}})
				if i%10 == 0 {
					_, _ = c.ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: aws.String(pool), Limit: aws.Int32(7)})
					_ = s.Stats("")
					_ = s.PerSecond(cognitotest.UserRead)
					_ = s.MaxInWindow(cognitotest.UserRead, time.Second)
					_ = s.Requests("ListUsers")
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats("")
	sum := st.OK + st.Throttled + st.Faulted500 + st.ResetBefore + st.ResetAfter + st.Errors + st.Canceled
	if st.Received < 2*workers*per || sum != st.Received {
		t.Errorf("Stats = %+v: outcomes sum to %d, want Received (>= %d)", st, sum, 2*workers*per)
	}
	for i := range 20 {
		u, _ := s.User(pool, fmt.Sprintf("u%02d", i))
		if !u.SMSEnabled || len(u.MFAOptions) != 1 {
			t.Errorf("u%02d = %+v, want SMS enabled with one MFAOptions entry", i, stateOf(u))
		}
	}
}
