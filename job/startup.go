package job

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/location"
)

// What a run does between taking the checkpoint lock and its first call:
// keep the lock alive while the input is scanned, say when an expired lock
// was taken over, remove what a killed run left behind, and refuse to start
// a job over when its checkpoint has disappeared.

// logTakeover logs when the lock was taken over from a holder whose lock
// had expired (an S3 lock: that runner crashed or was cut off without
// releasing).
func logTakeover(log *slog.Logger, store string, lock checkpoint.Lock) {
	t, ok := lock.(interface {
		TookOver() (checkpoint.LockInfo, bool)
	})
	if !ok {
		return
	}
	if prev, ok := t.TookOver(); ok {
		log.Warn("took over an expired checkpoint lock: the runner holding it stopped renewing it (crashed, killed or cut off); "+
			"work it did after its last save is redone", "checkpoint", store, "previous_owner", prev.Owner,
			"previous_expired", prev.Expires.UTC())
	}
}

// watchStall stops the run (through stop) when w has seen no answer for
// timeout while calls were being made; 0 never stops.
func watchStall(ctx context.Context, w *cognito.Watch, timeout time.Duration, stop func(reason string, err error)) {
	if timeout <= 0 {
		return
	}
	t := time.NewTicker(min(time.Second, timeout/4))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if endpoint, waited, ok := w.Stalled(timeout); ok {
			stop(StopFatal, &cognito.FatalError{Op: "calls to " + endpoint, Code: cognito.CodeStalled,
				Err: fmt.Errorf("no answer from %s for %v (--stall-timeout %v)", endpoint, waited.Round(time.Second), timeout)})
			return
		}
	}
}

// leftoverPatterns are the names of the temporary files a run writes next to
// a local location (a report, a summary, an export: .name.tmp-*; a file
// checkpoint: name.tmp-*). A process killed while writing one leaves it
// behind.
func leftoverPatterns(loc string, isCheckpoint bool) (dir, pattern string) {
	dir, base := filepath.Dir(loc), filepath.Base(loc)
	if isCheckpoint {
		return dir, base + ".tmp-*"
	}
	return dir, "." + base + ".tmp-*"
}

// cleanLeftovers removes the temporary files a killed run left next to this
// job's local outputs and checkpoint, and the input-scan folders of dead
// processes in the scan's temporary folder. Only files owned by this user
// and matching our own names are removed; the caller holds the checkpoint
// lock, so no other run of this job is writing them.
func cleanLeftovers(log *slog.Logger, cfg *Config, store checkpoint.Store) {
	var n int
	locs := []struct {
		loc  string
		ckpt bool
	}{{cfg.ReportLocation(), false}, {cfg.SummaryLocation(), false}}
	if _, ok := store.(*checkpoint.File); ok {
		locs = append(locs, struct {
			loc  string
			ckpt bool
		}{store.String(), true})
	}
	for _, l := range locs {
		if _, _, isS3, err := location.Parse(l.loc); err != nil || isS3 {
			continue
		}
		dir, pattern := leftoverPatterns(l.loc, l.ckpt)
		n += removeOwned(dir, pattern, false)
	}
	n += removeDeadScans(cfg.TempDir)
	if n > 0 {
		log.Info("removed temporary files left by an earlier run that was killed", "files", n)
	}
}

// CleanOutputLeftovers removes the temporary files a killed export left
// next to a local output location, and returns how many it removed.
func CleanOutputLeftovers(loc string) int {
	if _, _, isS3, err := location.Parse(loc); err != nil || isS3 {
		return 0
	}
	dir, pattern := leftoverPatterns(loc, false)
	return removeOwned(dir, pattern, false)
}

// removeOwned removes the regular files (or folders, if dirs) in dir that
// match pattern and belong to this user. It returns how many it removed.
func removeOwned(dir, pattern string, dirs bool) int {
	names, _ := filepath.Glob(filepath.Join(dir, pattern))
	n := 0
	for _, name := range names {
		fi, err := os.Lstat(name)
		if err != nil || !ownedByMe(fi) {
			continue
		}
		switch {
		case dirs && fi.IsDir():
			if os.RemoveAll(name) == nil {
				n++
			}
		case !dirs && fi.Mode().IsRegular():
			if os.Remove(name) == nil {
				n++
			}
		}
	}
	return n
}

// removeDeadScans removes the input-scan folders (input.ScanDirPrefix<pid>-*)
// of processes that no longer run.
func removeDeadScans(tmpDir string) int {
	if tmpDir == "" {
		tmpDir = os.TempDir()
	}
	names, _ := filepath.Glob(filepath.Join(tmpDir, input.ScanDirPrefix+"*"))
	n := 0
	for _, name := range names {
		rest := strings.TrimPrefix(filepath.Base(name), input.ScanDirPrefix)
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		n += removeOwned(filepath.Dir(name), filepath.Base(name), true)
	}
	return n
}

// checkNotForgotten is called when the checkpoint does not exist. If the
// summary of an earlier run of the same job (same input and mode) is there,
// the checkpoint was deleted or moved: starting over would redo every user
// and the new report would lose the record of who was migrated, so the run
// is refused unless --reset says to start over.
func checkNotForgotten(ctx context.Context, files Files, cfg *Config, store, inputSHA256 string) error {
	if cfg.Reset {
		return nil
	}
	data, err := files.readSmall(ctx, cfg.SummaryLocation(), 16<<20)
	if err != nil {
		return nil // no summary (or unreadable): nothing says the job ran before
	}
	var prev struct {
		RunID       string `json:"run_id"`
		PoolID      string `json:"user_pool_id"`
		Mode        string `json:"mode"`
		InputSHA256 string `json:"input_sha256"`
		Done        int64  `json:"done"`
	}
	if json.Unmarshal(data, &prev) != nil || prev.Done == 0 || prev.InputSHA256 != inputSHA256 || prev.Mode != cfg.Mode() || prev.PoolID != cfg.UserPoolID {
		return nil
	}
	return fmt.Errorf("checkpoint %s does not exist, but the summary %s shows that run %s of this job (same input, pool and mode) recorded %d rows done: "+
		"the checkpoint was deleted or moved, and starting over would lose the record of who was migrated\n"+
		"  fix: put the checkpoint back (or pass its location with --checkpoint), or run with --reset to start over", store, cfg.SummaryLocation(), prev.RunID, prev.Done)
}

// readSmall reads a local file or S3 object of at most limit bytes. A
// missing one is an error wrapping fs.ErrNotExist.
func (f Files) readSmall(ctx context.Context, loc string, limit int64) ([]byte, error) {
	in, err := f.Opener(ctx, loc)
	if err != nil {
		return nil, err
	}
	rc, err := in.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit))
}

// checkOrigin refuses an export made from another pool than the one the
// run is for: its users are another pool's.
func checkOrigin(cfg *Config, origin string) error {
	if origin == "" || origin == cfg.UserPoolID {
		return nil
	}
	return fmt.Errorf("%w: %s is an export of user pool %s, but this run is for user pool %s: "+
		"export the pool you mean to migrate, or pass --user-pool-id %s", ErrUsage, cfg.Input, origin, cfg.UserPoolID, origin)
}
