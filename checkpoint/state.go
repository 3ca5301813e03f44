package checkpoint

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
)

// FormatVersion is the state format version Encode writes and the newest one
// Decode reads.
const FormatVersion = 1

// magicPrefix starts every encoded state; the format version and a newline
// follow it.
const magicPrefix = "cognito-mfa-migrate checkpoint v"

// trailerSize is the length of the binary trailer: the uint64 length of the
// gzip stream and the uint32 CRC-32C.
const trailerSize = 8 + 4

// maxRows bounds the row count Decode accepts, so a damaged header cannot
// make it allocate without limit.
const maxRows = 1 << 28

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Identity says which job a checkpoint belongs to. A run resumes a checkpoint
// only if the identities are equal. The zero value is an identity with every
// field empty.
type Identity struct {
	// PoolID is the Cognito user pool ID.
	PoolID string `json:"pool_id"`
	// InputSHA256 is the hex SHA-256 of the input CSV.
	InputSHA256 string `json:"input_sha256"`
	// Mode is the run mode, e.g. "apply" or "dry-run".
	Mode string `json:"mode"`
	// Flags holds the flags that change decisions, by flag name. A missing
	// flag and a flag with the empty value are the same.
	Flags map[string]string `json:"flags,omitempty"`
}

// Diff compares a checkpoint's identity a with this run's identity b and
// returns one line per difference, such as
//
//	pool: "us-east-1_a" (checkpoint) vs "us-east-1_b" (this run)
//
// in a fixed order: pool, input, mode, then flags sorted by name. It returns
// nil if the identities are equal.
func (a Identity) Diff(b Identity) []string {
	var out []string
	line := func(what, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s: %q (checkpoint) vs %q (this run)", what, x, y))
		}
	}
	line("pool", a.PoolID, b.PoolID)
	line("input SHA-256", a.InputSHA256, b.InputSHA256)
	line("mode", a.Mode, b.Mode)
	names := slices.Sorted(maps.Keys(a.Flags))
	for name := range b.Flags {
		if _, ok := a.Flags[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		line("flag "+name, a.Flags[name], b.Flags[name])
	}
	return out
}

// CheckIdentity compares the identity saved in the checkpoint at store with
// this run's and returns an *IdentityMismatchError listing the differences, or
// nil if they are equal.
func CheckIdentity(store string, saved, run Identity) error {
	if d := saved.Diff(run); len(d) > 0 {
		return &IdentityMismatchError{Store: store, Diffs: d}
	}
	return nil
}

// Run records one run of a job in the checkpoint's history.
type Run struct {
	// ID identifies the run, e.g. a random hex string.
	ID string `json:"id"`
	// Host is where the run ran: host name or ECS task ID.
	Host string `json:"host,omitempty"`
	// Version is the program version that ran.
	Version string `json:"version,omitempty"`
	// Started is when the run started.
	Started time.Time `json:"started,omitzero"`
	// Ended is when the run ended cleanly; zero means it did not (it crashed,
	// was killed, or is still running).
	Ended time.Time `json:"ended,omitzero"`
	// Reason says why the run ended, e.g. "done", "signal", "max-duration".
	Reason string `json:"reason,omitempty"`
	// ExitCode is the exit code the run ended with; nil when it did not end
	// cleanly, or was recorded before the field existed.
	ExitCode *int `json:"exit_code,omitempty"`
	// Processed is the number of rows the run settled.
	Processed int64 `json:"processed,omitempty"`
	// Figures holds the run's measured figures, such as achieved request
	// rates and throttles, by name; the job defines the names.
	Figures map[string]float64 `json:"figures,omitempty"`
	// Series is the run's calls over time, oldest first: one point per
	// interval (a minute, or longer when a long run's series was thinned to
	// stay bounded; the job bounds it). Checkpoints written before it
	// existed have none.
	Series []Point `json:"series,omitempty"`
}

// Point counts a run's calls over one interval of its series.
type Point struct {
	// Start is the start of the interval, in seconds after Run.Started.
	Start int64 `json:"t"`
	// Seconds is the interval's length.
	Seconds int64 `json:"s"`
	// Reads, Writes and Throttles count the read calls (AdminGetUser), the
	// write calls (AdminSetUserMFAPreference) and the throttled answers
	// sent or received in the interval; retries count.
	Reads     int64 `json:"r,omitempty"`
	Writes    int64 `json:"w,omitempty"`
	Throttles int64 `json:"th,omitempty"`
}

// State is the content of a checkpoint. The package owns its encoding; the
// job package owns the meaning of each row word, note and counter. The zero
// value is an empty state ready to fill. A State is not safe for concurrent
// use: Encode writes Format, so it must not run concurrently with any other
// use of the same State. Strings are stored as UTF-8; invalid bytes in them
// come back as U+FFFD.
type State struct {
	// Format is the format version, set by Encode and Decode.
	Format int
	// Identity says which job the checkpoint belongs to.
	Identity Identity
	// Rows holds one opaque word per input data row; len(Rows) is the number
	// of data rows in the CSV.
	Rows []uint32
	// Notes holds sparse per-row text (error codes, invalid-input reasons,
	// "duplicate of line N") by row index.
	Notes map[int]string
	// Counts holds the number of rows per outcome.
	Counts map[string]int64
	// Stats holds cumulative counters: calls, throttles, retries...
	Stats map[string]int64
	// Runs is the history of runs, oldest first.
	Runs []Run
	// Created is when the checkpoint was first written.
	Created time.Time
	// Updated is when the checkpoint was last written.
	Updated time.Time
}

// header is the JSON line of the encoded state: everything but the rows.
type header struct {
	Identity Identity         `json:"identity"`
	Rows     int              `json:"rows"`
	Counts   map[string]int64 `json:"counts,omitempty"`
	Stats    map[string]int64 `json:"stats,omitempty"`
	Notes    map[int]string   `json:"notes,omitempty"`
	Runs     []Run            `json:"runs,omitempty"`
	Created  time.Time        `json:"created,omitzero"`
	Updated  time.Time        `json:"updated,omitzero"`
}

// Encode sets s.Format to FormatVersion and returns the encoded state in the
// format the package documentation describes. Times are stored in UTC with
// their nanoseconds; monotonic clock readings and time zones are dropped. The
// output is deterministic: equal states encode to equal bytes. It returns an
// error only if the state is too large to encode.
func (s *State) Encode() ([]byte, error) {
	if len(s.Rows) > maxRows {
		return nil, fmt.Errorf("encode checkpoint: %d rows is more than the %d the format allows", len(s.Rows), maxRows)
	}
	s.Format = FormatVersion
	h := header{
		Identity: s.Identity,
		Rows:     len(s.Rows),
		Counts:   s.Counts,
		Stats:    s.Stats,
		Notes:    s.Notes,
		Created:  s.Created.UTC(),
		Updated:  s.Updated.UTC(),
	}
	if len(s.Runs) > 0 {
		h.Runs = make([]Run, len(s.Runs))
		for i, r := range s.Runs {
			r.Started, r.Ended = r.Started.UTC(), r.Ended.UTC()
			h.Runs[i] = r
		}
	}
	js, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode checkpoint header: %w", err)
	}

	n := len(s.Rows)
	var buf bytes.Buffer
	buf.Grow(len(js) + n/2 + 64)
	buf.WriteString(magicPrefix + strconv.Itoa(FormatVersion) + "\n")
	start := buf.Len()
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	// Writes to a bytes.Buffer cannot fail; Close reports any error.
	_, _ = zw.Write(js)
	_, _ = zw.Write([]byte{'\n'})
	// The byte planes are streamed through a small buffer rather than built
	// whole: a 1M-row state would otherwise need 4 MB more while saving.
	chunk := make([]byte, min(n, 64<<10))
	for shift := 0; shift < 32; shift += 8 {
		for i := 0; i < n; i += len(chunk) {
			rows := s.Rows[i:min(i+len(chunk), n)]
			for j, w := range rows {
				chunk[j] = byte(w >> shift)
			}
			_, _ = zw.Write(chunk[:len(rows)])
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("encode checkpoint: %w", err)
	}
	out := binary.BigEndian.AppendUint64(buf.Bytes(), uint64(buf.Len()-start))
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli)), nil
}

// Decode parses an encoded state. It returns an error wrapping ErrCorrupt,
// with the detail, if data is empty, truncated, fails its checksum or is not
// a checkpoint, and one wrapping ErrVersion if a newer format version wrote
// it. The maps of the returned state (Notes, Counts, Stats, Identity.Flags)
// are never nil, and its times are in UTC.
func Decode(data []byte) (*State, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrCorrupt)
	}
	nl := bytes.IndexByte(data[:min(len(data), len(magicPrefix)+12)], '\n')
	if nl < 0 {
		if len(data) < len(magicPrefix)+12 && bytes.HasPrefix([]byte(magicPrefix), data[:min(len(data), len(magicPrefix))]) {
			return nil, fmt.Errorf("%w: truncated to %d bytes", ErrCorrupt, len(data))
		}
		return nil, fmt.Errorf("%w: not a cognito-mfa-migrate checkpoint (it does not start with %q)", ErrCorrupt, magicPrefix+"N")
	}
	line := string(data[:nl])
	num, ok := trimPrefix(line, magicPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: not a cognito-mfa-migrate checkpoint (it does not start with %q)", ErrCorrupt, magicPrefix+"N")
	}
	version, err := strconv.Atoi(num)
	if err != nil || version < 1 || num[0] == '+' || num[0] == '-' {
		return nil, fmt.Errorf("%w: bad format version %q", ErrCorrupt, num)
	}
	if version > FormatVersion {
		return nil, fmt.Errorf("%w: it has format v%d and this program reads up to v%d; upgrade cognito-mfa-migrate to resume it",
			ErrVersion, version, FormatVersion)
	}

	rest := data[nl+1:]
	if len(rest) < trailerSize {
		return nil, fmt.Errorf("%w: truncated to %d bytes", ErrCorrupt, len(data))
	}
	body := rest[:len(rest)-trailerSize]
	bodyLen := binary.BigEndian.Uint64(rest[len(body):])
	sum := binary.BigEndian.Uint32(rest[len(body)+8:])
	if bodyLen != uint64(len(body)) {
		return nil, fmt.Errorf("%w: truncated or damaged (its size, %d bytes, does not match the length in its trailer)", ErrCorrupt, len(data))
	}
	if got := crc32.Checksum(data[:len(data)-4], castagnoli); got != sum {
		return nil, fmt.Errorf("%w: checksum mismatch (CRC-32C %08x, want %08x)", ErrCorrupt, got, sum)
	}

	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip stream: %w", ErrCorrupt, unexpected(err))
	}
	br := bufio.NewReaderSize(zr, 64<<10)
	js, err := br.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("%w: reading header: %w", ErrCorrupt, unexpected(err))
	}
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrCorrupt, err)
	}
	if h.Rows < 0 || h.Rows > maxRows {
		return nil, fmt.Errorf("%w: header: bad row count %d", ErrCorrupt, h.Rows)
	}
	n := h.Rows
	planes := make([]byte, 4*n)
	if _, err := io.ReadFull(br, planes); err != nil {
		return nil, fmt.Errorf("%w: reading rows: %w", ErrCorrupt, unexpected(err))
	}
	// Read to the end so gzip verifies its own checksum, and refuse extra data.
	switch extra, err := io.Copy(io.Discard, br); {
	case err != nil:
		return nil, fmt.Errorf("%w: gzip stream: %w", ErrCorrupt, err)
	case extra > 0:
		return nil, fmt.Errorf("%w: %d bytes after the rows", ErrCorrupt, extra)
	}

	s := &State{
		Format:   version,
		Identity: h.Identity,
		Rows:     make([]uint32, n),
		Notes:    h.Notes,
		Counts:   h.Counts,
		Stats:    h.Stats,
		Runs:     h.Runs,
		Created:  h.Created,
		Updated:  h.Updated,
	}
	for i := range s.Rows {
		s.Rows[i] = uint32(planes[i]) | uint32(planes[n+i])<<8 | uint32(planes[2*n+i])<<16 | uint32(planes[3*n+i])<<24
	}
	if s.Identity.Flags == nil {
		s.Identity.Flags = map[string]string{}
	}
	if s.Notes == nil {
		s.Notes = map[int]string{}
	}
	if s.Counts == nil {
		s.Counts = map[string]int64{}
	}
	if s.Stats == nil {
		s.Stats = map[string]int64{}
	}
	return s, nil
}

// trimPrefix is strings.CutPrefix that also requires something after the
// prefix.
func trimPrefix(s, prefix string) (string, bool) {
	if len(s) <= len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	return s[len(prefix):], true
}

// unexpected turns a premature io.EOF into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
