package main

// End-to-end tests of the stop path (issue 9): the stop budget, a fatal
// error during a graceful drain, and a runner frozen past its lock.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// lockExists reports whether the S3 lock object of key exists.
func (s *fakeS3) lockExists(t *testing.T, key string) bool {
	t.Helper()
	_, err := s.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(e2eBucket), Key: aws.String(key + ".lock")})
	var nf *s3types.NotFound
	switch {
	case err == nil:
		return true
	case errors.As(err, &nf), strings.Contains(err.Error(), "404"):
		return false
	}
	t.Fatalf("HeadObject %s.lock: %v", key, err)
	return false
}

// writeManyUsers writes a plain input of n usernames that the fake does
// not know (each is read once and recorded not_found).
func writeManyUsers(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("username\n")
	for i := range n {
		fmt.Fprintf(w, "user-%08d\n", i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// reportTempExists reports whether a temporary report file is being
// written in dir (the atomic write's .users.report.csv.tmp-*).
func reportTempExists(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, ".users.report.csv.tmp-*"))
	return len(m) > 0
}

// TestStopBudgetLargeInput stops a run of a 2M-row input whose checkpoint
// is in S3, with calls that hang: the stop path (drain, final save, lock
// release, outputs) fits in --shutdown-timeout. Then it kills a runner
// while it writes its report after a stop: the lock was released before
// the report, so the job stays resumable and the next runner starts at
// once, not refused for --lock-ttl.
func TestStopBudgetLargeInput(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2M-row input: skipped with -short")
	}
	t.Parallel()
	const rows = 2_000_000
	f := newFixture(t, 10)
	writeManyUsers(t, f.input, rows)
	s := newFakeS3(t)
	key := "budget/users.checkpoint"
	args := func(extra ...string) []string {
		// The calls hang for a minute: --call-timeout above that, so that
		// they are still in flight at the stop (not timed out and retried),
		// and no preflight (its probe would wait that minute too).
		return f.runArgs(append([]string{"--checkpoint", "s3://" + e2eBucket + "/" + key, "--s3-endpoint-url", s.url,
			"--read-rps", "500", "--lock-ttl", "2m", "--call-timeout", "90s", "--no-preflight"}, extra...)...)
	}

	// 1. Every call hangs for longer than the drain, and the report is
	// asked for at every stop (a 2M-line report takes longer to write than
	// the budget leaves): SIGTERM must still end the run within the
	// budget, saved and unlocked.
	f.srv.SetFaults(opRead, cognitotest.Faults{Latency: time.Minute})
	p := f.start(t, args("--shutdown-timeout", "5s", "--interim-report", "always")...)
	if !waitUntil(t, p, 2*time.Minute, "calls in flight", func() bool { return f.srv.Calls(opRead) >= 20 }) {
		t.Fatalf("the run exited before making calls; stderr:\n%s", p.stderr.tail())
	}
	p.signal(t, syscall.SIGTERM)
	stopAt := time.Now()
	code := p.wait(t, time.Minute)
	took := time.Since(stopAt)
	t.Logf("SIGTERM to exit: %s (budget 5s)", took.Round(time.Millisecond))
	if code != 4 || took > 7*time.Second {
		t.Fatalf("SIGTERM with --shutdown-timeout 5s: exit %d after %s, want 4 within 5s + 2s; stderr:\n%s", code, took.Round(time.Millisecond), p.stderr.tail())
	}
	if s.lockExists(t, key) {
		t.Error("the lock object is still in S3 after the stop: the next slice would be refused for --lock-ttl")
	}
	if msg := p.messages(); !strings.Contains(msg, "signal again to quit now") {
		t.Errorf("no stop line saying what the run waits for; stderr:\n%s", p.stderr.tail())
	}
	if _, err := s.client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(e2eBucket), Key: aws.String(key)}); err != nil {
		t.Errorf("no checkpoint in S3 after the stop: %v", err)
	}

	// 1b. A budget far too short for a 2M-line report: the report is
	// skipped, saying so and how to rebuild it, and nothing is left behind.
	p = f.start(t, args("--shutdown-timeout", "1s", "--interim-report", "always")...)
	before := f.srv.Calls(opRead)
	if !waitUntil(t, p, 2*time.Minute, "calls in flight", func() bool { return f.srv.Calls(opRead) >= before+20 }) {
		t.Fatalf("the run exited before making calls; stderr:\n%s", p.stderr.tail())
	}
	p.signal(t, syscall.SIGTERM)
	stopAt = time.Now()
	code = p.wait(t, time.Minute)
	took = time.Since(stopAt)
	t.Logf("SIGTERM to exit: %s (budget 1s)", took.Round(time.Millisecond))
	if code != 4 || took > 3*time.Second {
		t.Fatalf("SIGTERM with --shutdown-timeout 1s: exit %d after %s, want 4 within 1s + 2s; stderr:\n%s", code, took.Round(time.Millisecond), p.stderr.tail())
	}
	if msg := p.messages(); !strings.Contains(msg, "not written: the stop budget") || !strings.Contains(msg, "report command rebuilds") {
		t.Errorf("a report the budget could not fit was not said to be skipped, with how to rebuild it; stderr:\n%s", p.stderr.tail())
	}
	if reportTempExists(f.dir) || s.lockExists(t, key) {
		t.Error("the skipped report left a temporary file, or the lock was not released")
	}

	// 2. A stop whose budget leaves time for the report; SIGKILL lands
	// while it is written. (--interim-report always: by default a short
	// stopped run of a 2M-row job leaves the report to the job's end.)
	f.srv.SetFaults(opRead, cognitotest.Faults{})
	p = f.start(t, args("--shutdown-timeout", "2m", "--interim-report", "always")...)
	before = f.srv.Calls(opRead)
	if !waitUntil(t, p, 2*time.Minute, "the resumed run's calls", func() bool { return f.srv.Calls(opRead) >= before+50 }) {
		t.Fatalf("the resumed run exited before making calls; stderr:\n%s", p.stderr.tail())
	}
	p.signal(t, syscall.SIGTERM)
	if !waitUntil(t, p, time.Minute, "the report being written", func() bool { return reportTempExists(f.dir) }) {
		t.Fatalf("the stopped run never wrote its report; stderr:\n%s", p.stderr.tail())
	}
	if s.lockExists(t, key) {
		t.Error("the report is being written while the lock is still held: a kill now would block the next runner")
	}
	p.signal(t, syscall.SIGKILL)
	p.wait(t, 10*time.Second)

	// 3. The next runner starts at once and resumes.
	next, code := f.exec(t, 2*time.Minute, args("--max-users", "100")...)
	if code != 4 || strings.Contains(next.messages(), "locked") {
		t.Fatalf("runner after the kill: exit %d, want 4 (--max-users, resumable), not refused; stderr:\n%s", code, next.stderr.tail())
	}
	if !strings.Contains(next.messages(), "resuming from checkpoint") {
		t.Errorf("the next runner did not resume from the checkpoint; stderr:\n%s", next.stderr.tail())
	}
}

// TestFatalDuringDrainWins sends SIGTERM, then lets the credentials expire
// while the users in flight drain: the run ends with exit 1 and the
// credentials' fix, not with exit 4 as if the stop had been clean.
func TestFatalDuringDrainWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 400)
	f.srv.SetFaults(opRead, cognitotest.Faults{Latency: 300 * time.Millisecond})
	p := f.start(t, f.runArgs("--read-rps", "0", "--write-rps", "0", "--shutdown-timeout", "20s")...)
	if !waitUntil(t, p, time.Minute, "users in flight", func() bool { return f.srv.Calls(opRead) >= 20 }) {
		t.Fatalf("the run exited before making calls; stderr:\n%s", p.stderr.tail())
	}
	p.signal(t, syscall.SIGTERM)
	f.srv.SetAuthError("ExpiredTokenException", "")
	code := p.wait(t, time.Minute)
	msg := p.messages()
	if code != 1 || !strings.Contains(msg, "fix: the session token expired") {
		t.Errorf("credentials expired during the drain: exit %d, want 1 with the credentials fix; stderr:\n%s", code, p.stderr.tail())
	}
}

// TestFrozenRunnerSendsNothing freezes a runner (SIGSTOP) past its S3
// lock's lifetime; a second runner takes the job over and finishes it;
// the first is then resumed (SIGCONT). It must make no Cognito write, no
// save, and leave the finished job's report and summary as they were.
func TestFrozenRunnerSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 400)
	s := newFakeS3(t)
	key := "frozen/users.checkpoint"
	args := func(extra ...string) []string {
		return f.runArgs(append([]string{"--checkpoint", "s3://" + e2eBucket + "/" + key, "--s3-endpoint-url", s.url,
			"--lock-ttl", "3s", "--save-interval", "200ms"}, extra...)...)
	}
	first := f.start(t, args("--read-rps", "20", "--write-rps", "20")...)
	if !waitUntil(t, first, time.Minute, "writes", func() bool { return f.srv.Calls(opWrite) >= 5 }) {
		t.Fatalf("the first runner exited before writing; stderr:\n%s", first.stderr.tail())
	}
	first.signal(t, syscall.SIGSTOP)
	t.Cleanup(func() { _ = first.cmd.Process.Signal(syscall.SIGCONT) })
	<-time.After(4 * time.Second) // past the lock's lifetime

	second, code := f.exec(t, 2*time.Minute, args("--read-rps", "0", "--write-rps", "0")...)
	if code != 0 {
		t.Fatalf("second runner: exit %d, want 0 (it takes the expired lock over and finishes); stderr:\n%s", code, second.stderr.tail())
	}
	f.checkUsers(t)
	report, summary := readFile(t, f.reportPath()), readFile(t, filepath.Join(f.dir, "users.summary.json"))
	checkpointBytes := s.get(t, key)
	writes := f.srv.Calls(opWrite)

	first.signal(t, syscall.SIGCONT)
	code = first.wait(t, time.Minute)
	if code != 1 || !strings.Contains(first.messages(), "--lock-ttl") {
		t.Errorf("resumed frozen runner: exit %d, want 1 saying it lost its lock; stderr:\n%s", code, first.stderr.tail())
	}
	if got := f.srv.Calls(opWrite); got != writes {
		t.Errorf("the resumed frozen runner made %d Cognito writes, want 0", got-writes)
	}
	if !bytes.Equal(s.get(t, key), checkpointBytes) {
		t.Error("the resumed frozen runner saved the checkpoint over the second runner's")
	}
	if !bytes.Equal(readFile(t, f.reportPath()), report) || !bytes.Equal(readFile(t, filepath.Join(f.dir, "users.summary.json")), summary) {
		t.Error("the resumed frozen runner rewrote the finished job's report or summary")
	}
	f.checkUsers(t)
}
