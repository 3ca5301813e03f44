package input

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Scan is what ScanInput learned about an input file. Call Close when done
// with it: its Duplicates live in a temporary folder.
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
	// Origin is the user pool an export says it was made from (see
	// Reader.Origin), or "".
	Origin string
	// Duplicates lists every later occurrence of a username with its first
	// occurrence, so the job processes each user once. Usernames match
	// exactly (after trimming); invalid rows are not considered. It is
	// never nil.
	Duplicates *Duplicates
	// Marks are places where a Reader can start (NewReaderAt): every
	// MarkEvery-th record, in order. Empty for a Cognito import file.
	Marks []Mark
}

// Close removes the scan's temporary files. It is safe to call more than
// once.
func (s *Scan) Close() error { return s.Duplicates.close() }

// Duplicate locates the first occurrence of a username that occurs again.
type Duplicate struct {
	// FirstIndex is the Row.Index of the first occurrence.
	FirstIndex int
	// FirstLine is the Row.Line of the first occurrence.
	FirstLine int
}

// ScanDirPrefix starts the name of the temporary folder ScanInput makes,
// followed by the process ID and a dash: a process killed while it holds
// one leaves it behind, and the job removes those of dead processes.
const ScanDirPrefix = "cognito-mfa-migrate-scan-"

// scanBuckets is the number of temporary files ScanInput spreads rows over
// by username hash; one is processed at a time.
const scanBuckets = 128

// ScanInput reads an input file before a run: it computes the file's
// SHA-256, counts its rows and invalid rows, and finds duplicate usernames,
// in memory that does not grow with the file or with its duplicates.
//
// open is called (with ctx) once, or twice if some usernames may be
// duplicated. The first pass writes a 64-bit hash and the index of each
// valid row to temporary files under a new folder in tmpDir (os.TempDir if
// ""), spread by hash; each is then read on its own to mark the rows whose
// hash another row shares (one bit a row). The second pass writes those
// rows' usernames to a second set of files by hash, and each is read on its
// own, comparing the usernames themselves (so a hash collision never makes
// two users look the same), to find the duplicates; they are merged into
// one file in row order, which Scan.Duplicates reads. Memory is a few times
// opts.MaxRecordBytes for the Reader, 1 MiB of write buffers, one bit a row,
// and the distinct hashes (first pass) or distinct repeated usernames
// (second pass) of one of 128 files at a time: it does not grow with how
// often names repeat. Calls may run concurrently.
//
// ScanInput returns a *Error (matching ErrInput) for the fatal problems
// Reader reports, when open fails, and when the file changes between the
// two passes; ctx.Err() when ctx is done; and other errors for temporary
// file problems. On error it leaves no temporary file.
func ScanInput(ctx context.Context, open func(context.Context) (io.ReadCloser, error), name string, opts Options, tmpDir string) (*Scan, error) {
	seed := maphash.MakeSeed()
	return scanInput(ctx, open, name, opts, tmpDir, func(s string) uint64 { return maphash.String(seed, s) })
}

// scanInput is ScanInput with the hash function as a parameter, so tests
// can force collisions.
func scanInput(ctx context.Context, open func(context.Context) (io.ReadCloser, error), name string, opts Options, tmpDir string, hash func(string) uint64) (_ *Scan, err error) {
	dir, err := os.MkdirTemp(tmpDir, ScanDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", name, err)
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	tmpErr := func(err error) error { return fmt.Errorf("scan %s: %w", name, err) }

	// First pass: (hash, index) of every valid row, by hash.
	hashes := newBuckets(dir, "hash")
	defer hashes.close()
	var entry [12]byte
	sc := &Scan{Duplicates: &Duplicates{}}
	first, err := readAll(ctx, open, name, opts, func(row Row) error {
		if row.Invalid != "" {
			sc.Invalid++
			return nil
		}
		h := hash(row.Username)
		binary.LittleEndian.PutUint64(entry[:8], h)
		binary.LittleEndian.PutUint32(entry[8:], uint32(row.Index))
		return hashes.write(h, entry[:])
	})
	if err != nil {
		return nil, err
	}
	sc.SHA256, sc.Rows, sc.Format, sc.Origin, sc.Marks = first.sha256, first.rows, first.format, first.origin, first.marks

	cand, ncand, err := candidates(hashes, sc.Rows)
	if err != nil {
		return nil, tmpErr(err)
	}
	hashes.close()
	if ncand == 0 {
		return sc, nil
	}

	// Second pass: the candidates' usernames, by hash.
	changed := &Error{File: name, Msg: "file changed while it was being scanned"}
	names := newBuckets(dir, "name")
	defer names.close()
	seen := 0
	var rec []byte
	second, err := readAll(ctx, open, name, opts, func(row Row) error {
		if row.Index >= sc.Rows || cand[row.Index/64]&(1<<(row.Index%64)) == 0 {
			return nil
		}
		seen++
		if row.Invalid != "" {
			return changed
		}
		h := hash(row.Username)
		rec = binary.LittleEndian.AppendUint64(rec[:0], h)
		rec = binary.LittleEndian.AppendUint32(rec, uint32(row.Index))
		rec = binary.LittleEndian.AppendUint32(rec, uint32(row.Line))
		rec = binary.LittleEndian.AppendUint16(rec, uint16(len(row.Username)))
		rec = append(rec, row.Username...)
		return names.write(h, rec)
	})
	if err != nil {
		return nil, err
	}
	if second.sha256 != first.sha256 || seen != ncand {
		return nil, changed
	}
	dupFiles, err := findDuplicates(names)
	if err != nil {
		return nil, tmpErr(err)
	}
	names.close()
	d, err := mergeDuplicates(dir, dupFiles)
	if err != nil {
		return nil, tmpErr(err)
	}
	if d.n == 0 {
		return sc, nil // only hash collisions
	}
	d.dir = dir
	sc.Duplicates = d
	keep = true
	return sc, nil
}

type pass struct {
	sha256 string
	rows   int
	format Format
	origin string
	marks  []Mark
}

// readAll reads every row of the input through a Reader, hashing the raw
// bytes on the way, and calls fn for each row.
func readAll(ctx context.Context, open func(context.Context) (io.ReadCloser, error), name string, opts Options, fn func(Row) error) (pass, error) {
	rc, err := open(ctx)
	if err != nil {
		if _, ok := errors.AsType[*Error](err); ok {
			return pass{}, err // it names the file and says what is wrong
		}
		return pass{}, &Error{File: name, Msg: "cannot open", Err: err}
	}
	defer rc.Close()
	h := sha256.New()
	src := io.TeeReader(rc, h)
	rd, err := NewReader(src, name, opts)
	if err != nil {
		return pass{}, err
	}
	p := pass{format: rd.Format(), origin: rd.Origin()}
	for {
		if p.rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return pass{}, err
			}
		}
		var off int64
		mark := false
		if p.rows%MarkEvery == 0 {
			off, mark = rd.Offset()
		}
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return pass{}, err
		}
		if mark {
			p.marks = append(p.marks, Mark{Index: row.Index, Offset: off, Line: row.Line})
		}
		p.rows++
		if err := fn(row); err != nil {
			return pass{}, err
		}
	}
	// The Reader stops at end of file; this only makes sure.
	if _, err := io.Copy(io.Discard, src); err != nil {
		if _, ok := errors.AsType[*Error](err); ok {
			return pass{}, err
		}
		return pass{}, &Error{File: name, Msg: "cannot read", Err: err}
	}
	p.sha256 = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

// buckets spreads records over temporary files by hash.
type buckets struct {
	dir, kind string
	files     [scanBuckets]*os.File
	ws        [scanBuckets]*bufio.Writer
}

func newBuckets(dir, kind string) *buckets { return &buckets{dir: dir, kind: kind} }

func (b *buckets) write(hash uint64, rec []byte) error {
	i := hash % scanBuckets
	if b.files[i] == nil {
		f, err := os.Create(filepath.Join(b.dir, fmt.Sprintf("%s-%03d", b.kind, i)))
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		b.files[i], b.ws[i] = f, bufio.NewWriterSize(f, 8<<10)
	}
	if _, err := b.ws[i].Write(rec); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	return nil
}

// each flushes every file and calls fn with it.
func (b *buckets) each(fn func(i int, f *os.File) error) error {
	for i, f := range b.files {
		if f == nil {
			continue
		}
		if err := b.ws[i].Flush(); err != nil {
			return err
		}
		if err := fn(i, f); err != nil {
			return err
		}
	}
	return nil
}

// close closes and removes the files.
func (b *buckets) close() {
	for i, f := range b.files {
		if f != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
			b.files[i] = nil
		}
	}
}

// reader returns a buffered reader of f from its start.
func reader(f *os.File) *bufio.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 64<<10)
}

// readFixed calls fn for each record of len(buf) bytes in f, read into buf.
func readFixed(f *os.File, buf []byte, fn func()) error {
	r := reader(f)
	for {
		if _, err := io.ReadFull(r, buf); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		fn()
	}
}

// candidates returns a bitset of the rows whose hash another row shares,
// and their number. Each hash file is read twice: to count its hashes,
// then to mark the rows of the hashes that occur more than once. Memory is
// the bitset and the distinct hashes of one file.
func candidates(b *buckets, rows int) ([]uint64, int, error) {
	cand := make([]uint64, (rows+63)/64)
	n := 0
	var e [12]byte
	err := b.each(func(_ int, f *os.File) error {
		count := map[uint64]uint32{}
		if err := readFixed(f, e[:], func() { count[binary.LittleEndian.Uint64(e[:8])]++ }); err != nil {
			return err
		}
		return readFixed(f, e[:], func() {
			if count[binary.LittleEndian.Uint64(e[:8])] > 1 {
				i := int(binary.LittleEndian.Uint32(e[8:]))
				cand[i/64] |= 1 << (i % 64)
				n++
			}
		})
	})
	return cand, n, err
}

// dupRecord is a duplicate as findDuplicates writes it: three uint32s,
// index, first index and first line.
const dupRecord = 12

// findDuplicates reads each file of candidate usernames (written in row
// order) and writes the duplicates it holds, in row order, to a file of its
// own. It returns those files, positioned at their end. Memory is the
// distinct usernames of one file.
func findDuplicates(names *buckets) ([]*os.File, error) {
	type occurrence struct {
		username    string
		index, line uint32
	}
	var out []*os.File
	err := names.each(func(i int, f *os.File) error {
		df, err := os.Create(filepath.Join(names.dir, fmt.Sprintf("dups-%03d", i)))
		if err != nil {
			return err
		}
		out = append(out, df)
		w := bufio.NewWriterSize(df, 8<<10)
		r := reader(f)
		seen := map[uint64][]occurrence{}
		var head [18]byte
		var name []byte
		var rec [dupRecord]byte
		for {
			if _, err := io.ReadFull(r, head[:]); err == io.EOF {
				break
			} else if err != nil {
				return err
			}
			h := binary.LittleEndian.Uint64(head[:8])
			index, line := binary.LittleEndian.Uint32(head[8:12]), binary.LittleEndian.Uint32(head[12:16])
			name = slices.Grow(name[:0], int(binary.LittleEndian.Uint16(head[16:])))[:binary.LittleEndian.Uint16(head[16:])]
			if _, err := io.ReadFull(r, name); err != nil {
				return err
			}
			found := false
			for _, o := range seen[h] {
				if o.username == string(name) {
					binary.LittleEndian.PutUint32(rec[0:], index)
					binary.LittleEndian.PutUint32(rec[4:], o.index)
					binary.LittleEndian.PutUint32(rec[8:], o.line)
					if _, err := w.Write(rec[:]); err != nil {
						return err
					}
					found = true
					break
				}
			}
			if !found {
				seen[h] = append(seen[h], occurrence{string(name), index, line})
			}
		}
		return w.Flush()
	})
	if err != nil {
		for _, f := range out {
			f.Close()
		}
		return nil, err
	}
	return out, nil
}

// mergeDuplicates merges files of duplicates, each in row order, into one
// file in row order, and closes and removes them.
func mergeDuplicates(dir string, files []*os.File) (*Duplicates, error) {
	defer func() {
		for _, f := range files {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	type head struct {
		rec [dupRecord]byte
		r   *bufio.Reader
	}
	var heads []*head
	for _, f := range files {
		h := &head{r: bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 4<<10)}
		if _, err := io.ReadFull(h.r, h.rec[:]); err == io.EOF {
			continue
		} else if err != nil {
			return nil, err
		}
		heads = append(heads, h)
	}
	d := &Duplicates{path: filepath.Join(dir, "duplicates")}
	out, err := os.Create(d.path)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 64<<10)
	index := func(h *head) uint32 { return binary.LittleEndian.Uint32(h.rec[:4]) }
	for len(heads) > 0 {
		// At most 128 heads: a linear scan is as fast as a heap here.
		m := 0
		for i, h := range heads {
			if index(h) < index(heads[m]) {
				m = i
			}
		}
		if _, err := w.Write(heads[m].rec[:]); err != nil {
			return nil, err
		}
		d.n++
		if _, err := io.ReadFull(heads[m].r, heads[m].rec[:]); err == io.EOF {
			heads = slices.Delete(heads, m, m+1)
		} else if err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return d, out.Close()
}

// Duplicates lists the rows whose username an earlier row has, in row
// order, from a temporary file: its memory does not grow with their
// number. The zero value (and nil) lists none. Read it with a Cursor; it
// is safe for concurrent use by several cursors.
type Duplicates struct {
	dir  string // removed by close; "" if nothing to remove
	path string
	n    int
}

// Len returns the number of duplicate rows.
func (d *Duplicates) Len() int {
	if d == nil {
		return 0
	}
	return d.n
}

func (d *Duplicates) close() error {
	if d == nil || d.dir == "" {
		return nil
	}
	dir := d.dir
	d.dir = ""
	return os.RemoveAll(dir)
}

// Cursor returns a reader of the duplicates in row order. Close it when
// done.
func (d *Duplicates) Cursor() (*DupCursor, error) {
	if d.Len() == 0 {
		return &DupCursor{done: true}, nil
	}
	f, err := os.Open(d.path)
	if err != nil {
		return nil, fmt.Errorf("read the duplicates found by the scan: %w", err)
	}
	c := &DupCursor{f: f, r: bufio.NewReaderSize(f, 16<<10)}
	c.advance()
	return c, nil
}

// Map returns every duplicate by row index: for tests and small inputs
// (it holds them all in memory).
func (d *Duplicates) Map() (map[int]Duplicate, error) {
	m := map[int]Duplicate{}
	c, err := d.Cursor()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	for !c.done {
		m[c.index] = c.dup
		c.advance()
	}
	return m, c.err
}

// DupCursor reads Duplicates in row order. It is not safe for concurrent
// use.
type DupCursor struct {
	f     *os.File
	r     *bufio.Reader
	rec   [dupRecord]byte
	index int
	dup   Duplicate
	done  bool
	err   error
}

func (c *DupCursor) advance() {
	if _, err := io.ReadFull(c.r, c.rec[:]); err != nil {
		c.done = true
		if err != io.EOF {
			c.err = err
		}
		return
	}
	c.index = int(binary.LittleEndian.Uint32(c.rec[0:]))
	c.dup = Duplicate{FirstIndex: int(binary.LittleEndian.Uint32(c.rec[4:])), FirstLine: int(binary.LittleEndian.Uint32(c.rec[8:]))}
}

// Lookup reports whether the row at index is a duplicate, and of what.
// Successive calls must not decrease index.
func (c *DupCursor) Lookup(index int) (Duplicate, bool) {
	for !c.done && c.index < index {
		c.advance()
	}
	if !c.done && c.index == index {
		return c.dup, true
	}
	return Duplicate{}, false
}

// Err returns the first read error, if any.
func (c *DupCursor) Err() error { return c.err }

// Close closes the cursor's file.
func (c *DupCursor) Close() error {
	if c.f == nil {
		return nil
	}
	return c.f.Close()
}
