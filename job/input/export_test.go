package input

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestExportWriter(t *testing.T) {
	recs := []ExportRecord{
		{Username: "alice", MFAOptions: "SMS:phone_number", HasPhone: true, UserStatus: "CONFIRMED", Enabled: true},
		{Username: "bob", HasPhone: false, UserStatus: "RESET_REQUIRED", Enabled: false},
		{Username: `o"brien,jr`, MFAOptions: "SMS:phone_number;SMS:phone_number", HasPhone: true, UserStatus: "CONFIRMED", Enabled: true},
		{Username: "日本語", MFAOptions: "", HasPhone: true, UserStatus: "UNCONFIRMED", Enabled: true},
	}
	const want = "username,mfa_options,has_phone,user_status,enabled\n" +
		"alice,SMS:phone_number,true,CONFIRMED,true\n" +
		"bob,,false,RESET_REQUIRED,false\n" +
		`"o""brien,jr",SMS:phone_number;SMS:phone_number,true,CONFIRMED,true` + "\n" +
		"日本語,,true,UNCONFIRMED,true\n"

	var buf bytes.Buffer
	w, err := NewExportWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatalf("Write(%+v) = %v", r, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
	if got := buf.String(); got != want {
		t.Fatalf("output =\n%s\nwant\n%s", got, want)
	}

	// What the writer writes, the Reader reads back as FormatExport.
	format, rows, err := readRows(t, buf.Bytes(), "export.csv", Options{})
	if err != io.EOF {
		t.Fatalf("reading ended with %v, want io.EOF", err)
	}
	if format != FormatExport {
		t.Errorf("Format() = %v, want %v", format, FormatExport)
	}
	wantLegacy := []Legacy{LegacyPresent, LegacyNone, LegacyPresent, LegacyNone}
	for i, row := range rows {
		if row.Username != recs[i].Username || row.Legacy != wantLegacy[i] || row.Invalid != "" {
			t.Errorf("Next() = %+v, want username %q, legacy %v", row, recs[i].Username, wantLegacy[i])
		}
	}
	if len(rows) != len(recs) {
		t.Errorf("read %d rows, want %d", len(rows), len(recs))
	}
}

func TestExportWriterHeaderOnly(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewExportWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "username,mfa_options,has_phone,user_status,enabled\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

type brokenWriter struct{ err error }

func (b brokenWriter) Write([]byte) (int, error) { return 0, b.err }

func TestExportWriterError(t *testing.T) {
	errFull := errors.New("disk full")
	w, err := NewExportWriter(brokenWriter{errFull})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ExportRecord{Username: "alice"}); err != nil {
		t.Fatalf("Write() = %v, want nil (buffered)", err)
	}
	if err := w.Flush(); !errors.Is(err, errFull) {
		t.Errorf("Flush() = %v, want %v", err, errFull)
	}
}

type countingWriter struct{ writes int }

func (c *countingWriter) Write(p []byte) (int, error) { c.writes++; return len(p), nil }

// TestExportWriterBuffers checks that records are not written to the file
// one at a time.
func TestExportWriterBuffers(t *testing.T) {
	var c countingWriter
	w, err := NewExportWriter(&c)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for range n {
		if err := w.Write(ExportRecord{Username: "alice", UserStatus: "CONFIRMED"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if c.writes > n/50 {
		t.Errorf("%d records took %d writes, want at most %d", n, c.writes, n/50)
	}
}
