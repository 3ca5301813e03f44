package job

import (
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// MFA names as Cognito spells them in UserMFASettingList and PreferredMfaSetting.
const (
	MFASMS   = "SMS_MFA"
	MFATOTP  = "SOFTWARE_TOKEN_MFA"
	MFAEmail = "EMAIL_OTP"
)

// UserState is the part of one AdminGetUser answer that the planner and the
// report use. The zero value is a user that was not found.
type UserState struct {
	Found       bool   // the user exists
	Enabled     bool   // the user is enabled (disabled users are migrated too)
	LegacySMS   bool   // MFAOptions has an entry with DeliveryMedium SMS
	LegacyOther bool   // MFAOptions has an entry with another delivery medium
	Phone       string // the phone_number attribute; "" when absent
	SMS         bool   // SMS_MFA is in UserMFASettingList
	TOTP        bool   // SOFTWARE_TOKEN_MFA is in UserMFASettingList
	Email       bool   // EMAIL_OTP is in UserMFASettingList
	OtherFactor bool   // another, newer factor is in UserMFASettingList
	Preferred   string // PreferredMfaSetting; "" when none
	Status      string // UserStatus, such as CONFIRMED or UNCONFIRMED (not kept in the checkpoint)
}

// StateFromUser extracts the planner's view of an AdminGetUser answer.
func StateFromUser(out *cip.AdminGetUserOutput) UserState {
	s := UserState{Found: true, Enabled: out.Enabled}
	for _, o := range out.MFAOptions {
		if o.DeliveryMedium == types.DeliveryMediumTypeSms {
			s.LegacySMS = true
		} else {
			s.LegacyOther = true
		}
	}
	for _, a := range out.UserAttributes {
		if a.Name != nil && *a.Name == "phone_number" && a.Value != nil {
			s.Phone = strings.TrimSpace(*a.Value)
		}
	}
	for _, m := range out.UserMFASettingList {
		switch m {
		case MFASMS:
			s.SMS = true
		case MFATOTP:
			s.TOTP = true
		case MFAEmail:
			s.Email = true
		default:
			s.OtherFactor = true
		}
	}
	if out.PreferredMfaSetting != nil {
		s.Preferred = *out.PreferredMfaSetting
	}
	s.Status = string(out.UserStatus)
	return s
}

// Call is the write the planner asks for.
type Call uint8

// The writes the job can make. Both send only SMSMfaSettings; every other
// setting is left out of the request so that Cognito leaves it unchanged.
const (
	CallNone               Call = iota // no write
	CallEnableSMS                      // SMSMfaSettings{Enabled: true}
	CallEnableSMSPreferred             // SMSMfaSettings{Enabled: true, PreferredMfa: true}
)

// String describes the call for the report.
func (c Call) String() string {
	switch c {
	case CallEnableSMS:
		return "AdminSetUserMFAPreference(SMS enabled)"
	case CallEnableSMSPreferred:
		return "AdminSetUserMFAPreference(SMS enabled, preferred)"
	default:
		return ""
	}
}

// Input returns the AdminSetUserMFAPreference request for the call. Only
// SMSMfaSettings is set: the Go SDK sends a settings object whose fields are
// false as {}, which Cognito reads as "disable", so the other settings must
// stay nil.
func (c Call) Input(poolID, username string) *cip.AdminSetUserMFAPreferenceInput {
	return &cip.AdminSetUserMFAPreferenceInput{
		UserPoolId: &poolID,
		Username:   &username,
		SMSMfaSettings: &types.SMSMfaSettingsType{
			Enabled:      true,
			PreferredMfa: c == CallEnableSMSPreferred,
		},
	}
}

// Decision is what Plan decided for one user.
type Decision struct {
	Outcome Outcome
	Call    Call
	// Expect is the rejection the write is expected to meet, from the
	// user's status: UserNotConfirmedException for an UNCONFIRMED user,
	// PasswordResetRequiredException for RESET_REQUIRED. A real run still
	// makes the call and records what Cognito answers; a dry run reports the
	// user rejected, so that its would_migrate count predicts the real run.
	Expect string
}

// expectedRejections maps user statuses to the error the write is expected
// to meet (reference: "Implications", rule 5).
var expectedRejections = map[string]string{
	"UNCONFIRMED":    "UserNotConfirmedException",
	"RESET_REQUIRED": "PasswordResetRequiredException",
}

// Plan decides, from one user's live state, what the migration does. It is a
// pure function implementing the decision table of DESIGN.md:
//
//   - not found → not_found;
//   - SMS_MFA already enabled → already_migrated;
//   - a legacy SMS entry without a phone number → no_phone;
//   - a legacy SMS entry with a phone and no other factor enabled or
//     preferred → migrated, SMS enabled and preferred;
//   - the same with another factor enabled or preferred → migrated, SMS
//     enabled only (the user's preference, or their choice at sign-in, is kept);
//   - only non-SMS legacy entries → unsupported_legacy;
//   - nothing legacy → no_legacy_mfa.
//
// In a dry run the caller reports OutcomeMigrated as OutcomeWouldMigrate, or
// as OutcomeRejected when Decision.Expect predicts a rejection.
func Plan(s UserState) Decision {
	switch {
	case !s.Found:
		return Decision{Outcome: OutcomeNotFound}
	case s.SMS:
		return Decision{Outcome: OutcomeAlreadyMigrated}
	case s.LegacySMS && s.Phone == "":
		return Decision{Outcome: OutcomeNoPhone}
	case s.LegacySMS && s.hasOtherFactor():
		return Decision{Outcome: OutcomeMigrated, Call: CallEnableSMS, Expect: expectedRejections[s.Status]}
	case s.LegacySMS:
		return Decision{Outcome: OutcomeMigrated, Call: CallEnableSMSPreferred, Expect: expectedRejections[s.Status]}
	case s.LegacyOther:
		return Decision{Outcome: OutcomeUnsupportedLegacy}
	default:
		return Decision{Outcome: OutcomeNoLegacyMFA}
	}
}

// hasOtherFactor reports whether a factor other than SMS is enabled or preferred.
func (s UserState) hasOtherFactor() bool {
	return s.TOTP || s.Email || s.OtherFactor || (s.Preferred != "" && s.Preferred != MFASMS)
}

// After returns the state a successful call leaves: SMS_MFA enabled and, for
// CallEnableSMSPreferred, preferred. Nothing else changes.
func (s UserState) After(c Call) UserState {
	if c == CallNone {
		return s
	}
	s.SMS = true
	if c == CallEnableSMSPreferred {
		s.Preferred = MFASMS
	}
	return s
}

// MFAList returns the factors of UserMFASettingList, in Cognito's spelling.
func (s UserState) MFAList() []string {
	var l []string
	if s.SMS {
		l = append(l, MFASMS)
	}
	if s.TOTP {
		l = append(l, MFATOTP)
	}
	if s.Email {
		l = append(l, MFAEmail)
	}
	if s.OtherFactor {
		l = append(l, "OTHER")
	}
	return l
}

// LegacyList returns the legacy MFAOptions delivery media.
func (s UserState) LegacyList() []string {
	var l []string
	if s.LegacySMS {
		l = append(l, "SMS")
	}
	if s.LegacyOther {
		l = append(l, "OTHER")
	}
	return l
}
