package job

import (
	"fmt"
	"strings"
)

// Values of Config.InterimReport: when a run that stops early and can be
// resumed (exit 4) writes the per-user report. A run that finishes the job,
// or stops for any other reason, always writes it; and the report command
// rebuilds it from the checkpoint at any time.
const (
	// InterimReportAuto (also "") writes the report of a stopped run when
	// writing it costs little next to the run's own work: the input has at
	// most InterimReportRows rows, or at most InterimReportRatio rows per
	// row the run recorded. A short slice of a job of millions of rows
	// skips it; a long one, or any run of a small job, writes it.
	InterimReportAuto = "auto"
	// InterimReportAlways writes it after every run.
	InterimReportAlways = "always"
	// InterimReportEnd writes it only when the job ends.
	InterimReportEnd = "end"
)

// InterimReportRows and InterimReportRatio bound the report that
// InterimReportAuto has a stopped run write: about 0.2 s for 100,000 rows.
const (
	InterimReportRows  = 100_000
	InterimReportRatio = 100
)

// validInterimReport checks Config.InterimReport.
func validInterimReport(v string) error {
	switch v {
	case "", InterimReportAuto, InterimReportAlways, InterimReportEnd:
		return nil
	}
	return fmt.Errorf("%w: --interim-report must be auto, always or end", ErrUsage)
}

// reportNow reports whether the run writes the report now, and otherwise
// sets sum.ReportNote to say when it is written and how to get it sooner.
func (r *runner) reportNow(sum *Summary) bool {
	switch sum.StopReason {
	case StopSignal, StopMaxDuration, StopMaxUsers, StopThrottled:
	default:
		return true // the end of the job, or a failure to look into
	}
	if sum.Remaining == 0 {
		return true
	}
	switch r.cfg.InterimReport {
	case InterimReportAlways:
		return true
	case InterimReportEnd:
	default:
		if sum.Rows <= InterimReportRows || sum.Rows <= InterimReportRatio*max(sum.ThisRun.Rows, 0) {
			return true
		}
	}
	cmd := []string{"cognito-mfa-migrate report", "--input " + r.cfg.Input, "--checkpoint " + r.d.Store.String()}
	if r.cfg.Report != "" {
		cmd = append(cmd, "--output "+r.cfg.Report)
	}
	sum.ReportNote = fmt.Sprintf("not written by this run (%d rows, %d recorded by this run): it is written when the job ends; to see it now: %s",
		sum.Rows, sum.ThisRun.Rows, strings.Join(cmd, " "))
	r.log.Info("report not written by this run: it is written when the job ends", "report", r.cfg.ReportLocation(),
		"rows", sum.Rows, "recorded_this_run", sum.ThisRun.Rows, "rebuild_now", strings.Join(cmd, " "))
	return false
}
