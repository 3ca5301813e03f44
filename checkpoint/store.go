package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// DefaultLockTTL is the lock lifetime a run asks for unless configured
// otherwise. A holder renews its lock well before it expires (every third of
// the TTL is a good pace); a crashed S3 holder's lock blocks new runs for at
// most this long.
const DefaultLockTTL = 2 * time.Minute

// Store is a durable location holding one checkpoint: an opaque byte slice and
// a version token that changes when the bytes are saved. Implementations are
// safe for concurrent use by multiple goroutines and by multiple processes on
// the same location, and honour ctx: a cancelled context makes a method return
// an error satisfying errors.Is(err, context.Canceled).
type Store interface {
	// Load returns the checkpoint's bytes and their version. It returns an
	// error wrapping ErrNotFound if there is no checkpoint.
	Load(ctx context.Context) (data []byte, version string, err error)

	// Save replaces the checkpoint with data if version is the current
	// version, or creates it if version is "" and there is no checkpoint, and
	// returns the new version. Otherwise it writes nothing and returns an
	// error wrapping ErrConflict. A save is atomic: a reader sees the old
	// bytes or the new ones, never a mix.
	Save(ctx context.Context, data []byte, version string) (newVersion string, err error)

	// Lock takes the checkpoint's run lock for owner, asking for it to live
	// ttl unless renewed. If another runner holds it, Lock returns a
	// *LockedError naming the holder (errors.Is(err, ErrLocked)).
	Lock(ctx context.Context, owner string, ttl time.Duration) (Lock, error)

	// String returns the location for messages: a path or s3://bucket/key.
	String() string
}

// Lock is a held run lock. Its methods are safe for concurrent use.
type Lock interface {
	// Renew pushes the lock's expiry ttl past now. It returns an error
	// wrapping ErrLockLost if the lock was taken over, removed or released.
	Renew(ctx context.Context) error

	// Release gives the lock up, removing nothing another runner may have
	// taken since. It returns an error wrapping ErrLockLost if the lock was
	// no longer this holder's; releasing twice is a no-op.
	Release(ctx context.Context) error

	// Info returns what the lock holds now: owner, acquisition and expiry.
	Info() LockInfo
}

// LockInfo describes a lock holder. Backends store it as JSON in the lock so a
// refused runner can name the holder.
type LockInfo struct {
	// Owner identifies the holder for people, e.g. "host pid 42 run 7f3a".
	Owner string `json:"owner"`
	// Acquired is when the holder took the lock.
	Acquired time.Time `json:"acquired"`
	// Expires is when the lock lapses unless renewed.
	Expires time.Time `json:"expires"`
}

// ParseLocation splits a checkpoint location. "s3://bucket/key" is an S3
// object: it returns the bucket, the key and isS3 true. Anything else without
// a "scheme://" prefix is a file path: it returns bucket "", key set to loc
// unchanged and isS3 false. It returns an error for an empty location, an
// unsupported scheme, an S3 location without bucket or key, a key naming a
// folder, and an invalid bucket name.
func ParseLocation(loc string) (bucket, key string, isS3 bool, err error) {
	if loc == "" {
		return "", "", false, errors.New("empty checkpoint location: give a file path or s3://bucket/key")
	}
	scheme, rest, ok := strings.Cut(loc, "://")
	if !ok {
		if strings.HasSuffix(loc, "/") {
			return "", "", false, fmt.Errorf("checkpoint location %q names a folder: give a file path such as %scheckpoint", loc, loc)
		}
		return "", loc, false, nil
	}
	if !strings.EqualFold(scheme, "s3") {
		return "", "", false, fmt.Errorf("checkpoint location %q: unsupported scheme %q: give a file path or s3://bucket/key", loc, scheme)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	switch {
	case bucket == "":
		return "", "", false, fmt.Errorf("checkpoint location %q has no bucket: want s3://bucket/key", loc)
	case key == "":
		return "", "", false, fmt.Errorf("checkpoint location %q has no object key: want s3://%s/key", loc, bucket)
	case strings.HasSuffix(key, "/"):
		return "", "", false, fmt.Errorf("checkpoint location %q names a folder: give an object key such as s3://%s/%scheckpoint", loc, bucket, key)
	case len(key)+len(".lock") > 1024:
		return "", "", false, fmt.Errorf("checkpoint location %q: object key is longer than S3 allows with its .lock suffix (1019 bytes)", loc)
	}
	if err := checkBucketName(bucket); err != nil {
		return "", "", false, fmt.Errorf("checkpoint location %q: %w", loc, err)
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
