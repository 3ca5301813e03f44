package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCognitoImportExample reads the complete sample user-import file from
// Cognito's developer guide ("Creating the user import .csv file").
func TestCognitoImportExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "cognito_import_example.csv"))
	if err != nil {
		t.Fatal(err)
	}
	format, rows, err := readRows(t, data, "example.csv", Options{})
	if err != io.EOF {
		t.Fatalf("reading ended with %v, want io.EOF", err)
	}
	if format != FormatCognitoImport {
		t.Errorf("Format() = %v, want %v", format, FormatCognitoImport)
	}
	want := []Row{
		{Index: 0, Line: 2, Username: "John", Legacy: LegacyUnknown},
		{Index: 1, Line: 3, Username: "Jane", Legacy: LegacyUnknown},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("rows = %+v, want %+v", rows, want)
	}
}

// TestLargeFileOneBadRow reads a generated file of 200,000 rows with one
// invalid username in the middle.
func TestLargeFileOneBadRow(t *testing.T) {
	const rows, bad = 200_000, 100_000
	tests := []struct {
		name   string
		format Format
		header string
		row    func(user string) string
		eol    string
	}{
		{"plain", FormatPlain, "username", func(u string) string { return u }, "\n"},
		{"plain CRLF", FormatPlain, "email,username", func(u string) string { return u + "@example.com," + u }, "\r\n"},
		{"export", FormatExport, "username,mfa_options,has_phone,user_status,enabled", func(u string) string { return u + ",SMS:phone_number,true,CONFIRMED,true" }, "\n"},
		{"import", FormatCognitoImport, "cognito:username,email,cognito:mfa_enabled", func(u string) string { return u + ",a\\,b@example.com,FALSE" }, "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			b.WriteString(tt.header + tt.eol)
			for i := range rows {
				u := "user" + strconv.Itoa(i)
				if i == bad {
					u = "bad user"
				}
				b.WriteString(tt.row(u) + tt.eol)
			}
			r, err := NewReader(&b, "big.csv", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != tt.format {
				t.Errorf("Format() = %v, want %v", r.Format(), tt.format)
			}
			n := 0
			for ; ; n++ {
				row, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next() error = %v after %d rows", err, n)
				}
				if row.Index != n || row.Line != n+2 {
					t.Fatalf("Next() = %+v, want Index %d, Line %d", row, n, n+2)
				}
				switch {
				case n == bad && !strings.Contains(row.Invalid, "contains whitespace"):
					t.Errorf("Next() = %+v, want invalid: contains whitespace", row)
				case n != bad && (row.Invalid != "" || row.Username != "user"+strconv.Itoa(n)):
					t.Errorf("Next() = %+v, want valid user%d", row, n)
				}
			}
			if n != rows {
				t.Errorf("read %d rows, want %d", n, rows)
			}
		})
	}
}

// endless is an input that never ends: prefix, then pattern over and over.
// It counts the bytes read from it.
type endless struct {
	prefix, pattern []byte
	read            int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		src := e.pattern
		if off := e.read + n; off < len(e.prefix) {
			src = e.prefix[off:]
		} else {
			src = src[(off-len(e.prefix))%len(src):]
		}
		n += copy(p[n:], src)
	}
	e.read += n
	return n, nil
}

// TestReaderMemoryBounded feeds records that never end and checks that the
// Reader gives up after reading a bounded amount, with a fatal error.
func TestReaderMemoryBounded(t *testing.T) {
	tests := []struct {
		name            string
		prefix, pattern string
		line            int
	}{
		{"endless header", "", "x", 1},
		{"endless line", "username\nalice\n", "x", 3},
		{"endless quoted field", "username\nalice\n\"bob\n", "carol\n", 0},
		{"endless import line", "cognito:username\nalice\n", "x", 3},
		{"endless blank lines", "username\nalice\n", "\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &endless{prefix: []byte(tt.prefix), pattern: []byte(tt.pattern)}
			r, err := NewReader(src, "endless.csv", Options{})
			for err == nil {
				_, err = r.Next()
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(e.Msg, "longer than") {
				t.Fatalf("reading ended with %v, want a *Error saying the record is too long", err)
			}
			t.Logf("%v (read %d bytes)", err, src.read)
			if tt.line != 0 && e.Line != tt.line {
				t.Errorf("error line = %d, want %d", e.Line, tt.line)
			}
			if limit := 5 * DefaultMaxRecordBytes; src.read > limit {
				t.Errorf("read %d bytes before giving up, want at most %d", src.read, limit)
			}
		})
	}
}

// failing returns data, then err.
type failing struct {
	data []byte
	err  error
}

func (f *failing) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderReadError(t *testing.T) {
	errDisk := errors.New("disk on fire")
	tests := []struct {
		name string
		data string
	}{
		{"before the header", ""},
		{"in the header", "user"},
		{"after some rows", "username\nalice\nbob\n"},
		{"import", "cognito:username\nalice\nbob\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(&failing{data: []byte(tt.data), err: errDisk}, "f.csv", Options{})
			for err == nil {
				_, err = r.Next()
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, errDisk) || !errors.Is(err, ErrInput) {
				t.Fatalf("reading ended with %v, want a *Error wrapping %v", err, errDisk)
			}
		})
	}
}

func TestReaderErrorsAreSticky(t *testing.T) {
	tests := []struct {
		name, data string
		want       error // nil: any *Error
	}{
		{"EOF", "username\nalice\n", io.EOF},
		{"fatal", "username\nalice\n\"bob\ncarol\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.data), "s.csv", Options{})
			if err != nil {
				t.Fatal(err)
			}
			var first error
			for first == nil {
				_, first = r.Next()
			}
			if tt.want != nil && first != tt.want {
				t.Fatalf("Next() error = %v, want %v", first, tt.want)
			}
			if row, err := r.Next(); err != first {
				t.Errorf("Next() after %v = %+v, %v; want the same error again", first, row, err)
			}
		})
	}
}

func TestUsernameColumn(t *testing.T) {
	const export = "username,mfa_options,has_phone,user_status,enabled\nalice,,false,CONFIRMED,true\n"
	tests := []struct {
		name, data, column string
		format             Format
		want               Row
	}{
		{"plain detected", "id,username\n1,alice\n", "", FormatPlain, Row{Line: 2, Username: "alice"}},
		{"plain named", "id,username\n1,alice\n", " USERNAME ", FormatPlain, Row{Line: 2, Username: "alice"}},
		{"export detected", export, "", FormatExport, Row{Line: 2, Username: "alice", Legacy: LegacyNone}},
		{"export named", export, "Username", FormatExport, Row{Line: 2, Username: "alice", Legacy: LegacyNone}},
		{"export other column", export, "user_status", FormatCustom, Row{Line: 2, Username: "CONFIRMED"}},
		{"import named", "cognito:username,email\nalice,a@x\n", "cognito:username", FormatCognitoImport, Row{Line: 2, Username: "alice"}},
		// A custom column of an import file is still split the import way.
		{"import other column", "cognito:username,email\nalice,a\\,b@x\n", "email", FormatCustom, Row{Line: 2, Username: "a,b@x"}},
		{"quoted import header", "\"cognito:username\",email\n\"a,b\",x\n", "cognito:username", FormatCognitoImport, Row{Line: 2, Username: "a,b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format, rows, err := readRows(t, []byte(tt.data), "c.csv", Options{UsernameColumn: tt.column})
			if err != io.EOF {
				t.Fatalf("reading ended with %v, want io.EOF", err)
			}
			if format != tt.format {
				t.Errorf("Format() = %v, want %v", format, tt.format)
			}
			if len(rows) != 1 || rows[0] != tt.want {
				t.Errorf("rows = %+v, want [%+v]", rows, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	cause := errors.New("permission denied")
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"full", &Error{File: "users.csv", Line: 1, Field: "username", Msg: "not found (header has: email, name)"},
			`users.csv:1: column "username": not found (header has: email, name)`},
		{"no line", &Error{File: "users.csv", Msg: "file is empty"}, "users.csv: file is empty"},
		{"no file", &Error{Line: 3, Msg: "record is too long"}, "line 3: record is too long"},
		{"cause", &Error{File: "users.csv", Msg: "cannot open", Err: cause}, "users.csv: cannot open: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.err, ErrInput) {
				t.Errorf("errors.Is(%v, ErrInput) = false, want true", tt.err)
			}
			if got := errors.Unwrap(tt.err); got != tt.err.Err {
				t.Errorf("Unwrap() = %v, want %v", got, tt.err.Err)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		got  fmt.Stringer
		want string
	}{
		{FormatPlain, "plain"},
		{FormatExport, "export"},
		{FormatCognitoImport, "cognito-import"},
		{FormatCustom, "custom"},
		{Format(9), "Format(9)"},
		{LegacyUnknown, "unknown"},
		{LegacyNone, "none"},
		{LegacyPresent, "present"},
		{Legacy(7), "Legacy(7)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.got.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
