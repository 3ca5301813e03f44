package job

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gocarina/gocsv"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// ReportRow is one line of the per-user report. The report has one line per
// input row, in input order, whatever its outcome.
type ReportRow struct {
	Line            int    `csv:"line"`             // line of the row in the input
	Username        string `csv:"username"`         // as read from the input
	Outcome         string `csv:"outcome"`          // see Outcome
	Call            string `csv:"call"`             // the write made (or, in a dry run, that would be made)
	LegacyMFA       string `csv:"legacy_mfa"`       // legacy MFAOptions delivery media before
	MFABefore       string `csv:"mfa_before"`       // UserMFASettingList before
	PreferredBefore string `csv:"preferred_before"` // PreferredMfaSetting before
	MFAAfter        string `csv:"mfa_after"`        // UserMFASettingList after (planned, in a dry run)
	PreferredAfter  string `csv:"preferred_after"`  // PreferredMfaSetting after (planned, in a dry run)
	Enabled         string `csv:"enabled"`          // whether the user is enabled
	Phone           string `csv:"phone"`            // masked phone number
	Detail          string `csv:"detail"`           // error code, invalid-input reason, duplicate-of
}

// notePhone separates a row's note from the full phone number that a run
// with Config.NoMask appends to it. The checkpoint's row word keeps only the
// masked number; the full one lives in the note, so a checkpoint made with
// --no-mask holds phone numbers and must be protected like the report.
const notePhone = "\x1ephone="

// joinNote returns the note of a row whose full phone number is kept.
func joinNote(note, phone string) string {
	if phone == "" {
		return note
	}
	return note + notePhone + phone
}

// noteNotRead is the detail of a no_legacy_mfa row the job did not read
// because the export listed no legacy MFA options for the user.
const noteNotRead = "not read: the export shows no legacy MFA options"

// splitNote splits a row's note into its text and the full phone number, if
// a run with Config.NoMask kept one.
func splitNote(note string) (text, phone string) {
	text, phone, _ = strings.Cut(note, notePhone)
	return text, phone
}

// reportRow builds the report line of one input row from its checkpoint word
// and note. The phone number is masked unless noMask is set and the note
// holds the full number.
func reportRow(row input.Row, word uint32, note string, noMask bool) ReportRow {
	note, fullPhone := splitNote(note)
	o, st, read := decodeRow(word)
	rr := ReportRow{Line: row.Line, Username: row.Username, Outcome: o.String(), Detail: note}
	if o == OutcomeInvalidInput {
		rr.Username = printable(row.Username)
	}
	if o == OutcomeNoLegacyMFA && !read && rr.Detail == "" {
		// Not kept per row in the checkpoint: an export of a whole pool
		// would otherwise hold one note per user without legacy MFA.
		rr.Detail = noteNotRead
	}
	if !read || !st.Found {
		return rr
	}
	call := CallNone
	if o == OutcomeMigrated || o == OutcomeWouldMigrate {
		call = Plan(st).Call
	}
	after := st.After(call)
	rr.Call = call.String()
	rr.LegacyMFA = strings.Join(st.LegacyList(), " ")
	rr.MFABefore = strings.Join(st.MFAList(), " ")
	rr.PreferredBefore = st.Preferred
	rr.MFAAfter = strings.Join(after.MFAList(), " ")
	rr.PreferredAfter = after.Preferred
	rr.Enabled = strconv.FormatBool(st.Enabled)
	rr.Phone = st.Phone
	if noMask && fullPhone != "" {
		rr.Phone = fullPhone
	}
	return rr
}

// printable replaces control characters and invalid UTF-8 so that a bad
// input row cannot garble the report.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// WriteReport writes the per-user report of st to w: one line per row of the
// input that open returns, which must be the input the checkpoint was made
// from. Phone numbers are masked, unless noMask is set: then the rows a run
// with Config.NoMask recorded show the full number (the others stay
// masked). It streams: memory does not grow with the input.
func WriteReport(w io.Writer, open func() (io.ReadCloser, error), name string, opts input.Options, st *checkpoint.State, noMask bool) error {
	f, err := open()
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := input.NewReader(f, name, opts)
	if err != nil {
		return err
	}
	ch := make(chan any, 256)
	errc := make(chan error, 1)
	go func() {
		err := gocsv.MarshalChan(ch, gocsv.NewSafeCSVWriter(csv.NewWriter(w)))
		if errors.Is(err, gocsv.ErrChannelIsClosed) {
			err = nil
		}
		errc <- err
		for range ch { // drain if MarshalChan stopped early
		}
	}()
	send := func() error {
		for {
			row, err := rd.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if row.Index >= len(st.Rows) {
				return fmt.Errorf("%w: %s has more rows than the checkpoint", input.ErrInput, name)
			}
			ch <- reportRow(row, st.Rows[row.Index], st.Notes[row.Index], noMask)
		}
	}
	sendErr := send()
	close(ch)
	if err := <-errc; err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return sendErr
}

// Summary is the JSON summary of a run, also printed in short on stderr.
type Summary struct {
	RunID           string                 `json:"run_id"`
	PoolID          string                 `json:"user_pool_id"`
	Mode            string                 `json:"mode"`
	Input           string                 `json:"input"`
	InputSHA256     string                 `json:"input_sha256"`
	InputFormat     string                 `json:"input_format"`
	Checkpoint      string                 `json:"checkpoint"`
	Report          string                 `json:"report"`
	SummaryFile     string                 `json:"summary"`
	Started         time.Time              `json:"started"`
	Ended           time.Time              `json:"ended"`
	DurationSeconds float64                `json:"duration_seconds"`
	StopReason      string                 `json:"stop_reason"`
	Error           string                 `json:"error,omitempty"`
	ExitCode        int                    `json:"exit_code"`
	Rows            int64                  `json:"rows"`
	Done            int64                  `json:"done"`
	Remaining       int64                  `json:"remaining"`
	Outcomes        map[string]int64       `json:"outcomes"`
	ThisRun         RunCounts              `json:"this_run"`
	Calls           map[string]OpStats     `json:"calls"`
	Rates           map[string]RateSummary `json:"rates"`
	MaxWorkers      int                    `json:"max_workers"`
	Runs            int                    `json:"runs"`
	Cost            *Cost                  `json:"real_run_cost,omitempty"`
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

// summary builds the summary of the run from the state.
func (r *runner) summary(reason string, runErr error) *Summary {
	counts := r.outcomeCounts()
	s := &Summary{
		RunID: r.runID, PoolID: r.cfg.UserPoolID, Mode: r.cfg.Mode(), Input: r.cfg.Input,
		InputSHA256: r.scan.SHA256, InputFormat: r.scan.Format.String(), Checkpoint: r.d.Store.String(),
		Report: r.cfg.ReportLocation(), SummaryFile: r.cfg.SummaryLocation(),
		Started: r.started.UTC(), Ended: time.Now().UTC(), StopReason: reason,
		Rows: int64(len(r.state.Rows)), Outcomes: countsMap(counts), Runs: len(r.state.Runs),
		ThisRun:    RunCounts{Rows: r.thisRun, Outcomes: countsMap(r.thisRunCounts[:])},
		Calls:      map[string]OpStats{},
		MaxWorkers: r.cfg.Workers,
	}
	s.DurationSeconds = round2(s.Ended.Sub(s.Started).Seconds())
	for o, n := range counts[:numOutcomes] {
		if Outcome(o).Done() {
			s.Done += n
		}
	}
	s.Remaining = s.Rows - s.Done
	for op := range numOps {
		if st := r.stats.Snapshot(op); st.Attempts > 0 {
			s.Calls[op.String()] = st
		}
	}
	s.Rates = map[string]RateSummary{
		"read":  r.rateSummary(r.read, OpAdminGetUser),
		"write": r.rateSummary(r.write, OpAdminSetUserMFAPreference),
	}
	if r.cfg.DryRun {
		s.Cost = r.cost()
	}
	err := r.exitError(reason, runErr)
	if reason == StopNothingLeft {
		err = nil
	}
	if err != nil {
		s.Error = Scrub(err.Error())
	}
	s.ExitCode = ExitCode(err)
	return s
}

// cost estimates the real run of a dry run's input from the whole checkpoint.
func (r *runner) cost() *Cost {
	var reads, writes int64
	for _, w := range r.state.Rows {
		o, _, read := decodeRow(w)
		if read {
			reads++
		}
		if o == OutcomeWouldMigrate {
			writes++
		}
	}
	if r.cfg.Verify {
		reads += writes
	}
	at := func(readRPS, writeRPS float64) Duration {
		return newDuration(runSeconds(float64(reads), float64(writes), readRPS, writeRPS))
	}
	return &Cost{
		AdminGetUserCalls: reads, WriteCalls: writes,
		AtConfiguredRates: at(r.cfg.ReadRPS, r.cfg.WriteRPS),
		AtFullQuota:       at(QuotaUserRead, QuotaUserResourceUpdate),
	}
}

// writeOutputs writes the report and the summary.
func (r *runner) writeOutputs(ctx context.Context, sum *Summary) error {
	ctx = context.WithoutCancel(ctx)
	err := r.d.Files.Write(ctx, r.cfg.ReportLocation(), func(w io.Writer) error {
		return WriteReport(w, r.reportOpen, r.cfg.Input, r.inputOptions(), r.state, r.cfg.NoMask)
	})
	if err != nil {
		return fmt.Errorf("report %s: %w", r.cfg.ReportLocation(), err)
	}
	return r.d.Files.Write(ctx, r.cfg.SummaryLocation(), sum.WriteJSON)
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
	for _, o := range append([]Outcome{OutcomePending}, Outcomes()...) {
		if n := s.Outcomes[o.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", o, n))
		}
	}
	fmt.Fprintf(&b, "  outcomes: %s\n", strings.Join(parts, ", "))
	for _, op := range []Op{OpAdminGetUser, OpAdminSetUserMFAPreference} {
		if c, ok := s.Calls[op.String()]; ok {
			fmt.Fprintf(&b, "  %s: %d calls, %d retries, %d throttled, p50 %.0f ms, p99 %.0f ms\n", op, c.Calls, c.Retries, c.Throttled, c.P50Ms, c.P99Ms)
		}
	}
	for _, k := range []string{"read", "write"} {
		if rs, ok := s.Rates[k]; ok && (rs.Achieved > 0 || rs.Throttles > 0) {
			fmt.Fprintf(&b, "  %s rate: %.1f/s achieved, %s configured, %d throttles, %d cuts\n", k, rs.Achieved, rpsText(rs.Configured), rs.Throttles, rs.Cuts)
		}
	}
	if c := s.Cost; c != nil {
		fmt.Fprintf(&b, "  the real run will make %d AdminGetUser calls (each user read counts as a monthly active user) and %d AdminSetUserMFAPreference calls:\n", c.AdminGetUserCalls, c.WriteCalls)
		fmt.Fprintf(&b, "    about %s at the configured rates, %s at Cognito's full default quota (which production shares)\n", c.AtConfiguredRates.Text, c.AtFullQuota.Text)
	}
	fmt.Fprintf(&b, "  report: %s\n  summary: %s\n", s.Report, s.SummaryFile)
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
