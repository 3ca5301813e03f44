package main

// End-to-end tests of resumable runs: the built binary as a subprocess
// against the fake Cognito, killed, signalled, raced and restarted.

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/jobtest"
)

// lossWindow is the documented bound on the rows one crash can lose, that
// is the rows a resume reads again. Rows are saved every saveInterval (the
// recorder checks every min(saveInterval, 1s)), so at most the rows read in
// saveInterval plus one check are recorded but unsaved, plus 0.1 s of reads
// for the read limiter's burst and the time between a read and its record.
// A save blocks the recorder, and while it does the pipeline holds at most
// what the workers have in flight plus the result queue (3 × workers), once
// for the save that made the durable checkpoint and once for the save the
// crash interrupted. A lost row costs one more AdminGetUser; a user
// migrated by the lost work reads already_migrated and is not written
// again (only a write Cognito rejected is sent again).
func lossWindow(readRPS float64, saveInterval time.Duration, workers int) int {
	check := min(saveInterval, time.Second)
	return int(math.Ceil(readRPS*(saveInterval+check+100*time.Millisecond).Seconds())) + 6*workers + 1
}

// TestCrashResume kills the command with SIGKILL at random points of a
// 5,000-user migration and restarts it each time. At the end every user must
// be in the right state, the report must list every row once with its final
// outcome, each kill must have lost no more than the loss window, and no
// user's change may have been applied twice.
func TestCrashResume(t *testing.T) {
	t.Parallel()
	const (
		users        = 5000
		kills        = 12
		readRPS      = 500.0
		workers      = 8
		saveInterval = 100 * time.Millisecond
		seed         = 1126
	)
	f := newFixture(t, users)
	// A little latency keeps calls in flight when the kills land.
	f.srv.SetFaults("", cognitotest.Faults{Latency: time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 1})
	args := f.runArgs("--read-rps", fmt.Sprint(readRPS), "--write-rps", "500", "--workers", strconv.Itoa(workers),
		"--save-every", "100", "--save-interval", saveInterval.String())
	window := lossWindow(readRPS, saveInterval, workers)
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d, loss window %d rows per kill (--read-rps %v --save-interval %v --workers %d)", seed, window, readRPS, saveInterval, workers)

	// Kill points: each run is killed after a random number of reads (so
	// every kill lands mid-run, at a random point between saves), few
	// enough in all that the job cannot end before the last kill.
	const minReads, maxReads = 60, 400
	points := make([]int, kills)
	for i := range points {
		points[i] = minReads + rng.IntN(maxReads-minReads+1)
	}

	var totalLost int
	for i, point := range points {
		doneBefore := doneRows(t, f.checkpointPath())
		readsBefore := f.srv.Calls(opRead)
		p := f.start(t, args...)
		if !waitUntil(t, p, 2*time.Minute, fmt.Sprintf("kill %d after %d reads", i+1, point), func() bool { return f.srv.Calls(opRead)-readsBefore >= point }) {
			t.Fatalf("kill %d: the run exited with %d before %d reads; stderr:\n%s", i+1, p.state.ExitCode(), point, p.stderr.tail())
		}
		p.signal(t, syscall.SIGKILL)
		if code := p.wait(t, 10*time.Second); code != -1 {
			t.Fatalf("kill %d: the run exited with %d before SIGKILL landed; stderr:\n%s", i+1, code, p.stderr.tail())
		}
		reads := f.srv.Calls(opRead) - readsBefore
		saved := int(doneRows(t, f.checkpointPath()) - doneBefore)
		lost := reads - saved
		t.Logf("kill %2d after %3d reads: this run read %4d users, saved %4d, lost %3d", i+1, point, reads, saved, lost)
		if lost > window {
			t.Errorf("kill %d lost %d rows (read %d, saved %d), more than the loss window of %d", i+1, lost, reads, saved, window)
		}
		totalLost += lost
	}

	p, code := f.exec(t, 2*time.Minute, args...)
	if code != 0 {
		t.Fatalf("final run exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	f.checkUsers(t)
	already := f.checkReport(t, readFile(t, f.reportPath()), true)
	if already > totalLost {
		t.Errorf("%d users that needed migrating are reported already_migrated, more than the %d rows the kills lost", already, totalLost)
	}

	reads, writes := f.srv.Stats(opRead), f.srv.Stats(opWrite)
	wantWrites, wantMigrated := f.wantWrites()
	t.Logf("after %d kills: %d AdminGetUser (%d users), %d writes sent (%d needed), %d applied (%d users to migrate), %d reported already_migrated",
		kills, reads.Received, users, writes.Received, wantWrites, writes.Applied, wantMigrated, already)
	if writes.Applied != wantMigrated {
		t.Errorf("writes applied = %d, want %d: one per user to migrate, none repeated", writes.Applied, wantMigrated)
	}
	if extra := writes.Received - wantWrites; extra < 0 || extra > totalLost {
		t.Errorf("write calls = %d, want %d plus at most the %d rows the kills lost", writes.Received, wantWrites, totalLost)
	}
	if extra := reads.Received - users; extra > kills*window {
		t.Errorf("AdminGetUser calls = %d, want at most %d users plus %d kills × %d", reads.Received, users, kills, window)
	}

	st := decodeCheckpoint(t, f.checkpointPath())
	var unfinished int
	for _, r := range st.Runs {
		if r.Ended.IsZero() {
			unfinished++
		}
	}
	if last := st.Runs[len(st.Runs)-1]; last.Reason != job.StopCompleted || last.Ended.IsZero() {
		t.Errorf("last run in the history ended %v with reason %q, want a recorded end and %q", last.Ended, last.Reason, job.StopCompleted)
	}
	if unfinished != kills {
		t.Errorf("history has %d runs without an end, want %d (one per killed run)", unfinished, kills)
	}
}

// TestSIGTERMStopsGracefully stops a run with SIGTERM while calls are in
// flight: it must exit 4 within the shutdown timeout with everything it did
// saved, and the next run must finish the job without redoing anything.
// Periodic saves are switched off, so only the save on stop can keep the
// work.
func TestSIGTERMStopsGracefully(t *testing.T) {
	t.Parallel()
	const users = 1000
	f := newFixture(t, users)
	f.srv.SetFaults("", cognitotest.Faults{Latency: 20 * time.Millisecond, Jitter: 10 * time.Millisecond, Seed: 2})
	args := f.runArgs("--read-rps", "200", "--write-rps", "200", "--workers", "16",
		"--shutdown-timeout", "3s", "--save-every", "1000000", "--save-interval", "1h")

	p := f.start(t, args...)
	if !waitUntil(t, p, time.Minute, "300 reads", func() bool { return f.srv.Calls(opRead) >= 300 }) {
		t.Fatalf("the run exited before 300 reads; stderr:\n%s", p.stderr.tail())
	}
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 3*time.Second+15*time.Second); code != 4 {
		t.Fatalf("exit code after SIGTERM = %d, want 4; stderr:\n%s", code, p.stderr.tail())
	}
	if !strings.Contains(p.messages(), "run again to resume") {
		t.Errorf("stderr after SIGTERM does not say how to resume:\n%s", p.stderr.tail())
	}
	st := decodeCheckpoint(t, f.checkpointPath())
	if r := st.Runs[len(st.Runs)-1]; r.Reason != job.StopSignal || r.Ended.IsZero() {
		t.Errorf("run history after SIGTERM: reason %q, ended %v; want %q and an end", r.Reason, r.Ended, job.StopSignal)
	}
	reads, done := userReads(f.srv), doneRows(t, f.checkpointPath())
	if int64(reads) != done || done >= users {
		t.Errorf("after SIGTERM the checkpoint has %d rows done for %d users read, want every user read saved, and some left", done, reads)
	}

	if p, code := f.exec(t, time.Minute, args...); code != 0 {
		t.Fatalf("resumed run exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	f.checkUsers(t)
	f.checkReport(t, readFile(t, f.reportPath()), false)
	wantWrites, wantMigrated := f.wantWrites()
	if got := userReads(f.srv); got != users {
		t.Errorf("AdminGetUser calls = %d, want %d (one per user, nothing redone)", got, users)
	}
	if got := f.srv.Stats(opWrite); got.Received != wantWrites || got.Applied != wantMigrated {
		t.Errorf("write calls = %d (%d applied), want %d (%d applied): nothing redone", got.Received, got.Applied, wantWrites, wantMigrated)
	}
}

// TestShutdownTimeout stops a run whose calls hang: the calls in flight are
// given --shutdown-timeout, then cancelled and left pending, and the run
// exits 4. Resumed, the job finishes, each change applied once.
func TestShutdownTimeout(t *testing.T) {
	t.Parallel()
	const users = 200
	f := newFixture(t, users)
	args := f.runArgs("--read-rps", "100", "--write-rps", "100", "--workers", "4", "--shutdown-timeout", "1s")
	p := f.start(t, args...)
	if !waitUntil(t, p, time.Minute, "50 reads", func() bool { return f.srv.Calls(opRead) >= 50 }) {
		t.Fatalf("the run exited before 50 reads; stderr:\n%s", p.stderr.tail())
	}
	f.srv.SetFaults("", cognitotest.Faults{Latency: time.Hour})
	hung := f.srv.Calls("")
	waitUntil(t, p, time.Minute, "a call to hang", func() bool { return f.srv.Calls("") > hung })
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, time.Second+15*time.Second); code != 4 {
		t.Fatalf("exit code after SIGTERM with hung calls = %d, want 4; stderr:\n%s", code, p.stderr.tail())
	}
	f.srv.SetFaults("", cognitotest.Faults{})
	if p, code := f.exec(t, time.Minute, args...); code != 0 {
		t.Fatalf("resumed run exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	f.checkUsers(t)
	f.checkReport(t, readFile(t, f.reportPath()), false)
	if _, wantMigrated := f.wantWrites(); f.srv.Stats(opWrite).Applied != wantMigrated {
		t.Errorf("writes applied = %d, want %d", f.srv.Stats(opWrite).Applied, wantMigrated)
	}
}

// TestSecondSignalExitsAtOnce checks that a second SIGINT (Ctrl-C pressed
// twice) ends a run that is waiting for hung calls at once, not after
// --shutdown-timeout, and that the job resumes from what was saved.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	const users = 100
	f := newFixture(t, users)
	args := f.runArgs("--read-rps", "100", "--write-rps", "100", "--workers", "4", "--shutdown-timeout", "10m")
	p := f.start(t, args...)
	if !waitUntil(t, p, time.Minute, "20 reads", func() bool { return f.srv.Calls(opRead) >= 20 }) {
		t.Fatalf("the run exited before 20 reads; stderr:\n%s", p.stderr.tail())
	}
	f.srv.SetFaults("", cognitotest.Faults{Latency: time.Hour})
	p.signal(t, syscall.SIGINT)
	// The first signal is being handled once the default action is back;
	// signal again until the process ends, well before the 10m timeout.
	waitUntil(t, p, 30*time.Second, "the process to end on a second SIGINT", func() bool {
		p.signal(t, syscall.SIGINT)
		return p.exited()
	})
	<-p.done
	if sig, ok := p.signaled(); !ok || sig != syscall.SIGINT {
		t.Errorf("process ended with exit code %d (signal %v), want it ended by SIGINT", p.state.ExitCode(), sig)
	}
	f.srv.SetFaults("", cognitotest.Faults{})
	if p, code := f.exec(t, time.Minute, args...); code != 0 {
		t.Fatalf("resumed run exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	f.checkUsers(t)
	f.checkReport(t, readFile(t, f.reportPath()), true)
}

// TestConcurrentRunnersFile starts two runs on one checkpoint file at once:
// exactly one proceeds and the other is refused naming it.
func TestConcurrentRunnersFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 300)
	args := f.runArgs("--read-rps", "20", "--write-rps", "20")
	raceRunners(t, f, f.checkpointPath(), args, func(winner *proc) {
		// status reads the checkpoint of a running job without its lock.
		waitUntil(t, winner, time.Minute, "the checkpoint", func() bool {
			_, err := os.Stat(f.checkpointPath())
			return err == nil
		})
		st := statusJSON(t, f, "--input", f.input)
		if !st.Running || st.Rows != 300 || len(st.Runs) != 1 {
			t.Errorf("status --json of the running job = running %v, %d rows, %d runs; want true, 300, 1", st.Running, st.Rows, len(st.Runs))
		}
	})
	st := decodeCheckpoint(t, f.checkpointPath())
	if len(st.Runs) != 1 {
		t.Errorf("checkpoint history has %d runs, want 1: the refused run must not write it", len(st.Runs))
	}
	// The winner stopped cleanly and let go of the lock.
	if p, code := f.exec(t, time.Minute, f.runArgs("--read-rps", "0", "--write-rps", "0")...); code != 0 {
		t.Fatalf("run after the race exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	f.checkUsers(t)
}

// raceRunners starts two identical runs at once and checks that exactly one
// proceeds: the other exits 1 naming the winner's process as the lock
// holder, while the winner is still running. The winner is then stopped
// with SIGTERM, after whileRunning (if not nil) has been called.
func raceRunners(t *testing.T, f *fixture, loc string, args []string, whileRunning func(winner *proc)) {
	t.Helper()
	a, b := f.start(t, args...), f.start(t, args...)
	var loser, winner *proc
	select {
	case <-a.done:
		loser, winner = a, b
	case <-b.done:
		loser, winner = b, a
	case <-time.After(time.Minute):
		t.Fatalf("neither run was refused within a minute; stderr:\n%s\n%s", a.stderr.tail(), b.stderr.tail())
	}
	if code := loser.state.ExitCode(); code != 1 {
		t.Fatalf("first run to exit: exit code %d, want 1 (lock held); stderr:\n%s", code, loser.stderr.tail())
	}
	msg := loser.messages()
	if want := fmt.Sprintf("pid %d ", winner.pid()); !strings.Contains(msg, "locked by") || !strings.Contains(msg, want) || !strings.Contains(msg, loc) {
		t.Errorf("refused run's message does not name %s and the holder (%q):\n%s", loc, want, msg)
	}
	if winner.exited() {
		t.Fatalf("the other run is not running: exit code %d; stderr:\n%s", winner.state.ExitCode(), winner.stderr.tail())
	}
	if whileRunning != nil {
		whileRunning(winner)
	}
	// The lock is taken before the input is scanned: the loser is refused
	// at once, maybe before the winner has recorded its start.
	waitUntil(t, winner, time.Minute, "the winner's start", func() bool { return strings.Contains(winner.stderr.String(), "run started") })
	winner.signal(t, syscall.SIGTERM)
	if code := winner.wait(t, 30*time.Second); code != 4 {
		t.Fatalf("winner exit code after SIGTERM = %d, want 4; stderr:\n%s", code, winner.stderr.tail())
	}
}

// TestResumeRefusesAnotherJob resumes a half-done checkpoint with a changed
// CSV, pool, mode or decision flag: each is refused (exit 1) naming what
// differs, before any call, leaving the checkpoint as it was. --reset then
// starts over.
func TestResumeRefusesAnotherJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 60)
	fast := []string{"--read-rps", "0", "--write-rps", "0"}
	if p, code := f.exec(t, time.Minute, f.runArgs(append(fast, "--max-users", "20")...)...); code != 4 {
		t.Fatalf("first slice exit code = %d, want 4; stderr:\n%s", code, p.stderr.tail())
	}
	saved := readFile(t, f.checkpointPath())
	changed := append(usersCSV(f.seeds), []byte("someone-new\n")...)

	tests := []struct {
		name  string
		args  []string
		setup func(t *testing.T)
		want  string
	}{
		{name: "changed CSV", want: "input SHA-256", setup: func(t *testing.T) {
			writeFile(t, f.input, changed)
			t.Cleanup(func() { writeFile(t, f.input, usersCSV(f.seeds)) })
		}},
		{name: "other pool", args: []string{"--user-pool-id", "us-east-1_Other01"}, want: `pool: "` + cognitotest.DefaultPoolID + `" (checkpoint) vs "us-east-1_Other01" (this run)`},
		{name: "dry run", args: []string{"--dry-run", "--checkpoint", f.checkpointPath()}, want: `mode: "apply" (checkpoint) vs "dry-run" (this run)`},
		{name: "username column", args: []string{"--username-column", "username"}, want: "flag username-column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			calls := f.srv.Calls("")
			args := f.runArgs(append(slices.Clone(fast), tt.args...)...)
			// The pool flag comes last so that it wins over runArgs's.
			p, code := f.exec(t, time.Minute, args...)
			if code != 1 {
				t.Fatalf("exit code = %d, want 1; stderr:\n%s", code, p.stderr.tail())
			}
			msg := p.messages()
			for _, want := range []string{"belongs to a different job", tt.want, "--reset"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message does not contain %q:\n%s", want, msg)
				}
			}
			if got := readFile(t, f.checkpointPath()); string(got) != string(saved) {
				t.Errorf("the refused run changed the checkpoint")
			}
			if n := f.srv.Calls("") - calls; n != 0 {
				t.Errorf("the refused run made %d Cognito calls, want 0", n)
			}
		})
	}

	t.Run("reset", func(t *testing.T) {
		writeFile(t, f.input, changed)
		p, code := f.exec(t, time.Minute, f.runArgs(append(fast, "--reset")...)...)
		if code != 0 {
			t.Fatalf("exit code with --reset = %d, want 0; stderr:\n%s", code, p.stderr.tail())
		}
		st := decodeCheckpoint(t, f.checkpointPath())
		if len(st.Rows) != len(f.seeds)+1 || len(st.Runs) != 1 {
			t.Errorf("checkpoint after --reset has %d rows and %d runs, want %d rows and 1 run", len(st.Rows), len(st.Runs), len(f.seeds)+1)
		}
	})
}

// TestUnusableCheckpoint gives a run a truncated, damaged, future-version,
// empty or foreign checkpoint: each is refused with exit 1 and a clear
// message, before any Cognito call, and the file is left as it was. status
// refuses it too; --reset starts over.
func TestUnusableCheckpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	fast := []string{"--read-rps", "0", "--write-rps", "0"}
	if p, code := f.exec(t, time.Minute, f.runArgs(append(fast, "--max-users", "10")...)...); code != 4 {
		t.Fatalf("first slice exit code = %d, want 4; stderr:\n%s", code, p.stderr.tail())
	}
	good := readFile(t, f.checkpointPath())
	flipped := slices.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	future := append([]byte("cognito-mfa-migrate checkpoint v9\n"), good[strings.IndexByte(string(good), '\n')+1:]...)

	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"truncated", good[:len(good)/2], []string{"corrupt", "truncated"}},
		{"flipped byte", flipped, []string{"corrupt", "checksum"}},
		{"future version", future, []string{"newer version", "v9", "upgrade"}},
		{"empty", nil, []string{"corrupt", "empty"}},
		{"not a checkpoint", []byte("username\nalice\n"), []string{"corrupt", "not a cognito-mfa-migrate checkpoint"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFile(t, f.checkpointPath(), tt.data)
			calls := f.srv.Calls("")
			p, code := f.exec(t, time.Minute, f.runArgs(fast...)...)
			if code != 1 {
				t.Fatalf("run exit code = %d, want 1; stderr:\n%s", code, p.stderr.tail())
			}
			for _, want := range append(tt.want, f.checkpointPath(), "--reset") {
				if !strings.Contains(p.messages(), want) {
					t.Errorf("run message does not contain %q:\n%s", want, p.messages())
				}
			}
			if got := readFile(t, f.checkpointPath()); string(got) != string(tt.data) {
				t.Errorf("the refused run changed the checkpoint")
			}
			if n := f.srv.Calls("") - calls; n != 0 {
				t.Errorf("the refused run made %d Cognito calls, want 0", n)
			}
			p, code = f.exec(t, time.Minute, "status", "--input", f.input)
			if code != 1 || !strings.Contains(p.messages(), tt.want[0]) {
				t.Errorf("status exit code = %d, want 1 with a message containing %q; stderr:\n%s", code, tt.want[0], p.messages())
			}
		})
	}

	t.Run("reset", func(t *testing.T) {
		writeFile(t, f.checkpointPath(), flipped)
		if p, code := f.exec(t, time.Minute, f.runArgs(append(fast, "--reset")...)...); code != 0 {
			t.Fatalf("exit code with --reset = %d, want 0; stderr:\n%s", code, p.stderr.tail())
		}
		f.checkUsers(t)
	})
}

// TestScheduledSlices runs the job the way a scheduled task does: the same
// command again and again, each run a slice bounded by --max-duration or
// --max-users, until it exits 0. Every slice but the last exits 4 and makes
// progress; the last finishes the job; one more run finds nothing to do.
func TestScheduledSlices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		users int
		args  []string
	}{
		{"max-duration", 400, []string{"--read-rps", "150", "--write-rps", "150", "--max-duration", "1s"}},
		{"max-users", 250, []string{"--read-rps", "0", "--write-rps", "0", "--max-users", "100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.users)
			args := f.runArgs(tt.args...)
			var codes []int
			var done int64
			for len(codes) < 20 {
				p, code := f.exec(t, time.Minute, args...)
				codes = append(codes, code)
				if code != 0 && code != 4 {
					t.Fatalf("slice %d exit code = %d, want 4 or 0; stderr:\n%s", len(codes), code, p.stderr.tail())
				}
				now := doneRows(t, f.checkpointPath())
				if now <= done {
					t.Fatalf("slice %d made no progress: %d rows done before, %d after", len(codes), done, now)
				}
				done = now
				if code == 0 {
					break
				}
			}
			if n := len(codes); n < 3 || codes[n-1] != 0 || slices.ContainsFunc(codes[:n-1], func(c int) bool { return c != 4 }) {
				t.Errorf("slice exit codes = %v, want 4, 4, …, 0 (at least two slices of 4)", codes)
			}
			f.checkUsers(t)
			f.checkReport(t, readFile(t, f.reportPath()), false)
			// A crash after the last slice saved its checkpoint but before
			// it wrote the report leaves no (or a stale) report: the next
			// scheduled run, with nothing left to do, writes it.
			if err := os.Remove(f.reportPath()); err != nil {
				t.Fatal(err)
			}
			calls := f.srv.Calls("")
			if p, code := f.exec(t, time.Minute, args...); code != 0 || f.srv.Calls("") != calls {
				t.Errorf("run after the job is done: exit code %d, %d calls; want 0 and no calls; stderr:\n%s", code, f.srv.Calls("")-calls, p.stderr.tail())
			}
			if _, err := os.Stat(f.reportPath()); err != nil {
				t.Fatalf("run after the job is done did not write the report: %v", err)
			}
			f.checkReport(t, readFile(t, f.reportPath()), false)
		})
	}
}

// TestStatusAndReport checks the status and report commands against a
// half-done and then a finished file checkpoint.
func TestStatusAndReport(t *testing.T) {
	t.Parallel()
	const users, slice = 120, 50
	f := newFixture(t, users)
	fast := []string{"--read-rps", "0", "--write-rps", "0"}
	if p, code := f.exec(t, time.Minute, f.runArgs(append(fast, "--max-users", strconv.Itoa(slice))...)...); code != 4 {
		t.Fatalf("first slice exit code = %d, want 4; stderr:\n%s", code, p.stderr.tail())
	}

	p, code := f.exec(t, time.Minute, "status", "--input", f.input)
	if code != 0 {
		t.Fatalf("status exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	for _, want := range []string{
		"checkpoint " + f.checkpointPath(),
		"pool " + cognitotest.DefaultPoolID + ", mode apply",
		fmt.Sprintf("rows %d: done %d (%.1f%%), remaining %d", users, slice, 100.0*slice/users, users-slice),
		"ETA: ", "runs: 1", "max-users after",
	} {
		if !strings.Contains(p.stdout.String(), want) {
			t.Errorf("status output does not contain %q:\n%s", want, p.stdout.String())
		}
	}
	st := statusJSON(t, f, "--checkpoint", f.checkpointPath(), "--write-rps", "5")
	if st.Rows != users || st.Done != slice || st.Remaining != users-slice || st.Running || len(st.Runs) != 1 || st.ETA.WriteRPS != 5 {
		t.Errorf("status --json = rows %d, done %d, remaining %d, running %v, %d runs, ETA at %v writes/s; want %d, %d, %d, false, 1, 5",
			st.Rows, st.Done, st.Remaining, st.Running, len(st.Runs), st.ETA.WriteRPS, users, slice, users-slice)
	}
	if st.ETA.AtConfiguredRates.Seconds <= 0 {
		t.Errorf("status --json ETA = %+v, want a positive estimate", st.ETA)
	}

	if p, code := f.exec(t, time.Minute, f.runArgs(fast...)...); code != 0 {
		t.Fatalf("second slice exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	st = statusJSON(t, f, "--input", f.input)
	want := map[string]int64{}
	for _, s := range f.seeds {
		want[jobtest.For(s).Outcome]++
	}
	if st.Done != users || st.Remaining != 0 || !mapsEqual(st.Outcomes, want) {
		t.Errorf("status --json of the finished job = done %d, remaining %d, outcomes %v; want %d, 0, %v", st.Done, st.Remaining, st.Outcomes, users, want)
	}
	if st.Calls["AdminGetUser"].Calls != users {
		t.Errorf("status --json calls = %v, want %d AdminGetUser calls", st.Calls, users)
	}

	runReport := readFile(t, f.reportPath())
	f.checkReport(t, runReport, false)
	rebuilt := f.dir + "/rebuilt.csv"
	if p, code := f.exec(t, time.Minute, "report", "--input", f.input, "--output", rebuilt); code != 0 || !strings.Contains(p.stdout.String(), rebuilt) {
		t.Fatalf("report exit code = %d, want 0 and the output named; stdout %q, stderr:\n%s", code, p.stdout.String(), p.stderr.tail())
	}
	if got := readFile(t, rebuilt); string(got) != string(runReport) {
		t.Errorf("report rebuilt from the checkpoint differs from the run's report")
	}

	// A changed input is not the checkpoint's: report refuses it.
	writeFile(t, f.input, append(usersCSV(f.seeds), []byte("someone-new\n")...))
	if p, code := f.exec(t, time.Minute, "report", "--input", f.input, "--checkpoint", f.checkpointPath(), "--output", rebuilt); code != 2 || !strings.Contains(p.messages(), "is not the input of checkpoint") {
		t.Errorf("report with another input: exit code %d, want 2 and a message naming the mismatch; stderr:\n%s", code, p.stderr.tail())
	}
}

func statusJSON(t *testing.T, f *fixture, args ...string) *job.Status {
	t.Helper()
	p, code := f.exec(t, time.Minute, append([]string{"status", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("status --json exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
	}
	var st job.Status
	if err := json.Unmarshal([]byte(p.stdout.String()), &st); err != nil {
		t.Fatalf("status --json output is not JSON: %v\n%s", err, p.stdout.String())
	}
	return &st
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCommandLine checks what only the built binary shows: the version
// stamped at build time, exit codes of input errors, and a run configured
// entirely through environment variables, as an ECS task definition does.
func TestCommandLine(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 40)
	t.Run("version", func(t *testing.T) {
		p, code := f.exec(t, time.Minute, "version")
		if want := "cognito-mfa-migrate " + e2eVersion + " (commit e2e, go"; code != 0 || !strings.HasPrefix(p.stdout.String(), want) {
			t.Errorf("version = %d, %q; want 0, %q…", code, p.stdout.String(), want)
		}
	})
	t.Run("missing input file", func(t *testing.T) {
		p, code := f.exec(t, time.Minute, "run", "--user-pool-id", cognitotest.DefaultPoolID, "--input", f.dir+"/nope.csv", "--endpoint-url", f.srv.URL)
		if code != 2 || !strings.Contains(p.messages(), "nope.csv") {
			t.Errorf("exit code = %d, want 2 and the file named; stderr:\n%s", code, p.stderr.tail())
		}
	})
	t.Run("bad pool ID", func(t *testing.T) {
		p, code := f.exec(t, time.Minute, "run", "--user-pool-id", "not-a-pool", "--input", f.input)
		if code != 2 || !strings.Contains(p.messages(), "--user-pool-id") {
			t.Errorf("exit code = %d, want 2 and the flag named; stderr:\n%s", code, p.stderr.tail())
		}
	})
	t.Run("configured by environment", func(t *testing.T) {
		env := append(slices.Clone(f.env),
			"COGNITO_MFA_MIGRATE_USER_POOL_ID="+cognitotest.DefaultPoolID,
			"COGNITO_MFA_MIGRATE_INPUT="+f.input,
			"COGNITO_MFA_MIGRATE_ENDPOINT_URL="+f.srv.URL,
			"COGNITO_MFA_MIGRATE_READ_RPS=0",
			"COGNITO_MFA_MIGRATE_WRITE_RPS=250",
			"COGNITO_MFA_MIGRATE_SUMMARY="+f.dir+"/env-summary.json",
			"COGNITO_MFA_MIGRATE_PROGRESS=none",
		)
		p := startEnv(t, env, "run")
		if code := p.wait(t, time.Minute); code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, p.stderr.tail())
		}
		var sum job.Summary
		if err := json.Unmarshal(readFile(t, f.dir+"/env-summary.json"), &sum); err != nil {
			t.Fatal(err)
		}
		if sum.Rates["write"].Configured != 250 || sum.Rates["read"].Configured != 0 || sum.Remaining != 0 {
			t.Errorf("summary rates = %+v, remaining %d; want write 250/s, read unlimited, 0 remaining", sum.Rates, sum.Remaining)
		}
		f.checkUsers(t)
	})
}
