package job

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
)

// Inputs and checkpoints that the tests and benchmarks build.

// writeUsernames writes a plain CSV at path: a username header and n rows
// named name(0) … name(n-1). It returns the file's SHA-256 (hex), the
// identity a checkpoint of it records.
func writeUsernames(tb testing.TB, path string, n int, name func(int) string) string {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	w.WriteString("username\n")
	for i := range n {
		w.WriteString(name(i))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// doneCheckpoint returns the encoded checkpoint of cfg's job over an input
// of rows rows whose SHA-256 is sum, with its first done rows finished as a
// real pool leaves them (mixed outcomes, states and phone numbers, drawn
// from seed: the phone's last digits are what makes a checkpoint
// incompressible) by an earlier run that stopped for reason.
func doneCheckpoint(tb testing.TB, cfg Config, sum string, rows, done int, reason string, seed uint64) []byte {
	tb.Helper()
	now := time.Now().UTC()
	st := &checkpoint.State{
		Identity: checkpoint.Identity{PoolID: cfg.UserPoolID, InputSHA256: sum, Mode: cfg.Mode(), Flags: cfg.identityFlags()},
		Rows:     make([]uint32, rows),
		Notes:    map[int]string{},
		Stats:    map[string]int64{},
		Runs:     []checkpoint.Run{{ID: "earlier", Started: now.Add(-time.Hour), Ended: now, Reason: reason, Processed: int64(done)}},
		Created:  now.Add(-time.Hour),
		Updated:  now,
	}
	rng := rand.New(rand.NewPCG(seed, seed+1))
	counts := map[string]int64{outcomePending.String(): int64(rows - done)}
	for i := range done {
		st.Rows[i] = doneRow(rng)
		counts[rowOutcome(st.Rows[i]).String()]++
	}
	st.Counts = counts
	data, err := st.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// doneRow returns the checkpoint word of a done row drawn from a realistic
// mix of outcomes.
func doneRow(rng *rand.Rand) uint32 {
	s := userState{Found: true, Enabled: rng.IntN(20) != 0, LegacySMS: true,
		Phone: fmt.Sprintf("+1%03d555%04d", 200+rng.IntN(700), rng.IntN(10000))}
	switch r := rng.IntN(100); {
	case r < 70:
		return encodeRow(outcomeMigrated, &s)
	case r < 80:
		s.SMS, s.Preferred = true, mfaSMS
		return encodeRow(outcomeAlreadyMigrated, &s)
	case r < 88:
		s.LegacySMS = false
		return encodeRow(outcomeNoLegacyMFA, &s)
	case r < 93:
		s.Phone = ""
		return encodeRow(outcomeNoPhone, &s)
	case r < 97:
		return encodeRow(outcomeRejected, &s)
	default:
		return encodeRow(outcomeNotFound, &userState{})
	}
}
