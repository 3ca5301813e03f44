package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// snapshotInterval is how often the job reports progress to the command;
// the log line and the metrics throttle themselves to their own intervals.
const snapshotInterval = 500 * time.Millisecond

// metricsFlags configure the CloudWatch metrics of a command that runs a
// job. Commands embed them.
type metricsFlags struct {
	Metrics         string        `enum:"none,emf" default:"none" help:"Metrics on stdout: emf writes a CloudWatch Embedded Metric Format line per --metrics-interval (namespace CognitoMFAMigrate, dimensions UserPoolId and Mode), which CloudWatch Logs turns into metrics."`
	MetricsInterval time.Duration `default:"${metrics_interval}" help:"How often a metrics line is written (and once at the end of the run)."`
}

// emf returns the metrics emitter the flags ask for, or nil.
func (f metricsFlags) emf(w io.Writer, poolID, mode, runID string) (*job.EMF, error) {
	if f.Metrics != "emf" {
		return nil, nil
	}
	if f.MetricsInterval <= 0 {
		return nil, usageErr("--metrics-interval must be positive")
	}
	return job.NewEMF(w, poolID, mode, runID, f.MetricsInterval), nil
}

// progressSink shows a run's progress: a bar on a terminal, a log line every
// interval otherwise. It is called from one goroutine.
type progressSink struct {
	bar   *bar // nil: no bar
	log   *slog.Logger
	every time.Duration
	last  time.Time
	extra []func(job.Progress) // further consumers, such as metrics
}

// progressMode resolves "auto" to "bar" on a terminal that can redraw a
// line (not TERM=dumb) and "log" otherwise.
func progressMode(mode string, stderr io.Writer, getenv func(string) string) string {
	if mode != "auto" {
		return mode
	}
	if isTerminal(stderr) && getenv("TERM") != "dumb" {
		return "bar"
	}
	return "log"
}

// newProgressSink returns the progress display of mode ("auto", "bar",
// "log" or "none") on con, the command's stderr shared with the logger:
// log lines clear the bar before they are written.
func newProgressSink(mode string, con *console, getenv func(string) string, log *slog.Logger, every time.Duration, label string) *progressSink {
	p := &progressSink{log: log, every: every, last: time.Now()}
	switch progressMode(mode, con, getenv) {
	case "bar":
		p.bar = newBar(con, label)
	case "none":
		p.log = nil
	}
	return p
}

// update takes one snapshot.
func (p *progressSink) update(pr job.Progress) {
	for _, f := range p.extra {
		f(pr)
	}
	if p.bar != nil {
		// The speed is this run's rows over this run's time: after a resume
		// the rows of earlier runs are in Done, not in ThisRun.
		var speed float64
		if s := pr.Elapsed.Seconds(); s > 0 {
			speed = float64(pr.ThisRun) / s
		}
		eta := ""
		if pr.ETA > 0 && pr.Done < pr.Rows {
			eta = "ETA " + roundDuration(pr.ETA).String()
		}
		p.bar.draw(barLine{
			label: p.bar.label, done: pr.Done, total: pr.Rows,
			rate:   fmt.Sprintf("%s rows/s", rateText(speed)),
			detail: fmt.Sprintf("read %.0f/s write %.0f/s%s", pr.Read.Achieved, pr.Write.Achieved, pacingBar(pr)),
			eta:    eta,
		}, pr.Final)
		return
	}
	if p.log == nil || (!pr.Final && time.Since(p.last) < p.every) {
		return
	}
	p.last = time.Now()
	pct := 0.0
	if pr.Rows > 0 {
		pct = 100 * float64(pr.Done) / float64(pr.Rows)
	}
	attrs := []any{
		"done", pr.Done, "rows", pr.Rows, "percent", roundTo(pct, 1), "this_run", pr.ThisRun,
		"read_rps", pr.Read.Achieved, "write_rps", pr.Write.Achieved,
		"read_limit_rps", pr.Read.Current, "write_limit_rps", pr.Write.Current,
		"throttles", pr.Read.Throttles + pr.Write.Throttles, "eta", pr.ETA.Round(time.Second).String(),
		"outcomes", pr.Outcomes,
	}
	p.log.Info("progress", append(attrs, pacingAttrs(pr)...)...)
}

func roundTo(v float64, decimals int) float64 {
	p := 1.0
	for range decimals {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

// roundDuration rounds d to what a person reads: seconds under an hour,
// minutes above.
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Hour {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}

// rateText formats a rate with one decimal under 10 and none above.
func rateText(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// bar draws a one-line progress display on a console, redrawn in place and
// fitted to the terminal's width at every draw, so that it never wraps
// (a wrapped line cannot be redrawn with a carriage return and stacks a
// new line per redraw). It shows what the job says: the true count (also
// when the run stops early), this run's speed and the job's ETA.
//
// schollz/progressbar, used before, could not do this: it measures the
// terminal only when it writes to an *os.File itself (here it writes
// through the console that keeps log lines and the bar apart), Finish
// fills the bar to 100%, and its speed and ETA count every row the bar
// was set to, those of earlier runs included. What is left is composing
// one line, which this type does.
//
// A bar is used from one goroutine.
type bar struct {
	con     *console
	label   string
	width   func() int    // the terminal's columns; 0 when unknown
	every   time.Duration // least time between two redraws, but the final one
	last    time.Time
	drawn   int // characters of the last line drawn
	stopped bool
}

// defaultColumns is the width assumed when the terminal does not say.
const defaultColumns = 80

func newBar(con *console, label string) *bar {
	return &bar{con: con, label: label, width: con.columns, every: 200 * time.Millisecond}
}

// barLine is what one redraw shows. total < 0 means the total is unknown
// (no percentage, no bar).
type barLine struct {
	label        string
	done, total  int64
	rate, detail string
	eta          string
}

// draw redraws the bar; final ends it with a new line. Draws closer than
// b.every to the previous one are skipped, except the final one.
func (b *bar) draw(l barLine, final bool) {
	if b.stopped {
		return
	}
	now := time.Now()
	if !final && !b.last.IsZero() && now.Sub(b.last) < b.every {
		return
	}
	b.last = now
	cols := defaultColumns
	if b.width != nil {
		if c := b.width(); c > 0 {
			cols = c
		}
	}
	// One column is kept free: writing the last column of a line makes
	// some terminals wrap at once.
	line := l.render(cols - 1)
	n := utf8.RuneCountInString(line)
	pad := ""
	if b.drawn > n {
		pad = strings.Repeat(" ", b.drawn-n)
	}
	out := "\r" + line + pad
	if final {
		out += "\n"
		b.stopped = true
	}
	_, _ = io.WriteString(b.con.barWriter(), out)
	b.drawn = n
}

// render returns the line in at most width columns. The parts are dropped
// from the least useful on, until the line fits: the detail, the ETA, the
// rate, the bar itself; the label and the count always stay (cut if need
// be).
func (l barLine) render(width int) string {
	count := strconv.FormatInt(l.done, 10)
	pct := ""
	if l.total >= 0 {
		count += "/" + strconv.FormatInt(l.total, 10)
		p := 100.0
		if l.total > 0 {
			p = 100 * float64(l.done) / float64(l.total)
		}
		pct = fmt.Sprintf("%3.0f%%", min(p, 100))
	}
	opt := []string{l.rate, l.eta, l.detail} // kept in this order of importance
	for keep := len(opt); keep >= 0; keep-- {
		head := []string{l.label, count}
		if pct != "" {
			head = append(head, pct)
		}
		tail := nonEmpty(opt[:keep])
		fixed := utf8.RuneCountInString(strings.Join(append(head, tail...), "  ")) + 2
		if l.total >= 0 {
			// bar: "[" + cells + "]", of at least 20 cells while optional
			// parts are shown (a part goes before the bar shrinks), 10 then
			minCells := 20
			if keep == 0 {
				minCells = 10
			}
			if w := width - fixed - 2; w >= minCells {
				w = min(w, 40)
				cells := 0
				if l.total > 0 {
					cells = int(float64(w) * float64(min(l.done, l.total)) / float64(l.total))
				}
				b := "[" + strings.Repeat("=", cells) + strings.Repeat(" ", w-cells) + "]"
				return strings.Join(append(append(head, b), tail...), "  ")
			}
			continue
		}
		if fixed-2 <= width {
			return strings.Join(append(head, tail...), "  ")
		}
	}
	s := l.label + "  " + count
	if pct != "" {
		s += "  " + pct
	}
	if r := []rune(s); len(r) > width {
		s = string(r[:max(width, 0)])
	}
	return s
}

func nonEmpty(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// pacingAttrs are the progress line's figures of pacing that sees
// production, for the categories set to auto: quota, production's use,
// reserve and the allowed rate.
func pacingAttrs(pr job.Progress) []any {
	var attrs []any
	var reserve float64
	for _, c := range []struct {
		name string
		rs   pace.RateSummary
	}{{"read", pr.Read}, {"write", pr.Write}} {
		if f := c.rs.Pacing; f != nil {
			attrs = append(attrs, c.name+"_pacing", f.Mode, c.name+"_quota_rps", f.Quota, c.name+"_production_rps", f.Production,
				c.name+"_allowed_rps", f.Allowed)
			reserve = f.Reserve
		}
	}
	if attrs != nil {
		attrs = append(attrs, "reserve", reserve)
	}
	return attrs
}

// pacingBar is the bar's short note of the write pacing, such as
// " (production 10/s, allowed 10/s)".
func pacingBar(pr job.Progress) string {
	if f := pr.Write.Pacing; f != nil {
		return fmt.Sprintf(" (production %.0f/s, allowed %.0f/s)", f.Production, f.Allowed)
	}
	return ""
}
