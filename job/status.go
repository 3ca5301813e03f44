package job

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// Status is the progress of a job as its checkpoint records it.
type Status struct {
	Checkpoint  string                     `json:"checkpoint"`
	PoolID      string                     `json:"user_pool_id"`
	Mode        string                     `json:"mode"`
	InputSHA256 string                     `json:"input_sha256"`
	Created     time.Time                  `json:"created"`
	Updated     time.Time                  `json:"updated"`
	Rows        int64                      `json:"rows"`
	Done        int64                      `json:"done"`
	Remaining   int64                      `json:"remaining"`
	Percent     float64                    `json:"percent_done"`
	Outcomes    map[string]int64           `json:"outcomes"`
	Calls       map[string]cognito.OpStats `json:"calls"` // every run's calls, in the summary's shape (no latencies: the checkpoint keeps none)
	ETA         ETA                        `json:"eta"`
	Runs        []checkpoint.Run           `json:"runs"`
	Running     bool                       `json:"last_run_unfinished"` // the last run has no end: it is running, or it crashed
}

// ETA estimates the time the remaining rows need.
type ETA struct {
	ReadRPS           float64  `json:"read_rps"`
	WriteRPS          float64  `json:"write_rps"`
	RatesFrom         string   `json:"rates_from"`  // "flags", "run <id>" (the rates it achieved) or "defaults"
	WriteShare        float64  `json:"write_share"` // share of users read so far that needed a write
	AtConfiguredRates Duration `json:"at_configured_rates"`
	AtFullQuota       Duration `json:"at_full_quota"`
}

// LoadStatus reads the checkpoint in store and describes it, with an ETA
// at readRPS and writeRPS. A rate of 0 is replaced with the rate the last
// run that recorded any achieved, else DefaultReadRPS or DefaultWriteRPS.
// It takes no lock: it can watch a running job.
func LoadStatus(ctx context.Context, store checkpoint.Store, readRPS, writeRPS float64) (*Status, error) {
	data, _, err := store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", store, err)
	}
	st, err := checkpoint.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", store, err)
	}
	s := &Status{
		Checkpoint: store.String(), PoolID: st.Identity.PoolID, Mode: st.Identity.Mode, InputSHA256: st.Identity.InputSHA256,
		Created: st.Created, Updated: st.Updated, Rows: int64(len(st.Rows)), Calls: callsFromStats(st.Stats), Runs: st.Runs,
	}
	var counts tally
	var read, writes int64
	for _, w := range st.Rows {
		o, _, wasRead := decodeRow(w)
		counts.add(o, 1)
		if wasRead {
			read++
		}
		if o == outcomeMigrated || o == outcomeWouldMigrate {
			writes++
		}
	}
	s.Outcomes, s.Done = counts.byName(), counts.done()
	s.Remaining = s.Rows - s.Done
	if s.Rows > 0 {
		s.Percent = math.Round(1000*float64(s.Done)/float64(s.Rows)) / 10
	}
	if n := len(st.Runs); n > 0 && st.Runs[n-1].Ended.IsZero() {
		s.Running = true
	}
	s.ETA = ETA{ReadRPS: readRPS, WriteRPS: writeRPS, RatesFrom: "flags", WriteShare: 1}
	if readRPS == 0 || writeRPS == 0 {
		r, w, from := lastRates(st.Runs)
		if readRPS == 0 {
			s.ETA.ReadRPS = r
		}
		if writeRPS == 0 {
			s.ETA.WriteRPS = w
		}
		s.ETA.RatesFrom = from
	}
	readRPS, writeRPS = s.ETA.ReadRPS, s.ETA.WriteRPS
	if read > 0 {
		s.ETA.WriteShare = pace.Round2(float64(writes) / float64(read))
	}
	if s.Mode == "dry-run" {
		s.ETA.WriteShare = 0
	}
	at := func(r, w float64) Duration {
		return newDuration(RunSeconds(float64(s.Remaining), s.ETA.WriteShare*float64(s.Remaining), r, w))
	}
	s.ETA.AtConfiguredRates = at(readRPS, writeRPS)
	s.ETA.AtFullQuota = at(QuotaUserRead, QuotaUserResourceUpdate)
	return s, nil
}

// lastRates returns the read and write rates the last run achieved that
// recorded any, and where they come from; DefaultReadRPS and
// DefaultWriteRPS when no run did.
func lastRates(runs []checkpoint.Run) (read, write float64, from string) {
	for i := len(runs) - 1; i >= 0; i-- {
		f := runs[i].Figures
		r, w := f["read_rps_achieved"], f["write_rps_achieved"]
		if r > 0 {
			if w <= 0 {
				w = DefaultWriteRPS // a run that wrote nothing (dry run) says nothing of writes
			}
			return pace.Round2(r), pace.Round2(w), "run " + runs[i].ID
		}
	}
	return DefaultReadRPS, DefaultWriteRPS, "defaults"
}

// callsFromStats turns the checkpoint's cumulative counters
// ("AdminGetUser.calls", ...) into the summary's per-operation shape.
func callsFromStats(stats map[string]int64) map[string]cognito.OpStats {
	out := map[string]cognito.OpStats{}
	for op := range cognito.NumOps {
		n := op.String()
		o := cognito.OpStats{Calls: stats[n+".calls"], Attempts: stats[n+".attempts"], Throttled: stats[n+".throttled"], Errors: stats[n+".errors"]}
		if o.Attempts == 0 && o.Calls == 0 {
			continue
		}
		o.Retries = max(o.Attempts-o.Calls, 0)
		out[n] = o
	}
	return out
}

// WriteJSON writes the status as indented JSON.
func (s *Status) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText writes the status for a person.
func (s *Status) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoint %s\n", s.Checkpoint)
	fmt.Fprintf(&b, "  pool %s, mode %s, input sha256 %s\n", s.PoolID, s.Mode, short(s.InputSHA256))
	fmt.Fprintf(&b, "  rows %d: done %d (%.1f%%), remaining %d; last saved %s\n", s.Rows, s.Done, s.Percent, s.Remaining, s.Updated.Format(time.RFC3339))
	keys := make([]string, 0, len(s.Outcomes))
	for k := range s.Outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, s.Outcomes[k]))
	}
	fmt.Fprintf(&b, "  outcomes: %s\n", strings.Join(parts, ", "))
	if s.Remaining > 0 {
		fmt.Fprintf(&b, "  ETA: %s at %s reads and %s writes (%s; %.0f%% of users need a write), %s at the full default quota\n",
			s.ETA.AtConfiguredRates.Text, rpsText(s.ETA.ReadRPS), rpsText(s.ETA.WriteRPS), ratesFromText(s.ETA.RatesFrom), 100*s.ETA.WriteShare, s.ETA.AtFullQuota.Text)
	}
	runs := s.Runs
	if len(runs) > 5 {
		fmt.Fprintf(&b, "  runs: %d (last 5 shown)\n", len(runs))
		runs = runs[len(runs)-5:]
	} else {
		fmt.Fprintf(&b, "  runs: %d\n", len(runs))
	}
	for _, r := range runs {
		end := "no end recorded (running, or it crashed)"
		if !r.Ended.IsZero() {
			end = fmt.Sprintf("%s after %s", r.Reason, r.Ended.Sub(r.Started).Round(time.Second))
		}
		fmt.Fprintf(&b, "    %s  %s  %d rows  %s", r.Started.Format(time.RFC3339), r.ID, r.Processed, end)
		if f := r.Figures; f != nil {
			fmt.Fprintf(&b, "  read %.1f/s (limit %s) write %.1f/s (limit %s), %.0f throttles",
				f["read_rps_achieved"], rpsText(f["read_rps_current"]), f["write_rps_achieved"], rpsText(f["write_rps_current"]),
				f["read_throttles"]+f["write_throttles"])
			b.WriteString(statusPacingText(f))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ratesFromText(from string) string {
	switch {
	case from == "flags":
		return "the rates asked for"
	case strings.HasPrefix(from, "run "):
		return "the rates " + from + " achieved"
	}
	return "the default rates"
}
