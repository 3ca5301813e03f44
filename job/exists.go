package job

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/location"
)

// Exists reports whether loc, a local path or s3://bucket/key, exists. A
// missing object is (false, nil); an object that cannot be checked (access
// denied, no bucket) is an error, so that a workflow never takes a file it
// may not read for one that is not there.
func (f Files) Exists(ctx context.Context, loc string) (bool, error) {
	bucket, key, isS3, err := location.Parse(loc)
	if err != nil {
		return false, err
	}
	if !isS3 {
		fi, err := os.Stat(loc)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		case err != nil:
			return false, err
		case !fi.Mode().IsRegular():
			return false, fmt.Errorf("%s exists but is not a regular file", loc)
		}
		return true, nil
	}
	if f.S3 == nil {
		return false, fmt.Errorf("%s: S3 locations need an S3 client", loc)
	}
	out, err := f.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey" {
			return false, nil
		}
		return false, fmt.Errorf("check %s: %w", loc, err)
	}
	out.Body.Close()
	return true, nil
}
