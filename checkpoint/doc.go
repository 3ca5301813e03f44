// Package checkpoint is the durable store of a migration job's progress: the
// [Store] contract with a local [File] backend and an [S3] backend, a [Lock]
// that keeps a second runner off a checkpoint, and the compact [State] codec.
//
// # Stores
//
// A [Store] holds one opaque byte slice and a version token for it. [Store.Load]
// returns both; [Store.Save] is a compare-and-swap: it writes only if the
// caller's version is still the current one (or, with version "", only if there
// is no checkpoint yet), and otherwise fails with [ErrConflict]. A run therefore
// never overwrites a checkpoint it has not read, whoever else wrote it.
//
//   - [File] (the default, also on an EFS mount) saves atomically: a temporary
//     file in the same folder, fsync, rename over the checkpoint, fsync the
//     folder. Its version is the file's inode number and a SHA-256 of its
//     content, so a save never keeps the version it replaced.
//   - [S3] (s3://bucket/key) saves with PutObject If-Match on the ETag it
//     loaded, or If-None-Match "*" for the first save. Its version is the ETag.
//
// [location.Parse] (package job/location) tells the two kinds of location apart.
//
// # Locks
//
// [Store.Lock] takes the run lock of a checkpoint; while a lock is held, another
// Lock call fails with a [*LockedError] (errors.Is(err, [ErrLocked])) naming the
// holder and when its lock expires. The holder renews the lock while it runs and
// releases it on exit.
//
//   - [File] locks <path>.lock with flock(2). The kernel is the authority: the
//     lock is held exactly as long as the holding process lives, and is released
//     the moment that process dies, even by SIGKILL, so a crash-restart loop
//     never waits. The expiry written into the lock file only informs a refused
//     runner; an expired flock is not taken over.
//   - [S3] creates the object <key>.lock with If-None-Match "*". The object holds
//     the owner and an expiry; [Lock.Renew] pushes the expiry forward with
//     If-Match on the lock's own ETag. A crashed holder's lock stays until it
//     expires; after that the next run takes it over with If-Match, so two
//     contenders cannot both win.
//
// # State format
//
// [State.Encode] writes, and [Decode] reads, this layout (format version 1):
//
//	cognito-mfa-migrate checkpoint v1\n    magic and format version, plain text
//	gzip stream                           (see below)
//	uint64 big endian                     length in bytes of the gzip stream
//	uint32 big endian                     CRC-32C (Castagnoli) of every byte before it
//
// The gzip stream, once decompressed, holds one line of compact JSON, the
// header (every State field except Rows, plus "rows": the number of rows),
// a newline, then the rows as four byte planes: the lowest byte of every row,
// then the second byte of every row, then the third, then the highest. Rows that
// share an outcome share their low byte, so the planes compress far better than
// interleaved words. A 1M-row state with 14 random bits per row encodes to about
// 2 MB.
//
// The magic line makes "not a checkpoint" and "written by a newer version" cheap,
// clear errors ([ErrCorrupt], [ErrVersion]); the length and CRC make any
// truncation or flipped byte an [ErrCorrupt]. The header can be inspected with
// standard tools: tail -c +35 FILE | gunzip 2>/dev/null | head -n 1.
//
// A caller that gets [ErrCorrupt] or [ErrVersion] from [Decode] must stop rather
// than save over the checkpoint; starting over is an explicit operator decision
// (--reset).
package checkpoint
