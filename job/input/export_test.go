package input

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
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

// TestExportOrigin checks that an export names its pool in a comment line
// that a Reader skips and reports, keeping line numbers true.
func TestExportOrigin(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	w, err := NewExportWriterFrom(&buf, ExportOrigin{PoolID: "eu-west-1_Pool9", Exported: at})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ExportRecord{Username: "alice", MFAOptions: "SMS:phone_number"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(buf.String(), "\n"); !strings.Contains(first, "user_pool_id=eu-west-1_Pool9") || !strings.Contains(first, "exported_at=2026-11-30T12:00:00Z") {
		t.Errorf("first line = %q, want the origin comment", first)
	}
	rd, err := NewReader(bytes.NewReader(buf.Bytes()), "e.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	row, err := rd.Next()
	if err != nil || rd.Origin() != "eu-west-1_Pool9" || rd.Format() != FormatExport || row.Line != 3 || row.Username != "alice" {
		t.Errorf("Origin() = %q, Format() = %v, Next() = %+v, %v; want eu-west-1_Pool9, export, alice at line 3", rd.Origin(), rd.Format(), row, err)
	}
}
