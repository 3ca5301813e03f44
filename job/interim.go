package job

import (
	"fmt"
	"log/slog"
	"strings"
)

// interimReportRows and interimReportRatio bound the report that
// InterimReportAuto has a stopped run write: about 0.2 s for 100,000 rows.
const (
	interimReportRows  = 100_000
	interimReportRatio = 100
)

// interimReport reports whether a run configured by cfg, whose checkpoint
// is at checkpoint, writes the report now, and otherwise sets
// sum.ReportNote (and logs) when it is written and how to get it sooner.
func interimReport(cfg *Config, checkpoint string, log *slog.Logger, sum *Summary) bool {
	switch sum.StopReason {
	case StopSignal, StopMaxDuration, StopMaxUsers, StopThrottled:
	default:
		return true // the end of the job, or a failure to look into
	}
	if sum.Remaining == 0 {
		return true
	}
	switch cfg.InterimReport {
	case InterimReportAlways:
		return true
	case InterimReportEnd:
	default:
		if sum.Rows <= interimReportRows || sum.Rows <= interimReportRatio*max(sum.ThisRun.Rows, 0) {
			return true
		}
	}
	cmd := []string{"cognito-mfa-migrate report", "--input " + cfg.Input, "--checkpoint " + checkpoint}
	if cfg.Report != "" {
		cmd = append(cmd, "--output "+cfg.Report)
	}
	sum.ReportNote = fmt.Sprintf("not written by this run (%d rows, %d recorded by this run): it is written when the job ends; to see it now: %s",
		sum.Rows, sum.ThisRun.Rows, strings.Join(cmd, " "))
	log.Info("report not written by this run: it is written when the job ends", "report", cfg.ReportLocation(),
		"rows", sum.Rows, "recorded_this_run", sum.ThisRun.Rows, "rebuild_now", strings.Join(cmd, " "))
	return false
}
