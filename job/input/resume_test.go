package input

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// rowsOf reads every row rd gives.
func rowsOf(t *testing.T, rd *Reader) []Row {
	t.Helper()
	var rows []Row
	for {
		row, err := rd.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
}

// TestNewReaderAt starts a Reader at every mark of a file with a byte order
// mark, CRLF lines, blank lines, quoted fields spanning lines and invalid
// rows, from a seekable file and from a stream, and checks that it reads
// exactly the rows a Reader from the start reads from there on.
func TestNewReaderAt(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("\xef\xbb\xbf\r\nusername,mfa_options\r\n")
	const n = 3*MarkEvery + 1234
	for i := range n {
		switch i % 9973 {
		case 17:
			fmt.Fprintf(&b, "\"multi\nline-%d\",SMS:phone_number\r\n", i) // invalid: a newline in the username
		case 18:
			b.WriteString("\r\n\r\n")         // blank lines are not records
			fmt.Fprintf(&b, "user-%d\r\n", i) // invalid: one field
		default:
			fmt.Fprintf(&b, "user-%d,%s\r\n", i, []string{"", "SMS:phone_number"}[i%2])
		}
	}
	data := b.Bytes()
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	openFile := func(context.Context) (io.ReadCloser, error) { return os.Open(path) }

	sc, err := ScanInput(t.Context(), openBytes(data), "in.csv", Options{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if len(sc.Marks) != 4 || sc.Rows != n {
		t.Fatalf("scan has %d marks over %d rows, want 4 over %d", len(sc.Marks), sc.Rows, n)
	}
	full, err := NewReader(bytes.NewReader(data), "in.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := rowsOf(t, full)
	for _, m := range sc.Marks {
		for name, open := range map[string]func(context.Context) (io.ReadCloser, error){"file": openFile, "stream": openBytes(data)} {
			t.Run(fmt.Sprintf("%s at %d", name, m.Index), func(t *testing.T) {
				rd, c, err := NewReaderAt(t.Context(), open, "in.csv", Options{}, m)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				got := rowsOf(t, rd)
				want := all[m.Index:]
				if len(got) != len(want) {
					t.Fatalf("read %d rows from mark %+v, want %d", len(got), m, len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("row %d from mark %+v = %+v, want %+v", i, m, got[i], want[i])
					}
				}
			})
		}
	}

	t.Run("shortened file", func(t *testing.T) {
		m := sc.Marks[len(sc.Marks)-1]
		_, _, err := NewReaderAt(t.Context(), openBytes(data[:m.Offset-10]), "in.csv", Options{}, m)
		if err == nil {
			t.Fatal("NewReaderAt past the end of the file = nil error, want one")
		}
	})
	t.Run("import dialect has no marks", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString("cognito:username,name\n")
		for i := range MarkEvery + 5 {
			fmt.Fprintf(&b, "u%d,x\n", i)
		}
		sc, err := ScanInput(t.Context(), openBytes(b.Bytes()), "imp.csv", Options{}, t.TempDir())
		if err != nil || len(sc.Marks) != 0 {
			t.Fatalf("scan of an import file: %v, %v; want no marks", sc, err)
		}
		sc.Close()
	})
}
