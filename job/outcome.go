package job

import (
	"fmt"
	"strings"
)

// Outcome is the result recorded for one input row. The zero value,
// OutcomePending, means the row has not been processed yet.
type Outcome uint8

// The outcomes a row can end with. Their String forms appear in the report,
// the summary and the checkpoint counts; keep them stable.
const (
	OutcomePending           Outcome = iota // not processed yet
	OutcomeMigrated                         // AdminSetUserMFAPreference enabled SMS MFA
	OutcomeWouldMigrate                     // dry-run: the user would be migrated
	OutcomeAlreadyMigrated                  // SMS_MFA is already in UserMFASettingList
	OutcomeNoPhone                          // legacy SMS entry but no phone_number attribute
	OutcomeUnsupportedLegacy                // legacy entries, none of them SMS
	OutcomeNoLegacyMFA                      // no legacy entry and no SMS_MFA
	OutcomeNotFound                         // UserNotFoundException
	OutcomeRejected                         // Cognito refused the user (code kept)
	OutcomeInvalidInput                     // the CSV row is not usable (reason kept)
	OutcomeDuplicate                        // the username appeared on an earlier row
	OutcomeFailed                           // a call kept failing; retried by the next run
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	OutcomePending:           "pending",
	OutcomeMigrated:          "migrated",
	OutcomeWouldMigrate:      "would_migrate",
	OutcomeAlreadyMigrated:   "already_migrated",
	OutcomeNoPhone:           "no_phone",
	OutcomeUnsupportedLegacy: "unsupported_legacy",
	OutcomeNoLegacyMFA:       "no_legacy_mfa",
	OutcomeNotFound:          "not_found",
	OutcomeRejected:          "rejected",
	OutcomeInvalidInput:      "invalid_input",
	OutcomeDuplicate:         "duplicate",
	OutcomeFailed:            "failed",
}

// String returns the outcome's report name, such as "already_migrated".
func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Done reports whether a row with this outcome is finished: a resumed run
// skips it. Pending and failed rows are (re)tried.
func (o Outcome) Done() bool { return o != OutcomePending && o != OutcomeFailed && o < numOutcomes }

// Outcomes lists every outcome but pending, in report order.
func Outcomes() []Outcome {
	out := make([]Outcome, 0, numOutcomes-1)
	for o := OutcomeMigrated; o < numOutcomes; o++ {
		out = append(out, o)
	}
	return out
}

// ParseOutcome returns the outcome named s.
func ParseOutcome(s string) (Outcome, error) {
	for o, name := range outcomeNames {
		if strings.EqualFold(name, s) {
			return Outcome(o), nil
		}
	}
	return 0, fmt.Errorf("unknown outcome %q", s)
}
