package input

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A corpus case is testdata/bad/NAME.csv with its expectations in
// testdata/bad/NAME.want, one per line ('#' starts a comment):
//
//	option username-column: login    Options.UsernameColumn
//	option max-record-bytes: 256     Options.MaxRecordBytes
//	format: plain                    Reader.Format().String()
//	rows: 3                          rows returned before io.EOF or the fatal error (required)
//	line N valid: USERNAME           the row starting at line N is valid with this exact username
//	line N invalid: SUBSTRING        the row starting at line N is invalid, Invalid contains SUBSTRING
//	line N legacy: none              Row.Legacy.String() of the row at line N
//	duplicate: line N of line M      ScanInput reports the row at line N as a duplicate of line M
//	fatal: line N [field F]: SUBSTR  reading ends with a *Error at line N (column F), containing SUBSTR
//
// Rows not listed as invalid must be valid; ScanInput must report exactly
// the listed duplicates, and must agree with the Reader on everything else.
type corpusWant struct {
	opts    Options
	format  string
	rows    int
	valid   map[int]string
	invalid map[int]string
	legacy  map[int]string
	dups    map[int]int
	fatal   *fatalWant
}

type fatalWant struct {
	line  int
	field string
	msg   string
}

var (
	rowWantRE   = regexp.MustCompile(`^line (\d+) (valid|invalid|legacy): (.*)$`)
	dupWantRE   = regexp.MustCompile(`^duplicate: line (\d+) of line (\d+)$`)
	fatalWantRE = regexp.MustCompile(`^fatal: line (\d+)(?: field (\S+))?: (.*)$`)
)

func parseCorpusWant(t *testing.T, path string) corpusWant {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("every corpus case needs its expectations: %v", err)
	}
	w := corpusWant{rows: -1, valid: map[int]string{}, invalid: map[int]string{}, legacy: map[int]string{}, dups: map[int]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		atoi := func(s string) int {
			i, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			return i
		}
		if m := rowWantRE.FindStringSubmatch(l); m != nil {
			line := atoi(m[1])
			map[string]map[int]string{"valid": w.valid, "invalid": w.invalid, "legacy": w.legacy}[m[2]][line] = m[3]
			continue
		}
		if m := dupWantRE.FindStringSubmatch(l); m != nil {
			w.dups[atoi(m[1])] = atoi(m[2])
			continue
		}
		if m := fatalWantRE.FindStringSubmatch(l); m != nil {
			w.fatal = &fatalWant{line: atoi(m[1]), field: m[2], msg: m[3]}
			continue
		}
		key, val, ok := strings.Cut(l, ": ")
		switch {
		case !ok:
			t.Fatalf("%s:%d: cannot parse %q", path, n, l)
		case key == "rows":
			w.rows = atoi(val)
		case key == "format":
			w.format = val
		case key == "option username-column":
			w.opts.UsernameColumn = val
		case key == "option max-record-bytes":
			w.opts.MaxRecordBytes = atoi(val)
		default:
			t.Fatalf("%s:%d: unknown key %q", path, n, key)
		}
	}
	if w.rows < 0 {
		t.Fatalf("%s: no rows: line", path)
	}
	return w
}

// readRows reads every row of data and returns them with the error that
// ended the reading (io.EOF at the end of the file).
func readRows(t *testing.T, data []byte, name string, opts Options) (Format, []Row, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), name, opts)
	if err != nil {
		return 0, nil, err
	}
	var rows []Row
	for {
		row, err := r.Next()
		if err != nil {
			return r.Format(), rows, err
		}
		rows = append(rows, row)
		if len(rows) > len(data)+1 {
			t.Fatalf("Next() returned more rows (%d) than the input has bytes", len(rows))
		}
	}
}

func corpusFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestCorpus(t *testing.T) {
	files := corpusFiles(t)
	if len(files) < 25 {
		t.Fatalf("corpus has %d cases, want at least 25", len(files))
	}
	wants, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.want"))
	for _, w := range wants {
		if _, err := os.Stat(strings.TrimSuffix(w, ".want") + ".csv"); err != nil {
			t.Errorf("%s has no .csv: %v", w, err)
		}
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".csv")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := parseCorpusWant(t, strings.TrimSuffix(path, ".csv")+".want")
			format, rows, readErr := readRows(t, data, name+".csv", want.opts)
			checkCorpusRows(t, want, format, rows, readErr)
			checkCorpusScan(t, want, data, name+".csv", rows, readErr)
		})
	}
}

func checkCorpusRows(t *testing.T, want corpusWant, format Format, rows []Row, readErr error) {
	t.Helper()
	if len(rows) != want.rows {
		t.Errorf("read %d rows, want %d: %+v", len(rows), want.rows, rows)
	}
	if want.format != "" && format.String() != want.format {
		t.Errorf("Format() = %v, want %s", format, want.format)
	}
	lines := map[int]bool{}
	for i, row := range rows {
		lines[row.Line] = true
		if row.Index != i {
			t.Errorf("row %d: Index = %d, want %d", i, row.Index, i)
		}
		if i > 0 && row.Line <= rows[i-1].Line {
			t.Errorf("row %d: Line = %d, not after the previous row's %d", i, row.Line, rows[i-1].Line)
		}
		if sub, ok := want.invalid[row.Line]; ok {
			if row.Invalid == "" || !strings.Contains(row.Invalid, sub) {
				t.Errorf("line %d: Invalid = %q, want it to contain %q", row.Line, row.Invalid, sub)
			}
		} else if row.Invalid != "" {
			t.Errorf("line %d: Invalid = %q, want a valid row", row.Line, row.Invalid)
		}
		if u, ok := want.valid[row.Line]; ok && row.Username != u {
			t.Errorf("line %d: Username = %q, want %q", row.Line, row.Username, u)
		}
		if l, ok := want.legacy[row.Line]; ok && row.Legacy.String() != l {
			t.Errorf("line %d: Legacy = %v, want %s", row.Line, row.Legacy, l)
		}
	}
	for _, m := range []map[int]string{want.valid, want.invalid, want.legacy} {
		for line := range m {
			if !lines[line] {
				t.Errorf("no row starts at line %d, want one", line)
			}
		}
	}
	if want.fatal == nil {
		if readErr != io.EOF {
			t.Errorf("reading ended with %v, want io.EOF", readErr)
		}
		return
	}
	var e *Error
	switch {
	case !errors.As(readErr, &e) || !errors.Is(readErr, ErrInput):
		t.Errorf("reading ended with %v, want a *Error matching ErrInput", readErr)
	case e.Line != want.fatal.line || e.Field != want.fatal.field || !strings.Contains(e.Error(), want.fatal.msg):
		t.Errorf("reading ended with %q (line %d, field %q), want line %d, field %q, containing %q",
			e, e.Line, e.Field, want.fatal.line, want.fatal.field, want.fatal.msg)
	}
}

func checkCorpusScan(t *testing.T, want corpusWant, data []byte, name string, rows []Row, readErr error) {
	t.Helper()
	sc, err := ScanInput(t.Context(), openBytes(data), name, want.opts, t.TempDir())
	if readErr != io.EOF {
		if err == nil || err.Error() != readErr.Error() {
			t.Errorf("ScanInput() error = %v, want %v", err, readErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("ScanInput() error = %v", err)
	}
	invalid := 0
	for _, r := range rows {
		if r.Invalid != "" {
			invalid++
		}
	}
	sum := sha256.Sum256(data)
	if sc.Rows != len(rows) || sc.Invalid != invalid || sc.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("ScanInput() = rows %d, invalid %d, sha256 %s; want %d, %d, %x", sc.Rows, sc.Invalid, sc.SHA256, len(rows), invalid, sum)
	}
	got := map[int]int{}
	defer sc.Close()
	dups, err := sc.Duplicates.Map()
	if err != nil {
		t.Fatal(err)
	}
	for idx, d := range dups {
		if rows[d.FirstIndex].Line != d.FirstLine {
			t.Errorf("duplicate %d: FirstLine = %d, but row %d starts at line %d", idx, d.FirstLine, d.FirstIndex, rows[d.FirstIndex].Line)
		}
		got[rows[idx].Line] = d.FirstLine
	}
	if !maps.Equal(got, want.dups) {
		t.Errorf("ScanInput() duplicates (line: first line) = %v, want %v", sortedPairs(got), sortedPairs(want.dups))
	}
}

func sortedPairs(m map[int]int) [][2]int {
	var out [][2]int
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, [2]int{k, m[k]})
	}
	return out
}

// openBytes returns an open function for ScanInput that reads data.
func openBytes(data []byte) func(context.Context) (io.ReadCloser, error) {
	return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}
