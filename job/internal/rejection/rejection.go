// Package rejection holds the one rule about Cognito that this project
// infers rather than reads in AWS's documentation: which user statuses make
// AdminSetUserMFAPreference fail, and with which error code.
//
// The reference (shared/reference/cognito.md, "Implications", rule 5) lists
// UserNotConfirmedException and PasswordResetRequiredException among the
// errors of AdminSetUserMFAPreference without saying when Cognito returns
// them; this table pairs them with the UserStatus they name. Both sides of
// the project's model read it from here: the planner, to predict in a dry
// run which writes will be rejected, and the fake (job/cognitotest), to
// reject them. Tests in which the two meet therefore check that the fake and
// the planner agree, not that Cognito behaves so; they are labelled model
// consistency tests. Only a run against a real user pool can confirm the
// rule.
//
// It is internal so that the job and the fake share one copy; neither
// imports the other.
package rejection

// Rule is one row of the table: a write for a user whose UserStatus is
// Status is rejected with the error code Code and the message Message (the
// message is what the fake sends; the planner uses only the code).
type Rule struct {
	Status  string
	Code    string
	Message string
}

// ForStatus returns the rule for a user whose UserStatus is status, and
// false when the table expects the write of such a user to be accepted.
// This switch is the table.
func ForStatus(status string) (Rule, bool) {
	switch status {
	case "UNCONFIRMED":
		return Rule{Status: status, Code: "UserNotConfirmedException", Message: "User is not confirmed."}, true
	case "RESET_REQUIRED":
		return Rule{Status: status, Code: "PasswordResetRequiredException", Message: "Password reset required for the user"}, true
	}
	return Rule{}, false
}

// Rules returns every row of the table, in a fixed order, for tests and
// documentation. Each call returns a new slice.
func Rules() []Rule {
	var rules []Rule
	for _, status := range []string{"UNCONFIRMED", "RESET_REQUIRED"} {
		r, _ := ForStatus(status)
		rules = append(rules, r)
	}
	return rules
}
