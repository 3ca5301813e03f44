package checkpoint

import (
	"context"
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
