package job

import (
	"testing"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

func TestReportRow(t *testing.T) {
	legacy := UserState{Found: true, Enabled: true, LegacySMS: true, Phone: "+14155550100", TOTP: true, Preferred: MFATOTP}
	tests := []struct {
		name string
		row  input.Row
		word uint32
		note string
		want ReportRow
	}{
		{
			name: "migrated, TOTP kept preferred",
			row:  input.Row{Line: 2, Username: "alice"},
			word: encodeRow(OutcomeMigrated, &legacy),
			want: ReportRow{Line: 2, Username: "alice", Outcome: "migrated", Call: CallEnableSMS.String(), LegacyMFA: "SMS",
				MFABefore: "SOFTWARE_TOKEN_MFA", PreferredBefore: MFATOTP, MFAAfter: "SMS_MFA SOFTWARE_TOKEN_MFA", PreferredAfter: MFATOTP,
				Enabled: "true", Phone: "+1******0100"},
		},
		{
			name: "would migrate in a dry run",
			row:  input.Row{Line: 3, Username: "bob"},
			word: encodeRow(OutcomeWouldMigrate, &UserState{Found: true, LegacySMS: true, Phone: "+447700900123"}),
			want: ReportRow{Line: 3, Username: "bob", Outcome: "would_migrate", Call: CallEnableSMSPreferred.String(), LegacyMFA: "SMS",
				MFAAfter: "SMS_MFA", PreferredAfter: MFASMS, Enabled: "false", Phone: "+4******0123"},
		},
		{
			name: "skipped thanks to the export",
			row:  input.Row{Line: 4, Username: "carol", Legacy: input.LegacyNone},
			word: encodeRow(OutcomeNoLegacyMFA, nil),
			want: ReportRow{Line: 4, Username: "carol", Outcome: "no_legacy_mfa", Detail: noteNotRead},
		},
		{
			name: "rejected keeps its code",
			row:  input.Row{Line: 5, Username: "dave"},
			word: encodeRow(OutcomeRejected, &legacy),
			note: "UserNotConfirmedException",
			want: ReportRow{Line: 5, Username: "dave", Outcome: "rejected", LegacyMFA: "SMS", MFABefore: "SOFTWARE_TOKEN_MFA",
				PreferredBefore: MFATOTP, MFAAfter: "SOFTWARE_TOKEN_MFA", PreferredAfter: MFATOTP, Enabled: "true", Phone: "+1******0100",
				Detail: "UserNotConfirmedException"},
		},
		{
			name: "invalid input is made printable",
			row:  input.Row{Line: 6, Username: "bad\x00name"},
			word: encodeRow(OutcomeInvalidInput, nil),
			note: "username: contains a control character",
			want: ReportRow{Line: 6, Username: "bad\uFFFDname", Outcome: "invalid_input", Detail: "username: contains a control character"},
		},
		{
			name: "pending",
			row:  input.Row{Line: 7, Username: "erin"},
			want: ReportRow{Line: 7, Username: "erin", Outcome: "pending"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reportRow(tt.row, tt.word, tt.note, false); got != tt.want {
				t.Errorf("reportRow() = %+v,\nwant %+v", got, tt.want)
			}
		})
	}
}
