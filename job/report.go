package job

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/gocarina/gocsv"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// ReportRow is one line of the per-user report. The report has one line per
// input row, in input order, whatever its outcome.
type ReportRow struct {
	Line     int    `csv:"line"`     // line of the row in the input
	Username string `csv:"username"` // as read from the input
	Outcome  string `csv:"outcome"`  // see Outcome
	// Call is the write that changed the user (migrated) or that a dry run
	// would send (would_migrate). It is empty for every other outcome,
	// rejected included: that write was sent and refused, or in a dry run is
	// expected to be, and Detail holds Cognito's error code.
	Call            string `csv:"call"`
	LegacyMFA       string `csv:"legacy_mfa"`       // legacy MFAOptions delivery media before
	MFABefore       string `csv:"mfa_before"`       // UserMFASettingList before
	PreferredBefore string `csv:"preferred_before"` // PreferredMfaSetting before
	MFAAfter        string `csv:"mfa_after"`        // UserMFASettingList after (planned, in a dry run)
	PreferredAfter  string `csv:"preferred_after"`  // PreferredMfaSetting after (planned, in a dry run)
	Enabled         string `csv:"enabled"`          // whether the user is enabled
	Phone           string `csv:"phone"`            // masked phone number
	Detail          string `csv:"detail"`           // error code, invalid-input reason, duplicate-of
}

// reportRow builds the report line of one input row from its checkpoint word
// and note. The phone number is masked unless noMask is set and the note
// holds the full number.
func reportRow(row input.Row, word uint32, note string, noMask bool) ReportRow {
	note, fullPhone := splitNote(note)
	o, st, read := decodeRow(word)
	rr := ReportRow{Line: row.Line, Username: row.Username, Outcome: o.String(), Detail: note}
	if o == outcomeInvalidInput {
		rr.Username = printable(row.Username)
	}
	if o == outcomeNoLegacyMFA && !read && rr.Detail == "" {
		// Not kept per row in the checkpoint: an export of a whole pool
		// would otherwise hold one note per user without legacy MFA.
		rr.Detail = noteNotRead
	}
	if !read || !st.Found {
		return rr
	}
	call := callNone
	if o == outcomeMigrated || o == outcomeWouldMigrate {
		call = plan(st).Call
	}
	after := st.After(call)
	rr.Call = call.String()
	rr.LegacyMFA = strings.Join(st.LegacyList(), " ")
	rr.MFABefore = strings.Join(st.MFAList(), " ")
	rr.PreferredBefore = st.Preferred
	rr.MFAAfter = strings.Join(after.MFAList(), " ")
	rr.PreferredAfter = after.Preferred
	rr.Enabled = strconv.FormatBool(st.Enabled)
	rr.Phone = st.Phone
	if noMask && fullPhone != "" {
		rr.Phone = fullPhone
	}
	return rr
}

// printable replaces control characters and invalid UTF-8 so that a bad
// input row cannot garble the report.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// writeReport writes the per-user report of st to w: one line per row of the
// input that open returns, which must be the input the checkpoint was made
// from, and dups its duplicates (nil for none; they give the detail of
// duplicate rows). Phone numbers are masked, unless noMask is set: then the
// rows a run with Config.NoMask recorded show the full number (the others
// stay masked). Cells a spreadsheet would evaluate as formulas are
// neutralized (see neutralize). It streams: memory does not grow with the
// input or its duplicates.
func writeReport(ctx context.Context, w io.Writer, open func(context.Context) (io.ReadCloser, error), name string, opts input.Options, st *checkpoint.State, dups *input.Duplicates, noMask bool) error {
	f, err := open(ctx)
	if err != nil {
		return err
	}
	defer f.Close()
	dc, err := dups.Cursor()
	if err != nil {
		return err
	}
	defer dc.Close()
	rd, err := input.NewReader(f, name, opts)
	if err != nil {
		return err
	}
	ch := make(chan any, 256)
	errc := make(chan error, 1)
	stopped := make(chan struct{}) // closed when MarshalChan has returned
	go func() {
		err := gocsv.MarshalChan(ch, gocsv.NewSafeCSVWriter(csv.NewWriter(w)))
		if errors.Is(err, gocsv.ErrChannelIsClosed) {
			err = nil
		}
		errc <- err
		close(stopped)
	}()
	send := func() error {
		for {
			row, err := rd.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if row.Index >= len(st.Rows) {
				return fmt.Errorf("%w: %s has more rows than the checkpoint", input.ErrInput, name)
			}
			note := st.Notes[row.Index]
			if d, ok := dc.Lookup(row.Index); ok && note == "" && rowOutcome(st.Rows[row.Index]) == outcomeDuplicate {
				note = fmt.Sprintf("duplicate of line %d", d.FirstLine)
			}
			select {
			case ch <- safeCells(reportRow(row, st.Rows[row.Index], note, noMask)):
			case <-stopped:
				return nil // the writer failed (a full disk, the stop budget): no use reading on
			}
		}
	}
	sendErr := send()
	close(ch)
	if err := <-errc; err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return sendErr
}

// RebuildReport writes the per-user report of the checkpoint in store to
// the output location, reading usernames from the input the checkpoint was
// made from (checked by its SHA-256). Phone numbers are masked unless noMask
// is set, as writeReport does. It takes no lock.
func RebuildReport(ctx context.Context, store checkpoint.Store, files Files, in, out, tmpDir string, noMask bool) error {
	data, _, err := store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load checkpoint %s: %w", store, err)
	}
	st, err := checkpoint.Decode(data)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", store, err)
	}
	open, err := files.Opener(ctx, in)
	if err != nil {
		return err
	}
	opts := input.Options{UsernameColumn: st.Identity.Flags["username-column"]}
	scan, err := input.ScanInput(ctx, open.Open, in, opts, tmpDir)
	if err != nil {
		return err
	}
	defer scan.Close()
	if scan.SHA256 != st.Identity.InputSHA256 {
		return fmt.Errorf("%w: %s is not the input of checkpoint %s (sha256 %s, the checkpoint's is %s)",
			input.ErrInput, in, store, short(scan.SHA256), short(st.Identity.InputSHA256))
	}
	open.Expect(scan.SHA256)
	return files.Write(ctx, out, func(w io.Writer) error {
		return writeReport(ctx, w, open.Open, in, opts, st, scan.Duplicates, noMask)
	})
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12] + "…"
	}
	return sha
}

// safeCells neutralizes the report cells that come from the input or from
// error messages (username and detail). The other cells are the tool's own
// words, and Cognito's E.164 phone numbers (masked or not), which hold only
// + and digits.
func safeCells(r ReportRow) ReportRow {
	r.Username = neutralize(r.Username)
	r.Detail = neutralize(r.Detail)
	return r
}
