package job

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

func readInput(t *testing.T, in *Input) error {
	t.Helper()
	rc, err := in.Open(t.Context())
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.ReadAll(rc)
	return err
}

// TestInputPinnedLocal checks that a local input is pinned for the run: a
// file moved over it, a rewrite that changes its size, and a rewrite of the
// same size with its modification time put back (caught by the hash) are
// all refused, naming the file, as input errors.
func TestInputPinnedLocal(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
		want   string
	}{
		{"replaced by mv", func(t *testing.T, path string) {
			tmp := path + ".new"
			if err := os.WriteFile(tmp, []byte("username\nbob\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, "replaced by another file"},
		{"rewritten longer", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("username\nalice\nbob\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "its size went from"},
		{"rewritten, same size and time", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("username\nalicf\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, "content differs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.csv")
			if err := os.WriteFile(path, []byte("username\nalice\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			in, err := Files{}.Opener(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := input.ScanInput(t.Context(), in.Open, path, input.Options{}, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			in.Expect(sc.SHA256)
			if err := readInput(t, in); err != nil {
				t.Fatalf("read before the change: %v", err)
			}
			tt.change(t, path)
			err = readInput(t, in)
			if !errors.Is(err, input.ErrInput) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("read after the change: %v; want an input error naming %s and saying %q", err, path, tt.want)
			}
		})
	}
}

// TestInputPinnedS3 checks that every open of an S3 input (scan, run,
// report) reads the ETag first seen: one Input serves the whole run.
func TestInputPinnedS3(t *testing.T) {
	c := newFakeS3(t)
	put := func(body string) {
		if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("exports"), Key: aws.String("users.csv"), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	put("username\nalice\n")
	in, err := Files{S3: c}.Opener(t.Context(), "s3://exports/users.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := readInput(t, in); err != nil {
		t.Fatal(err)
	}
	put("username\nbob\n")
	if err := readInput(t, in); !errors.Is(err, input.ErrInput) || !strings.Contains(err.Error(), "changed during the run") {
		t.Errorf("read after the object was replaced: %v; want an input error saying it changed", err)
	}
}

// TestInputNotRegular checks that inputs that are not regular files are
// refused at once with the reason.
func TestInputNotRegular(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ path, want string }{
		{dir, "is a directory"},
		{"/dev/null", "is a device"},
	} {
		_, err := Files{}.Opener(t.Context(), tt.path)
		if !errors.Is(err, input.ErrInput) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Opener(%s) = %v, want an input error saying %q", tt.path, err, tt.want)
		}
	}
}

// TestErrorsSayCauseOnce checks that input and lock errors print their
// cause once, and that an input location error does not speak of a
// checkpoint (issue 9, part 4).
func TestErrorsSayCauseOnce(t *testing.T) {
	dir := t.TempDir()
	_, err := Files{}.Opener(t.Context(), filepath.Join(dir, "missing.csv"))
	if err == nil || strings.Count(err.Error(), "no such file") != 1 || strings.Count(err.Error(), "missing.csv") != 1 {
		t.Errorf("missing input: %v; want the cause and the file named once", err)
	}
	_, err = Files{}.Opener(t.Context(), "s3://bucket/")
	if err == nil || strings.Contains(err.Error(), "checkpoint") {
		t.Errorf("bad input location: %v; want an error that does not speak of a checkpoint", err)
	}

	input := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(input, []byte("username\nalice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.UserPoolID, cfg.Input = "us-east-1_AbC123", input
	cfg.Checkpoint = filepath.Join(dir, "no-such-folder", "users.checkpoint")
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	_, err = Run(context.Background(), cfg, Deps{Cognito: srv.Client(), Store: checkpoint.NewFile(cfg.Checkpoint)})
	if err == nil || strings.Count(err.Error(), "lock ") != 1 || strings.Count(err.Error(), "users.checkpoint") != 1 {
		t.Errorf("lock in a missing folder: %v; want the lock step and the checkpoint named once", err)
	}
}

// TestReadSmallLimit checks that readSmall reads what it is given.
func TestReadSmallLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Files{}.readSmall(t.Context(), path, 10)
	if err != nil || len(got) != 10 {
		t.Errorf("readSmall = %d bytes, %v; want 10", len(got), err)
	}
}
