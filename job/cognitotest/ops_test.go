package cognitotest_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// getView is the part of an AdminGetUser response the tests compare.
type getView struct {
	Username   string
	Enabled    bool
	Status     string
	MFAOptions []string // "SMS:phone_number"
	List       []string
	Preferred  string
	Phone      string
}

func viewOf(out *cip.AdminGetUserOutput) getView {
	v := getView{Username: aws.ToString(out.Username), Enabled: out.Enabled, Status: string(out.UserStatus),
		List: out.UserMFASettingList, Preferred: aws.ToString(out.PreferredMfaSetting)}
	for _, o := range out.MFAOptions {
		v.MFAOptions = append(v.MFAOptions, string(o.DeliveryMedium)+":"+aws.ToString(o.AttributeName))
	}
	for _, a := range out.UserAttributes {
		if aws.ToString(a.Name) == "phone_number" {
			v.Phone = aws.ToString(a.Value)
		}
	}
	return v
}

func (v getView) String() string { return fmt.Sprintf("%+v", struct{ getView }{v}) }

func (v getView) equal(o getView) bool {
	return v.Username == o.Username && v.Enabled == o.Enabled && v.Status == o.Status &&
		slices.Equal(v.MFAOptions, o.MFAOptions) && slices.Equal(v.List, o.List) &&
		v.Preferred == o.Preferred && v.Phone == o.Phone
}

func TestAdminGetUser(t *testing.T) {
	created := time.Date(2024, 3, 1, 12, 0, 0, 250_000_000, time.UTC)
	s := newServer(t)
	addUsers(t, s,
		func() cognitotest.User { u := legacyUser("legacy"); u.Created = created; return u }(),
		cognitotest.User{Username: "migrated", Enabled: true, Attributes: map[string]string{"phone_number": "+14155550101"},
			MFAOptions: smsOption, SMSEnabled: true, Preferred: "SMS_MFA"},
		cognitotest.User{Username: "both", Enabled: true, Attributes: map[string]string{"phone_number": "+14155550102"},
			SMSEnabled: true, TOTPEnabled: true, TOTPRegistered: true, Preferred: "SOFTWARE_TOKEN_MFA"},
		cognitotest.User{Username: "disabled", Status: "RESET_REQUIRED",
			Attributes: map[string]string{"sub": "0c5f0a2e-0000-4000-8000-000000000001"}},
	)
	c := s.Client(noRetry)

	tests := []struct {
		name, pool, username string
		want                 getView
		wantCode             string
	}{
		{name: "legacy user shows MFAOptions only", pool: pool, username: "legacy",
			want: getView{Username: "legacy", Enabled: true, Status: "CONFIRMED", MFAOptions: []string{"SMS:phone_number"}, Phone: "+14155550100"}},
		{name: "migrated", pool: pool, username: "migrated",
			want: getView{Username: "migrated", Enabled: true, Status: "CONFIRMED", MFAOptions: []string{"SMS:phone_number"},
				List: []string{"SMS_MFA"}, Preferred: "SMS_MFA", Phone: "+14155550101"}},
		{name: "two factors", pool: pool, username: "both",
			want: getView{Username: "both", Enabled: true, Status: "CONFIRMED", List: []string{"SMS_MFA", "SOFTWARE_TOKEN_MFA"},
				Preferred: "SOFTWARE_TOKEN_MFA", Phone: "+14155550102"}},
		{name: "disabled, by sub", pool: pool, username: "0c5f0a2e-0000-4000-8000-000000000001",
			want: getView{Username: "disabled", Status: "RESET_REQUIRED"}},
		{name: "unknown user", pool: pool, username: "nobody", wantCode: "UserNotFoundException"},
		{name: "unknown pool", pool: "us-east-1_Nope", username: "legacy", wantCode: "ResourceNotFoundException"},
		{name: "invalid pool id", pool: "nope", username: "legacy", wantCode: "InvalidParameterException"},
		{name: "username with space", pool: pool, username: "a b", wantCode: "InvalidParameterException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(tt.pool), Username: aws.String(tt.username)})
			if got := errCode(err); got != tt.wantCode {
				t.Fatalf("AdminGetUser(%s) error = %q, want %q", tt.username, got, tt.wantCode)
			}
			if err != nil {
				return
			}
			if got := viewOf(out); !got.equal(tt.want) {
				t.Errorf("AdminGetUser(%s) = %v, want %v", tt.username, got, tt.want)
			}
		})
	}

	t.Run("dates and messages", func(t *testing.T) {
		out, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("legacy")})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToTime(out.UserCreateDate); !got.Equal(created) {
			t.Errorf("AdminGetUser(legacy).UserCreateDate = %v, want %v", got, created)
		}
		_, err = c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String("us-east-1_Nope"), Username: aws.String("x")})
		if want := "User pool us-east-1_Nope does not exist."; !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("AdminGetUser(unknown pool) = %v, want message %q", err, want)
		}
		_, err = c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("x")})
		var nf *types.UserNotFoundException
		if !errors.As(err, &nf) || aws.ToString(nf.Message) != "User does not exist." {
			t.Errorf("AdminGetUser(unknown user) = %v, want *types.UserNotFoundException %q", err, "User does not exist.")
		}
	})
}

func TestAdminSetUserMFAPreference(t *testing.T) {
	phone := map[string]string{"phone_number": "+14155550100"}
	noPhone := map[string]string{"email": "x@example.com"}
	on := func(preferred bool) *types.SMSMfaSettingsType {
		return &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: preferred}
	}
	tests := []struct {
		name     string
		user     cognitotest.User
		in       cip.AdminSetUserMFAPreferenceInput
		want     mfaState // ignored when wantCode is set: the state must not change
		wantCode string
	}{
		{name: "migrate legacy keeps MFAOptions",
			user: cognitotest.User{Attributes: phone, MFAOptions: smsOption},
			in:   cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: on(true)},
			want: mfaState{SMS: true, Preferred: "SMS_MFA", MFAOptions: smsOption}},
		{name: "enable SMS adds MFAOptions entry",
			user: cognitotest.User{Attributes: phone},
			in:   cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: on(false)},
			want: mfaState{SMS: true, MFAOptions: smsOption}},
		{name: "empty object disables TOTP",
			user: cognitotest.User{Attributes: phone, TOTPRegistered: true, TOTPEnabled: true, Preferred: "SOFTWARE_TOKEN_MFA"},
			in:   cip.AdminSetUserMFAPreferenceInput{SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{}},
			want: mfaState{}},
		{name: "absent settings are unchanged",
			user: cognitotest.User{Attributes: phone, TOTPRegistered: true, TOTPEnabled: true, Preferred: "SOFTWARE_TOKEN_MFA", MFAOptions: smsOption},
			in:   cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: on(false)},
			want: mfaState{SMS: true, TOTP: true, Preferred: "SOFTWARE_TOKEN_MFA", MFAOptions: smsOption}},
		{name: "preferred moves to SMS",
			user: cognitotest.User{Attributes: phone, TOTPRegistered: true, TOTPEnabled: true, Preferred: "SOFTWARE_TOKEN_MFA"},
			in:   cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: on(true)},
			want: mfaState{SMS: true, TOTP: true, Preferred: "SMS_MFA", MFAOptions: smsOption}},
		{name: "enabled without PreferredMfa clears own preference",
			user: cognitotest.User{Attributes: phone, TOTPRegistered: true, TOTPEnabled: true, Preferred: "SOFTWARE_TOKEN_MFA"},
			in:   cip.AdminSetUserMFAPreferenceInput{SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true}},
			want: mfaState{TOTP: true}},
		{name: "disable SMS removes SMS MFAOptions only",
			user: cognitotest.User{Attributes: phone, SMSEnabled: true, Preferred: "SMS_MFA",
				MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}, {DeliveryMedium: "EMAIL", AttributeName: "email"}}},
			in:   cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: &types.SMSMfaSettingsType{}},
			want: mfaState{MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "EMAIL", AttributeName: "email"}}}},
		{name: "enable email",
			user: cognitotest.User{Attributes: noPhone},
			in:   cip.AdminSetUserMFAPreferenceInput{EmailMfaSettings: &types.EmailMfaSettingsType{Enabled: true, PreferredMfa: true}},
			want: mfaState{Email: true, Preferred: "EMAIL_OTP"}},
		{name: "webauthn with another factor",
			user: cognitotest.User{Attributes: phone, SMSEnabled: true},
			in:   cip.AdminSetUserMFAPreferenceInput{WebAuthnMfaSettings: &types.WebAuthnMfaSettingsType{Enabled: true}},
			want: mfaState{SMS: true, WebAuthn: true}},
		{name: "disabled user is accepted",
			user: cognitotest.User{Attributes: phone, MFAOptions: smsOption, Enabled: false},
			in:   cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: on(true)},
			want: mfaState{SMS: true, Preferred: "SMS_MFA", MFAOptions: smsOption}},

		{name: "SMS without phone", user: cognitotest.User{Attributes: noPhone, MFAOptions: smsOption},
			in: cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: on(true)}, wantCode: "InvalidParameterException"},
		{name: "disabling SMS without phone", user: cognitotest.User{Attributes: noPhone},
			in: cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: &types.SMSMfaSettingsType{}}, wantCode: "InvalidParameterException"},
		{name: "TOTP not registered", user: cognitotest.User{Attributes: phone},
			in: cip.AdminSetUserMFAPreferenceInput{SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true}}, wantCode: "InvalidParameterException"},
		{name: "email without address", user: cognitotest.User{Attributes: phone},
			in: cip.AdminSetUserMFAPreferenceInput{EmailMfaSettings: &types.EmailMfaSettingsType{Enabled: true}}, wantCode: "InvalidParameterException"},
		{name: "preferred but disabled", user: cognitotest.User{Attributes: phone, SMSEnabled: true},
			in: cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: &types.SMSMfaSettingsType{PreferredMfa: true}}, wantCode: "InvalidParameterException"},
		{name: "two preferred", user: cognitotest.User{Attributes: phone, TOTPRegistered: true},
			in: cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: on(true),
				SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}}, wantCode: "InvalidParameterException"},
		{name: "one bad setting changes nothing", user: cognitotest.User{Attributes: phone, MFAOptions: smsOption},
			in: cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: on(true),
				SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true}}, wantCode: "InvalidParameterException"},
		{name: "webauthn alone", user: cognitotest.User{Attributes: phone},
			in: cip.AdminSetUserMFAPreferenceInput{WebAuthnMfaSettings: &types.WebAuthnMfaSettingsType{Enabled: true}}, wantCode: "InvalidParameterException"},
		// Model consistency, not Cognito: the two cases below follow the
		// inferred table of package job/internal/rejection.
		{name: "reset required", user: cognitotest.User{Attributes: phone, MFAOptions: smsOption, Status: "RESET_REQUIRED"},
			in: cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: on(true)}, wantCode: "PasswordResetRequiredException"},
		{name: "unconfirmed", user: cognitotest.User{Attributes: phone, MFAOptions: smsOption, Status: "UNCONFIRMED"},
			in: cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: on(true)}, wantCode: "UserNotConfirmedException"},
	}
	s := newServer(t)
	c := s.Client(noRetry)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("user%02d", i)
			u := tt.user
			u.Username = name
			addUsers(t, s, u)
			before, _ := s.User(pool, name)
			in := tt.in
			in.UserPoolId, in.Username = aws.String(pool), aws.String(name)
			_, err := c.AdminSetUserMFAPreference(t.Context(), &in)
			if got := errCode(err); got != tt.wantCode {
				t.Fatalf("AdminSetUserMFAPreference(%s) error = %q, want %q", tt.name, got, tt.wantCode)
			}
			after, _ := s.User(pool, name)
			want := tt.want
			if tt.wantCode != "" {
				want = stateOf(before)
			}
			if got := stateOf(after); !got.equal(want) {
				t.Errorf("after AdminSetUserMFAPreference(%s): state = %+v, want %+v", tt.name, got, want)
			}
			if tt.wantCode == "" && after.Modified.Before(before.Modified) {
				t.Errorf("after AdminSetUserMFAPreference(%s): Modified = %v, want >= %v", tt.name, after.Modified, before.Modified)
			}
		})
	}

	t.Run("unknown user and pool", func(t *testing.T) {
		for _, tc := range []struct{ pool, user, want string }{
			{pool, "nobody", "UserNotFoundException"},
			{"us-east-1_Nope", "user00", "ResourceNotFoundException"},
		} {
			_, err := c.AdminSetUserMFAPreference(t.Context(), &cip.AdminSetUserMFAPreferenceInput{
				UserPoolId: aws.String(tc.pool), Username: aws.String(tc.user), SMSMfaSettings: on(true)})
			if got := errCode(err); got != tc.want {
				t.Errorf("AdminSetUserMFAPreference(%s, %s) error = %q, want %q", tc.pool, tc.user, got, tc.want)
			}
		}
	})
}

// TestEmptySettingsObjectDisables checks, on the wire, that the Go SDK sends
// {Enabled:false} as {} and that the fake reads it as "disable".
func TestEmptySettingsObjectDisables(t *testing.T) {
	s := newServer(t)
	addUsers(t, s, cognitotest.User{Username: "u", Enabled: true, TOTPRegistered: true, TOTPEnabled: true, SMSEnabled: true,
		Attributes: map[string]string{"phone_number": "+14155550100"}, MFAOptions: smsOption})
	_, err := s.Client().AdminSetUserMFAPreference(t.Context(), &cip.AdminSetUserMFAPreferenceInput{
		UserPoolId: aws.String(pool), Username: aws.String("u"),
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: false},
	})
	if err != nil {
		t.Fatalf("AdminSetUserMFAPreference = %v", err)
	}
	reqs := s.Requests("AdminSetUserMFAPreference")
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"SoftwareTokenMfaSettings":{}`) || strings.Contains(string(reqs[0].Body), "SMSMfaSettings") {
		t.Fatalf("requests = %+v, want one body with \"SoftwareTokenMfaSettings\":{} and no SMSMfaSettings", reqs)
	}
	u, _ := s.User(pool, "u")
	if want := (mfaState{SMS: true, MFAOptions: smsOption}); !stateOf(u).equal(want) {
		t.Errorf("after {} for TOTP: state = %+v, want %+v", stateOf(u), want)
	}
}

func TestAdminSetUserSettings(t *testing.T) {
	phone := map[string]string{"phone_number": "+14155550100", "email": "a@example.com"}
	tests := []struct {
		name     string
		user     cognitotest.User
		opts     []types.MFAOptionType
		want     mfaState
		wantCode string
	}{
		{name: "set legacy SMS makes the legacy state",
			user: cognitotest.User{Attributes: phone},
			opts: []types.MFAOptionType{{DeliveryMedium: types.DeliveryMediumTypeSms, AttributeName: aws.String("phone_number")}},
			want: mfaState{MFAOptions: smsOption}},
		{name: "empty list clears legacy and SMS_MFA",
			user: cognitotest.User{Attributes: phone, MFAOptions: smsOption, SMSEnabled: true, Preferred: "SMS_MFA", TOTPRegistered: true, TOTPEnabled: true},
			opts: []types.MFAOptionType{},
			want: mfaState{TOTP: true}},
		{name: "email option only also disables SMS_MFA",
			user: cognitotest.User{Attributes: phone, MFAOptions: smsOption, SMSEnabled: true},
			opts: []types.MFAOptionType{{DeliveryMedium: types.DeliveryMediumTypeEmail, AttributeName: aws.String("email")}},
			want: mfaState{MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "EMAIL", AttributeName: "email"}}}},
		{name: "SMS option keeps SMS_MFA",
			user: cognitotest.User{Attributes: phone, MFAOptions: smsOption, SMSEnabled: true, Preferred: "SMS_MFA"},
			opts: []types.MFAOptionType{{DeliveryMedium: types.DeliveryMediumTypeSms, AttributeName: aws.String("phone_number")}},
			want: mfaState{SMS: true, Preferred: "SMS_MFA", MFAOptions: smsOption}},
		{name: "bad delivery medium", user: cognitotest.User{Attributes: phone},
			opts: []types.MFAOptionType{{DeliveryMedium: "FAX", AttributeName: aws.String("phone_number")}}, wantCode: "InvalidParameterException"},
	}
	s := newServer(t)
	c := s.Client(noRetry)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("user%02d", i)
			u := tt.user
			u.Username = name
			addUsers(t, s, u)
			before, _ := s.User(pool, name)
			_, err := c.AdminSetUserSettings(t.Context(), &cip.AdminSetUserSettingsInput{UserPoolId: aws.String(pool), Username: aws.String(name), MFAOptions: tt.opts})
			if got := errCode(err); got != tt.wantCode {
				t.Fatalf("AdminSetUserSettings(%s) error = %q, want %q", tt.name, got, tt.wantCode)
			}
			want := tt.want
			if tt.wantCode != "" {
				want = stateOf(before)
			}
			after, _ := s.User(pool, name)
			if got := stateOf(after); !got.equal(want) {
				t.Errorf("after AdminSetUserSettings(%s): state = %+v, want %+v", tt.name, got, want)
			}
		})
	}

	t.Run("legacy state as AdminGetUser shows it", func(t *testing.T) {
		out, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String("user00")})
		if err != nil {
			t.Fatal(err)
		}
		want := getView{Username: "user00", Status: "CONFIRMED", MFAOptions: []string{"SMS:phone_number"}, Phone: "+14155550100"}
		if got := viewOf(out); !got.equal(want) {
			t.Errorf("AdminGetUser(user00) = %v, want %v", got, want)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		_, err := c.AdminSetUserSettings(t.Context(), &cip.AdminSetUserSettingsInput{UserPoolId: aws.String(pool), Username: aws.String("nobody"), MFAOptions: []types.MFAOptionType{}})
		if got, want := errCode(err), "UserNotFoundException"; got != want {
			t.Errorf("AdminSetUserSettings(nobody) error = %q, want %q", got, want)
		}
	})
}

func TestAdminCreateUser(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	s := newServer(t, cognitotest.WithClock(clock.Now))
	c := s.Client(noRetry)
	attrs := func(kv ...string) []types.AttributeType {
		var out []types.AttributeType
		for i := 0; i < len(kv); i += 2 {
			out = append(out, types.AttributeType{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return out
	}
	tests := []struct {
		name, pool, username string
		attrs                []types.AttributeType
		action               types.MessageActionType
		wantCode             string
	}{
		{name: "create", pool: pool, username: "new1", attrs: attrs("phone_number", "+14155550100", "email", "n@example.com")},
		{name: "exists", pool: pool, username: "new1", wantCode: "UsernameExistsException"},
		{name: "resend existing", pool: pool, username: "new1", action: types.MessageActionTypeResend},
		{name: "resend unknown", pool: pool, username: "ghost", action: types.MessageActionTypeResend, wantCode: "UserNotFoundException"},
		{name: "bad phone", pool: pool, username: "new2", attrs: attrs("phone_number", "415-555-0100"), wantCode: "InvalidParameterException"},
		{name: "sub is not settable", pool: pool, username: "new3", attrs: attrs("sub", "x"), wantCode: "InvalidParameterException"},
		{name: "unknown pool", pool: "us-east-1_Nope", username: "new4", wantCode: "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{UserPoolId: aws.String(tt.pool), Username: aws.String(tt.username),
				UserAttributes: tt.attrs, MessageAction: tt.action, TemporaryPassword: aws.String("Temp-1234")})
			if got := errCode(err); got != tt.wantCode {
				t.Fatalf("AdminCreateUser(%s) error = %q, want %q", tt.username, got, tt.wantCode)
			}
			if err != nil {
				return
			}
			u := out.User
			if aws.ToString(u.Username) != tt.username || u.UserStatus != types.UserStatusTypeForceChangePassword || !u.Enabled ||
				!aws.ToTime(u.UserCreateDate).Equal(clock.Now()) {
				t.Errorf("AdminCreateUser(%s).User = %+v, want enabled FORCE_CHANGE_PASSWORD user created %v", tt.username, u, clock.Now())
			}
			names := map[string]string{}
			for _, a := range u.Attributes {
				names[aws.ToString(a.Name)] = aws.ToString(a.Value)
			}
			if names["sub"] == "" || names["phone_number"] != "+14155550100" {
				t.Errorf("AdminCreateUser(%s).User.Attributes = %v, want sub and phone_number", tt.username, names)
			}
		})
	}
	if got, ok := s.User(pool, "new1"); !ok || got.Status != "FORCE_CHANGE_PASSWORD" || got.Attributes["email"] != "n@example.com" {
		t.Errorf("User(new1) = %+v, %v, want stored FORCE_CHANGE_PASSWORD user", got, ok)
	}
}
