//go:build linux || darwin

package checkpoint

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errWouldBlock reports that another open file description holds the flock.
var errWouldBlock = errors.New("flock is held elsewhere")

// tryLock takes an exclusive flock on fh without waiting. It returns
// errWouldBlock if another open file description holds it.
func tryLock(fh *os.File) error {
	rc, err := fh.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
			if ferr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if errors.Is(ferr, unix.EWOULDBLOCK) {
		return errWouldBlock
	}
	if ferr != nil {
		return &os.PathError{Op: "flock", Path: fh.Name(), Err: ferr}
	}
	return nil
}

// lockWait takes an exclusive flock on fh, polling until it is free or ctx is
// done. Polling rather than a blocking flock keeps ctx in charge; savers hold
// this flock only for the time of a write.
func lockWait(ctx context.Context, fh *os.File) error {
	delay := time.Millisecond
	for {
		err := tryLock(fh)
		if !errors.Is(err, errWouldBlock) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// fileID returns the inode number of a file.
func fileID(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// oNoFollow makes open fail (ELOOP) when the last element of the path is a
// symbolic link.
const oNoFollow = unix.O_NOFOLLOW

// isSymlinkErr reports whether an open with oNoFollow failed on a symbolic link.
func isSymlinkErr(err error) bool { return errors.Is(err, unix.ELOOP) }

// linkCount returns the number of hard links of a file (1 if unknown).
func linkCount(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
