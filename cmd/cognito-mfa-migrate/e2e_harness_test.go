package main

// The end-to-end harness: the command is built once with `go build` and run
// as a subprocess against job/cognitotest (and gofakes3 for S3), both
// listening on loopback in the test process. See e2e_test.go for the tests.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocarina/gocsv"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/jobtest"
)

// e2eVersion is stamped into the test binary with -ldflags, as the release
// build does.
const e2eVersion = "v0.0.0-e2e"

// Operation names as the fake counts them.
const (
	opRead  = "AdminGetUser"
	opWrite = "AdminSetUserMFAPreference"
)

// built is the binary shared by the tests of this package, built on first
// use and removed by TestMain.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// binary returns the path of the command built with `go build`, building
// it on first use. `go test` puts its own go command first in PATH.
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "cognito-mfa-migrate-e2e-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		built.path = filepath.Join(dir, "cognito-mfa-migrate")
		cmd := exec.Command("go", "build", "-o", built.path,
			"-ldflags", "-X main.version="+e2eVersion+" -X main.commit=e2e", ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatalf("build the command: %v", built.err)
	}
	return built.path
}

// fixture is a fake Cognito pool seeded with cognitotest.Mix, a CSV naming
// every seeded user (in the pool or not), and an environment that keeps the
// subprocess off the developer's AWS configuration and off the network.
type fixture struct {
	srv   *cognitotest.Server
	seeds []cognitotest.Seed
	dir   string
	input string
	env   []string
}

func newFixture(t *testing.T, users int) *fixture {
	t.Helper()
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	seeds := cognitotest.Mix(users, 20261126)
	if err := srv.AddSeeds(cognitotest.DefaultPoolID, seeds); err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, seeds: seeds, dir: t.TempDir()}
	f.input = filepath.Join(f.dir, "users.csv")
	writeFile(t, f.input, usersCSV(seeds))
	f.env = isolatedEnv(t, f.dir)
	return f
}

// usersCSV returns a plain CSV of the seeds' usernames.
func usersCSV(seeds []cognitotest.Seed) []byte {
	var b bytes.Buffer
	b.WriteString("username\n")
	for _, s := range seeds {
		b.WriteString(s.User.Username + "\n")
	}
	return b.Bytes()
}

// isolatedEnv is the whole environment of a subprocess: static credentials
// the fakes accept, empty shared config files, no instance metadata, and
// AWS_CA_BUNDLE kept if set (the SDK must keep working with it).
func isolatedEnv(t *testing.T, dir string) []string {
	t.Helper()
	empty := filepath.Join(dir, "aws-config-empty")
	writeFile(t, empty, nil)
	env := []string{
		"AWS_ACCESS_KEY_ID=" + cognitotest.DefaultAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + cognitotest.DefaultSecretAccessKey,
		"AWS_REGION=" + cognitotest.Region,
		"AWS_CONFIG_FILE=" + empty,
		"AWS_SHARED_CREDENTIALS_FILE=" + empty,
		"AWS_EC2_METADATA_DISABLED=true",
		"HOME=" + dir,
		"TMPDIR=" + dir,
	}
	if v, ok := os.LookupEnv("AWS_CA_BUNDLE"); ok {
		env = append(env, "AWS_CA_BUNDLE="+v)
	}
	return env
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkpointPath is where run puts the checkpoint by default.
func (f *fixture) checkpointPath() string { return filepath.Join(f.dir, "users.checkpoint") }

// reportPath is where run puts the report by default.
func (f *fixture) reportPath() string { return filepath.Join(f.dir, "users.report.csv") }

// runArgs returns the arguments of a run of the fixture's input against
// its fake, followed by extra.
func (f *fixture) runArgs(extra ...string) []string {
	return append([]string{"run",
		"--user-pool-id", cognitotest.DefaultPoolID,
		"--input", f.input,
		"--endpoint-url", f.srv.URL,
		"--progress", "none",
		"--log-format", "json",
		"--log-level", "info",
	}, extra...)
}

// proc is a running subprocess whose output is kept for messages.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout lockedBuffer
	stderr lockedBuffer
	done   chan struct{} // closed when the process has exited
	state  *os.ProcessState
}

// start starts the built command with args in the fixture's environment.
// The process is killed at the end of the test if it is still running.
func (f *fixture) start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startEnv(t, f.env, args...)
}

func startEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: strings.Join(args[:min(len(args), 1)], " "), done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// exec runs the command to its end and returns its exit code.
func (f *fixture) exec(t *testing.T, timeout time.Duration, args ...string) (*proc, int) {
	t.Helper()
	p := f.start(t, args...)
	return p, p.wait(t, timeout)
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit and returns its exit code, or -1 if a
// signal ended it. It fails the test if the process outlives timeout.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s still running after %v; killed. stderr:\n%s", p.name, timeout, p.stderr.tail())
	}
	return p.state.ExitCode()
}

// signaled reports the signal that ended the process, if one did.
func (p *proc) signaled() (syscall.Signal, bool) {
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return ws.Signal(), true
}

func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal %s: %v", p.name, err)
	}
}

// pollEvery is how often conditions are polled.
const pollEvery = 2 * time.Millisecond

// waitUntil polls cond until it holds and returns true. It returns false if
// p (when not nil) exits first, and fails the test at the deadline.
func waitUntil(t *testing.T, p *proc, timeout time.Duration, what string, cond func() bool) bool {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var done <-chan struct{}
	if p != nil {
		done = p.done
	}
	for !cond() {
		select {
		case <-done:
			return cond()
		case <-deadline.C:
			msg := ""
			if p != nil {
				msg = "; stderr:\n" + p.stderr.tail()
			}
			t.Fatalf("timed out after %v waiting for %s%s", timeout, what, msg)
		case <-tick.C:
		}
	}
	return true
}

// messages returns what the process said on stderr, for checking its
// content whatever the log format: the string values of each JSON log line
// (message, error, fix, the summary's fields...), one a line, and every
// other line as it is.
func (p *proc) messages() string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			b.WriteString(v + "\n")
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				walk(v[k])
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	for line := range strings.Lines(p.stderr.String()) {
		var v map[string]any
		if json.Unmarshal([]byte(line), &v) == nil {
			walk(v)
		} else {
			b.WriteString(line)
		}
	}
	return b.String()
}

// lockedBuffer is a bytes.Buffer safe for the writes of exec's copying
// goroutine and the reads of the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail returns the last few KiB, for failure messages.
func (l *lockedBuffer) tail() string {
	s := l.String()
	if len(s) > 4<<10 {
		s = "…" + s[len(s)-4<<10:]
	}
	return s
}

// loadStatus describes the checkpoint at loc (file path) as status does.
func loadStatus(t *testing.T, store checkpoint.Store) *job.Status {
	t.Helper()
	st, err := job.LoadStatus(context.WithoutCancel(t.Context()), store, 0, 0)
	if err != nil {
		t.Fatalf("LoadStatus(%s): %v", store, err)
	}
	return st
}

// doneRows returns the rows the checkpoint at path records as done, 0 if
// there is no checkpoint yet.
func doneRows(t *testing.T, path string) int64 {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0
	}
	return loadStatus(t, checkpoint.NewFile(path)).Done
}

// decodeCheckpoint reads and decodes the checkpoint file at path.
func decodeCheckpoint(t *testing.T, path string) *checkpoint.State {
	t.Helper()
	st, err := checkpoint.Decode(readFile(t, path))
	if err != nil {
		t.Fatalf("decode checkpoint %s: %v", path, err)
	}
	return st
}

// parseReport parses a report CSV.
func parseReport(t *testing.T, data []byte) []job.ReportRow {
	t.Helper()
	var rows []job.ReportRow
	if err := gocsv.UnmarshalBytes(data, &rows); err != nil {
		t.Fatalf("parse report: %v", err)
	}
	return rows
}

// wantWrites counts the seeds a real run sends a write for: users it
// migrates and users Cognito rejects the write of.
func (f *fixture) wantWrites() (writes, migrated int) {
	for _, s := range f.seeds {
		switch jobtest.For(s).Outcome {
		case "migrated":
			writes++
			migrated++
		case "rejected":
			writes++
		}
	}
	return writes, migrated
}

// checkUsers checks every seeded user's final MFA state against what the
// decision table says a real run leaves, and that no legacy MFAOptions entry
// was removed.
func (f *fixture) checkUsers(t *testing.T) {
	t.Helper()
	bad := 0
	for _, s := range f.seeds {
		if !s.InPool {
			continue
		}
		u, ok := f.srv.User(cognitotest.DefaultPoolID, s.User.Username)
		if !ok {
			t.Fatalf("user %s is gone from the pool", s.User.Username)
		}
		w := jobtest.For(s)
		if u.SMSEnabled != w.SMS || u.Preferred != w.Preferred || u.TOTPEnabled != w.TOTP || len(u.MFAOptions) != len(s.User.MFAOptions) {
			if bad++; bad <= 10 {
				t.Errorf("user %s (%s): SMS %v, preferred %q, TOTP %v, %d MFAOptions; want SMS %v, preferred %q, TOTP %v, %d MFAOptions",
					u.Username, s.Kind, u.SMSEnabled, u.Preferred, u.TOTPEnabled, len(u.MFAOptions),
					w.SMS, w.Preferred, w.TOTP, len(s.User.MFAOptions))
			}
		}
	}
	if bad > 10 {
		t.Errorf("… %d users in a wrong state in all", bad)
	}
}

// checkReport checks that the report lists every input row exactly once, in
// order, with the outcome its seed wants. A user that needed migrating may
// read already_migrated when redo is true (its change was made by a run
// that was killed before it saved the row). It returns how many did.
func (f *fixture) checkReport(t *testing.T, data []byte, redo bool) (alreadyMigrated int) {
	t.Helper()
	rows := parseReport(t, data)
	if len(rows) != len(f.seeds) {
		t.Fatalf("report has %d rows, want %d (one per input row)", len(rows), len(f.seeds))
	}
	bad := 0
	for i, r := range rows {
		s := f.seeds[i]
		want := jobtest.For(s).Outcome
		ok := r.Line == i+2 && r.Username == s.User.Username && r.Outcome == want
		if !ok && redo && r.Line == i+2 && r.Username == s.User.Username && want == "migrated" && r.Outcome == "already_migrated" {
			ok = true
			alreadyMigrated++
		}
		if !ok {
			if bad++; bad <= 10 {
				t.Errorf("report row %d = line %d, %s, %s; want line %d, %s, %s (%s)", i, r.Line, r.Username, r.Outcome, i+2, s.User.Username, want, s.Kind)
			}
		}
	}
	return alreadyMigrated
}
