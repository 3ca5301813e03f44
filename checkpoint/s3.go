package checkpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3API is the part of the S3 client the S3 store uses. *s3.Client satisfies
// it.
type S3API interface {
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, params *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, params *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// lockAttempts bounds how often Lock retries when the lock object changes
// under it (released, renewed or taken over by a contender).
const lockAttempts = 8

// S3 is a Store in an S3 object, for runs whose local disk does not outlive
// them (ECS tasks).
//
// Save is a conditional PutObject: If-Match on the ETag the caller loaded, or
// If-None-Match "*" when creating, so a stale or second runner cannot
// overwrite the checkpoint. The version is the object's ETag.
//
// Lock creates the object <key>.lock, holding the LockInfo as JSON, with
// If-None-Match "*". If it exists and has not expired, Lock returns a
// *LockedError naming the holder; if it has expired (by this process's clock),
// Lock takes it over with If-Match on the ETag it read, so of two contenders
// only one wins. Renew rewrites it with a later expiry, If-Match on the
// holder's own ETag. Release deletes it with If-Match on that ETag after
// checking it is still the holder's; S3 enforces conditional deletes, but a
// server that ignores If-Match on DeleteObject (gofakes3) leaves a short race
// between the check and the delete. A crashed holder's lock stays until it
// expires. Choose a TTL well above the renewal interval plus any clock skew
// between runners.
//
// The SDK retries a request whose response was lost; when its first attempt
// was applied, the retry fails its own condition. Every conditional write
// therefore reads the object back after a failed condition and, if it already
// holds exactly the bytes written, reports the success it was; a conditional
// delete that finds the object gone is likewise a successful release.
//
// The role needs s3:GetObject, s3:PutObject and s3:DeleteObject on the key and
// its .lock, and s3:ListBucket on the bucket: without it S3 answers a read of
// a missing key with AccessDenied instead of NoSuchKey, and the first run
// cannot tell that there is no checkpoint yet.
//
// An S3 is safe for concurrent use by multiple goroutines and processes. The
// zero value is not usable; call NewS3.
type S3 struct {
	// Now returns the current time for lock expiry. Nil means time.Now. Set
	// it before using the S3.
	Now func() time.Time

	client      S3API
	bucket, key string
}

var _ Store = (*S3)(nil)

// NewS3 returns a Store for the object key in bucket, reached through client.
// It does no I/O.
func NewS3(client S3API, bucket, key string) *S3 {
	return &S3{client: client, bucket: bucket, key: key}
}

// String returns the location as s3://bucket/key.
func (s *S3) String() string { return "s3://" + s.bucket + "/" + s.key }

func (s *S3) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *S3) lockKey() string { return s.key + ".lock" }

// Load returns the object's content and ETag. It returns an error wrapping
// ErrNotFound if the object does not exist.
func (s *S3) Load(ctx context.Context) ([]byte, string, error) {
	data, etag, err := s.get(ctx, s.key)
	if err != nil {
		if isNotFound(err) {
			return nil, "", fmt.Errorf("load %s: %w", s, ErrNotFound)
		}
		return nil, "", fmt.Errorf("load %s: %w", s, err)
	}
	return data, etag, nil
}

// Save puts data with If-Match version, or If-None-Match "*" if version is "",
// and returns the new ETag. It returns an error wrapping ErrConflict if S3
// rejects the condition (PreconditionFailed, ConditionalRequestConflict, or
// NoSuchKey when the object was deleted since it was loaded) and the object
// does not already hold exactly data. That check makes a request the SDK
// retried after its first attempt succeeded (and so failed its own condition)
// a success, as it was.
func (s *S3) Save(ctx context.Context, data []byte, version string) (string, error) {
	etag, err := s.putChecked(ctx, s.key, data, version)
	if err != nil {
		if isConflict(err) || (version != "" && isNotFound(err)) {
			return "", fmt.Errorf("save %s: %w (%s)", s, ErrConflict, errorCode(err))
		}
		return "", fmt.Errorf("save %s: %w", s, err)
	}
	return etag, nil
}

// Lock creates the lock object for owner, or takes over an expired one. It
// returns a *LockedError naming the holder if another runner's lock has not
// expired, an error wrapping ErrLocked if the lock object is unreadable, and a
// plain error if ttl is not positive.
func (s *S3) Lock(ctx context.Context, owner string, ttl time.Duration) (Lock, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("lock %s: ttl %v is not positive", s, ttl)
	}
	for range lockAttempts {
		now := s.now()
		info := LockInfo{Owner: owner, Acquired: now, Expires: now.Add(ttl)}
		etag, err := s.put(ctx, s.lockKey(), lockBody(info), "")
		if err == nil {
			return &s3Lock{store: s, ttl: ttl, etag: etag, info: info}, nil
		}
		if !isConflict(err) {
			return nil, fmt.Errorf("lock %s: %w", s, err)
		}
		holder, held, err := s.readLock(ctx)
		if isNotFound(err) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", s, err)
		}
		if holder.Owner == info.Owner && holder.Acquired.Equal(info.Acquired) && holder.Expires.Equal(info.Expires) {
			// A retried request failed its condition because its first
			// attempt created the lock: it is ours.
			return &s3Lock{store: s, ttl: ttl, etag: held, info: info}, nil
		}
		if now.Before(holder.Expires) {
			return nil, &LockedError{Store: s.String(), Holder: holder}
		}
		// Expired: take it over, unless someone renews or takes it first.
		etag, err = s.putLock(ctx, info, held)
		if err == nil {
			return &s3Lock{store: s, ttl: ttl, etag: etag, info: info, previous: &holder}, nil
		}
		if !isConflict(err) && !isNotFound(err) {
			return nil, fmt.Errorf("lock %s: %w", s, err)
		}
	}
	return nil, fmt.Errorf("lock %s: the lock object kept changing under %d attempts; try again", s, lockAttempts)
}

// readLock returns the lock object's holder and ETag. It returns an error
// wrapping ErrLocked if the object is not a LockInfo.
func (s *S3) readLock(ctx context.Context) (LockInfo, string, error) {
	data, etag, err := s.get(ctx, s.lockKey())
	if err != nil {
		return LockInfo{}, "", err
	}
	var info LockInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return LockInfo{}, "", fmt.Errorf("%w: lock object s3://%s/%s is unreadable (%v); if no run is using the checkpoint, delete it",
			ErrLocked, s.bucket, s.lockKey(), err)
	}
	return info, etag, nil
}

// putLock writes info to the lock object, as putChecked does.
func (s *S3) putLock(ctx context.Context, info LockInfo, etag string) (string, error) {
	return s.putChecked(ctx, s.lockKey(), lockBody(info), etag)
}

// lockBody returns the content of a lock object: info as a line of JSON.
func lockBody(info LockInfo) []byte {
	js, _ := json.Marshal(info) // a LockInfo always marshals
	return append(js, '\n')
}

// putChecked is put, except that when the condition fails it reads the
// object and, if it already holds exactly data, returns its ETag and no
// error. The SDK retries a request whose response was lost; if the first
// attempt was applied, the retry fails its own condition, and without this
// check a successful write would be reported as a conflict.
func (s *S3) putChecked(ctx context.Context, key string, data []byte, etag string) (string, error) {
	newETag, err := s.put(ctx, key, data, etag)
	if err == nil || !(isConflict(err) || etag != "" && isNotFound(err)) {
		return newETag, err
	}
	current, currentETag, gerr := s.get(ctx, key)
	if gerr == nil && bytes.Equal(current, data) {
		return currentETag, nil
	}
	return "", err
}

// get reads an object and its ETag.
func (s *S3) get(ctx context.Context, key string) ([]byte, string, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, "", err
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", fmt.Errorf("read s3://%s/%s: %w", s.bucket, key, err)
	}
	if out.ETag == nil || *out.ETag == "" {
		return nil, "", fmt.Errorf("read s3://%s/%s: the response has no ETag", s.bucket, key)
	}
	return data, *out.ETag, nil
}

// put writes an object If-Match etag, or If-None-Match "*" if etag is "", and
// returns its new ETag.
func (s *S3) put(ctx context.Context, key string, data []byte, etag string) (string, error) {
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String("application/octet-stream"),
	}
	if etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(etag)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return "", err
	}
	if out.ETag == nil || *out.ETag == "" {
		return "", fmt.Errorf("write s3://%s/%s: the response has no ETag", s.bucket, key)
	}
	return *out.ETag, nil
}

// s3Lock is a held S3 lock object.
type s3Lock struct {
	store *S3
	ttl   time.Duration

	previous *LockInfo // the expired lock this one took over, if any

	mu       sync.Mutex
	etag     string
	info     LockInfo
	released bool
}

// TookOver returns the holder of the expired lock that Lock took over, and
// true; or false when the lock was free. A runner logs it: the previous
// holder crashed or was cut off without releasing, and may have left work
// unsaved.
func (l *s3Lock) TookOver() (LockInfo, bool) {
	if l.previous == nil {
		return LockInfo{}, false
	}
	return *l.previous, true
}

// Renew rewrites the lock object with a later expiry, If-Match on its ETag. It
// returns an error wrapping ErrLockLost, naming the new holder if there is
// one, if the object was taken over or deleted, or if the lock was released.
func (l *s3Lock) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return fmt.Errorf("renew lock %s: it was released: %w", l.store, ErrLockLost)
	}
	info := l.info
	info.Expires = l.store.now().Add(l.ttl)
	etag, err := l.store.putLock(ctx, info, l.etag)
	if err != nil {
		if isConflict(err) || isNotFound(err) {
			return fmt.Errorf("renew lock %s: %w%s", l.store, ErrLockLost, l.lostTo(ctx))
		}
		return fmt.Errorf("renew lock %s: %w", l.store, err)
	}
	l.etag, l.info = etag, info
	return nil
}

// Release deletes the lock object if it is still this holder's. It returns an
// error wrapping ErrLockLost, and deletes nothing, if it was taken over or
// deleted; and an error wrapping ctx's error if ctx is done, in which case the
// lock stays until it expires or Release is called again. Callers releasing on
// shutdown should pass a context that is not already cancelled
// (context.WithoutCancel with a timeout).
func (l *s3Lock) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	holder, etag, err := l.store.readLock(ctx)
	switch {
	case isNotFound(err):
		l.released = true
		return fmt.Errorf("release lock %s: the lock object was deleted: %w", l.store, ErrLockLost)
	case errors.Is(err, ErrLocked):
		l.released = true
		return fmt.Errorf("release lock %s: %w: %w", l.store, ErrLockLost, err)
	case err != nil:
		return fmt.Errorf("release lock %s: %w", l.store, err)
	case !sameETag(etag, l.etag):
		l.released = true
		return fmt.Errorf("release lock %s: it was taken over by %q: %w", l.store, holder.Owner, ErrLockLost)
	}
	key := l.store.lockKey()
	_, err = l.store.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &l.store.bucket, Key: &key, IfMatch: aws.String(l.etag)})
	if err != nil {
		// NoSuchKey: the object is gone, deleted by this request's first
		// attempt (the SDK retried it) or by someone after the check above;
		// either way nobody holds the lock now.
		if isNotFound(err) {
			l.released = true
			return nil
		}
		if isConflict(err) {
			l.released = true
			return fmt.Errorf("release lock %s: %w%s", l.store, ErrLockLost, l.lostTo(ctx))
		}
		return fmt.Errorf("release lock %s: %w", l.store, err)
	}
	l.released = true
	return nil
}

// Info returns the holder's LockInfo as last written.
func (l *s3Lock) Info() LockInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// lostTo names who holds the lock now, for ErrLockLost messages; it is best
// effort and returns "" if that cannot be read.
func (l *s3Lock) lostTo(ctx context.Context) string {
	holder, _, err := l.store.readLock(ctx)
	switch {
	case isNotFound(err):
		return " (the lock object was deleted)"
	case err != nil:
		return ""
	}
	return fmt.Sprintf(" (now held by %q until %s)", holder.Owner, stamp(holder.Expires))
}

// sameETag compares ETags, ignoring quotes and a weak prefix.
func sameETag(a, b string) bool {
	norm := func(s string) string { return strings.Trim(strings.TrimPrefix(s, "W/"), `"`) }
	return norm(a) == norm(b)
}

// errorCode returns the API error code of err, or its HTTP status, for
// messages.
func errorCode(err error) string {
	if code, status := classify(err); code != "" {
		return code
	} else if status != 0 {
		return fmt.Sprintf("HTTP %d", status)
	}
	return "unknown error"
}

// classify returns err's API error code and HTTP status, "" and 0 when absent.
func classify(err error) (code string, status int) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var httpErr interface{ HTTPStatusCode() int }
	if errors.As(err, &httpErr) {
		status = httpErr.HTTPStatusCode()
	}
	return code, status
}

// isNotFound reports whether err says the object does not exist.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	code, status := classify(err)
	if code == "NoSuchBucket" {
		return false // a missing bucket is a configuration error, not a missing checkpoint
	}
	return code == "NoSuchKey" || code == "NotFound" || status == 404
}

// isConflict reports whether err says a condition failed: the object exists
// (If-None-Match), its ETag differs (If-Match), or a concurrent conditional
// write won.
func isConflict(err error) bool {
	if err == nil {
		return false
	}
	code, status := classify(err)
	return code == "PreconditionFailed" || code == "ConditionalRequestConflict" || status == 412 || status == 409
}
