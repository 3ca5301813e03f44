package checkpoint_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint/checkpointtest"
)

func newFile(t *testing.T) *checkpoint.File {
	t.Helper()
	return checkpoint.NewFile(filepath.Join(t.TempDir(), "job.checkpoint"))
}

func TestFile(t *testing.T) {
	checkpointtest.Run(t,
		func(t *testing.T) checkpoint.Store { return newFile(t) },
		checkpointtest.WithClock(func(s checkpoint.Store, now func() time.Time) { s.(*checkpoint.File).Now = now }),
	)
}

func TestFileMissingFolder(t *testing.T) {
	f := checkpoint.NewFile(filepath.Join(t.TempDir(), "no-such-folder", "job.checkpoint"))
	calls := []struct {
		name string
		call func() error
	}{
		{"Load", func() error { _, _, err := f.Load(t.Context()); return err }},
		{"Save create", func() error { _, err := f.Save(t.Context(), []byte("x"), ""); return err }},
		{"Save update", func() error { _, err := f.Save(t.Context(), []byte("x"), "v"); return err }},
		{"Lock", func() error { _, err := f.Lock(t.Context(), "me", time.Minute); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if err == nil || !strings.Contains(err.Error(), "no-such-folder does not exist") {
				t.Errorf("%s() = %v, want an error saying the folder does not exist", c.name, err)
			}
			if errors.Is(err, checkpoint.ErrNotFound) || errors.Is(err, checkpoint.ErrConflict) {
				t.Errorf("%s() = %v, want neither ErrNotFound nor ErrConflict: the folder is a setup error", c.name, err)
			}
		})
	}
}

func TestFileModesAndLeftovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "job.checkpoint")
	f := checkpoint.NewFile(path)
	v, err := f.Save(t.Context(), []byte("one"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Save(t.Context(), []byte("two"), v); err != nil {
		t.Fatal(err)
	}
	l, err := f.Lock(t.Context(), "me", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(t.Context())
	for _, name := range []string{path, path + ".lock"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("mode of %s = %v, want 0600", filepath.Base(name), got)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "job.checkpoint job.checkpoint.lock"; got != want {
		t.Errorf("folder holds %q, want %q (no temporary files left)", got, want)
	}
}

func TestFileVersionChangesOnIdenticalSave(t *testing.T) {
	f := newFile(t)
	v1, err := f.Save(t.Context(), []byte("same"), "")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := f.Save(t.Context(), []byte("same"), v1)
	if err != nil {
		t.Fatal(err)
	}
	if v1 == v2 {
		t.Errorf("Save(same bytes) twice gave version %q both times, want a new version per save", v1)
	}
	if _, err := f.Save(t.Context(), []byte("same"), v1); !errors.Is(err, checkpoint.ErrConflict) {
		t.Errorf("Save(_, first version) after a second save = %v, want ErrConflict", err)
	}
}

func TestFileLockedErrorIsKernel(t *testing.T) {
	f := newFile(t)
	l, err := f.Lock(t.Context(), "first", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(t.Context())
	_, err = f.Lock(t.Context(), "second", time.Minute)
	var le *checkpoint.LockedError
	if !errors.As(err, &le) || !le.Kernel {
		t.Fatalf("Lock() while held = %v, want a *LockedError with Kernel set", err)
	}
	if !strings.Contains(err.Error(), "still running") {
		t.Errorf("message %q does not say the holder is still running", err)
	}
}

func TestFileRenewAfterLockFileRemoved(t *testing.T) {
	f := newFile(t)
	l, err := f.Lock(t.Context(), "first", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(t.Context())
	if err := os.Remove(f.String() + ".lock"); err != nil {
		t.Fatal(err)
	}
	if err := l.Renew(t.Context()); !errors.Is(err, checkpoint.ErrLockLost) {
		t.Errorf("Renew() after the lock file was removed = %v, want ErrLockLost", err)
	}
}

// lockChildEnv, when set, makes TestFileLockChild hold the lock on the
// checkpoint path it names until it is killed.
const lockChildEnv = "CHECKPOINT_TEST_LOCK_CHILD"

// TestFileLockChild is the child process of TestFileLockAcrossProcesses.
func TestFileLockChild(t *testing.T) {
	path := os.Getenv(lockChildEnv)
	if path == "" {
		t.Skip("helper process for TestFileLockAcrossProcesses")
	}
	_, err := checkpoint.NewFile(path).Lock(context.Background(), fmt.Sprintf("child pid %d", os.Getpid()), time.Minute)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the lock until killed
	os.Exit(0)
}

func TestFileLockAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	f := newFile(t)
	child := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFileLockChild$", "-test.v=false")
	child.Env = append(os.Environ(), lockChildEnv+"="+f.String())
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe() // kept open: the child blocks reading it
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("child said %q, %v; want \"locked\"", line, err)
	}

	_, err = f.Lock(t.Context(), "parent", time.Minute)
	var le *checkpoint.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Lock() while the child holds it = %v, want a *LockedError", err)
	}
	owner := fmt.Sprintf("child pid %d", child.Process.Pid)
	if le.Holder.Owner != owner || !strings.Contains(err.Error(), owner) {
		t.Errorf("Lock() error = %q (holder %q), want it to name %q", err, le.Holder.Owner, owner)
	}

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err == nil {
		t.Fatalf("child exited cleanly, want it killed")
	}
	l, err := f.Lock(t.Context(), "parent", time.Minute)
	if err != nil {
		t.Fatalf("Lock() right after the holder was SIGKILLed = %v, want nil", err)
	}
	if err := l.Release(t.Context()); err != nil {
		t.Errorf("Release() = %v", err)
	}
}

func TestFileSaveIsAtomicAgainstStaleTemp(t *testing.T) {
	// A crash between writing the temporary file and renaming it leaves the
	// temporary file; later loads and saves ignore it.
	f := newFile(t)
	v, err := f.Save(t.Context(), []byte("good"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.String()+".tmp-123", []byte("half a wri"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, v2, err := f.Load(t.Context())
	if err != nil || string(data) != "good" || v2 != v {
		t.Fatalf("Load() = %q, %q, %v; want \"good\", %q, nil", data, v2, err, v)
	}
	if _, err := f.Save(t.Context(), []byte("better"), v); err != nil {
		t.Fatalf("Save() = %v", err)
	}
}

func TestFileLoadDirectory(t *testing.T) {
	f := checkpoint.NewFile(t.TempDir())
	_, _, err := f.Load(t.Context())
	if err == nil || errors.Is(err, checkpoint.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load() of a folder = %v, want an I/O error", err)
	}
}

// TestFileNeverWritesThroughForeignFiles checks that the lock and the
// checkpoint are never opened through a symbolic link, and that a lock file
// this package did not write (other content, or another hard link to it)
// is refused and left as it was.
func TestFileNeverWritesThroughForeignFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir, path string) (victim string)
		op    func(f *checkpoint.File) error
		want  string
	}{
		{"lock file is a symlink", func(t *testing.T, dir, path string) string {
			victim := filepath.Join(dir, "victim.txt")
			must(t, os.WriteFile(victim, []byte("precious\n"), 0o600))
			must(t, os.Symlink(victim, path+".lock"))
			return victim
		}, lockOp, "symbolic link"},
		{"lock file holds something else", func(t *testing.T, dir, path string) string {
			must(t, os.WriteFile(path+".lock", []byte("precious\n"), 0o600))
			return path + ".lock"
		}, lockOp, "other than this tool's lock"},
		{"lock file is a hard link", func(t *testing.T, dir, path string) string {
			victim := filepath.Join(dir, "victim.txt")
			must(t, os.WriteFile(victim, nil, 0o600))
			must(t, os.Link(victim, path+".lock"))
			return victim
		}, lockOp, "hard links"},
		{"checkpoint is a symlink", func(t *testing.T, dir, path string) string {
			victim := filepath.Join(dir, "victim.txt")
			must(t, os.WriteFile(victim, []byte("precious\n"), 0o600))
			must(t, os.Symlink(victim, path))
			return victim
		}, loadOp, "symbolic link"},
		{"checkpoint is a dangling symlink", func(t *testing.T, dir, path string) string {
			must(t, os.Symlink(filepath.Join(dir, "nowhere"), path))
			return ""
		}, loadOp, "symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "job.checkpoint")
			victim := tt.setup(t, dir, path)
			var before []byte
			if victim != "" {
				before, _ = os.ReadFile(victim)
			}
			err := tt.op(checkpoint.NewFile(path))
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, checkpoint.ErrNotFound) {
				t.Errorf("err = %v, want a refusal containing %q", err, tt.want)
			}
			if victim != "" {
				if after, _ := os.ReadFile(victim); string(after) != string(before) {
					t.Errorf("%s changed from %q to %q", filepath.Base(victim), before, after)
				}
			}
		})
	}
}

func lockOp(f *checkpoint.File) error {
	l, err := f.Lock(context.Background(), "me", time.Minute)
	if err == nil {
		l.Release(context.Background())
	}
	return err
}

func loadOp(f *checkpoint.File) error {
	_, _, err := f.Load(context.Background())
	return err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
