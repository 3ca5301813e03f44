package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// File is a Store in a local file, also usable on a network file system with
// working flock and hard links, such as an EFS mount.
//
// Save writes a temporary file <path>.tmp-* in the same folder, fsyncs it,
// renames it over the checkpoint (or hard-links it into place for the first
// save, which fails if the checkpoint exists) and fsyncs the folder, so a
// crash at any point leaves the old checkpoint or the new one, never a torn
// one. A crash can leave a temporary file behind; it is never read. The
// version is the file's inode number and a SHA-256 prefix of its content; a
// save always differs from the version it replaces (the new file is created
// while the old one still exists, so their inodes differ), and an old version
// can only recur with identical content. Save holds a short flock on the checkpoint
// file itself while it compares versions and renames, so two savers with the
// same version cannot both win. The folder must exist; files are created
// with mode 0600.
//
// Lock takes an exclusive flock on <path>.lock and writes the holder's
// LockInfo into it as JSON. The kernel is the authority on that lock: it is
// held exactly as long as the holding process lives and is released when the
// process exits or is killed, so the TTL and Expires are informational only
// (they tell a refused runner when the holder last promised to renew) and an
// expired flock is never taken over. The lock file is never removed, so a
// release cannot delete a lock another process has just taken; Release
// empties it, unlocks it, never blocks, and releases even if ctx is done. On
// NFS (EFS) the client kernel carries the flock to the server: a killed
// process still frees it at once, but a lock whose whole client vanished
// (instance lost, network cut) is freed by the server only when that
// client's NFS lease lapses.
//
// A File is safe for concurrent use by multiple goroutines and processes. Its
// methods check ctx before doing anything and Save waits for another saver's
// flock only while ctx lives. The zero value is not usable; call NewFile.
type File struct {
	// Now returns the current time for lock times. Nil means time.Now. Set
	// it before using the File.
	Now func() time.Time

	path string
}

var _ Store = (*File)(nil)

// NewFile returns a Store for the checkpoint file at path. It does no I/O.
func NewFile(path string) *File { return &File{path: path} }

// String returns the checkpoint's path.
func (f *File) String() string { return f.path }

func (f *File) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Load returns the checkpoint's content and version. It returns an error
// wrapping ErrNotFound if the file does not exist, and a plain error if its
// folder does not exist.
func (f *File) Load(ctx context.Context) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("load %s: %w", f.path, err)
	}
	fh, err := os.OpenFile(f.path, os.O_RDONLY|oNoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if err := f.checkFolder(); err != nil {
			return nil, "", fmt.Errorf("load %s: %w", f.path, err)
		}
		// Where oNoFollow is 0, a dangling link reads as missing: look.
		if fi, lerr := os.Lstat(f.path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, "", f.symlinkErr("load", " (to a file that does not exist)")
		}
		return nil, "", fmt.Errorf("load %s: %w", f.path, ErrNotFound)
	}
	if isSymlinkErr(err) {
		return nil, "", f.symlinkErr("load", "")
	}
	if err != nil {
		return nil, "", fmt.Errorf("load checkpoint: %w", err)
	}
	defer fh.Close()
	data, version, err := readVersioned(fh)
	if err != nil {
		return nil, "", fmt.Errorf("load checkpoint: %w", err)
	}
	return data, version, nil
}

// Save writes data if version is the current version ("" if there is no
// checkpoint) and returns the new version. It returns an error wrapping
// ErrConflict if the version does not match, including when the checkpoint
// exists and version is "" or does not exist and version is not "".
func (f *File) Save(ctx context.Context, data []byte, version string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("save %s: %w", f.path, err)
	}
	if version == "" {
		return f.create(ctx, data)
	}
	return f.replace(ctx, data, version)
}

// create links a new temporary file into place; the link fails if the
// checkpoint exists, which makes creation atomic.
func (f *File) create(ctx context.Context, data []byte) (string, error) {
	tmp, version, err := f.writeTemp(data)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("save %s: %w", f.path, err)
	}
	if err := os.Link(tmp, f.path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("save %s: another run created it first: %w", f.path, ErrConflict)
		}
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	_ = os.Remove(tmp)
	if err := syncDir(filepath.Dir(f.path)); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	return version, nil
}

// replace renames a new temporary file over the checkpoint while holding a
// flock on the current checkpoint file, after checking its version.
func (f *File) replace(ctx context.Context, data []byte, version string) (string, error) {
	cur, err := f.lockCurrent(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		if err := f.checkFolder(); err != nil {
			return "", fmt.Errorf("save %s: %w", f.path, err)
		}
		return "", fmt.Errorf("save %s: it was removed since it was loaded: %w", f.path, ErrConflict)
	}
	if err != nil {
		return "", fmt.Errorf("save %s: %w", f.path, err)
	}
	defer cur.Close() // releases the flock
	_, current, err := readVersioned(cur)
	if err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if current != version {
		return "", fmt.Errorf("save %s: %w", f.path, ErrConflict)
	}
	tmp, newVersion, err := f.writeTemp(data)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("save %s: %w", f.path, err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := syncDir(filepath.Dir(f.path)); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	return newVersion, nil
}

// lockCurrent opens the checkpoint file and flocks it, retrying if a saver
// replaced it meanwhile, so the file returned is the current one until it is
// closed. It returns an error wrapping fs.ErrNotExist if there is none.
func (f *File) lockCurrent(ctx context.Context) (*os.File, error) {
	for {
		fh, err := os.OpenFile(f.path, os.O_RDWR|oNoFollow, 0)
		if isSymlinkErr(err) {
			return nil, f.symlinkErr("save", "")
		}
		if err != nil {
			return nil, err
		}
		if err := lockWait(ctx, fh); err != nil {
			fh.Close()
			return nil, err
		}
		fi, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, err
		}
		pi, err := os.Stat(f.path)
		if err == nil && os.SameFile(fi, pi) {
			return fh, nil
		}
		fh.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
}

// writeTemp writes data to a new synced temporary file beside the checkpoint
// and returns its name and the version it will have once in place.
func (f *File) writeTemp(data []byte) (name, version string, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(f.path), filepath.Base(f.path)+".tmp-*")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if ferr := f.checkFolder(); ferr != nil {
				return "", "", fmt.Errorf("save %s: %w", f.path, ferr)
			}
		}
		return "", "", fmt.Errorf("save checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return "", "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return "", "", fmt.Errorf("save checkpoint: %w", err)
	}
	fi, err := tmp.Stat()
	if err != nil {
		return "", "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", "", fmt.Errorf("save checkpoint: %w", err)
	}
	return tmp.Name(), versionOf(fi, data), nil
}

// checkFolder returns a clear error if the checkpoint's folder is missing.
func (f *File) checkFolder() error {
	dir := filepath.Dir(f.path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("folder %s does not exist; create it first", dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a folder", dir)
	}
	return nil
}

// readVersioned reads an open checkpoint file and returns its content and
// version.
func readVersioned(fh *os.File) ([]byte, string, error) {
	fi, err := fh.Stat()
	if err != nil {
		return nil, "", err
	}
	data, err := io.ReadAll(io.NewSectionReader(fh, 0, 1<<62))
	if err != nil {
		return nil, "", err
	}
	return data, versionOf(fi, data), nil
}

// versionOf returns the version of a checkpoint file: its inode number, which
// changes on every save because a save puts a new file in place, and a
// SHA-256 prefix of its content, which tells apart two files that happen to
// reuse an inode number.
func versionOf(fi os.FileInfo, data []byte) string {
	sum := sha256.Sum256(data)
	return fmt.Sprintf("%x-%x", fileID(fi), sum[:12])
}

// syncDir fsyncs a folder so renames and links in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// Lock takes the exclusive flock on <path>.lock without waiting and writes the
// holder's LockInfo into it. It returns a *LockedError with Kernel set, naming
// the holder, if another process or File lock holds it, and a plain error if
// ttl is not positive or the folder does not exist.
func (f *File) Lock(ctx context.Context, owner string, ttl time.Duration) (Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lock %s: %w", f.path, err)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("lock %s: ttl %v is not positive", f.path, ttl)
	}
	name := f.path + ".lock"
	var fh *os.File
	for fh == nil {
		h, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|oNoFollow, 0o600)
		if isSymlinkErr(err) {
			return nil, fmt.Errorf("lock %s: the lock file %s is a symbolic link; refused (the tool never writes through a link): remove the link", f.path, name)
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if ferr := f.checkFolder(); ferr != nil {
					return nil, fmt.Errorf("lock %s: %w", f.path, ferr)
				}
			}
			return nil, fmt.Errorf("lock %s: %w", f.path, err)
		}
		if err := tryLock(h); err != nil {
			var holder LockInfo
			if errors.Is(err, errWouldBlock) {
				holder = readHolder(ctx, h)
			}
			h.Close()
			if errors.Is(err, errWouldBlock) {
				return nil, &LockedError{Store: f.path, Holder: holder, Kernel: true}
			}
			return nil, fmt.Errorf("lock %s: %w", f.path, err)
		}
		// The lock file is emptied on release and rewritten on renewal:
		// it must be one this tool made, not a file someone pointed here.
		if err := checkLockFile(h); err != nil {
			h.Close()
			return nil, fmt.Errorf("lock %s: the lock file %s %w; refused, it was left untouched: remove it if no run is using it", f.path, name, err)
		}
		// Someone may have removed the lock file between open and flock;
		// a lock on a removed file protects nothing, so start again.
		if linked, err := isLinked(h, name); err != nil {
			h.Close()
			return nil, fmt.Errorf("lock %s: %w", f.path, err)
		} else if linked {
			fh = h
		} else {
			h.Close()
		}
	}
	now := f.now()
	l := &fileLock{store: f, name: name, fh: fh, ttl: ttl,
		info: LockInfo{Owner: owner, Acquired: now, Expires: now.Add(ttl)}}
	if err := writeLockInfo(fh, l.info); err != nil {
		fh.Close()
		return nil, fmt.Errorf("lock %s: %w", f.path, err)
	}
	return l, nil
}

// fileLock is a held flock on a File's lock file.
type fileLock struct {
	store *File
	name  string
	ttl   time.Duration

	mu   sync.Mutex
	fh   *os.File // nil once released
	info LockInfo
}

// Renew rewrites the lock file with a later expiry. It returns an error
// wrapping ErrLockLost if the lock was released or its file was removed or
// replaced.
func (l *fileLock) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("renew lock %s: %w", l.name, err)
	}
	if l.fh == nil {
		return fmt.Errorf("renew lock %s: it was released: %w", l.name, ErrLockLost)
	}
	linked, err := isLinked(l.fh, l.name)
	if err != nil {
		return fmt.Errorf("renew lock: %w", err)
	}
	if !linked {
		return fmt.Errorf("renew lock %s: the lock file was removed or replaced: %w", l.name, ErrLockLost)
	}
	info := l.info
	info.Expires = l.store.now().Add(l.ttl)
	if err := writeLockInfo(l.fh, info); err != nil {
		return fmt.Errorf("renew lock: %w", err)
	}
	l.info = info
	return nil
}

// Release empties the lock file and unlocks it; it leaves the file in place.
// It always releases, even if ctx is done, because it never blocks.
func (l *fileLock) Release(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fh == nil {
		return nil
	}
	_ = l.fh.Truncate(0)
	err := l.fh.Close() // closing the only descriptor releases the flock
	l.fh = nil
	if err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	return nil
}

// Info returns the holder's LockInfo as last written.
func (l *fileLock) Info() LockInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// isLinked reports whether the open file fh is still the file at name.
func isLinked(fh *os.File, name string) (bool, error) {
	fi, err := fh.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}

// writeLockInfo replaces the lock file's content with info as JSON. It writes
// before truncating, so a concurrent reader decoding the first JSON value
// sees the old info or the new, never an empty file.
func writeLockInfo(fh *os.File, info LockInfo) error {
	js, err := json.Marshal(info)
	if err != nil {
		return err
	}
	js = append(js, '\n')
	if _, err := fh.WriteAt(js, 0); err != nil {
		return err
	}
	if err := fh.Truncate(int64(len(js))); err != nil {
		return err
	}
	return fh.Sync()
}

// readLockInfo reads the holder's info from a lock file, or returns the zero
// LockInfo if it is empty or unreadable (the holder may not have written it
// yet).
func readLockInfo(fh *os.File) LockInfo {
	var info LockInfo
	if err := json.NewDecoder(io.NewSectionReader(fh, 0, 64<<10)).Decode(&info); err != nil {
		return LockInfo{}
	}
	return info
}

// symlinkErr refuses a checkpoint path that is a symbolic link: a save
// replaces the file at the path, which would replace the link, and a link
// may point at a file this tool did not create.
func (f *File) symlinkErr(op, detail string) error {
	return fmt.Errorf("%s %s: it is a symbolic link%s; refused (the tool never follows or replaces a link at the checkpoint path): "+
		"pass the real path with --checkpoint", op, f.path, detail)
}

// checkLockFile returns why an open lock file is not one this tool wrote, or
// nil: it must be empty or hold a LockInfo, and have no other hard link.
func checkLockFile(fh *os.File) error {
	fi, err := fh.Stat()
	if err != nil {
		return err
	}
	if linkCount(fi) > 1 {
		return errors.New("has other hard links")
	}
	if fi.Size() == 0 {
		return nil
	}
	var info LockInfo
	if err := json.NewDecoder(io.NewSectionReader(fh, 0, 64<<10)).Decode(&info); err != nil || info.Owner == "" {
		return errors.New("holds something other than this tool's lock information")
	}
	return nil
}

// readHolder reads the lock holder's info. A holder writes it right after
// taking the flock, so a runner that lost a race by microseconds may find
// the file still empty: it waits up to holderWait for the info to appear.
func readHolder(ctx context.Context, fh *os.File) LockInfo {
	deadline := time.Now().Add(holderWait)
	for {
		info := readLockInfo(fh)
		if info.Owner != "" || !time.Now().Before(deadline) || ctx.Err() != nil {
			return info
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// holderWait is how long a refused runner waits for the holder's info.
const holderWait = 500 * time.Millisecond
