//go:build !unix

package job

import "io/fs"

const oNonblock = 0

func fileIdentity(fs.FileInfo) (dev, ino uint64) { return 0, 0 }

// processAlive reports true: without a way to ask, a scan folder is kept.
func processAlive(int) bool { return true }

// ownedByMe reports false: without owners, no leftover is removed.
func ownedByMe(fs.FileInfo) bool { return false }
