package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
)

// minSaveSpacing is the least time between two saves triggered by
// Config.SaveEvery, so that rows recorded without calls (thousands a second)
// do not turn into thousands of saves.
const minSaveSpacing = time.Second

// maxSaveFailures is how many periodic saves in a row may fail (and be
// retried at the next one) before the run stops.
const maxSaveFailures = 3

// saveTimeout bounds one save when no stop budget bounds it sooner.
const saveTimeout = 60 * time.Second

// recorder is the only owner of a job's checkpoint state and of this run's
// tallies. While a run goes on, only the goroutine running record touches
// its fields; before record starts and after it returns, the runner that
// made it may (it loads the state, saves the run's start and end, and
// writes the report and summary from it).
type recorder struct {
	store       checkpoint.Store
	lease       *lease
	log         *slog.Logger
	noMask      bool
	saveEvery   int
	saveEach    time.Duration // Config.SaveInterval
	progressInt time.Duration
	maxFailures Threshold
	// meter returns this run's figures (rates, throttles) and call
	// counters, kept in the run history and the cumulative stats.
	meter func() (figures map[string]float64, calls map[string]int64)
	// onProgress, if not nil, gets a snapshot every progressInt and once
	// at the end, from record's goroutine.
	onProgress func(t tallies, final bool)

	state   *checkpoint.State
	version string           // of the checkpoint loaded or last saved; "" before the first save
	prior   map[string]int64 // state.Stats when this run started
	t       tallies
	series  rateSeries // this run's calls per minute (series.go)
	started time.Time  // when this run started; zero until startRun
}

// tallies are the counts a recorder keeps: the whole job's rows per
// outcome, and the rows this run recorded.
type tallies struct {
	job     tally
	thisRun tally
	rows    int64 // rows recorded by this run
}

// adopt makes st the state the recorder owns, loaded at version.
func (r *recorder) adopt(st *checkpoint.State, version string) {
	if st.Notes == nil {
		st.Notes = map[int]string{}
	}
	r.state, r.version = st, version
	r.prior = maps.Clone(st.Stats)
	r.t = tallies{job: tallyRows(st.Rows)}
}

// remaining counts the rows of the job that are not done.
func (r *recorder) remaining() int64 { return r.t.job.total() - r.t.job.done() }

// record records results until the channel is closed, saving the state in
// batches and reporting progress. A result that says the run cannot go on
// (a fatal error, throttling that outlasted its retries, too many
// failures) asks stop to end the run; the rows in flight are still
// recorded as they come.
func (r *recorder) record(ctx context.Context, results <-chan result, stop func(reason string, err error)) {
	var users, failures int64
	pending, saveFailures := 0, 0
	lastSave := time.Now()
	saveTick := time.NewTicker(min(r.saveEach, time.Second))
	defer saveTick.Stop()
	progTick := time.NewTicker(r.progressInt)
	defer progTick.Stop()

	trySave := func() {
		if err := r.save(ctx, time.Time{}); err != nil {
			saveFailures++
			if errors.Is(err, checkpoint.ErrConflict) || errors.Is(err, errLeaseLost) || saveFailures >= maxSaveFailures {
				stop(StopFatal, err)
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
				r.progress(true)
				return
			}
			switch res.cls {
			case cognito.ClassCanceled:
				continue // stays pending; redone by the next run
			case cognito.ClassFatal:
				stop(StopFatal, &cognito.FatalError{Op: res.op.String(), Code: cognito.ErrorCode(res.err), Err: res.err})
				continue
			case cognito.ClassThrottled:
				stop(StopThrottled, fmt.Errorf("Cognito kept throttling %s through %d attempts; production traffic may be using the quota: resume later or lower the rate: %w",
					res.op, cognito.DefaultMaxThrottleAttempts, res.err))
				continue
			}
			r.put(res)
			if res.called {
				users++
			}
			if res.outcome == outcomeFailed {
				failures++
				if r.maxFailures.Exceeded(failures, users) {
					stop(StopMaxFailures, fmt.Errorf("%d of %d users failed, more than --max-failures %s allows; last error: %s",
						failures, users, r.maxFailures, Scrub(errText(res.err))))
				}
			}
			pending++
			if pending >= r.saveEvery && time.Since(lastSave) >= minSaveSpacing {
				trySave()
			}
		case <-saveTick.C:
			if pending > 0 && time.Since(lastSave) >= r.saveEach {
				trySave()
			}
		case <-progTick.C:
			r.observeSeries()
			r.progress(false)
		}
	}
}

// put records one row's result in the state and the tallies.
func (r *recorder) put(res result) {
	r.t.job.add(rowOutcome(r.state.Rows[res.index]), -1)
	r.t.job.add(res.outcome, 1)
	r.state.Rows[res.index] = encodeRow(res.outcome, res.state)
	note := maskPhones(res.note)
	if r.noMask && res.state != nil {
		note = joinNote(note, res.state.Phone)
	}
	if note != "" {
		r.state.Notes[res.index] = note
	} else {
		delete(r.state.Notes, res.index)
	}
	r.t.rows++
	r.t.thisRun.add(res.outcome, 1)
}

func (r *recorder) progress(final bool) {
	if r.onProgress != nil {
		r.onProgress(r.t, final)
	}
}

// startRun adds this run to the history.
func (r *recorder) startRun(run checkpoint.Run) {
	r.state.Runs = append(r.state.Runs, run)
	r.started = run.Started
}

// endRun records how this run ended in the history: the reason and the
// exit code.
func (r *recorder) endRun(reason string, exitCode int) {
	if n := len(r.state.Runs); n > 0 {
		r.state.Runs[n-1].Ended = time.Now().UTC()
		r.state.Runs[n-1].Reason = reason
		r.state.Runs[n-1].ExitCode = &exitCode
	}
}

// save writes the state to the store, conditionally on the version loaded
// or last saved, so that a second runner's checkpoint is never overwritten;
// and only while the lease holds, so that a runner that lost its lock (or
// was frozen past it) writes nothing. A non-zero deadline bounds it (the
// stop budget); else it gets saveTimeout.
func (r *recorder) save(ctx context.Context, deadline time.Time) error {
	if err := r.lease.valid(); err != nil {
		return fmt.Errorf("checkpoint not saved: %w", err)
	}
	if deadline.IsZero() {
		deadline = time.Now().Add(saveTimeout)
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	st := r.state
	st.Updated = time.Now().UTC()
	st.Counts = r.t.job.byName()
	figures, calls := r.meter()
	st.Stats = maps.Clone(r.prior)
	if st.Stats == nil {
		st.Stats = map[string]int64{}
	}
	for k, v := range calls {
		st.Stats[k] += v
	}
	if n := len(st.Runs); n > 0 {
		st.Runs[n-1].Processed = r.t.rows
		st.Runs[n-1].Figures = figures
		st.Runs[n-1].Series = r.seriesSnapshot(calls)
	}
	data, err := st.Encode()
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	v, err := r.store.Save(ctx, data, r.version)
	if errors.Is(err, checkpoint.ErrConflict) {
		return fmt.Errorf("checkpoint %s was written by someone else since this run loaded it; stopping so as not to overwrite it: %w", r.store, err)
	}
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	r.version = v
	return nil
}

func errText(err error) string {
	if err == nil {
		return "none"
	}
	return strings.TrimSpace(err.Error())
}

// observeSeries adds the counters of this run so far to its series.
func (r *recorder) observeSeries() {
	if r.started.IsZero() {
		return
	}
	_, calls := r.meter()
	r.series.observe(time.Since(r.started), countsOf(calls))
}

// seriesSnapshot returns this run's series for a save, given its call
// counters; nil before the run started.
func (r *recorder) seriesSnapshot(calls map[string]int64) []checkpoint.Point {
	if r.started.IsZero() {
		return nil
	}
	return r.series.snapshot(time.Since(r.started), countsOf(calls))
}
