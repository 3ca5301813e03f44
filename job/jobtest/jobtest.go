// Package jobtest holds, for tests, what the migration must do to each kind
// of user that cognitotest.Mix seeds: the outcome a run records and the MFA
// state a real run leaves. It is DESIGN.md's decision table written out by
// hand for those kinds, not computed by the planner, so that a test that
// compares a run with it can fail when the planner is wrong.
//
// The fake (job/cognitotest) simulates Cognito and knows nothing of the
// migration; this table is the migration's side. It is a package of its own,
// importing nothing from job, so that job's tests (package job) and the
// command's end-to-end tests share one copy.
package jobtest

import (
	"fmt"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// Want is what a run must do to one seeded user.
type Want struct {
	// Outcome is the outcome the run records, as the report spells it.
	Outcome string
	// SMS, Preferred and TOTP are the user's MFA state after a real run:
	// SMS_MFA enabled, the preferred factor ("" for none), TOTP enabled.
	SMS       bool
	Preferred string
	TOTP      bool
	// ModelConsistency is true when Outcome rests on the inferred rule of
	// package job/internal/rejection (Cognito rejects the write of an
	// UNCONFIRMED or RESET_REQUIRED user), which the fake and the planner
	// both read: a test that checks such an outcome checks that the fake
	// agrees with the planner, not that Cognito does.
	ModelConsistency bool
}

// Migrated reports whether the run changes the user.
func (w Want) Migrated() bool { return w.Outcome == "migrated" }

// For returns what a run must do to s. It panics on a kind it does not know,
// so that a kind added to the fake without an expectation fails every test
// that seeds it.
func For(s cognitotest.Seed) Want {
	migrated := Want{Outcome: "migrated", SMS: true, Preferred: cognitotest.SMSMFA}
	switch s.Kind {
	case cognitotest.KindLegacySMS, cognitotest.KindLegacyDisabled, cognitotest.KindLegacyUnverified:
		return migrated
	case cognitotest.KindLegacyTOTPPref:
		// SMS enabled only: the user's TOTP preference is kept.
		return Want{Outcome: "migrated", SMS: true, Preferred: cognitotest.SoftwareTokenMFA, TOTP: true}
	case cognitotest.KindLegacyTOTPNoPref:
		// SMS enabled only: the user keeps choosing at sign-in.
		return Want{Outcome: "migrated", SMS: true, TOTP: true}
	case cognitotest.KindLegacyEmail:
		return Want{Outcome: "migrated", SMS: true}
	case cognitotest.KindAlreadyMigrated:
		return Want{Outcome: "already_migrated", SMS: true, Preferred: cognitotest.SMSMFA}
	case cognitotest.KindNoPhone:
		return Want{Outcome: "no_phone"}
	case cognitotest.KindUnsupportedLegacy:
		return Want{Outcome: "unsupported_legacy"}
	case cognitotest.KindNoLegacy:
		return Want{Outcome: "no_legacy_mfa"}
	case cognitotest.KindTOTPOnly:
		return Want{Outcome: "no_legacy_mfa", Preferred: cognitotest.SoftwareTokenMFA, TOTP: true}
	case cognitotest.KindUnconfirmed, cognitotest.KindResetRequired:
		return Want{Outcome: "rejected", ModelConsistency: true}
	case cognitotest.KindNotInPool:
		return Want{Outcome: "not_found"}
	}
	panic(fmt.Sprintf("jobtest: no expectation for seed kind %q", s.Kind))
}
