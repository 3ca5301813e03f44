package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyResult is what a subprocess wrote to the terminal (its stderr) and to
// stdout.
type ptyResult struct {
	terminal, stdout []byte
	code             int
}

// runOnTerminal runs bin with its stderr on a pseudo-terminal (stdout stays
// a pipe, as when metrics are collected) and returns what it wrote.
func runOnTerminal(t *testing.T, bin string, env []string, args ...string) ptyResult {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(env, "TERM=xterm")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		tty.Close()
		t.Fatal(err)
	}
	tty.Close() // the child holds its own copy; reads end (EIO) when it exits
	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(ptmx)
		read <- b
	}()
	werr := cmd.Wait()
	var exit *exec.ExitError
	if werr != nil && !errors.As(werr, &exit) {
		t.Fatal(werr)
	}
	return ptyResult{terminal: <-read, stdout: stdout.Bytes(), code: cmd.ProcessState.ExitCode()}
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
	// A redraw is a carriage return not followed by a line feed (the
	// terminal turns every \n into \r\n) and then the bar's text.
	redraws := regexp.MustCompile(`\r[^\r\n]*% \|[^\r\n]*\| \(\d+/\d+, `).FindAllString(term, -1)
	if len(redraws) < 2 {
		t.Errorf("the progress bar was drawn %d times, want it drawn and redrawn; terminal:\n%q", len(redraws), term)
	}
	if !regexp.MustCompile(`read \d+/s write \d+/s 100% \|[^\r\n]*\| \(\d+/\d+, \d+ rows/s\)`).MatchString(term) {
		t.Errorf("no finished bar with count and rate; terminal:\n%q", term)
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
	}
	if !strings.Contains(term, "  rows: ") {
		t.Errorf("no human summary on the terminal:\n%q", term)
	}
	if len(res.stdout) > 0 {
		t.Errorf("stdout = %q, want nothing without --metrics", res.stdout)
	}
}
