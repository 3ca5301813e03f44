package job

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// outcome is the result recorded for one input row. The zero value,
// outcomePending, means the row has not been processed yet.
type outcome uint8

// The outcomes a row can end with. Their String forms appear in the report,
// the summary and the checkpoint counts; keep them stable.
const (
	outcomePending           outcome = iota // not processed yet
	outcomeMigrated                         // AdminSetUserMFAPreference enabled SMS MFA
	outcomeWouldMigrate                     // dry-run: the user would be migrated
	outcomeAlreadyMigrated                  // SMS_MFA is already in UserMFASettingList
	outcomeNoPhone                          // legacy SMS entry but no phone_number attribute
	outcomeUnsupportedLegacy                // legacy entries, none of them SMS
	outcomeNoLegacyMFA                      // no legacy entry and no SMS_MFA
	outcomeNotFound                         // UserNotFoundException
	outcomeRejected                         // Cognito refused the user (code kept)
	outcomeInvalidInput                     // the CSV row is not usable (reason kept)
	outcomeDuplicate                        // the username appeared on an earlier row
	outcomeFailed                           // a call kept failing; retried by the next run
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	outcomePending:           "pending",
	outcomeMigrated:          "migrated",
	outcomeWouldMigrate:      "would_migrate",
	outcomeAlreadyMigrated:   "already_migrated",
	outcomeNoPhone:           "no_phone",
	outcomeUnsupportedLegacy: "unsupported_legacy",
	outcomeNoLegacyMFA:       "no_legacy_mfa",
	outcomeNotFound:          "not_found",
	outcomeRejected:          "rejected",
	outcomeInvalidInput:      "invalid_input",
	outcomeDuplicate:         "duplicate",
	outcomeFailed:            "failed",
}

// String returns the outcome's report name, such as "already_migrated".
func (o outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Done reports whether a row with this outcome is finished: a resumed run
// skips it. Pending and failed rows are (re)tried.
func (o outcome) Done() bool { return o != outcomePending && o != outcomeFailed && o < numOutcomes }

// allOutcomes lists every outcome but pending, in report order.
func allOutcomes() []outcome {
	out := make([]outcome, 0, numOutcomes-1)
	for o := outcomeMigrated; o < numOutcomes; o++ {
		out = append(out, o)
	}
	return out
}

// Stop reasons recorded in the run history and the summary.
const (
	StopCompleted   = "completed"
	StopNothingLeft = "nothing-left"
	StopSignal      = "signal"
	StopMaxDuration = "max-duration"
	StopMaxUsers    = "max-users"
	StopThrottled   = "throttled"
	StopMaxFailures = "max-failures"
	StopFatal       = "fatal"
)

// resumable reports whether a run that stopped for reason can simply be run
// again: it was asked to stop, or Cognito kept throttling. A fatal or
// max-failures stop needs the operator first.
func resumable(reason string) bool {
	switch reason {
	case StopSignal, StopMaxDuration, StopMaxUsers, StopThrottled:
		return true
	}
	return false
}

// tally counts rows per outcome; index numOutcomes counts words whose
// outcome is unknown (a newer version's checkpoint).
type tally [numOutcomes + 1]int64

// add counts n more rows with outcome o.
func (t *tally) add(o outcome, n int64) { t[min(o, numOutcomes)] += n }

// done counts the rows that are finished.
func (t *tally) done() int64 {
	var n int64
	for o, c := range t[:numOutcomes] {
		if outcome(o).Done() {
			n += c
		}
	}
	return n
}

// total counts every row.
func (t *tally) total() int64 {
	var n int64
	for _, c := range t {
		n += c
	}
	return n
}

// byName returns the counts as stored in the checkpoint and the summary:
// keyed by outcome name, pending included, outcomes with no rows left out.
func (t *tally) byName() map[string]int64 {
	m := map[string]int64{}
	for o, n := range t[:numOutcomes] {
		if n > 0 {
			m[outcome(o).String()] = n
		}
	}
	return m
}

// NewRunID returns a new run ID: the UTC start time and about 46 random
// bits in hex, such as 20250102T030405Z-a123456789ab. It sorts by start
// time. The random part starts with a letter, so that it is never a run of
// digits that maskPhones would take for a phone number.
func NewRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	b[0] = 0xa0 + b[0]%0x60 // first hex digit a–f
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
