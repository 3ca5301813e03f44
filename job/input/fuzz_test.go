package input

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz modes: bits of the second argument of FuzzReader.
const (
	fuzzSmallRecords = 1 << iota // Options.MaxRecordBytes = 64
	fuzzLoginColumn              // Options.UsernameColumn = "login"
)

// FuzzReader reads arbitrary bytes. The Reader must never panic and must
// keep its promises: consecutive indexes from 0, strictly increasing lines,
// valid usernames in valid rows, and only *Error (matching ErrInput) or
// io.EOF to end.
func FuzzReader(f *testing.F) {
	for _, path := range append(corpusFiles(f), filepath.Join("testdata", "cognito_import_example.csv")) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0))
		f.Add(data, uint8(fuzzSmallRecords))
	}
	f.Add([]byte("login,username\nalice,bob\n"), uint8(fuzzLoginColumn))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		var opts Options
		if mode&fuzzSmallRecords != 0 {
			opts.MaxRecordBytes = 64
		}
		if mode&fuzzLoginColumn != 0 {
			opts.UsernameColumn = "login"
		}
		r, err := NewReader(bytes.NewReader(data), "fuzz.csv", opts)
		if err != nil {
			checkFatal(t, "NewReader()", err)
			return
		}
		prevLine := 0
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatalf("Next() returned %d rows from %d bytes", i, len(data))
			}
			row, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkFatal(t, "Next()", err)
				if _, again := r.Next(); again != err {
					t.Fatalf("Next() after %v = %v, want the same error", err, again)
				}
				return
			}
			if row.Index != i {
				t.Fatalf("Next() = %+v, want Index %d", row, i)
			}
			if row.Line <= prevLine {
				t.Fatalf("Next() = %+v, want Line after %d", row, prevLine)
			}
			prevLine = row.Line
			if row.Invalid == "" {
				if reason := ValidateUsername(row.Username); reason != "" {
					t.Fatalf("Next() = %+v, a valid row, but ValidateUsername says %q", row, reason)
				}
			}
			if r.Format() != FormatExport && row.Legacy != LegacyUnknown ||
				r.Format() == FormatExport && row.Invalid == "" && row.Legacy == LegacyUnknown {
				t.Fatalf("Next() = %+v in format %v", row, r.Format())
			}
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("Next() after io.EOF = %v, want io.EOF", err)
		}
	})
}

func checkFatal(t *testing.T, what string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInput) {
		t.Fatalf("%s error = %#v, want a *Error matching ErrInput", what, err)
	}
	if e.File != "fuzz.csv" || e.Msg == "" {
		t.Fatalf("%s error = %#v, want the file name and a message", what, e)
	}
}

// FuzzImportLine checks the import-format splitter: the number of values is
// one more than the unescaped commas, values are trimmed, and escaping then
// splitting gives back the values.
func FuzzImportLine(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "cognito_import_example.csv"))
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f.Add(line)
	}
	for _, s := range []string{"", ",", `\,`, `a\\,b`, `a\,,b`, ` a ,\t`, `"q",x`, `C:\x,y\`, "a\x00b,c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.Contains(line, `"`) {
			return // a value may be quoted: FuzzImportQuoted checks those
		}
		var s importSplitter
		got := splitFields(&s, line)

		separators := 0
		for i := range len(line) {
			if line[i] == ',' && (i == 0 || line[i-1] != '\\') {
				separators++
			}
		}
		if len(got) != separators+1 {
			t.Fatalf("split(%q) = %q: %d values, want %d", line, got, len(got), separators+1)
		}
		for _, v := range got {
			if strings.Trim(v, " \t") != v {
				t.Fatalf("split(%q) = %q: value %q is not trimmed", line, got, v)
			}
		}

		// Values split from a line survive escaping and splitting again,
		// unless a value before the last ends in a backslash, which the
		// format cannot write.
		if roundTrips(got) {
			if again := splitFields(&s, joinImport(got)); !slices.Equal(again, got) {
				t.Fatalf("split(join(split(%q))) = %q, want %q", line, again, got)
			}
		}

		// The same for values made from the input: split at NUL bytes.
		values := strings.Split(line, "\x00")
		for i, v := range values {
			values[i] = strings.Trim(v, " \t")
		}
		if roundTrips(values) {
			joined := joinImport(values)
			if again := splitFields(&s, joined); !slices.Equal(again, values) {
				t.Fatalf("split(%q) = %q, want %q", joined, again, values)
			}
		}
	})
}

// joinImport writes values as a line of the import format.
func joinImport(values []string) string {
	escaped := make([]string, len(values))
	for i, v := range values {
		escaped[i] = strings.ReplaceAll(v, ",", `\,`)
	}
	return strings.Join(escaped, ",")
}

func roundTrips(values []string) bool {
	for _, v := range values[:len(values)-1] {
		if strings.HasSuffix(v, `\`) {
			return false
		}
	}
	return true
}

// FuzzImportQuoted checks that values written as RFC 4180 CSV (quoted only
// where needed, as Python's csv module and spreadsheets write them) are read
// back unchanged by the import dialect, unless the AWS way reads them
// differently by design: a value ending in a backslash before a comma, or a
// value with spaces or tabs around it, which the import format trims.
func FuzzImportQuoted(f *testing.F) {
	for _, s := range []string{"comma,user", `quote"user`, "a\x00b,c", "line\nbreak\x00x", `\,`, `"`, `""\x00,`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		values := strings.Split(in, "\x00")
		for _, v := range values {
			if strings.Trim(v, " \t") != v || strings.HasSuffix(v, `\`) || strings.ContainsRune(v, '\r') || !utf8.ValidString(v) {
				return
			}
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := w.Write(values); err != nil {
			return
		}
		w.Flush()
		rec := strings.TrimSuffix(b.String(), "\n")
		var s importSplitter
		got, open, bad := s.split([]byte(rec))
		if open || bad != "" || !slices.Equal(fields(got), values) {
			t.Fatalf("split(%q) = %q, open %v, bad %q; want %q", rec, fields(got), open, bad, values)
		}
	})
}
