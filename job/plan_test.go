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
		state userState
		want  decision
	}{
		{"not found", userState{}, decision{outcomeNotFound, callNone, ""}},
		{"already migrated", userState{Found: true, LegacySMS: true, Phone: phone, SMS: true}, decision{outcomeAlreadyMigrated, callNone, ""}},
		{"already migrated without legacy entry", userState{Found: true, Phone: phone, SMS: true, Preferred: mfaSMS}, decision{outcomeAlreadyMigrated, callNone, ""}},
		{"already migrated wins over missing phone", userState{Found: true, LegacySMS: true, SMS: true}, decision{outcomeAlreadyMigrated, callNone, ""}},
		{"no phone", userState{Found: true, LegacySMS: true}, decision{outcomeNoPhone, callNone, ""}},
		{"no phone with totp", userState{Found: true, LegacySMS: true, TOTP: true, Preferred: mfaTOTP}, decision{outcomeNoPhone, callNone, ""}},
		{"legacy only", userState{Found: true, LegacySMS: true, Phone: phone}, decision{outcomeMigrated, callEnableSMSPreferred, ""}},
		{"legacy only, disabled user", userState{Found: true, Enabled: false, LegacySMS: true, Phone: phone}, decision{outcomeMigrated, callEnableSMSPreferred, ""}},
		{"legacy sms and email entries", userState{Found: true, LegacySMS: true, LegacyOther: true, Phone: phone}, decision{outcomeMigrated, callEnableSMSPreferred, ""}},
		{"totp enabled and preferred", userState{Found: true, LegacySMS: true, Phone: phone, TOTP: true, Preferred: mfaTOTP}, decision{outcomeMigrated, callEnableSMS, ""}},
		{"totp enabled, none preferred", userState{Found: true, LegacySMS: true, Phone: phone, TOTP: true}, decision{outcomeMigrated, callEnableSMS, ""}},
		{"email enabled", userState{Found: true, LegacySMS: true, Phone: phone, Email: true}, decision{outcomeMigrated, callEnableSMS, ""}},
		{"unknown newer factor", userState{Found: true, LegacySMS: true, Phone: phone, OtherFactor: true}, decision{outcomeMigrated, callEnableSMS, ""}},
		{"email preferred but not listed", userState{Found: true, LegacySMS: true, Phone: phone, Preferred: mfaEmail}, decision{outcomeMigrated, callEnableSMS, ""}},
		{"sms preferred but not listed", userState{Found: true, LegacySMS: true, Phone: phone, Preferred: mfaSMS}, decision{outcomeMigrated, callEnableSMSPreferred, ""}},
		{"only email legacy entry", userState{Found: true, LegacyOther: true, Phone: phone}, decision{outcomeUnsupportedLegacy, callNone, ""}},
		{"nothing", userState{Found: true, Phone: phone}, decision{outcomeNoLegacyMFA, callNone, ""}},
		// Model consistency: the expected rejections follow the inferred
		// table of package job/internal/rejection, which the fake reads too.
		{"unconfirmed user", userState{Found: true, LegacySMS: true, Phone: phone, Status: "UNCONFIRMED"}, decision{outcomeMigrated, callEnableSMSPreferred, "UserNotConfirmedException"}},
		{"reset required, totp", userState{Found: true, LegacySMS: true, Phone: phone, TOTP: true, Status: "RESET_REQUIRED"}, decision{outcomeMigrated, callEnableSMS, "PasswordResetRequiredException"}},
		{"unconfirmed without legacy", userState{Found: true, Status: "UNCONFIRMED"}, decision{outcomeNoLegacyMFA, callNone, ""}},
		{"force change password", userState{Found: true, LegacySMS: true, Phone: phone, Status: "FORCE_CHANGE_PASSWORD"}, decision{outcomeMigrated, callEnableSMSPreferred, ""}},
		{"totp only", userState{Found: true, TOTP: true, Preferred: mfaTOTP}, decision{outcomeNoLegacyMFA, callNone, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plan(tt.state); got != tt.want {
				t.Errorf("plan(%+v) = %+v, want %+v", tt.state, got, tt.want)
			}
		})
	}
}

func TestCallInputSendsOnlySMSSettings(t *testing.T) {
	for _, c := range []writeCall{callEnableSMS, callEnableSMSPreferred} {
		in := c.Input("us-east-1_abc", "alice")
		if in.SoftwareTokenMfaSettings != nil || in.EmailMfaSettings != nil || in.WebAuthnMfaSettings != nil {
			t.Errorf("%v.Input() sets a setting other than SMSMfaSettings: %+v", c, in)
		}
		want := types.SMSMfaSettingsType{Enabled: true, PreferredMfa: c == callEnableSMSPreferred}
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
		UserMFASettingList:  []string{mfaTOTP, mfaEmail, "WEB_AUTHN"},
		PreferredMfaSetting: s(mfaTOTP),
	}
	want := userState{Found: true, Enabled: true, LegacySMS: true, LegacyOther: true, Phone: phone,
		TOTP: true, Email: true, OtherFactor: true, Preferred: mfaTOTP}
	if diff := cmp.Diff(want, stateFromUser(out)); diff != "" {
		t.Errorf("stateFromUser() mismatch (-want +got):\n%s", diff)
	}
	if got := stateFromUser(&cip.AdminGetUserOutput{}); got != (userState{Found: true}) {
		t.Errorf("stateFromUser(empty) = %+v, want only Found", got)
	}
}

func TestAfter(t *testing.T) {
	before := userState{Found: true, LegacySMS: true, Phone: phone, TOTP: true, Preferred: mfaTOTP}
	if got := before.After(callEnableSMS); !got.SMS || got.Preferred != mfaTOTP || !got.TOTP {
		t.Errorf("After(callEnableSMS) = %+v, want SMS on and TOTP kept preferred", got)
	}
	if got := before.After(callEnableSMSPreferred); !got.SMS || got.Preferred != mfaSMS {
		t.Errorf("After(callEnableSMSPreferred) = %+v, want SMS on and preferred", got)
	}
	if got := before.After(callNone); got != before {
		t.Errorf("After(callNone) = %+v, want unchanged", got)
	}
}
