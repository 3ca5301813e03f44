package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// S3API is the part of the S3 client used for input, report and summary
// locations given as s3://bucket/key. *s3.Client satisfies it.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Files opens inputs and writes outputs that are either local paths or
// s3://bucket/key locations. The zero value handles local paths only.
type Files struct {
	S3 S3API // used for s3:// locations; nil refuses them
}

// Opener checks that loc can be read and returns a function that opens it
// from the start each time it is called (the input is read more than once:
// a scan, the run, the report). An S3 object is pinned to the ETag seen
// first, so a file replaced during the run is noticed. Errors wrap
// input.ErrInput: a missing or unreadable input is a usage problem.
func (f Files) Opener(ctx context.Context, loc string) (func() (io.ReadCloser, error), error) {
	bucket, key, isS3, err := checkpoint.ParseLocation(loc)
	if err != nil {
		return nil, &input.Error{File: loc, Msg: err.Error(), Err: err}
	}
	if !isS3 {
		open := func() (io.ReadCloser, error) {
			fh, err := os.Open(loc)
			if err != nil {
				return nil, &input.Error{File: loc, Msg: "cannot open the input: " + pathErrText(err), Err: err}
			}
			if st, err := fh.Stat(); err == nil && st.IsDir() {
				fh.Close()
				return nil, &input.Error{File: loc, Msg: "is a directory, not a CSV file"}
			}
			return fh, nil
		}
		fh, err := open()
		if err != nil {
			return nil, err
		}
		fh.Close()
		return open, nil
	}
	if f.S3 == nil {
		return nil, fmt.Errorf("%w: %s: S3 locations need an S3 client", ErrUsage, loc)
	}
	var etag *string
	open := func() (io.ReadCloser, error) {
		out, err := f.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, IfMatch: etag})
		if err != nil {
			return nil, s3InputError(loc, etag != nil, err)
		}
		if etag == nil {
			etag = out.ETag
		}
		return out.Body, nil
	}
	body, err := open()
	if err != nil {
		return nil, err
	}
	body.Close()
	return open, nil
}

// pathErrText returns the reason of a *os.PathError without repeating the path.
func pathErrText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Write creates or replaces loc with what write produces. A local file is
// replaced atomically (temporary file, fsync, rename); an S3 object is
// written from a temporary file once write has succeeded, so a failed write
// never leaves a partial output.
func (f Files) Write(ctx context.Context, loc string, write func(io.Writer) error) error {
	bucket, key, isS3, err := checkpoint.ParseLocation(loc)
	if err != nil {
		return err
	}
	if !isS3 {
		return writeFileAtomic(loc, write)
	}
	if f.S3 == nil {
		return fmt.Errorf("%s: S3 locations need an S3 client", loc)
	}
	tmp, err := os.CreateTemp("", "cognito-mfa-migrate-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := write(tmp); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := f.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: tmp}); err != nil {
		return ExplainS3(loc, fmt.Errorf("write %s: %w", loc, err))
	}
	return nil
}

// writeFileAtomic writes path through a temporary file in the same folder.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Make the rename itself durable.
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("write %s: sync folder: %w", path, err)
		}
	}
	return nil
}
