package job

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/internal/rejection"
)

// TestModelConsistencyRejections is a model consistency test: it checks that
// the planner's dry-run prediction and the fake agree on every row of the
// inferred table of package job/internal/rejection (which user statuses
// Cognito rejects the write of, and with which code). Both read that table,
// so the test cannot tell whether Cognito behaves so; it catches the planner
// or the fake drifting from the table, or from each other. For each row, a
// user with legacy SMS MFA and that status must be reported rejected with
// the row's code by a dry run (no write sent) and by a real run (the fake's
// answer), and a user with any other status must not.
func TestModelConsistencyRejections(t *testing.T) {
	rules := rejection.Rules()
	statuses := []string{cognitotest.StatusConfirmed, cognitotest.StatusForceChangePassword, cognitotest.StatusExternalProvider}
	for _, r := range rules {
		statuses = append(statuses, r.Status)
	}
	if len(rules) == 0 {
		t.Fatal("the rejection table is empty")
	}

	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	e := &testEnv{srv: srv, dir: t.TempDir()}
	var csv strings.Builder
	csv.WriteString("username\n")
	for i, status := range statuses {
		u := cognitotest.User{
			Username:   fmt.Sprintf("user-%d", i),
			Enabled:    true,
			Status:     status,
			Attributes: map[string]string{"phone_number": "+14155550100"},
			MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}},
		}
		if err := srv.AddUser(testPool, u); err != nil {
			t.Fatal(err)
		}
		csv.WriteString(u.Username + "\n")
	}
	e.input = e.writeFile(t, "users.csv", csv.String())

	for _, dry := range []bool{true, false} {
		cfg := e.config()
		cfg.DryRun = dry
		if _, err := e.run(t, cfg); err != nil {
			t.Fatalf("Run(dry run %v) = %v, want success", dry, err)
		}
		rows := readReport(t, cfg.ReportLocation())
		if len(rows) != len(statuses) {
			t.Fatalf("dry run %v: %d report rows, want %d", dry, len(rows), len(statuses))
		}
		for i, status := range statuses {
			wantOutcome, wantDetail := "migrated", ""
			if dry {
				wantOutcome = "would_migrate"
			}
			if r, ok := rejection.ForStatus(status); ok {
				wantOutcome, wantDetail = "rejected", r.Code
			}
			if got := rows[i]; got.Outcome != wantOutcome || !strings.Contains(got.Detail, wantDetail) {
				t.Errorf("dry run %v, status %s: outcome %q, detail %q; want %q with %q", dry, status, got.Outcome, got.Detail, wantOutcome, wantDetail)
			}
		}
	}
	if n := srv.Calls("AdminSetUserMFAPreference"); n != len(statuses) {
		t.Errorf("%d writes, want one per user in the real run only (%d)", n, len(statuses))
	}
}
