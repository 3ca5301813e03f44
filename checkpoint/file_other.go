//go:build !(linux || darwin)

package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// errWouldBlock reports that another open file description holds the lock.
var errWouldBlock = errors.New("file lock is held elsewhere")

// errNoFlock reports that file locks are not implemented on this platform.
var errNoFlock = fmt.Errorf("file checkpoints are not supported on %s (use linux or darwin, or an s3:// location): %w",
	runtime.GOOS, errors.ErrUnsupported)

func tryLock(*os.File) error { return errNoFlock }

func lockWait(context.Context, *os.File) error { return errNoFlock }

func fileID(os.FileInfo) uint64 { return 0 }

const oNoFollow = 0

func isSymlinkErr(error) bool { return false }

func linkCount(os.FileInfo) uint64 { return 1 }
