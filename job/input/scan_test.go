package input

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestScanInput(t *testing.T) {
	data := []byte("\xef\xbb\xbfusername\r\nalice\r\nbob\r\nali ce\r\nalice\r\ncarol\r\n bob\r\nalice\r\nali ce\r\n")
	sc, err := ScanInput(t.Context(), openBytes(data), "s.csv", Options{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sum := sha256.Sum256(data)
	if sc.SHA256 != hex.EncodeToString(sum[:]) || sc.Rows != 8 || sc.Invalid != 2 || sc.Format != FormatPlain {
		t.Errorf("ScanInput() = %+v, want sha256 %x, 8 rows, 2 invalid, plain", sc, sum)
	}
	want := map[int]Duplicate{
		3: {FirstIndex: 0, FirstLine: 2},
		5: {FirstIndex: 1, FirstLine: 3},
		6: {FirstIndex: 0, FirstLine: 2},
	}
	if got, err := sc.Duplicates.Map(); err != nil || !maps.Equal(got, want) || sc.Duplicates.Len() != 3 {
		t.Errorf("ScanInput() duplicates = %v (%d), %v; want %v", got, sc.Duplicates.Len(), err, want)
	}
	// After the byte order mark (3 bytes) and the header line (10).
	if want := []Mark{{Index: 0, Offset: 13, Line: 2}}; !slices.Equal(sc.Marks, want) {
		t.Errorf("ScanInput() marks = %v, want %v", sc.Marks, want)
	}
}

// TestScanInputCollisions forces every username to the same hash: only
// usernames that are really equal may be reported.
func TestScanInputCollisions(t *testing.T) {
	tests := []struct {
		name string
		hash func(string) uint64
	}{
		{"all equal", func(string) uint64 { return 42 }},
		{"by length", func(s string) uint64 { return uint64(len(s)) }},
	}
	data := []byte("username\na\nb\nc\na\nbb\nc\ncc\nbb\n")
	want := map[int]Duplicate{3: {0, 2}, 5: {2, 4}, 7: {4, 6}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := scanInput(t.Context(), openBytes(data), "c.csv", Options{}, t.TempDir(), tt.hash)
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			if got, err := sc.Duplicates.Map(); err != nil || !maps.Equal(got, want) {
				t.Errorf("ScanInput() duplicates = %v, %v; want %v", got, err, want)
			}
		})
	}
}

func TestScanInputErrors(t *testing.T) {
	errDenied := errors.New("permission denied")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	changing := func() func(context.Context) (io.ReadCloser, error) {
		calls := 0
		return func(context.Context) (io.ReadCloser, error) {
			calls++
			s := "username\nalice\nalice\n"
			if calls > 1 {
				s += "bob\n"
			}
			return io.NopCloser(strings.NewReader(s)), nil
		}
	}
	tests := []struct {
		name    string
		ctx     context.Context
		open    func(context.Context) (io.ReadCloser, error)
		wantErr error
		wantMsg string
	}{
		{"open fails", t.Context(), func(context.Context) (io.ReadCloser, error) { return nil, errDenied }, errDenied, "e.csv: cannot open: permission denied"},
		{"header only", t.Context(), openBytes([]byte("username\n")), ErrInput, "e.csv:1: no data rows after the header"},
		{"file changes between passes", t.Context(), changing(), ErrInput, "e.csv: file changed while it was being scanned"},
		{"canceled", canceled, openBytes([]byte("username\nalice\n")), context.Canceled, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := ScanInput(tt.ctx, tt.open, "e.csv", Options{}, t.TempDir())
			if !errors.Is(err, tt.wantErr) || err.Error() != tt.wantMsg {
				t.Errorf("ScanInput() = %+v, %v; want error %q (%v)", sc, err, tt.wantMsg, tt.wantErr)
			}
		})
	}
}

// TestScanInputCleansUp checks that no temporary file outlives ScanInput.
func TestScanInputCleansUp(t *testing.T) {
	tmp := t.TempDir()
	for _, data := range []string{"username\na\nb\na\n", "username\n", "username\na\nb\n"} {
		if sc, err := ScanInput(t.Context(), openBytes([]byte(data)), "t.csv", Options{}, tmp); err == nil {
			sc.Close()
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("ScanInput left %d entries in its temporary folder, want none", len(left))
	}
}

// writeUsers writes a plain input of n rows to a file, one username in
// 1,000 repeating an earlier one.
func writeUsers(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), fmt.Sprintf("users-%d.csv", n))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("username,email\n")
	for i := range n {
		u := i
		if i%1000 == 999 {
			u = i - 500
		}
		fmt.Fprintf(w, "user-%08d,user-%08d@example.com\n", u, u)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// peakHeap samples the live heap while it runs and reports the largest
// value seen, in bytes.
func peakHeap(tb testing.TB) (stop func() uint64) {
	tb.Helper()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// BenchmarkScanInput scans generated files of different sizes. peak-heap-MB
// is the most heap in use while scanning (live objects and garbage not yet
// collected, with GOGC=100), which should not grow with the rows.
//
//	go test -run='^$' -bench=ScanInput -benchtime=3x ./job/input/
func BenchmarkScanInput(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			path := writeUsers(b, n)
			info, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			open := func(context.Context) (io.ReadCloser, error) { return os.Open(path) }
			tmp := b.TempDir()
			b.SetBytes(info.Size())
			b.ReportAllocs()
			var peak uint64
			runtime.GC()
			b.ResetTimer()
			for b.Loop() {
				stop := peakHeap(b)
				sc, err := ScanInput(b.Context(), open, path, Options{}, tmp)
				peak = max(peak, stop())
				if err != nil {
					b.Fatal(err)
				}
				if sc.Rows != n || sc.Duplicates.Len() != n/1000 {
					b.Fatalf("ScanInput() = %d rows, %d duplicates; want %d, %d", sc.Rows, sc.Duplicates.Len(), n, n/1000)
				}
				sc.Close()
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}
