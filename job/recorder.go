package job

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
)

// minSaveSpacing is the least time between two saves triggered by
// Config.SaveEvery, so that rows recorded without calls (thousands a second)
// do not turn into thousands of saves.
const minSaveSpacing = time.Second

// maxSaveFailures is how many periodic saves in a row may fail (and be
// retried at the next one) before the run stops.
const maxSaveFailures = 3

// Progress is a snapshot of a run for progress bars, log lines and metrics.
type Progress struct {
	Elapsed   time.Duration
	Rows      int64            // data rows in the input
	Done      int64            // rows finished, by this run or earlier ones
	ThisRun   int64            // rows recorded by this run
	Outcomes  map[string]int64 // rows per outcome, whole job
	Read      RateSummary
	Write     RateSummary
	ETA       time.Duration // time left at the current rates; 0 when unknown
	Final     bool          // the last snapshot of the run
	Calls     [numOps]OpStats
	MaxWorker int64 // users allowed in flight now

	// ThisRunOutcomes counts the rows recorded by this run per outcome, as
	// the summary's this_run does (a failed row retried and migrated counts
	// once, as migrated).
	ThisRunOutcomes map[string]int64
}

// RateSummary describes one rate-limited category.
type RateSummary struct {
	Configured float64 `json:"configured_rps"` // 0 = unlimited
	Current    float64 `json:"current_rps"`    // after adaptive cuts; 0 = unlimited
	Achieved   float64 `json:"achieved_rps"`   // requests sent per second by this run
	Throttles  int64   `json:"throttles"`
	Cuts       int64   `json:"rate_cuts"`
}

// record is the recorder: the only goroutine that changes the checkpoint
// state while the run goes on. It saves the state in batches and reports
// progress. It returns when results is closed, or with an error that makes
// the run fatal.
func (r *runner) record(ctx context.Context, results <-chan result) error {
	counts := r.outcomeCounts()
	var processed, users, failures int64
	pending, saveFailures := 0, 0
	lastSave := time.Now()
	saveTick := time.NewTicker(min(r.cfg.SaveInterval, time.Second))
	defer saveTick.Stop()
	progTick := time.NewTicker(r.cfg.ProgressInterval)
	defer progTick.Stop()

	trySave := func() {
		if err := r.save(ctx); err != nil {
			saveFailures++
			if errors.Is(err, checkpoint.ErrConflict) || saveFailures >= maxSaveFailures {
				r.stop(StopFatal, err)
				return
			}
			r.log.Warn("checkpoint save failed; will retry", "error", err)
			return
		}
		saveFailures, pending, lastSave = 0, 0, time.Now()
	}

	for {
		select {
		case res, ok := <-results:
			if !ok {
				r.thisRun = processed
				r.progress(counts, true)
				return nil
			}
			switch res.cls {
			case classCanceled:
				continue // stays pending; redone by the next run
			case classFatal:
				r.stop(StopFatal, &FatalError{Op: res.op.String(), Code: codeOf(res.err), Err: res.err})
				continue
			case classThrottled:
				r.stop(StopThrottled, fmt.Errorf("Cognito kept throttling %s through %d attempts; production traffic may be using the quota: resume later or lower the rate: %w",
					res.op, DefaultMaxThrottleAttempts, res.err))
				continue
			}
			old := rowOutcome(r.state.Rows[res.index])
			counts[old]--
			counts[res.outcome]++
			r.state.Rows[res.index] = encodeRow(res.outcome, res.state)
			note := MaskPhones(res.note)
			if r.cfg.NoMask && res.state != nil {
				note = joinNote(note, res.state.Phone)
			}
			if note != "" {
				r.state.Notes[res.index] = note
			} else {
				delete(r.state.Notes, res.index)
			}
			processed++
			r.thisRun = processed
			r.thisRunCounts[res.outcome]++
			if res.called {
				users++
			}
			if res.outcome == OutcomeFailed {
				failures++
				if r.cfg.MaxFailures.Exceeded(failures, users) {
					r.stop(StopMaxFailures, fmt.Errorf("%d of %d users failed, more than --max-failures %s allows; last error: %s",
						failures, users, r.cfg.MaxFailures, Scrub(errText(res.err))))
				}
			}
			pending++
			if pending >= r.cfg.SaveEvery && time.Since(lastSave) >= minSaveSpacing {
				trySave()
			}
		case <-saveTick.C:
			if pending > 0 && time.Since(lastSave) >= r.cfg.SaveInterval {
				trySave()
			}
		case <-progTick.C:
			r.progress(counts, false)
		}
	}
}

// outcomeCounts counts the rows of the state per outcome.
func (r *runner) outcomeCounts() []int64 {
	counts := make([]int64, numOutcomes+1)
	for _, w := range r.state.Rows {
		o := rowOutcome(w)
		if o >= numOutcomes {
			o = numOutcomes
		}
		counts[o]++
	}
	return counts
}

// save writes the state to the store, conditionally on the version loaded
// or last saved, so that a second runner's checkpoint is never overwritten.
func (r *runner) save(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	st := r.state
	st.Updated = time.Now().UTC()
	st.Counts = countsMap(r.outcomeCounts())
	st.Stats = r.cumulativeStats()
	if n := len(st.Runs); n > 0 {
		st.Runs[n-1].Processed = r.thisRun
		st.Runs[n-1].Figures = r.figures()
	}
	data, err := st.Encode()
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	v, err := r.d.Store.Save(ctx, data, r.version)
	if errors.Is(err, checkpoint.ErrConflict) {
		return fmt.Errorf("checkpoint %s was written by someone else since this run loaded it; stopping so as not to overwrite it: %w", r.d.Store, err)
	}
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", r.d.Store, err)
	}
	r.version = v
	return nil
}

// countsMap turns per-outcome counts into the map stored in the checkpoint
// and the summary. Pending is included; outcomes with no rows are left out.
func countsMap(counts []int64) map[string]int64 {
	m := map[string]int64{}
	for o, n := range counts[:numOutcomes] {
		if n > 0 {
			m[Outcome(o).String()] = n
		}
	}
	return m
}

// figures are this run's rates and throttles, kept in its history entry so
// that status can show them.
func (r *runner) figures() map[string]float64 {
	m := map[string]float64{}
	for _, c := range []struct {
		name string
		rs   RateSummary
	}{{"read", r.rateSummary(r.read, OpAdminGetUser)}, {"write", r.rateSummary(r.write, OpAdminSetUserMFAPreference)}} {
		m[c.name+"_rps_achieved"] = c.rs.Achieved
		m[c.name+"_rps_configured"] = c.rs.Configured
		m[c.name+"_rps_current"] = c.rs.Current
		m[c.name+"_throttles"] = float64(c.rs.Throttles)
		m[c.name+"_rate_cuts"] = float64(c.rs.Cuts)
	}
	return m
}

// cumulativeStats adds this run's call counters to those of earlier runs.
func (r *runner) cumulativeStats() map[string]int64 {
	m := maps.Clone(r.prior)
	if m == nil {
		m = map[string]int64{}
	}
	for op := range numOps {
		s := r.stats.Snapshot(op)
		m[op.String()+".calls"] += s.Calls
		m[op.String()+".attempts"] += s.Attempts
		m[op.String()+".throttled"] += s.Throttled
		m[op.String()+".errors"] += s.Errors
	}
	return m
}

// progress reports a snapshot to Deps.OnProgress.
func (r *runner) progress(counts []int64, final bool) {
	if r.d.OnProgress == nil {
		return
	}
	p := Progress{
		Elapsed: time.Since(r.started), Rows: int64(len(r.state.Rows)), ThisRun: r.thisRun,
		Outcomes: countsMap(counts), Final: final, MaxWorker: r.target.Load(),
		ThisRunOutcomes: countsMap(r.thisRunCounts[:]),
	}
	for o, n := range counts[:numOutcomes] {
		if Outcome(o).Done() {
			p.Done += n
		}
	}
	for op := range numOps {
		p.Calls[op] = r.stats.Snapshot(op)
	}
	p.Read, p.Write = r.rateSummary(r.read, OpAdminGetUser), r.rateSummary(r.write, OpAdminSetUserMFAPreference)
	p.ETA = r.eta(p.Rows - p.Done)
	r.d.OnProgress(p)
}

// rateSummary describes a limiter and what this run achieved through it.
func (r *runner) rateSummary(l *Limiter, op Op) RateSummary {
	ls := l.State()
	s := RateSummary{Configured: round2(ls.Configured), Current: round2(ls.Current), Throttles: ls.Throttles, Cuts: ls.Cuts}
	if secs := time.Since(r.started).Seconds(); secs > 0 {
		s.Achieved = round2(float64(r.stats.ops[op].attempts.Load()) / secs)
	}
	return s
}

// eta estimates the time left for remaining rows at the current rates, from
// the share of users that needed a write so far (all of them until known).
func (r *runner) eta(remaining int64) time.Duration {
	if remaining <= 0 {
		return 0
	}
	writeShare := 1.0
	if r.cfg.DryRun {
		writeShare = 0
	} else if read := r.stats.ops[OpAdminGetUser].calls.Load(); read > 0 {
		writeShare = float64(r.stats.ops[OpAdminSetUserMFAPreference].calls.Load()) / float64(read)
	}
	reads := float64(remaining)
	if r.cfg.Verify {
		reads += writeShare * float64(remaining)
	}
	secs := runSeconds(reads, writeShare*float64(remaining), r.read.Rate(), r.write.Rate())
	return time.Duration(secs * float64(time.Second))
}

// codeOf returns the error code an API error carries.
func codeOf(err error) string {
	_, code := classify(nil, err)
	return code
}

func errText(err error) string {
	if err == nil {
		return "none"
	}
	return strings.TrimSpace(err.Error())
}
