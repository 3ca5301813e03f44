package checkpoint_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
)

// fullState returns a state with every field set.
func fullState() *checkpoint.State {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	return &checkpoint.State{
		Identity: checkpoint.Identity{
			PoolID:      "us-east-1_AbCdEf",
			InputSHA256: strings.Repeat("ab", 32),
			Mode:        "apply",
			Flags:       map[string]string{"prefer": "sms", "skip-unverified": "true"},
		},
		Rows:   []uint32{0, 1, 0xffffffff, 0x01020304, 7, 7, 7, 1 << 31},
		Notes:  map[int]string{1: "duplicate of line 2", 3: "InvalidParameterException: bad \"phone\"\nsecond line", 7: "ünïcødé"},
		Counts: map[string]int64{"migrated": 3, "already_migrated": 2, "failed": 1},
		Stats:  map[string]int64{"calls.AdminGetUser": 8, "throttles": 2},
		Runs: []checkpoint.Run{
			{ID: "r1", Host: "laptop", Version: "v0.1.0", Started: t0, Ended: t0.Add(time.Hour), Reason: "signal", Processed: 5},
			{ID: "r2", Host: "ecs-task-9", Version: "v0.1.1", Started: t0.Add(2 * time.Hour), Processed: 3},
		},
		Created: t0,
		Updated: t0.Add(3 * time.Hour),
	}
}

// emptyState is what Decode returns for an encoded zero State.
func emptyState() *checkpoint.State {
	return &checkpoint.State{
		Identity: checkpoint.Identity{Flags: map[string]string{}},
		Rows:     []uint32{},
		Notes:    map[int]string{},
		Counts:   map[string]int64{},
		Stats:    map[string]int64{},
	}
}

func TestStateRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   *checkpoint.State
		want *checkpoint.State
	}{
		{"zero", &checkpoint.State{}, emptyState()},
		{"empty maps", emptyState(), emptyState()},
		{"full", fullState(), fullState()},
		{"realistic 10k rows", realisticState(10_000, 1), realisticState(10_000, 1)},
		{"local times become UTC", func() *checkpoint.State {
			s := emptyState()
			s.Created = time.Date(2025, 6, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600))
			return s
		}(), func() *checkpoint.State {
			s := emptyState()
			s.Created = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
			return s
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.in.Encode()
			if err != nil {
				t.Fatalf("Encode() = %v", err)
			}
			if tt.in.Format != checkpoint.FormatVersion {
				t.Errorf("after Encode, Format = %d, want %d", tt.in.Format, checkpoint.FormatVersion)
			}
			got, err := checkpoint.Decode(data)
			if err != nil {
				t.Fatalf("Decode(Encode()) = %v", err)
			}
			tt.want.Format = checkpoint.FormatVersion
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(Encode(s)) =\n%+v\nwant\n%+v", got, tt.want)
			}
			again, err := got.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Errorf("Encode(Decode(data)) differs from data: the encoding is not deterministic")
			}
		})
	}
}

func TestDecodeTruncated(t *testing.T) {
	data, err := fullState().Encode()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		if _, err := checkpoint.Decode(data[:n]); !errors.Is(err, checkpoint.ErrCorrupt) {
			t.Errorf("Decode(first %d of %d bytes) = %v, want ErrCorrupt", n, len(data), err)
		}
	}
	if _, err := checkpoint.Decode(append(data, 0)); !errors.Is(err, checkpoint.ErrCorrupt) {
		t.Errorf("Decode(data + 1 byte) = %v, want ErrCorrupt", err)
	}
}

func TestDecodeFlippedByte(t *testing.T) {
	data, err := fullState().Encode()
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(data)
			bad[i] ^= mask
			if _, err := checkpoint.Decode(bad); !errors.Is(err, checkpoint.ErrCorrupt) {
				t.Errorf("Decode(byte %d of %d ^ %#x) = %v, want ErrCorrupt", i, len(data), mask, err)
			}
		}
	}
}

// frame wraps a body in the v1 envelope with a valid length and CRC, to reach
// the checks behind the checksum.
func frame(version string, body []byte) []byte {
	out := append([]byte("cognito-mfa-migrate checkpoint "+version+"\n"), body...)
	out = binary.BigEndian.AppendUint64(out, uint64(len(body)))
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, crc32.MakeTable(crc32.Castagnoli)))
}

func gz(parts ...[]byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	for _, p := range parts {
		w.Write(p)
	}
	w.Close()
	return b.Bytes()
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want error
		msg  string // in the error message
	}{
		{"empty", nil, checkpoint.ErrCorrupt, "empty"},
		{"not a checkpoint: text", []byte("user,phone\nalice,+15550100\n"), checkpoint.ErrCorrupt, "not a cognito-mfa-migrate checkpoint"},
		{"not a checkpoint: JSON", []byte(`{"rows": 3}`), checkpoint.ErrCorrupt, "not a cognito-mfa-migrate checkpoint"},
		{"not a checkpoint: gzip", gz([]byte("hello")), checkpoint.ErrCorrupt, "not a cognito-mfa-migrate checkpoint"},
		{"not a checkpoint: long first line", []byte(strings.Repeat("x", 1000)), checkpoint.ErrCorrupt, "not a cognito-mfa-migrate checkpoint"},
		{"magic only", []byte("cognito-mfa-migrate checkpoint v1"), checkpoint.ErrCorrupt, "truncated"},
		{"magic and newline", []byte("cognito-mfa-migrate checkpoint v1\n"), checkpoint.ErrCorrupt, "truncated"},
		{"future version", frame("v9", gz([]byte("{}\n"))), checkpoint.ErrVersion, "upgrade"},
		{"future version, unknown layout", []byte("cognito-mfa-migrate checkpoint v12\nwhatever comes next"), checkpoint.ErrVersion, "v12"},
		{"version zero", frame("v0", gz([]byte("{}\n"))), checkpoint.ErrCorrupt, "bad format version"},
		{"version not a number", frame("vx", gz([]byte("{}\n"))), checkpoint.ErrCorrupt, "bad format version"},
		{"body not gzip", frame("v1", []byte("plain")), checkpoint.ErrCorrupt, "gzip"},
		{"no header line", frame("v1", gz([]byte(`{"rows":0}`))), checkpoint.ErrCorrupt, "header"},
		{"header not JSON", frame("v1", gz([]byte("rows=0\n"))), checkpoint.ErrCorrupt, "header"},
		{"negative rows", frame("v1", gz([]byte(`{"rows":-1}`+"\n"))), checkpoint.ErrCorrupt, "row count"},
		{"rows short", frame("v1", gz([]byte(`{"rows":2}`+"\n"), []byte{1, 2, 3})), checkpoint.ErrCorrupt, "reading rows"},
		{"data after rows", frame("v1", gz([]byte(`{"rows":1}`+"\n"), []byte{1, 2, 3, 4, 5})), checkpoint.ErrCorrupt, "after the rows"},
		{"gzip stream cut", frame("v1", gz([]byte(`{"rows":1}`+"\n"), []byte{1, 2, 3, 4})[:20]), checkpoint.ErrCorrupt, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := checkpoint.Decode(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode() = %+v, %v; want %v", s, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Decode() error %q does not contain %q", err, tt.msg)
			}
		})
	}
	// The envelope built by frame is the real one: a valid body decodes.
	if _, err := checkpoint.Decode(frame("v1", gz([]byte(`{"rows":1}`+"\n"), []byte{1, 2, 3, 4}))); err != nil {
		t.Errorf("Decode(valid hand-built checkpoint) = %v", err)
	}
}

func TestIdentityDiff(t *testing.T) {
	base := checkpoint.Identity{PoolID: "us-east-1_a", InputSHA256: "aaa", Mode: "apply", Flags: map[string]string{"prefer": "sms"}}
	with := func(f func(*checkpoint.Identity)) checkpoint.Identity {
		id := base
		id.Flags = map[string]string{"prefer": "sms"}
		f(&id)
		return id
	}
	tests := []struct {
		name string
		run  checkpoint.Identity
		want []string
	}{
		{"equal", with(func(*checkpoint.Identity) {}), nil},
		{"pool", with(func(id *checkpoint.Identity) { id.PoolID = "us-east-1_b" }),
			[]string{`pool: "us-east-1_a" (checkpoint) vs "us-east-1_b" (this run)`}},
		{"input and mode", with(func(id *checkpoint.Identity) { id.InputSHA256 = "bbb"; id.Mode = "dry-run" }),
			[]string{`input SHA-256: "aaa" (checkpoint) vs "bbb" (this run)`, `mode: "apply" (checkpoint) vs "dry-run" (this run)`}},
		{"flag changed", with(func(id *checkpoint.Identity) { id.Flags["prefer"] = "totp" }),
			[]string{`flag prefer: "sms" (checkpoint) vs "totp" (this run)`}},
		{"flags added and removed, sorted", with(func(id *checkpoint.Identity) { id.Flags = map[string]string{"z-new": "1", "a-new": "2"} }),
			[]string{`flag a-new: "" (checkpoint) vs "2" (this run)`, `flag prefer: "sms" (checkpoint) vs "" (this run)`, `flag z-new: "" (checkpoint) vs "1" (this run)`}},
		{"empty flag equals missing flag", with(func(id *checkpoint.Identity) { id.Flags["extra"] = "" }), nil},
		{"nil flags vs empty map", func() checkpoint.Identity {
			id := with(func(*checkpoint.Identity) {})
			return id
		}(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := base.Diff(tt.run); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
	if got := (checkpoint.Identity{}).Diff(checkpoint.Identity{Flags: map[string]string{}}); got != nil {
		t.Errorf("Diff(nil flags, empty flags) = %q, want nil", got)
	}
}

func TestCheckIdentity(t *testing.T) {
	a := checkpoint.Identity{PoolID: "us-east-1_a", Mode: "apply"}
	if err := checkpoint.CheckIdentity("ckpt", a, a); err != nil {
		t.Errorf("CheckIdentity(equal) = %v, want nil", err)
	}
	b := a
	b.PoolID = "us-east-1_b"
	err := checkpoint.CheckIdentity("s3://bkt/ckpt", a, b)
	var ime *checkpoint.IdentityMismatchError
	if !errors.Is(err, checkpoint.ErrIdentityMismatch) || !errors.As(err, &ime) {
		t.Fatalf("CheckIdentity(different pools) = %v, want an *IdentityMismatchError", err)
	}
	for _, want := range []string{"s3://bkt/ckpt", `pool: "us-east-1_a" (checkpoint) vs "us-east-1_b" (this run)`, "--reset"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not contain %q", err, want)
		}
	}
}

func TestLockedErrorMessage(t *testing.T) {
	acquired := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	holder := checkpoint.LockInfo{Owner: "task-7", Acquired: acquired, Expires: acquired.Add(2 * time.Minute)}
	tests := []struct {
		name string
		err  *checkpoint.LockedError
		want []string
	}{
		{"s3", &checkpoint.LockedError{Store: "s3://b/k", Holder: holder},
			[]string{`checkpoint s3://b/k is locked by "task-7" since 2025-06-01T12:00:00Z`, "until 2025-06-01T12:02:00Z", "if it crashed"}},
		{"flock", &checkpoint.LockedError{Store: "/data/ckpt", Holder: holder, Kernel: true},
			[]string{`checkpoint /data/ckpt is locked by "task-7"`, "renewed until 2025-06-01T12:02:00Z", "still running", "frees the lock at once"}},
		{"unknown holder", &checkpoint.LockedError{Store: "/data/ckpt", Kernel: true},
			[]string{"locked by an unknown owner;", "still running"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Error() = %q, want it to contain %q", msg, w)
				}
			}
			if !errors.Is(tt.err, checkpoint.ErrLocked) {
				t.Errorf("errors.Is(%T, ErrLocked) = false", tt.err)
			}
		})
	}
}

// realisticState returns a state of n rows shaped like a real job's: 90% of
// rows share one outcome byte, the rest spread over ten others; every row
// carries 14 random bits (a masked phone's last digits) in bits 8-21; 1% of
// rows have a note.
func realisticState(n int, seed uint64) *checkpoint.State {
	r := rand.New(rand.NewPCG(seed, 42))
	s := &checkpoint.State{
		Identity: checkpoint.Identity{PoolID: "us-east-1_AbCdEf", InputSHA256: strings.Repeat("0f", 32), Mode: "apply",
			Flags: map[string]string{"prefer": "sms"}},
		Rows:    make([]uint32, n),
		Notes:   map[int]string{},
		Counts:  map[string]int64{},
		Stats:   map[string]int64{"calls": int64(2 * n), "throttles": 1234, "retries": 567},
		Created: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		Updated: time.Date(2025, 6, 1, 15, 0, 0, 0, time.UTC),
	}
	reasons := []string{"UserNotFoundException", "InvalidParameterException: phone_number not verified", "TooManyRequestsException after 8 retries"}
	for i := range s.Rows {
		outcome := uint32(3)
		if r.IntN(10) == 0 {
			outcome = uint32(1 + r.IntN(10))
		}
		s.Rows[i] = outcome | uint32(r.IntN(1<<14))<<8
		s.Counts[fmt.Sprint("outcome-", outcome)]++
		if r.IntN(100) == 0 {
			if r.IntN(2) == 0 {
				s.Notes[i] = fmt.Sprintf("duplicate of line %d", r.IntN(i+1)+2)
			} else {
				s.Notes[i] = reasons[r.IntN(len(reasons))]
			}
		}
	}
	for i := range 20 {
		s.Runs = append(s.Runs, checkpoint.Run{ID: fmt.Sprintf("run-%02d", i), Host: "ecs-task", Version: "v1.0.0",
			Started: s.Created.Add(time.Duration(i) * time.Hour), Ended: s.Created.Add(time.Duration(i)*time.Hour + 50*time.Minute),
			Reason: "max-duration", Processed: int64(n / 20)})
	}
	return s
}

// TestEncodedSize checks the size bound on 100k rows (bytes, not time): a
// realistic state must stay near the entropy of its random bits.
func TestEncodedSize(t *testing.T) {
	const n = 100_000
	data, err := realisticState(n, 7).Encode()
	if err != nil {
		t.Fatal(err)
	}
	// 14 random bits per row alone are 1.75 bytes per row.
	if max := 3 * n; len(data) > max {
		t.Errorf("encoded %d realistic rows in %d bytes, want at most %d (3 bytes per row)", n, len(data), max)
	}
}

func BenchmarkEncode(b *testing.B) {
	s := realisticState(1_000_000, 1)
	var size int
	for b.Loop() {
		data, err := s.Encode()
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "bytes")
	b.ReportMetric(float64(size)/float64(len(s.Rows)), "bytes/row")
}

func BenchmarkDecode(b *testing.B) {
	data, err := realisticState(1_000_000, 1).Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := checkpoint.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}
