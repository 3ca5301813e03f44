package checkpoint_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint/checkpointtest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/location"
)

const testBucket = "checkpoints"

// newFakeS3 returns a real SDK client aimed at gofakes3 with the bucket testBucket.
func newFakeS3(t *testing.T) *s3.Client {
	t.Helper()
	_, client := checkpointtest.FakeS3(t, testBucket)
	return client
}

func TestS3(t *testing.T) {
	client := newFakeS3(t)
	var n atomic.Int64
	checkpointtest.Run(t,
		func(t *testing.T) checkpoint.Store {
			return checkpoint.NewS3(client, testBucket, fmt.Sprintf("jobs/%d/checkpoint", n.Add(1)))
		},
		checkpointtest.WithClock(func(s checkpoint.Store, now func() time.Time) { s.(*checkpoint.S3).Now = now }),
		checkpointtest.WithExpiringLocks(),
	)
}

func TestS3String(t *testing.T) {
	bucket, key, isS3, err := location.Parse("s3://my-bucket/a/b/checkpoint")
	if err != nil || !isS3 {
		t.Fatalf("ParseLocation() = %v, %v", isS3, err)
	}
	if got, want := checkpoint.NewS3(nil, bucket, key).String(), "s3://my-bucket/a/b/checkpoint"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestS3LockObject(t *testing.T) {
	client := newFakeS3(t)
	st := checkpoint.NewS3(client, testBucket, "job/checkpoint")
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { return t0 }
	l, err := st.Lock(t.Context(), "task 1234", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("job/checkpoint.lock")})
	if err != nil {
		t.Fatalf("the lock object job/checkpoint.lock: %v", err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	want := `{"owner":"task 1234","acquired":"2025-06-01T12:00:00Z","expires":"2025-06-01T12:01:00Z"}`
	if got := strings.TrimSpace(string(body)); got != want {
		t.Errorf("lock object = %s, want %s", got, want)
	}
	if err := l.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("job/checkpoint.lock")}); err == nil {
		t.Errorf("the lock object still exists after Release")
	}
}

func TestS3LockObjectDeleted(t *testing.T) {
	client := newFakeS3(t)
	st := checkpoint.NewS3(client, testBucket, "job/checkpoint")
	l, err := st.Lock(t.Context(), "me", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String("job/checkpoint.lock")}); err != nil {
		t.Fatal(err)
	}
	if err := l.Renew(t.Context()); !errors.Is(err, checkpoint.ErrLockLost) {
		t.Errorf("Renew() after the lock object was deleted = %v, want ErrLockLost", err)
	}
	if err := l.Release(t.Context()); !errors.Is(err, checkpoint.ErrLockLost) {
		t.Errorf("Release() after the lock object was deleted = %v, want ErrLockLost", err)
	}
}

func TestS3UnreadableLockObject(t *testing.T) {
	client := newFakeS3(t)
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("job/checkpoint.lock"),
		Body: strings.NewReader("garbage")}); err != nil {
		t.Fatal(err)
	}
	st := checkpoint.NewS3(client, testBucket, "job/checkpoint")
	_, err := st.Lock(t.Context(), "me", time.Minute)
	if !errors.Is(err, checkpoint.ErrLocked) || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("Lock() with a garbage lock object = %v, want ErrLocked telling to delete it", err)
	}
}

func TestS3MissingBucket(t *testing.T) {
	client := newFakeS3(t)
	st := checkpoint.NewS3(client, "no-such-bucket", "checkpoint")
	_, _, err := st.Load(t.Context())
	if err == nil || errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("Load() from a missing bucket = %v, want an error that is not ErrNotFound", err)
	}
}

// stubS3 answers writes with fixed errors, to check error classification for
// codes gofakes3 does not produce.
type stubS3 struct {
	getErr, putErr, deleteErr error
}

// GetObject returns getErr, or else an object holding other content.
func (s stubS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if s.getErr != nil {
		return nil, s.getErr
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader("someone else's")), ETag: aws.String(`"other"`)}, nil
}

func (s stubS3) PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return nil, s.putErr
}

func (s stubS3) DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	return nil, s.deleteErr
}

var _ checkpoint.S3API = (*s3.Client)(nil)

func TestS3ErrorClassification(t *testing.T) {
	apiErr := func(code string) error {
		return fmt.Errorf("operation error S3: %w", &smithy.GenericAPIError{Code: code, Message: "whatever the text says"})
	}
	tests := []struct {
		name    string
		stub    stubS3
		call    func(st *checkpoint.S3) error
		want    error
		notWant error
	}{
		{"load NoSuchKey", stubS3{getErr: &types.NoSuchKey{}},
			func(st *checkpoint.S3) error { _, _, err := st.Load(t.Context()); return err }, checkpoint.ErrNotFound, nil},
		{"load AccessDenied", stubS3{getErr: apiErr("AccessDenied")},
			func(st *checkpoint.S3) error { _, _, err := st.Load(t.Context()); return err }, nil, checkpoint.ErrNotFound},
		{"load NoSuchBucket", stubS3{getErr: apiErr("NoSuchBucket")},
			func(st *checkpoint.S3) error { _, _, err := st.Load(t.Context()); return err }, nil, checkpoint.ErrNotFound},
		{"save PreconditionFailed", stubS3{putErr: apiErr("PreconditionFailed")},
			func(st *checkpoint.S3) error { _, err := st.Save(t.Context(), nil, "\"e\""); return err }, checkpoint.ErrConflict, nil},
		{"save ConditionalRequestConflict", stubS3{putErr: apiErr("ConditionalRequestConflict")},
			func(st *checkpoint.S3) error { _, err := st.Save(t.Context(), nil, ""); return err }, checkpoint.ErrConflict, nil},
		{"save NoSuchKey on update", stubS3{putErr: apiErr("NoSuchKey")},
			func(st *checkpoint.S3) error { _, err := st.Save(t.Context(), nil, "\"e\""); return err }, checkpoint.ErrConflict, nil},
		{"save SlowDown", stubS3{putErr: apiErr("SlowDown")},
			func(st *checkpoint.S3) error { _, err := st.Save(t.Context(), nil, "\"e\""); return err }, nil, checkpoint.ErrConflict},
		{"lock AccessDenied", stubS3{putErr: apiErr("AccessDenied")},
			func(st *checkpoint.S3) error { _, err := st.Lock(t.Context(), "me", time.Minute); return err }, nil, checkpoint.ErrLocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(checkpoint.NewS3(tt.stub, testBucket, "k"))
			if err == nil {
				t.Fatalf("got nil error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if tt.notWant != nil && errors.Is(err, tt.notWant) {
				t.Errorf("got %v, want it not to be %v", err, tt.notWant)
			}
		})
	}
}

// echoS3 sends every write twice and returns the second answer, as the SDK
// does when it retries a request whose first attempt succeeded but whose
// response was lost.
type echoS3 struct{ checkpoint.S3API }

func (e echoS3) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	first, second := *in, *in
	first.Body, second.Body = bytes.NewReader(body), bytes.NewReader(body)
	if _, err := e.S3API.PutObject(ctx, &first, optFns...); err != nil {
		return nil, err
	}
	return e.S3API.PutObject(ctx, &second, optFns...)
}

func (e echoS3) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	if _, err := e.S3API.DeleteObject(ctx, in, optFns...); err != nil {
		return nil, err
	}
	return e.S3API.DeleteObject(ctx, in, optFns...)
}

// TestS3RetriedRequests runs the suite through a client whose every write
// is applied and then sent again: a retry that fails its own condition must
// not turn a successful save, lock, renewal or release into an error.
func TestS3RetriedRequests(t *testing.T) {
	client := echoS3{newFakeS3(t)}
	var n atomic.Int64
	checkpointtest.Run(t,
		func(t *testing.T) checkpoint.Store {
			return checkpoint.NewS3(client, testBucket, fmt.Sprintf("jobs/%d/checkpoint", n.Add(1)))
		},
		checkpointtest.WithClock(func(s checkpoint.Store, now func() time.Time) { s.(*checkpoint.S3).Now = now }),
		checkpointtest.WithExpiringLocks(),
	)
}
