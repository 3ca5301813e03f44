package job

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/location"
)

// Files opens inputs and writes outputs that are either local paths or
// s3://bucket/key locations. The zero value handles local paths only.
type Files struct {
	S3 S3API // used for s3:// locations; nil refuses them
}

// Opener checks that loc can be read and returns it as an Input, which
// opens it from the start each time (the input is read more than once: a
// scan, the run, the report) and is pinned to the bytes first seen (see
// Input). Errors wrap input.ErrInput: a missing, unreadable or non-regular
// input is a usage problem.
func (f Files) Opener(ctx context.Context, loc string) (*Input, error) {
	bucket, key, isS3, err := location.Parse(loc)
	if err != nil {
		return nil, &input.Error{File: loc, Msg: err.Error()}
	}
	in := &Input{name: loc}
	if isS3 {
		if f.S3 == nil {
			return nil, fmt.Errorf("%w: %s: S3 locations need an S3 client", ErrUsage, loc)
		}
		in.s3, in.bucket, in.key = f.S3, bucket, key
	}
	rc, err := in.Open(ctx)
	if err != nil {
		return nil, err
	}
	rc.Close()
	return in, nil
}

// Write creates or replaces loc with what write produces. A local file is
// replaced atomically (temporary file, fsync, rename); an S3 object is
// written from a temporary file once write has succeeded, so a failed write
// never leaves a partial output.
func (f Files) Write(ctx context.Context, loc string, write func(io.Writer) error) error {
	bucket, key, isS3, err := location.Parse(loc)
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
	// Unlinked at once: the open file keeps the data, and a process killed
	// now leaves nothing behind.
	_ = os.Remove(tmp.Name())
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

// writeFileAtomic writes path through a temporary file in the same folder,
// .<name>.tmp-*, removed on every error; one left by a killed process is
// removed by the next run (see cleanLeftovers).
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
	// The temporary file was created 0600 (less if the umask says so): an
	// output holds usernames, and a report made with --no-mask full phone
	// numbers. A file being replaced keeps the mode it had: an operator's
	// chmod is never undone, and the tool never widens a mode itself.
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		if err := os.Chmod(tmp.Name(), fi.Mode().Perm()); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
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
