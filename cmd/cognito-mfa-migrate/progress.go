package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
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
	out   io.Writer
	bar   *progressbar.ProgressBar
	log   *slog.Logger
	every time.Duration
	last  time.Time
	extra []func(job.Progress) // further consumers, such as metrics
}

// progressMode resolves "auto" to "bar" on a terminal and "log" otherwise.
func progressMode(mode string, stderr io.Writer) string {
	if mode != "auto" {
		return mode
	}
	if isTerminal(stderr) {
		return "bar"
	}
	return "log"
}

// newProgressSink returns the progress display of mode ("auto", "bar",
// "log" or "none") on stderr. When stderr is a *console shared with the
// logger, log lines clear the bar before they are written.
func newProgressSink(mode string, stderr io.Writer, log *slog.Logger, every time.Duration, label string) *progressSink {
	out := stderr
	if con, ok := stderr.(*console); ok {
		out = con.barWriter()
	}
	p := &progressSink{out: out, log: log, every: every, last: time.Now()}
	switch progressMode(mode, stderr) {
	case "bar":
		p.bar = newBar(out, label, "rows", progressbar.OptionSetPredictTime(true))
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
		if p.bar.GetMax64() != pr.Rows {
			p.bar.ChangeMax64(pr.Rows)
		}
		p.drawBar(fmt.Sprintf("read %.0f/s write %.0f/s", pr.Read.Achieved, pr.Write.Achieved), pr.Done, pr.Final)
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
	p.log.Info("progress",
		"done", pr.Done, "rows", pr.Rows, "percent", roundTo(pct, 1), "this_run", pr.ThisRun,
		"read_rps", pr.Read.Achieved, "write_rps", pr.Write.Achieved,
		"read_limit_rps", pr.Read.Current, "write_limit_rps", pr.Write.Current,
		"throttles", pr.Read.Throttles+pr.Write.Throttles, "eta", pr.ETA.Round(time.Second).String(),
		"outcomes", pr.Outcomes)
}

func roundTo(v float64, decimals int) float64 {
	p := 1.0
	for range decimals {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

// newBar returns a progress bar of unknown size (the caller sets it when it
// knows it) counting units per second.
func newBar(w io.Writer, label, unit string, extra ...progressbar.Option) *progressbar.ProgressBar {
	return progressbar.NewOptions64(-1, append([]progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionThrottle(200 * time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowElapsedTimeOnFinish(),
	}, extra...)...)
}

// drawBar updates the bar: its description and count, and on the final
// snapshot its end and a new line.
func (p *progressSink) drawBar(desc string, n int64, final bool) {
	p.bar.Describe(desc)
	_ = p.bar.Set64(n)
	if final {
		_ = p.bar.Finish()
		fmt.Fprintln(p.out)
	}
}
