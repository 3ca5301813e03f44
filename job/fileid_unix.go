//go:build unix

package job

import (
	"os"
	"syscall"
)

// fileID returns the device and inode of a file, which tell a file replaced
// by another of the same size and time from the original.
func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino //nolint:unconvert // Dev is int32 on some systems
	}
	return 0, 0
}
