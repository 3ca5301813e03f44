package input

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// Scan is what ScanInput learned about an input file.
type Scan struct {
	// SHA256 is the hex SHA-256 of the file's bytes, byte order mark
	// included: the identity of the file in a checkpoint.
	SHA256 string
	// Rows is the number of data records, valid or not.
	Rows int
	// Invalid is the number of records with Row.Invalid set.
	Invalid int
	// Format is the detected format.
	Format Format
	// Duplicates maps the Index of every later occurrence of a username to
	// its first occurrence, so the job processes each user once. Usernames
	// match exactly (after trimming); invalid rows are not considered. It
	// is never nil.
	Duplicates map[int]Duplicate
}

// Duplicate locates the first occurrence of a username that occurs again.
type Duplicate struct {
	// FirstIndex is the Row.Index of the first occurrence.
	FirstIndex int
	// FirstLine is the Row.Line of the first occurrence.
	FirstLine int
}

// scanBuckets is the number of temporary files ScanInput spreads username
// hashes over; the largest one is held in memory at a time.
const scanBuckets = 128

// ScanInput reads an input file once, before a run: it computes the file's
// SHA-256, counts its rows and invalid rows, and finds duplicate usernames,
// in memory that does not grow with the file.
//
// open is called once, or twice if some usernames may be duplicated: the
// first pass writes a 64-bit hash and the index of each valid row to
// temporary files under a new folder in tmpDir (os.TempDir if ""), which is
// removed before ScanInput returns; rows with equal hashes are then checked
// by reading the file again and comparing the usernames themselves, so a
// hash collision never makes two users look the same. Memory is a few times
// opts.MaxRecordBytes for the Reader, 1 MiB of write buffers, one temporary
// file at a time (16 bytes per row spread over 128 files: about 1.25 MB for
// 10 million rows), and what the duplicates themselves take. Calls may run
// concurrently.
//
// ScanInput returns a *Error (matching ErrInput) for the fatal problems
// Reader reports, when open fails, and when the file changes between the
// two passes; ctx.Err() when ctx is done; and other errors for temporary
// file problems.
func ScanInput(ctx context.Context, open func() (io.ReadCloser, error), name string, opts Options, tmpDir string) (*Scan, error) {
	seed := maphash.MakeSeed()
	return scanInput(ctx, open, name, opts, tmpDir, func(s string) uint64 { return maphash.String(seed, s) })
}

// scanInput is ScanInput with the hash function as a parameter, so tests
// can force collisions.
func scanInput(ctx context.Context, open func() (io.ReadCloser, error), name string, opts Options, tmpDir string, hash func(string) uint64) (*Scan, error) {
	dir, err := os.MkdirTemp(tmpDir, "scan-")
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", name, err)
	}
	defer os.RemoveAll(dir)
	b := &buckets{dir: dir}
	defer b.close()

	sc := &Scan{Duplicates: make(map[int]Duplicate)}
	first, err := readAll(ctx, open, name, opts, func(row Row) error {
		if row.Invalid != "" {
			sc.Invalid++
			return nil
		}
		return b.add(hash(row.Username), row.Index)
	})
	if err != nil {
		return nil, err
	}
	sc.SHA256, sc.Rows, sc.Format = first.sha256, first.rows, first.format

	cands, err := b.candidates()
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", name, err)
	}
	if len(cands) == 0 {
		return sc, nil
	}

	// Second pass: compare the candidates' usernames. seen holds, per hash,
	// the distinct usernames met so far among the candidates.
	type occurrence struct {
		username    string
		index, line int
	}
	seen := make(map[uint64][]occurrence)
	changed := &Error{File: name, Msg: "file changed while it was being scanned"}
	next := 0
	second, err := readAll(ctx, open, name, opts, func(row Row) error {
		if next == len(cands) || cands[next].index != row.Index {
			return nil
		}
		h := cands[next].hash
		next++
		if row.Invalid != "" {
			return changed
		}
		for _, o := range seen[h] {
			if o.username == row.Username {
				sc.Duplicates[row.Index] = Duplicate{FirstIndex: o.index, FirstLine: o.line}
				return nil
			}
		}
		seen[h] = append(seen[h], occurrence{row.Username, row.Index, row.Line})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if second.sha256 != first.sha256 || next != len(cands) {
		return nil, changed
	}
	return sc, nil
}

type pass struct {
	sha256 string
	rows   int
	format Format
}

// readAll reads every row of the input through a Reader, hashing the raw
// bytes on the way, and calls fn for each row.
func readAll(ctx context.Context, open func() (io.ReadCloser, error), name string, opts Options, fn func(Row) error) (pass, error) {
	rc, err := open()
	if err != nil {
		return pass{}, &Error{File: name, Msg: "cannot open", Err: err}
	}
	defer rc.Close()
	h := sha256.New()
	src := io.TeeReader(rc, h)
	rd, err := NewReader(src, name, opts)
	if err != nil {
		return pass{}, err
	}
	p := pass{format: rd.Format()}
	for {
		if p.rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return pass{}, err
			}
		}
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return pass{}, err
		}
		p.rows++
		if err := fn(row); err != nil {
			return pass{}, err
		}
	}
	// The Reader stops at end of file; this only makes sure.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return pass{}, &Error{File: name, Msg: "cannot read", Err: err}
	}
	p.sha256 = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

// candidate is a row whose username hash is shared with another row.
type candidate struct {
	hash  uint64
	index int
}

// buckets spreads (hash, index) pairs over temporary files by the top bits
// of the hash, so that equal hashes can be found one file at a time.
type buckets struct {
	dir   string
	files [scanBuckets]*os.File
	ws    [scanBuckets]*bufio.Writer
	entry [16]byte
}

func (b *buckets) add(hash uint64, index int) error {
	i := hash % scanBuckets
	if b.files[i] == nil {
		f, err := os.Create(filepath.Join(b.dir, fmt.Sprintf("bucket-%03d", i)))
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		b.files[i], b.ws[i] = f, bufio.NewWriterSize(f, 8<<10)
	}
	binary.LittleEndian.PutUint64(b.entry[:8], hash)
	binary.LittleEndian.PutUint64(b.entry[8:], uint64(index))
	if _, err := b.ws[i].Write(b.entry[:]); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	return nil
}

// candidates returns, ordered by index, every row whose hash another row
// shares.
func (b *buckets) candidates() ([]candidate, error) {
	var raw []byte
	var entries, cands []candidate
	for i, f := range b.files {
		if f == nil {
			continue
		}
		if err := b.ws[i].Flush(); err != nil {
			return nil, err
		}
		size, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		raw = slices.Grow(raw[:0], int(size))[:size]
		if _, err := f.ReadAt(raw, 0); err != nil {
			return nil, err
		}
		entries = entries[:0]
		for e := raw; len(e) >= 16; e = e[16:] {
			entries = append(entries, candidate{
				hash:  binary.LittleEndian.Uint64(e[:8]),
				index: int(binary.LittleEndian.Uint64(e[8:16])),
			})
		}
		slices.SortFunc(entries, func(x, y candidate) int {
			return cmp.Or(cmp.Compare(x.hash, y.hash), cmp.Compare(x.index, y.index))
		})
		for j := 0; j < len(entries); {
			k := j + 1
			for k < len(entries) && entries[k].hash == entries[j].hash {
				k++
			}
			if k-j > 1 {
				cands = append(cands, entries[j:k]...)
			}
			j = k
		}
	}
	slices.SortFunc(cands, func(x, y candidate) int { return cmp.Compare(x.index, y.index) })
	return cands, nil
}

func (b *buckets) close() {
	for _, f := range b.files {
		if f != nil {
			_ = f.Close() // temporary; removed with its folder
		}
	}
}
