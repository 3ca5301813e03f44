package job

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenRow is one input row of the golden report and what the checkpoint
// holds for it: every shape a report line can take. The usernames say
// which; the golden file then reads as a catalogue of report lines.
type goldenRow struct {
	username string
	outcome  outcome
	state    *userState // nil: never read
	note     string
	phone    string // the full number, kept in the note by a --no-mask run
}

func goldenRows() []goldenRow {
	us := "+14155550100"
	uk := "+447700900123"
	return []goldenRow{
		{username: "migrated-sms-preferred", outcome: outcomeMigrated, phone: us,
			state: &userState{Found: true, Enabled: true, LegacySMS: true, Phone: us}},
		{username: "migrated-disabled-user", outcome: outcomeMigrated, phone: uk,
			state: &userState{Found: true, LegacySMS: true, Phone: uk}},
		{username: "migrated-totp-kept-preferred", outcome: outcomeMigrated, phone: us,
			state: &userState{Found: true, Enabled: true, LegacySMS: true, Phone: us, TOTP: true, Preferred: mfaTOTP}},
		{username: "migrated-totp-none-preferred", outcome: outcomeMigrated, phone: us,
			state: &userState{Found: true, Enabled: true, LegacySMS: true, Phone: us, TOTP: true}},
		{username: "migrated-email-enabled-and-legacy-email", outcome: outcomeMigrated, phone: us,
			state: &userState{Found: true, Enabled: true, LegacySMS: true, LegacyOther: true, Phone: us, Email: true}},
		{username: "migrated-other-factor", outcome: outcomeMigrated, phone: us,
			state: &userState{Found: true, Enabled: true, LegacySMS: true, Phone: us, OtherFactor: true, Preferred: "WEB_AUTHN"}},
		{username: "would-migrate-dry-run", outcome: outcomeWouldMigrate, phone: uk,
			state: &userState{Found: true, Enabled: true, LegacySMS: true, Phone: uk}},
		{username: "already-migrated", outcome: outcomeAlreadyMigrated, phone: us,
			state: &userState{Found: true, Enabled: true, LegacySMS: true, Phone: us, SMS: true, Preferred: mfaSMS}},
		{username: "no-phone", outcome: outcomeNoPhone,
			state: &userState{Found: true, Enabled: true, LegacySMS: true}},
		{username: "short-phone-hidden", outcome: outcomeMigrated, phone: "+12345",
			state: &userState{Found: true, Enabled: true, LegacySMS: true, Phone: "+12345"}},
		{username: "unsupported-legacy", outcome: outcomeUnsupportedLegacy,
			state: &userState{Found: true, Enabled: true, LegacyOther: true}},
		{username: "no-legacy-mfa-read", outcome: outcomeNoLegacyMFA, phone: us,
			state: &userState{Found: true, Enabled: true, Phone: us, TOTP: true, Preferred: mfaTOTP}},
		{username: "no-legacy-mfa-not-read", outcome: outcomeNoLegacyMFA},
		{username: "not-found", outcome: outcomeNotFound, state: &userState{}},
		{username: "rejected-unconfirmed", outcome: outcomeRejected, note: "UserNotConfirmedException", phone: us,
			state: &userState{Found: true, Enabled: true, LegacySMS: true, Phone: us, Status: "UNCONFIRMED"}},
		{username: "rejected-invalid-parameter", outcome: outcomeRejected, note: "InvalidParameterException", phone: us,
			state: &userState{Found: true, Enabled: true, LegacySMS: true, Phone: us}},
		{username: "failed-after-read", outcome: outcomeFailed, note: "InternalErrorException", phone: us,
			state: &userState{Found: true, Enabled: true, LegacySMS: true, Phone: us}},
		{username: "failed-before-read", outcome: outcomeFailed, note: "RequestTimeout"},
		{username: "pending", outcome: outcomePending},
		{username: "has space", outcome: outcomeInvalidInput, note: "username: contains whitespace"},
		{username: "bad\x01name", outcome: outcomeInvalidInput, note: "username: contains a control character"},
		{username: "migrated-sms-preferred", outcome: outcomeDuplicate, note: "duplicate of line 2"},
		{username: "=1+2", outcome: outcomeNoLegacyMFA}, // a formula: neutralised
		{username: "-1+1", outcome: outcomeNotFound, state: &userState{}},
	}
}

// writeGoldenReport writes the report of goldenRows through writeReport, as
// `report` and the end of a run do.
func writeGoldenReport(t *testing.T, noMask bool) []byte {
	t.Helper()
	rows := goldenRows()
	var in bytes.Buffer
	in.WriteString("username\n")
	st := &checkpoint.State{Rows: make([]uint32, len(rows)), Notes: map[int]string{}}
	for i, r := range rows {
		in.WriteString(`"` + r.username + `"` + "\n")
		st.Rows[i] = encodeRow(r.outcome, r.state)
		if note := joinNote(r.note, r.phone); note != "" && r.outcome != outcomePending {
			st.Notes[i] = note
		}
	}
	open := func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(in.Bytes())), nil }
	var out bytes.Buffer
	if err := writeReport(t.Context(), &out, open, "golden.csv", input.Options{}, st, nil, noMask); err != nil {
		t.Fatalf("writeReport() = %v", err)
	}
	return out.Bytes()
}

// TestReportGolden compares the report of every line shape with
// testdata/report.golden (phones masked) and testdata/report-no-mask.golden
// (--no-mask). Refresh them with go test ./job/ -run TestReportGolden
// -update, and review the diff.
func TestReportGolden(t *testing.T) {
	for _, tt := range []struct {
		file   string
		noMask bool
	}{{"report.golden", false}, {"report-no-mask.golden", true}} {
		t.Run(tt.file, func(t *testing.T) {
			got := writeGoldenReport(t, tt.noMask)
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); diff != "" {
				t.Errorf("writeReport(noMask %v) differs from %s (-want +got):\n%s", tt.noMask, path, diff)
			}
		})
	}
}
