package job

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// Progress is a snapshot of a run for progress bars, log lines and metrics.
type Progress struct {
	Elapsed   time.Duration
	Rows      int64            // data rows in the input
	Done      int64            // rows finished, by this run or earlier ones
	ThisRun   int64            // rows recorded by this run
	Outcomes  map[string]int64 // rows per outcome, whole job
	Read      pace.RateSummary
	Write     pace.RateSummary
	ETA       time.Duration // time left at the current rates; 0 when unknown
	Final     bool          // the last snapshot of the run
	Calls     [cognito.NumOps]cognito.OpStats
	MaxWorker int64 // users allowed in flight now

	// ThisRunOutcomes counts the rows recorded by this run per outcome, as
	// the summary's this_run does (a failed row retried and migrated counts
	// once, as migrated).
	ThisRunOutcomes map[string]int64
}

// Summary is the JSON summary of a run, also printed in short on stderr.
type Summary struct {
	RunID           string                      `json:"run_id"`
	PoolID          string                      `json:"user_pool_id"`
	Mode            string                      `json:"mode"`
	Input           string                      `json:"input"`
	InputSHA256     string                      `json:"input_sha256"`
	InputFormat     string                      `json:"input_format"`
	Checkpoint      string                      `json:"checkpoint"`
	Report          string                      `json:"report"`
	ReportNote      string                      `json:"report_note,omitempty"` // set when this run did not write the report
	SummaryFile     string                      `json:"summary"`
	Started         time.Time                   `json:"started"`
	Ended           time.Time                   `json:"ended"`
	DurationSeconds float64                     `json:"duration_seconds"`
	StopReason      string                      `json:"stop_reason"`
	Error           string                      `json:"error,omitempty"`
	ExitCode        int                         `json:"exit_code"`
	Rows            int64                       `json:"rows"`
	Done            int64                       `json:"done"`
	Remaining       int64                       `json:"remaining"`
	Outcomes        map[string]int64            `json:"outcomes"`
	ThisRun         RunCounts                   `json:"this_run"`
	Calls           map[string]cognito.OpStats  `json:"calls"`
	Rates           map[string]pace.RateSummary `json:"rates"`
	MaxWorkers      int                         `json:"max_workers"`
	Runs            int                         `json:"runs"`
	Cost            *Cost                       `json:"real_run_cost,omitempty"`
}

// RunCounts are the rows recorded by one run.
type RunCounts struct {
	Rows     int64            `json:"rows"`
	Outcomes map[string]int64 `json:"outcomes"`
}

// Cost is what the real run of a dry run's input will cost, so it can be
// reviewed before anything changes.
type Cost struct {
	AdminGetUserCalls int64    `json:"admin_get_user_calls"` // each counts the user as a monthly active user
	WriteCalls        int64    `json:"admin_set_user_mfa_preference_calls"`
	AtConfiguredRates Duration `json:"duration_at_configured_rates"`
	AtFullQuota       Duration `json:"duration_at_full_quota"`
	// Partial is set when the dry run stopped before it settled every row:
	// the calls are then extrapolated from FromRows settled rows of OfRows.
	Partial  bool  `json:"partial,omitempty"`
	FromRows int64 `json:"extrapolated_from_rows,omitempty"`
	OfRows   int64 `json:"of_rows,omitempty"`
}

// Duration is a duration in a JSON document: seconds and a readable form.
type Duration struct {
	Seconds float64 `json:"seconds"`
	Text    string  `json:"text"`
}

func newDuration(secs float64) Duration {
	if math.IsInf(secs, 0) || math.IsNaN(secs) {
		return Duration{Text: "unlimited"}
	}
	return Duration{Seconds: math.Round(secs), Text: time.Duration(math.Round(secs) * float64(time.Second)).String()}
}

// dryRunCost estimates the real run of a dry run's rows at readRPS and
// writeRPS. When the dry run did not settle every row (it was stopped), the
// calls are extrapolated from the rows it settled and the cost is marked
// partial.
func dryRunCost(rows []uint32, verify bool, readRPS, writeRPS float64) *Cost {
	var reads, writes, settled int64
	for _, w := range rows {
		o, _, read := decodeRow(w)
		if read {
			reads++
		}
		if o == outcomeWouldMigrate {
			writes++
		}
		if o.Done() {
			settled++
		}
	}
	if verify {
		reads += writes
	}
	c := &Cost{}
	if n := int64(len(rows)); settled < n {
		c.Partial, c.FromRows, c.OfRows = true, settled, n
		if settled > 0 {
			scale := float64(n) / float64(settled)
			reads, writes = int64(math.Round(float64(reads)*scale)), int64(math.Round(float64(writes)*scale))
		}
	}
	at := func(readRPS, writeRPS float64) Duration {
		return newDuration(RunSeconds(float64(reads), float64(writes), readRPS, writeRPS))
	}
	c.AdminGetUserCalls, c.WriteCalls = reads, writes
	c.AtConfiguredRates = at(readRPS, writeRPS)
	c.AtFullQuota = at(QuotaUserRead, QuotaUserResourceUpdate)
	return c
}

// WriteJSON writes the summary as indented JSON.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText writes the short human summary printed on stderr.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s of %s on %s: %s after %s\n", s.Mode, s.Input, s.PoolID, describeStop(s.StopReason),
		time.Duration(s.DurationSeconds*float64(time.Second)).Round(time.Second))
	fmt.Fprintf(&b, "  rows: %d, done %d, remaining %d (this run recorded %d)\n", s.Rows, s.Done, s.Remaining, s.ThisRun.Rows)
	var parts []string
	for _, o := range append([]outcome{outcomePending}, allOutcomes()...) {
		if n := s.Outcomes[o.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", o, n))
		}
	}
	fmt.Fprintf(&b, "  outcomes: %s\n", strings.Join(parts, ", "))
	for _, op := range []cognito.Op{cognito.OpAdminGetUser, cognito.OpAdminSetUserMFAPreference} {
		if c, ok := s.Calls[op.String()]; ok {
			fmt.Fprintf(&b, "  %s: %s, %s, %d throttled, p50 %.0f ms, p99 %.0f ms\n", op, plural(c.Calls, "call"), plural(c.Retries, "retry", "retries"), c.Throttled, c.P50Ms, c.P99Ms)
		}
	}
	for _, k := range []string{"read", "write"} {
		if rs, ok := s.Rates[k]; ok && (rs.Achieved > 0 || rs.Throttles > 0) {
			fmt.Fprintf(&b, "  %s rate: %.1f/s achieved, %s configured, %d throttles, %d cuts\n", k, rs.Achieved, rpsText(rs.Configured), rs.Throttles, rs.Cuts)
		}
		if rs, ok := s.Rates[k]; ok && rs.Pacing != nil {
			fmt.Fprintf(&b, "  %s pacing %s\n", k, pacingText(rs.Pacing))
		}
	}
	if c := s.Cost; c != nil {
		if c.Partial {
			fmt.Fprintf(&b, "  partial estimate: the dry run stopped after %d of %d rows; extrapolated from them:\n", c.FromRows, c.OfRows)
		}
		fmt.Fprintf(&b, "  the real run will make %s%d AdminGetUser calls (each user read counts as a monthly active user) and %d AdminSetUserMFAPreference calls:\n", map[bool]string{true: "about ", false: ""}[c.Partial], c.AdminGetUserCalls, c.WriteCalls)
		fmt.Fprintf(&b, "    about %s at the configured rates, %s at Cognito's full default quota (which production shares)\n", c.AtConfiguredRates.Text, c.AtFullQuota.Text)
	}
	if s.ReportNote != "" {
		fmt.Fprintf(&b, "  report: %s %s\n  summary: %s\n", s.Report, s.ReportNote, s.SummaryFile)
	} else {
		fmt.Fprintf(&b, "  report: %s\n  summary: %s\n", s.Report, s.SummaryFile)
	}
	fmt.Fprintf(&b, "  checkpoint: %s\n", s.Checkpoint)
	if s.Error != "" {
		fmt.Fprintf(&b, "  error: %s\n", s.Error)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func rpsText(v float64) string {
	if v == 0 {
		return "unlimited"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "/s"
}

func describeStop(reason string) string {
	switch reason {
	case StopCompleted:
		return "completed"
	case StopNothingLeft:
		return "nothing left to do (the checkpoint is complete)"
	case StopSignal:
		return "stopped by a signal (resumable)"
	case StopMaxDuration:
		return "stopped at --max-duration (resumable)"
	case StopMaxUsers:
		return "stopped at --max-users (resumable)"
	case StopThrottled:
		return "stopped: Cognito kept throttling (resumable)"
	case StopMaxFailures:
		return "stopped: too many failures"
	default:
		return "stopped by an error"
	}
}

// plural returns "1 page", "2 pages", and with a plural form given,
// "1 retry", "2 retries".
func plural(n int64, unit string, pluralForm ...string) string {
	if n == 1 {
		return "1 " + unit
	}
	if len(pluralForm) > 0 {
		return strconv.FormatInt(n, 10) + " " + pluralForm[0]
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}
