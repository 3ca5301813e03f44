package checkpoint

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Callers branch on them with errors.Is; the errors the
// package returns wrap them with the location and the detail.
var (
	// ErrNotFound means there is no checkpoint at the location. Each backend
	// maps its own not-found condition to it.
	ErrNotFound = errors.New("checkpoint not found")

	// ErrConflict means a conditional save failed: the checkpoint was created
	// or written by someone else since the caller loaded it.
	ErrConflict = errors.New("checkpoint was changed by someone else since it was loaded")

	// ErrLocked means another runner holds the checkpoint's lock. It is
	// returned wrapped in a *LockedError that names the holder.
	ErrLocked = errors.New("checkpoint is locked by another run")

	// ErrLockLost means the lock was taken over by another runner or removed,
	// so the caller no longer holds it and must stop writing.
	ErrLockLost = errors.New("checkpoint lock was lost")

	// ErrCorrupt means the bytes are not a valid checkpoint: truncated, failing
	// their checksum, or not a checkpoint at all. It is wrapped with the detail.
	ErrCorrupt = errors.New("checkpoint is corrupt")

	// ErrVersion means the checkpoint was written in a newer format than this
	// program reads.
	ErrVersion = errors.New("checkpoint was written by a newer version of cognito-mfa-migrate")

	// ErrIdentityMismatch means the checkpoint belongs to a different job
	// (input, pool, mode or flags). It is returned wrapped in an
	// *IdentityMismatchError that lists the differences.
	ErrIdentityMismatch = errors.New("checkpoint belongs to a different job")
)

// LockedError reports that another runner holds a checkpoint's lock. Its zero
// value is usable but says little; backends fill every field.
// errors.Is(err, ErrLocked) is true for it.
type LockedError struct {
	// Store is the checkpoint location, as Store.String returns it.
	Store string
	// Holder is what the holder wrote into the lock. Owner is empty if the
	// holder had not written it yet.
	Holder LockInfo
	// Kernel is true for a kernel file lock (flock), which is held for as long
	// as the holding process lives whatever Holder.Expires says; false for a
	// lock that a new run may take over once it has expired (S3).
	Kernel bool
}

// Error names the holder and its expiry and says what to do.
func (e *LockedError) Error() string {
	owner := "an unknown owner"
	if e.Holder.Owner != "" {
		owner = fmt.Sprintf("%q", e.Holder.Owner)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoint %s is locked by %s", e.Store, owner)
	if !e.Holder.Acquired.IsZero() {
		fmt.Fprintf(&b, " since %s", stamp(e.Holder.Acquired))
	}
	expiry := "its lock expires"
	if !e.Holder.Expires.IsZero() {
		expiry = stamp(e.Holder.Expires)
	}
	if e.Kernel {
		if !e.Holder.Expires.IsZero() {
			fmt.Fprintf(&b, ", renewed until %s", expiry)
		}
		b.WriteString("; the process holding it is still running: wait for it to finish, or stop it if it is hung " +
			"(a stopped or crashed process frees the lock at once)")
	} else {
		fmt.Fprintf(&b, "; another run is using it: wait for it to finish or until %s; "+
			"if it crashed, the first run started after that takes the lock over", expiry)
	}
	return b.String()
}

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// IdentityMismatchError reports that a checkpoint belongs to a different job
// than the one being started. errors.Is(err, ErrIdentityMismatch) is true for
// it.
type IdentityMismatchError struct {
	// Store is the checkpoint location, as Store.String returns it.
	Store string
	// Diffs are the differences, as Identity.Diff returns them.
	Diffs []string
}

// Error lists the differences and tells the user about --reset.
func (e *IdentityMismatchError) Error() string {
	return fmt.Sprintf("checkpoint %s belongs to a different job (%s); "+
		"resume with the same CSV, pool, mode and flags, or pass --reset to discard it and start over",
		e.Store, strings.Join(e.Diffs, "; "))
}

// Is reports whether target is ErrIdentityMismatch.
func (e *IdentityMismatchError) Is(target error) bool { return target == ErrIdentityMismatch }

// stamp formats a time for messages: UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
