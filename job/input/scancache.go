package input

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// scanCacheVersion changes whenever Scan or what ScanInput computes
// changes, so that a cache written by another version is never used.
const scanCacheVersion = 2

// ScanKey identifies an input file, and the options it is read with,
// without reading it: what a cached Scan is valid for. For a local file it
// is the file's device, inode, size and modification time (as make and
// rsync trust them); for an S3 object its ETag, which S3 derives from the
// content. Two keys are the same input if they are equal.
type ScanKey struct {
	// Local file identity (zero for S3).
	Device, Inode uint64
	Size          int64
	ModTimeNanos  int64
	// ETag is the S3 object's ETag ("" for a local file).
	ETag string
	// The reading options that change what ScanInput counts.
	UsernameColumn string
	MaxRecordBytes int
}

// Valid reports whether k identifies a file at all: a local file with a
// size and modification time, or an S3 object with an ETag.
func (k ScanKey) Valid() bool { return k.ETag != "" || k.ModTimeNanos != 0 }

// cachedScan is the stored form of a Scan, followed in the stream by the
// NDup records of its duplicates file.
type cachedScan struct {
	Version int
	Key     ScanKey
	SHA256  string
	Rows    int
	Invalid int
	Format  Format
	Origin  string
	Marks   []Mark
	NDup    int
}

// EncodeScan writes s, valid for key, in the scan cache format: no
// username, only counts, the file's SHA-256, its marks and the positions
// of its duplicates.
func EncodeScan(w io.Writer, key ScanKey, s *Scan) error {
	bw := bufio.NewWriter(w)
	c := cachedScan{Version: scanCacheVersion, Key: key, SHA256: s.SHA256, Rows: s.Rows, Invalid: s.Invalid,
		Format: s.Format, Origin: s.Origin, Marks: s.Marks, NDup: s.Duplicates.Len()}
	if err := gob.NewEncoder(bw).Encode(c); err != nil {
		return err
	}
	if c.NDup > 0 {
		f, err := os.Open(s.Duplicates.path)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(bw, f)
		if err != nil {
			return err
		}
		if n != int64(c.NDup)*dupRecord {
			return fmt.Errorf("scan cache: duplicates file has %d bytes, want %d", n, c.NDup*dupRecord)
		}
	}
	return bw.Flush()
}

// DecodeScan reads a Scan written by EncodeScan. It returns the Scan and
// true only if it was written by this version for key; a cache that is
// damaged, from another version or for another input gives false, and the
// input must be scanned again. The duplicates are copied to a new folder
// in tmpDir (os.TempDir if ""), which Scan.Close removes.
func DecodeScan(r io.Reader, key ScanKey, tmpDir string) (*Scan, bool) {
	br := bufio.NewReader(r)
	var c cachedScan
	if err := gob.NewDecoder(br).Decode(&c); err != nil {
		return nil, false
	}
	if c.Version != scanCacheVersion || c.Key != key || !key.Valid() || len(c.SHA256) != 64 || c.NDup < 0 || c.NDup > c.Rows {
		return nil, false
	}
	s := &Scan{SHA256: c.SHA256, Rows: c.Rows, Invalid: c.Invalid, Format: c.Format, Origin: c.Origin,
		Marks: c.Marks, Duplicates: &Duplicates{}}
	if c.NDup == 0 {
		return s, true
	}
	dir, err := os.MkdirTemp(tmpDir, ScanDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, false
	}
	d := &Duplicates{dir: dir, path: filepath.Join(dir, "duplicates"), n: c.NDup}
	f, err := os.OpenFile(d.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		var n int64
		n, err = io.Copy(f, io.LimitReader(br, int64(c.NDup)*dupRecord))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && n != int64(c.NDup)*dupRecord {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		d.close()
		return nil, false
	}
	s.Duplicates = d
	return s, true
}
