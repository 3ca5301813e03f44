package job

import (
	"testing"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
)

const phone = "+14155550100"

func TestPlan(t *testing.T) {
	tests := []struct {
		name  string
		state UserState
		want  Decision
	}{
		{"not found", UserState{}, Decision{OutcomeNotFound, CallNone, ""}},
		{"already migrated", UserState{Found: true, LegacySMS: true, Phone: phone, SMS: true}, Decision{OutcomeAlreadyMigrated, CallNone, ""}},
		{"already migrated without legacy entry", UserState{Found: true, Phone: phone, SMS: true, Preferred: MFASMS}, Decision{OutcomeAlreadyMigrated, CallNone, ""}},
		{"already migrated wins over missing phone", UserState{Found: true, LegacySMS: true, SMS: true}, Decision{OutcomeAlreadyMigrated, CallNone, ""}},
		{"no phone", UserState{Found: true, LegacySMS: true}, Decision{OutcomeNoPhone, CallNone, ""}},
		{"no phone with totp", UserState{Found: true, LegacySMS: true, TOTP: true, Preferred: MFATOTP}, Decision{OutcomeNoPhone, CallNone, ""}},
		{"legacy only", UserState{Found: true, LegacySMS: true, Phone: phone}, Decision{OutcomeMigrated, CallEnableSMSPreferred, ""}},
		{"legacy only, disabled user", UserState{Found: true, Enabled: false, LegacySMS: true, Phone: phone}, Decision{OutcomeMigrated, CallEnableSMSPreferred, ""}},
		{"legacy sms and email entries", UserState{Found: true, LegacySMS: true, LegacyOther: true, Phone: phone}, Decision{OutcomeMigrated, CallEnableSMSPreferred, ""}},
		{"totp enabled and preferred", UserState{Found: true, LegacySMS: true, Phone: phone, TOTP: true, Preferred: MFATOTP}, Decision{OutcomeMigrated, CallEnableSMS, ""}},
		{"totp enabled, none preferred", UserState{Found: true, LegacySMS: true, Phone: phone, TOTP: true}, Decision{OutcomeMigrated, CallEnableSMS, ""}},
		{"email enabled", UserState{Found: true, LegacySMS: true, Phone: phone, Email: true}, Decision{OutcomeMigrated, CallEnableSMS, ""}},
		{"unknown newer factor", UserState{Found: true, LegacySMS: true, Phone: phone, OtherFactor: true}, Decision{OutcomeMigrated, CallEnableSMS, ""}},
		{"email preferred but not listed", UserState{Found: true, LegacySMS: true, Phone: phone, Preferred: MFAEmail}, Decision{OutcomeMigrated, CallEnableSMS, ""}},
		{"sms preferred but not listed", UserState{Found: true, LegacySMS: true, Phone: phone, Preferred: MFASMS}, Decision{OutcomeMigrated, CallEnableSMSPreferred, ""}},
		{"only email legacy entry", UserState{Found: true, LegacyOther: true, Phone: phone}, Decision{OutcomeUnsupportedLegacy, CallNone, ""}},
		{"nothing", UserState{Found: true, Phone: phone}, Decision{OutcomeNoLegacyMFA, CallNone, ""}},
		{"unconfirmed user", UserState{Found: true, LegacySMS: true, Phone: phone, Status: "UNCONFIRMED"}, Decision{OutcomeMigrated, CallEnableSMSPreferred, "UserNotConfirmedException"}},
		{"reset required, totp", UserState{Found: true, LegacySMS: true, Phone: phone, TOTP: true, Status: "RESET_REQUIRED"}, Decision{OutcomeMigrated, CallEnableSMS, "PasswordResetRequiredException"}},
		{"unconfirmed without legacy", UserState{Found: true, Status: "UNCONFIRMED"}, Decision{OutcomeNoLegacyMFA, CallNone, ""}},
		{"force change password", UserState{Found: true, LegacySMS: true, Phone: phone, Status: "FORCE_CHANGE_PASSWORD"}, Decision{OutcomeMigrated, CallEnableSMSPreferred, ""}},
		{"totp only", UserState{Found: true, TOTP: true, Preferred: MFATOTP}, Decision{OutcomeNoLegacyMFA, CallNone, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Plan(tt.state); got != tt.want {
				t.Errorf("Plan(%+v) = %+v, want %+v", tt.state, got, tt.want)
			}
		})
	}
}

func TestCallInputSendsOnlySMSSettings(t *testing.T) {
	for _, c := range []Call{CallEnableSMS, CallEnableSMSPreferred} {
		in := c.Input("us-east-1_abc", "alice")
		if in.SoftwareTokenMfaSettings != nil || in.EmailMfaSettings != nil || in.WebAuthnMfaSettings != nil {
			t.Errorf("%v.Input() sets a setting other than SMSMfaSettings: %+v", c, in)
		}
		want := types.SMSMfaSettingsType{Enabled: true, PreferredMfa: c == CallEnableSMSPreferred}
		if in.SMSMfaSettings == nil || *in.SMSMfaSettings != want {
			t.Errorf("%v.Input().SMSMfaSettings = %+v, want %+v", c, in.SMSMfaSettings, want)
		}
		if *in.UserPoolId != "us-east-1_abc" || *in.Username != "alice" {
			t.Errorf("%v.Input() = pool %q user %q", c, *in.UserPoolId, *in.Username)
		}
	}
}

func TestStateFromUser(t *testing.T) {
	s := func(v string) *string { return &v }
	out := &cip.AdminGetUserOutput{
		Username: s("alice"),
		Enabled:  true,
		MFAOptions: []types.MFAOptionType{
			{DeliveryMedium: types.DeliveryMediumTypeSms, AttributeName: s("phone_number")},
			{DeliveryMedium: types.DeliveryMediumTypeEmail, AttributeName: s("email")},
		},
		UserAttributes: []types.AttributeType{
			{Name: s("email"), Value: s("a@example.com")},
			{Name: s("phone_number"), Value: s(phone)},
		},
		UserMFASettingList:  []string{MFATOTP, MFAEmail, "WEB_AUTHN"},
		PreferredMfaSetting: s(MFATOTP),
	}
	want := UserState{Found: true, Enabled: true, LegacySMS: true, LegacyOther: true, Phone: phone,
		TOTP: true, Email: true, OtherFactor: true, Preferred: MFATOTP}
	if diff := cmp.Diff(want, StateFromUser(out)); diff != "" {
		t.Errorf("StateFromUser() mismatch (-want +got):\n%s", diff)
	}
	if got := StateFromUser(&cip.AdminGetUserOutput{}); got != (UserState{Found: true}) {
		t.Errorf("StateFromUser(empty) = %+v, want only Found", got)
	}
}

func TestAfter(t *testing.T) {
	before := UserState{Found: true, LegacySMS: true, Phone: phone, TOTP: true, Preferred: MFATOTP}
	if got := before.After(CallEnableSMS); !got.SMS || got.Preferred != MFATOTP || !got.TOTP {
		t.Errorf("After(CallEnableSMS) = %+v, want SMS on and TOTP kept preferred", got)
	}
	if got := before.After(CallEnableSMSPreferred); !got.SMS || got.Preferred != MFASMS {
		t.Errorf("After(CallEnableSMSPreferred) = %+v, want SMS on and preferred", got)
	}
	if got := before.After(CallNone); got != before {
		t.Errorf("After(CallNone) = %+v, want unchanged", got)
	}
}
