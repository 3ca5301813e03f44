package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
)

// ptyResult is what a subprocess wrote to the terminal (its stderr) and to
// stdout.
type ptyResult struct {
	terminal, stdout []byte
	code             int
}

// ptyProc is a subprocess whose stderr is a pseudo-terminal.
type ptyProc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	mu     sync.Mutex
	term   bytes.Buffer // what it wrote to the terminal so far
	read   chan struct{}
}

// startOnTerminal starts bin with its stderr on a pseudo-terminal of cols
// columns (stdout stays a pipe, as when metrics are collected).
func startOnTerminal(t *testing.T, bin string, env []string, cols uint16, args ...string) *ptyProc {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	p := &ptyProc{read: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append([]string{"TERM=xterm"}, env...) // env may set TERM: the last value wins
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, tty
	if err := p.cmd.Start(); err != nil {
		tty.Close()
		t.Fatal(err)
	}
	tty.Close() // the child holds its own copy; reads end (EIO) when it exits
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	go func() {
		defer close(p.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			p.mu.Lock()
			p.term.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return p
}

// terminal returns what the process wrote to the terminal so far.
func (p *ptyProc) terminal() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.term.String()
}

// wait waits (at most a minute) for the process to end and returns what it
// wrote.
func (p *ptyProc) wait(t *testing.T) ptyResult {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		t.Fatalf("still running after a minute; terminal:\n%q", p.terminal())
	}
	var exit *exec.ExitError
	if werr != nil && !errors.As(werr, &exit) {
		t.Fatal(werr)
	}
	<-p.read
	return ptyResult{terminal: []byte(p.terminal()), stdout: p.stdout.Bytes(), code: p.cmd.ProcessState.ExitCode()}
}

// runOnTerminal runs bin to its end on a 160-column terminal and returns
// what it wrote.
func runOnTerminal(t *testing.T, bin string, env []string, args ...string) ptyResult {
	t.Helper()
	return startOnTerminal(t, bin, env, 160, args...).wait(t)
}

// barRe matches one drawing of the run's progress bar: label, count,
// percentage and bar.
var barRe = regexp.MustCompile(`(?:migrating|dry run)  (\d+)/(\d+)  +\d+%  \[[= ]*\]`)

// barDraws returns every drawing of the bar, in order: the text between a
// carriage return and the next carriage return or line feed (the terminal
// turns every \n into \r\n).
func barDraws(term string) []string {
	var out []string
	for _, seg := range strings.FieldsFunc(term, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if barRe.MatchString(seg) {
			out = append(out, seg)
		}
	}
	return out
}

// testProgressOnTerminal checks the terminal side of the progress display:
// with stderr on a terminal the bar is drawn (redrawn in place with a
// carriage return, with the read and write rates and the row count), logs
// are text, not JSON,
// and every log line still carries the run ID and pool ID.
func testProgressOnTerminal(t *testing.T, bin string, env []string, pool *obsPool) {
	dir := t.TempDir()
	res := runOnTerminal(t, bin, env, pool.runArgs("--checkpoint", dir+"/checkpoint", "--report", dir+"/report.csv",
		"--summary", dir+"/summary.json", "--read-rps", "250", "--write-rps", "150")...)
	term := string(res.terminal)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; terminal:\n%q", res.code, term)
	}
	// A redraw is a carriage return not followed by a line feed and then
	// the bar's text.
	redraws := regexp.MustCompile(`\r(?:migrating|dry run)  \d+/\d+ `).FindAllString(term, -1)
	if len(redraws) < 2 {
		t.Errorf("the progress bar was drawn %d times, want it drawn and redrawn; terminal:\n%q", len(redraws), term)
	}
	n := len(pool.seeds)
	if !regexp.MustCompile(`migrating  ` + strconv.Itoa(n) + `/` + strconv.Itoa(n) + `  100%  \[=+\]  [\d.]+ rows/s  read \d+/s write \d+/s`).MatchString(term) {
		t.Errorf("no finished bar with count, rate and call rates; terminal:\n%q", term)
	}
	if strings.Contains(term, `{"time"`) {
		t.Errorf("JSON logs on a terminal, want text; terminal:\n%q", term)
	}
	logs := regexp.MustCompile(`time=\S+ level=\w+ msg=[^\r\n]*`).FindAllString(term, -1)
	if len(logs) == 0 {
		t.Errorf("no text log line on the terminal:\n%q", term)
	}
	for _, l := range logs {
		if !strings.Contains(l, " run_id=") || !strings.Contains(l, " pool_id=") {
			t.Errorf("log line without run_id and pool_id: %q", l)
		}
		if strings.Contains(l, "map[") {
			t.Errorf("log line prints a Go map, want key=value: %q", l)
		}
	}
	if !strings.Contains(term, "  rows: ") {
		t.Errorf("no human summary on the terminal:\n%q", term)
	}
	if len(res.stdout) > 0 {
		t.Errorf("stdout = %q, want nothing without --metrics", res.stdout)
	}
}

// TestProgressNarrowTerminalStop runs on an 80-column terminal, stops the
// run with SIGINT midway and checks what an operator sees: no bar drawing
// wider than the terminal (a wrapped line cannot be redrawn in place and
// stacks a new line per redraw), an ETA, and a last drawing that shows the
// rows truly done (those the checkpoint holds), not the total.
func TestProgressNarrowTerminalStop(t *testing.T) {
	bin := binary(t)
	pool := newObsPool(t, 300)
	dir := t.TempDir()
	cp := filepath.Join(dir, "checkpoint")
	p := startOnTerminal(t, bin, obsEnv(t), 80, pool.runArgs("--checkpoint", cp, "--report", dir+"/report.csv",
		"--summary", dir+"/summary.json", "--read-rps", "40", "--write-rps", "40")...)
	// Wait for a drawing with rows done, then stop the run midway.
	counted := func() bool {
		d := barDraws(p.terminal())
		return len(d) > 0 && barRe.FindStringSubmatch(d[len(d)-1])[1] != "0"
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !counted() {
		select {
		case <-deadline.C:
			t.Fatalf("no bar with a count after 30s; terminal:\n%q", p.terminal())
		case <-tick.C:
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	res := p.wait(t)
	term := string(res.terminal)
	if res.code != 4 {
		t.Fatalf("exit code %d, want 4 (stopped, resumable); terminal:\n%q", res.code, term)
	}
	draws := barDraws(term)
	for _, d := range draws {
		if w := utf8.RuneCountInString(strings.TrimRight(d, " ")); w >= 80 {
			t.Errorf("bar drawing of %d columns on an 80-column terminal (it wraps): %q", w, d)
		}
	}
	if !strings.Contains(term, " ETA ") {
		t.Errorf("no ETA in the bar; terminal:\n%q", term)
	}
	last := barRe.FindStringSubmatch(draws[len(draws)-1])
	done, _ := strconv.ParseInt(last[1], 10, 64)
	total, _ := strconv.ParseInt(last[2], 10, 64)
	if want := doneRows(t, cp); done != want || total != int64(len(pool.seeds)) || done >= total {
		t.Errorf("last bar = %q: %d/%d, want the true count %d/%d (stopped midway)", draws[len(draws)-1], done, total, want, len(pool.seeds))
	}
	// The last drawing ends its line: the summary starts on a line of its own.
	if i := strings.LastIndex(term, draws[len(draws)-1]); !strings.HasPrefix(term[i+len(draws[len(draws)-1]):], "\r\n") {
		t.Errorf("the last bar drawing is not followed by a new line; terminal:\n%q", term)
	}
}

// TestProgressDumbTerminal checks that a terminal that cannot redraw a
// line (TERM=dumb, as in Emacs shells and some CI consoles) gets progress
// log lines instead of a bar.
func TestProgressDumbTerminal(t *testing.T) {
	bin := binary(t)
	pool := newObsPool(t, 20)
	dir := t.TempDir()
	res := startOnTerminal(t, bin, append(obsEnv(t), "TERM=dumb"), 80, pool.runArgs("--checkpoint", dir+"/checkpoint",
		"--report", dir+"/report.csv", "--summary", dir+"/summary.json")...).wait(t)
	term := string(res.terminal)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0; terminal:\n%q", res.code, term)
	}
	if len(barDraws(term)) > 0 {
		t.Errorf("a bar on TERM=dumb; terminal:\n%q", term)
	}
	if !strings.Contains(term, "msg=progress") || !strings.Contains(term, " outcomes.") {
		t.Errorf("no progress log line (with outcomes as key=value) on TERM=dumb; terminal:\n%q", term)
	}
}
