package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// Input is an input file pinned for the length of a run: every Open reads
// the same bytes, or fails. A local file is pinned by its device, inode,
// size and modification time when it is first opened, and, once Expect has
// been given its SHA-256, by that hash (checked each time a read reaches the
// end of the file); an S3 object is pinned to the ETag of its first read
// (If-Match). A file replaced (mv over it) or rewritten during a run is
// refused with an error naming it, so that no report row can name the wrong
// user.
//
// Only regular files are accepted: a FIFO, a device or a process
// substitution (<(...)) cannot be read more than once, and opening a FIFO
// with no writer would block the run; they are refused at once.
//
// An Input is made by Files.Opener; it is safe for concurrent use.
type Input struct {
	name string
	s3   S3API
	// for an S3 object
	bucket, key string

	mu   sync.Mutex
	pin  *filePin // local: set by the first Open
	etag *string  // S3: set by the first Open
	sha  string   // set by Expect
}

// filePin is what identifies the bytes of a local file.
type filePin struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
}

func pinOf(fi os.FileInfo) filePin {
	p := filePin{size: fi.Size(), mtime: fi.ModTime()}
	p.dev, p.ino = fileIdentity(fi)
	return p
}

// Name returns the input's location, as given.
func (in *Input) Name() string { return in.name }

// Expect sets the SHA-256 (hex) the input's bytes must have: from then on a
// read that reaches the end of the input fails if the bytes read differ.
func (in *Input) Expect(sha256Hex string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.sha = sha256Hex
}

// Open opens the input from the start. It returns a *input.Error (exit
// code 2) when the input cannot be read, is not a regular file, or is no
// longer the file that was first opened.
func (in *Input) Open(ctx context.Context) (io.ReadCloser, error) {
	if in.s3 != nil {
		return in.openS3(ctx)
	}
	return in.openLocal()
}

func (in *Input) fail(msg string, err error) error {
	return &input.Error{File: in.name, Msg: msg, Err: err}
}

// changed is the error for an input that is not the file the run started with.
func (in *Input) changed(what string) error {
	return in.fail("the input changed during the run ("+what+"): nothing more was read from it and the report was not written; "+
		"put the original file back and run again, or start over with --reset", nil)
}

func (in *Input) openLocal() (io.ReadCloser, error) {
	// O_NONBLOCK: opening a FIFO with no writer returns at once instead of
	// blocking (and the FIFO is then refused below); it changes nothing for
	// a regular file.
	fh, err := os.OpenFile(in.name, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, in.fail("cannot open the input: "+pathErrText(err), nil)
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, in.fail("cannot open the input: "+pathErrText(err), nil)
	}
	if msg := notRegular(fi); msg != "" {
		fh.Close()
		return nil, in.fail(msg, nil)
	}
	p := pinOf(fi)
	in.mu.Lock()
	if in.pin == nil {
		in.pin = &p
	}
	want, sha := *in.pin, in.sha
	in.mu.Unlock()
	if what := p.diff(want); what != "" {
		fh.Close()
		return nil, in.changed(what)
	}
	v := &verified{in: in, f: fh, pin: want, sha: sha}
	if sha != "" {
		v.h = sha256.New()
	}
	return v, nil
}

// diff says how p differs from want, or "" if it does not.
func (p filePin) diff(want filePin) string {
	switch {
	case p.dev != want.dev || p.ino != want.ino:
		return "it was replaced by another file"
	case p.size != want.size:
		return fmt.Sprintf("its size went from %d to %d bytes", want.size, p.size)
	case !p.mtime.Equal(want.mtime):
		return "its modification time changed"
	}
	return ""
}

// notRegular says why a file that is not a regular file cannot be an input.
func notRegular(fi os.FileInfo) string {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "is a directory, not a CSV file"
	case m&fs.ModeNamedPipe != 0:
		return "is a named pipe (FIFO), not a regular file: the input is read several times (scan, run, report), " +
			"so it must be a file; a process substitution such as <(cat users.csv) is a pipe too: write the CSV to a file first"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "is a device, not a regular file: write the CSV to a file first"
	case m&fs.ModeSocket != 0:
		return "is a socket, not a regular file: write the CSV to a file first"
	}
	return "is not a regular file (" + m.Type().String() + "): write the CSV to a file first"
}

// verified reads a pinned local file; when it reaches the end it checks that
// the file still has the pinned size and modification time and, if a hash
// is expected, that the bytes read have it.
type verified struct {
	in  *Input
	f   *os.File
	pin filePin
	sha string
	h   hash.Hash
	err error
}

func (v *verified) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.f.Read(p)
	if v.h != nil {
		v.h.Write(p[:n])
	}
	if err == io.EOF {
		if fi, serr := v.f.Stat(); serr == nil {
			if what := pinOf(fi).diff(v.pin); what != "" {
				v.err = v.in.changed(what)
			}
		}
		if v.err == nil && v.h != nil && hex.EncodeToString(v.h.Sum(nil)) != v.sha {
			v.err = v.in.changed("its content differs from the content scanned at the start")
		}
		if v.err != nil {
			return n, v.err
		}
	}
	return n, err
}

func (v *verified) Close() error { return v.f.Close() }

func (in *Input) openS3(ctx context.Context) (io.ReadCloser, error) {
	in.mu.Lock()
	etag := in.etag
	in.mu.Unlock()
	out, err := in.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &in.bucket, Key: &in.key, IfMatch: etag})
	if err != nil {
		if etag != nil && isPreconditionFailed(err) {
			return nil, in.changed("the object was replaced: its ETag is no longer " + *etag)
		}
		return nil, s3InputError(in.name, etag != nil, err)
	}
	if etag != nil && aws.ToString(out.ETag) != *etag {
		// A store that ignores If-Match still says which version it sent.
		out.Body.Close()
		return nil, in.changed("the object was replaced: its ETag is no longer " + *etag)
	}
	in.mu.Lock()
	if in.etag == nil {
		in.etag = out.ETag
	}
	in.mu.Unlock()
	return out.Body, nil
}

// isPreconditionFailed reports whether an S3 error says an If-Match failed.
func isPreconditionFailed(err error) bool {
	var ae interface{ ErrorCode() string }
	return errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed"
}

// S3API is the part of the S3 client used for input, report and summary
// locations given as s3://bucket/key. *s3.Client satisfies it.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// pathErrText returns the reason of a *os.PathError without repeating the path.
func pathErrText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
