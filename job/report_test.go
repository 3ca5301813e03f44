package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

func TestReportRow(t *testing.T) {
	legacy := userState{Found: true, Enabled: true, LegacySMS: true, Phone: "+14155550100", TOTP: true, Preferred: mfaTOTP}
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
			word: encodeRow(outcomeMigrated, &legacy),
			want: ReportRow{Line: 2, Username: "alice", Outcome: "migrated", Call: callEnableSMS.String(), LegacyMFA: "SMS",
				MFABefore: "SOFTWARE_TOKEN_MFA", PreferredBefore: mfaTOTP, MFAAfter: "SMS_MFA SOFTWARE_TOKEN_MFA", PreferredAfter: mfaTOTP,
				Enabled: "true", Phone: "+1******0100"},
		},
		{
			name: "would migrate in a dry run",
			row:  input.Row{Line: 3, Username: "bob"},
			word: encodeRow(outcomeWouldMigrate, &userState{Found: true, LegacySMS: true, Phone: "+447700900123"}),
			want: ReportRow{Line: 3, Username: "bob", Outcome: "would_migrate", Call: callEnableSMSPreferred.String(), LegacyMFA: "SMS",
				MFAAfter: "SMS_MFA", PreferredAfter: mfaSMS, Enabled: "false", Phone: "+4******0123"},
		},
		{
			name: "skipped thanks to the export",
			row:  input.Row{Line: 4, Username: "carol", Legacy: input.LegacyNone},
			word: encodeRow(outcomeNoLegacyMFA, nil),
			want: ReportRow{Line: 4, Username: "carol", Outcome: "no_legacy_mfa", Detail: noteNotRead},
		},
		{
			name: "rejected keeps its code",
			row:  input.Row{Line: 5, Username: "dave"},
			word: encodeRow(outcomeRejected, &legacy),
			note: "UserNotConfirmedException",
			want: ReportRow{Line: 5, Username: "dave", Outcome: "rejected", LegacyMFA: "SMS", MFABefore: "SOFTWARE_TOKEN_MFA",
				PreferredBefore: mfaTOTP, MFAAfter: "SOFTWARE_TOKEN_MFA", PreferredAfter: mfaTOTP, Enabled: "true", Phone: "+1******0100",
				Detail: "UserNotConfirmedException"},
		},
		{
			name: "invalid input is made printable",
			row:  input.Row{Line: 6, Username: "bad\x00name"},
			word: encodeRow(outcomeInvalidInput, nil),
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

// failAfter is a writer that fails once n bytes were written.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	io.Reader
	n *int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.Reader.Read(p)
	*c.n += int64(n)
	return n, err
}

func (countingReader) Close() error { return nil }

// TestWriteReportStopsReadingWhenTheWriterFails checks that a report whose
// writer fails (a full disk, the stop budget spent) stops reading its
// input instead of reading the rest of a large input for nothing.
func TestWriteReportStopsReadingWhenTheWriterFails(t *testing.T) {
	const rows = 200_000
	var in strings.Builder
	in.WriteString("username\n")
	for i := range rows {
		fmt.Fprintf(&in, "user-%08d\n", i)
	}
	var read int64
	open := func(context.Context) (io.ReadCloser, error) {
		return countingReader{strings.NewReader(in.String()), &read}, nil
	}
	st := &checkpoint.State{Rows: make([]uint32, rows), Notes: map[int]string{}}
	err := writeReport(t.Context(), &failAfter{n: 64 << 10}, open, "users.csv", input.Options{}, st, nil, false)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("writeReport() = %v, want the writer's error", err)
	}
	if total := int64(in.Len()); read > total/4 {
		t.Errorf("writeReport read %d of %d input bytes after its writer failed, want it to stop early", read, total)
	}
}
