package job

import (
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/internal/rejection"
)

// MFA names as Cognito spells them in UserMFASettingList and PreferredMfaSetting.
const (
	mfaSMS   = "SMS_MFA"
	mfaTOTP  = "SOFTWARE_TOKEN_MFA"
	mfaEmail = "EMAIL_OTP"
)

// userState is the part of one AdminGetUser answer that the planner and the
// report use. The zero value is a user that was not found.
type userState struct {
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

// stateFromUser extracts the planner's view of an AdminGetUser answer.
func stateFromUser(out *cip.AdminGetUserOutput) userState {
	s := userState{Found: true, Enabled: out.Enabled}
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
		case mfaSMS:
			s.SMS = true
		case mfaTOTP:
			s.TOTP = true
		case mfaEmail:
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

// writeCall is the write the planner asks for.
type writeCall uint8

// The writes the job can make. Both send only SMSMfaSettings; every other
// setting is left out of the request so that Cognito leaves it unchanged.
const (
	callNone               writeCall = iota // no write
	callEnableSMS                           // SMSMfaSettings{Enabled: true}
	callEnableSMSPreferred                  // SMSMfaSettings{Enabled: true, PreferredMfa: true}
)

// String describes the call for the report.
func (c writeCall) String() string {
	switch c {
	case callEnableSMS:
		return "AdminSetUserMFAPreference(SMS enabled)"
	case callEnableSMSPreferred:
		return "AdminSetUserMFAPreference(SMS enabled, preferred)"
	default:
		return ""
	}
}

// Input returns the AdminSetUserMFAPreference request for the call. Only
// SMSMfaSettings is set: the Go SDK sends a settings object whose fields are
// false as {}, which Cognito reads as "disable", so the other settings must
// stay nil.
func (c writeCall) Input(poolID, username string) *cip.AdminSetUserMFAPreferenceInput {
	return &cip.AdminSetUserMFAPreferenceInput{
		UserPoolId: &poolID,
		Username:   &username,
		SMSMfaSettings: &types.SMSMfaSettingsType{
			Enabled:      true,
			PreferredMfa: c == callEnableSMSPreferred,
		},
	}
}

// decision is what Plan decided for one user.
type decision struct {
	Outcome outcome
	Call    writeCall
	// Expect is the rejection the write is expected to meet, from the
	// user's status (the inferred table of package job/internal/rejection):
	// UserNotConfirmedException for an UNCONFIRMED user,
	// PasswordResetRequiredException for RESET_REQUIRED. A real run still
	// makes the call and records what Cognito answers; a dry run reports the
	// user rejected, so that its would_migrate count predicts the real run.
	Expect string
}

// expectedRejection returns the error code the write for a user with the
// given status is expected to meet, or "". The rule is inferred, not
// documented; it lives in package job/internal/rejection, which the fake
// reads too.
func expectedRejection(status string) string {
	r, _ := rejection.ForStatus(status)
	return r.Code
}

// plan decides, from one user's live state, what the migration does. It is a
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
// as outcomeRejected when decision.Expect predicts a rejection.
func plan(s userState) decision {
	switch {
	case !s.Found:
		return decision{Outcome: outcomeNotFound}
	case s.SMS:
		return decision{Outcome: outcomeAlreadyMigrated}
	case s.LegacySMS && s.Phone == "":
		return decision{Outcome: outcomeNoPhone}
	case s.LegacySMS && s.hasOtherFactor():
		return decision{Outcome: outcomeMigrated, Call: callEnableSMS, Expect: expectedRejection(s.Status)}
	case s.LegacySMS:
		return decision{Outcome: outcomeMigrated, Call: callEnableSMSPreferred, Expect: expectedRejection(s.Status)}
	case s.LegacyOther:
		return decision{Outcome: outcomeUnsupportedLegacy}
	default:
		return decision{Outcome: outcomeNoLegacyMFA}
	}
}

// hasOtherFactor reports whether a factor other than SMS is enabled or preferred.
func (s userState) hasOtherFactor() bool {
	return s.TOTP || s.Email || s.OtherFactor || (s.Preferred != "" && s.Preferred != mfaSMS)
}

// After returns the state a successful call leaves: SMS_MFA enabled and, for
// callEnableSMSPreferred, preferred. Nothing else changes.
func (s userState) After(c writeCall) userState {
	if c == callNone {
		return s
	}
	s.SMS = true
	if c == callEnableSMSPreferred {
		s.Preferred = mfaSMS
	}
	return s
}

// MFAList returns the factors of UserMFASettingList, in Cognito's spelling.
func (s userState) MFAList() []string {
	var l []string
	if s.SMS {
		l = append(l, mfaSMS)
	}
	if s.TOTP {
		l = append(l, mfaTOTP)
	}
	if s.Email {
		l = append(l, mfaEmail)
	}
	if s.OtherFactor {
		l = append(l, "OTHER")
	}
	return l
}

// LegacyList returns the legacy MFAOptions delivery media.
func (s userState) LegacyList() []string {
	var l []string
	if s.LegacySMS {
		l = append(l, "SMS")
	}
	if s.LegacyOther {
		l = append(l, "OTHER")
	}
	return l
}
