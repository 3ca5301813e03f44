package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/location"
)

// scanCacheSuffix is appended to the checkpoint location to name the scan
// cache: the scan of the input (SHA-256, row count, invalid rows,
// duplicates; no usernames), kept so that the slices of a job after the
// first do not read the whole input before their first call.
const scanCacheSuffix = ".scan"

// ScanCacheLocation returns where Run keeps the scan of the input: next to
// the checkpoint, with scanCacheSuffix.
func (c *Config) ScanCacheLocation() string { return c.CheckpointLocation() + scanCacheSuffix }

// scanWithCache returns the scan of cfg's input: from the scan cache when it was
// made for this very input (same file identity and reading options, see
// input.ScanKey), otherwise by reading the input with input.ScanInput and
// then storing the cache. The cache is an optimisation only: one that is
// missing, damaged, stale or unwritable costs a scan and a log line, never
// the run.
func scanWithCache(ctx context.Context, files Files, cfg *Config, opts input.Options, open func(context.Context) (io.ReadCloser, error), log *slog.Logger) (*input.Scan, error) {
	loc := cfg.ScanCacheLocation()
	key, err := inputKey(ctx, files, cfg.Input, opts)
	if err != nil {
		log.Debug("input identity unknown: scanning without the cache", "error", err)
	}
	if key.Valid() {
		if sc, ok := loadScanCache(ctx, files, loc, key, cfg.TempDir); ok {
			log.Info("input scan taken from the cache (same file as when it was scanned)", "scan_cache", loc)
			return sc, nil
		}
	}
	sc, err := input.ScanInput(ctx, open, cfg.Input, opts, cfg.TempDir)
	if err != nil || !key.Valid() {
		return sc, err
	}
	err = files.Write(context.WithoutCancel(ctx), loc, func(w io.Writer) error { return input.EncodeScan(w, key, sc) })
	if err != nil {
		log.Warn("could not store the input scan; the next run scans the input again", "scan_cache", loc, "error", err)
	}
	return sc, nil
}

// inputKey returns the identity of the input at loc without reading it: a
// local file's device, inode, size and modification time, an S3 object's
// ETag.
func inputKey(ctx context.Context, f Files, loc string, opts input.Options) (input.ScanKey, error) {
	key := input.ScanKey{UsernameColumn: opts.UsernameColumn, MaxRecordBytes: opts.MaxRecordBytes}
	bucket, k, isS3, err := location.Parse(loc)
	if err != nil {
		return input.ScanKey{}, err
	}
	if !isS3 {
		fi, err := os.Stat(loc)
		if err != nil {
			return input.ScanKey{}, err
		}
		if !fi.Mode().IsRegular() {
			return input.ScanKey{}, fmt.Errorf("%s is not a regular file", loc)
		}
		key.Size, key.ModTimeNanos = fi.Size(), fi.ModTime().UnixNano()
		key.Device, key.Inode = fileID(fi)
		return key, nil
	}
	if f.S3 == nil {
		return input.ScanKey{}, errors.New("no S3 client")
	}
	// The run's opener pins the object to the ETag it saw first (If-Match),
	// so if this ETag is another one, the run's reads fail rather than
	// pair this scan with other bytes.
	out, err := f.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &k})
	if err != nil {
		return input.ScanKey{}, err
	}
	out.Body.Close()
	if out.ETag == nil || *out.ETag == "" {
		return input.ScanKey{}, errors.New("the input object has no ETag")
	}
	key.ETag = *out.ETag
	return key, nil
}

// loadScanCache reads the scan cache at loc and returns its scan if it was
// made for key.
func loadScanCache(ctx context.Context, f Files, loc string, key input.ScanKey, tmpDir string) (*input.Scan, bool) {
	bucket, k, isS3, err := location.Parse(loc)
	if err != nil {
		return nil, false
	}
	var data []byte
	if !isS3 {
		if data, err = os.ReadFile(loc); err != nil {
			return nil, false
		}
	} else {
		if f.S3 == nil {
			return nil, false
		}
		out, err := f.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &k})
		if err != nil {
			var nsk *types.NoSuchKey
			_ = errors.As(err, &nsk) // a missing cache is the common miss; any error is a miss
			return nil, false
		}
		data, err = io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			return nil, false
		}
	}
	return input.DecodeScan(bytes.NewReader(data), key, tmpDir)
}

// dropScanIfInputChanged removes cfg's scan cache when err is an input error:
// the input read during the run (the Input reader checks its SHA-256 at the
// end against the scan's) was not the one the cache describes, as when a
// file is rewritten in place keeping its size, time and inode. The next
// run then scans the input again, and its checkpoint's identity check
// names the change. It returns err.
func dropScanIfInputChanged(ctx context.Context, files Files, cfg *Config, log *slog.Logger, err error) error {
	if errors.Is(err, input.ErrInput) {
		forgetScan(ctx, files, cfg, log)
	}
	return err
}

// forgetScan removes the scan cache, so that the next run scans the input
// again.
func forgetScan(ctx context.Context, files Files, cfg *Config, log *slog.Logger) {
	loc := cfg.ScanCacheLocation()
	_, _, isS3, err := location.Parse(loc)
	switch {
	case err != nil:
	case !isS3:
		err = os.Remove(loc)
	case files.S3 != nil:
		err = files.Write(ctx, loc, func(io.Writer) error { return nil }) // an empty cache is a miss
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("could not remove the scan cache of a changed input", "scan_cache", loc, "error", err)
	}
}
