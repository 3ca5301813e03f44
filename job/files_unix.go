//go:build unix

package job

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// oNonblock opens a FIFO without waiting for a writer (it is then refused);
// it changes nothing for a regular file.
const oNonblock = syscall.O_NONBLOCK

// fileIdentity returns the device and inode of a file.
func fileIdentity(fi fs.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

// processAlive reports whether a process with this ID runs.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ownedByMe reports whether this user owns the file.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
