// Package location parses the locations the job reads and writes (input,
// checkpoint, report, summary, export): a local file path or an S3 object
// written s3://bucket/key. Its errors name the location but not its role;
// callers say which flag it came from.
package location

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Parse splits a location. "s3://bucket/key" is an S3
// object: it returns the bucket, the key and isS3 true. Anything else without
// a "scheme://" prefix is a file path: it returns bucket "", key set to loc
// unchanged and isS3 false. It returns an error for an empty location, an
// unsupported scheme, an S3 location without bucket or key, a key naming a
// folder, and an invalid bucket name.
func Parse(loc string) (bucket, key string, isS3 bool, err error) {
	if loc == "" {
		return "", "", false, errors.New("empty location: give a file path or s3://bucket/key")
	}
	scheme, rest, ok := strings.Cut(loc, "://")
	if !ok {
		if strings.HasSuffix(loc, "/") {
			return "", "", false, fmt.Errorf("location %q names a folder: give a file path such as %sname", loc, loc)
		}
		return "", loc, false, nil
	}
	if !strings.EqualFold(scheme, "s3") {
		return "", "", false, fmt.Errorf("location %q: unsupported scheme %q: give a file path or s3://bucket/key", loc, scheme)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	switch {
	case bucket == "":
		return "", "", false, fmt.Errorf("location %q has no bucket: want s3://bucket/key", loc)
	case key == "":
		return "", "", false, fmt.Errorf("location %q has no object key: want s3://%s/key", loc, bucket)
	case strings.HasSuffix(key, "/"):
		return "", "", false, fmt.Errorf("location %q names a folder: give an object key such as s3://%s/%sname", loc, bucket, key)
	case len(key)+len(".lock") > 1024:
		return "", "", false, fmt.Errorf("location %q: object key is longer than S3 allows with its .lock suffix (1019 bytes)", loc)
	}
	if err := checkBucketName(bucket); err != nil {
		return "", "", false, fmt.Errorf("location %q: %w", loc, err)
	}
	return bucket, key, true, nil
}

// checkBucketName applies the S3 general purpose bucket naming rules.
func checkBucketName(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters long", b)
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket name %q may contain only lowercase letters, digits, dots and hyphens", b)
		}
	}
	first, last := b[0], b[len(b)-1]
	if first == '.' || first == '-' || last == '.' || last == '-' {
		return fmt.Errorf("bucket name %q must begin and end with a letter or digit", b)
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("bucket name %q must not contain two adjacent dots", b)
	}
	if _, err := netip.ParseAddr(b); err == nil {
		return fmt.Errorf("bucket name %q must not be an IP address", b)
	}
	return nil
}
