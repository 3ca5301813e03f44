package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
)

// drawn returns the last line a bar drew on con's writer.
func drawn(out *bytes.Buffer) string {
	s := strings.TrimRight(out.String(), "\n")
	return s[strings.LastIndex(s, "\r")+1:]
}

// TestBarShowsTheJob checks what the bar shows from a snapshot: the true
// count when the run stops early, this run's speed after a resume (not the
// rows of earlier runs), and the job's ETA.
func TestBarShowsTheJob(t *testing.T) {
	var out bytes.Buffer
	con := &console{w: &out}
	p := &progressSink{bar: newBar(con, "migrating")}
	p.bar.width = func() int { return 120 }
	// Resumed at 1000 of 2000 rows; this run did 50 rows in 10 s.
	p.update(job.Progress{Rows: 2000, Done: 1050, ThisRun: 50, Elapsed: 10 * time.Second, ETA: 95 * time.Second})
	line := drawn(&out)
	for _, want := range []string{"migrating  1050/2000   52%  [", "  5.0 rows/s  ", "ETA 1m35s"} {
		if !strings.Contains(line, want) {
			t.Errorf("bar = %q, want %q in it", line, want)
		}
	}
	// Stopped (a signal) at 1100: the final drawing keeps the true count.
	p.update(job.Progress{Rows: 2000, Done: 1100, ThisRun: 100, Elapsed: 20 * time.Second, ETA: 90 * time.Second, Final: true})
	if line := drawn(&out); !strings.Contains(line, "1100/2000") || strings.Contains(line, "2000/2000") || !strings.HasSuffix(out.String(), "\n") {
		t.Errorf("final bar of a stopped run = %q, want 1100/2000 and a new line", out.String())
	}
	// Nothing is drawn after the final drawing.
	n := out.Len()
	p.update(job.Progress{Rows: 2000, Done: 2000, Final: true})
	if out.Len() != n {
		t.Errorf("the bar drew after its final drawing: %q", out.String()[n:])
	}
}

// TestBarFitsTheTerminal renders a full line at several widths: it never
// takes the last column (where a terminal may wrap), and keeps the count.
func TestBarFitsTheTerminal(t *testing.T) {
	l := barLine{label: "migrating", done: 123456, total: 1000000, rate: "1234 rows/s", detail: "read 40/s write 10/s", eta: "ETA 2h31m"}
	for _, cols := range []int{20, 40, 60, 80, 100, 200} {
		s := l.render(cols - 1)
		if w := utf8.RuneCountInString(s); w > cols-1 {
			t.Errorf("render at %d columns = %q, %d columns wide", cols, s, w)
		}
		if cols >= 40 && !strings.Contains(s, "123456/1000000") {
			t.Errorf("render at %d columns = %q, want the count", cols, s)
		}
	}
	if s := l.render(199); !strings.Contains(s, "ETA 2h31m") || !strings.Contains(s, "read 40/s") {
		t.Errorf("render at 200 columns = %q, want every part", s)
	}
	export := barLine{label: "listing users", done: 600, total: -1, rate: "60.0 users/s", detail: "3 with legacy MFA, 10 pages"}
	if s := export.render(79); s != "listing users  600  60.0 users/s  3 with legacy MFA, 10 pages" {
		t.Errorf("export line = %q", s)
	}
}

// TestProgressModeDumbTerminal checks that TERM=dumb gets log lines, not
// a bar, and that an explicit mode is kept.
func TestProgressModeDumbTerminal(t *testing.T) {
	env := func(term string) func(string) string {
		return func(k string) string {
			if k == "TERM" {
				return term
			}
			return ""
		}
	}
	var out bytes.Buffer
	if m := progressMode("auto", &out, env("xterm")); m != "log" {
		t.Errorf("auto, not a terminal = %q, want log", m)
	}
	if m := progressMode("bar", &out, env("dumb")); m != "bar" {
		t.Errorf("explicit bar on TERM=dumb = %q, want bar", m)
	}
}
