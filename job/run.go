package job

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// Deps are the parts of a run that come from outside: the Cognito client,
// the checkpoint store, file access, logging and progress reporting.
type Deps struct {
	Cognito CognitoAPI       // usually NewClient(...); wrapped with the limiters by Run
	Store   checkpoint.Store // where the checkpoint lives
	Files   Files            // input, report and summary locations
	Logger  *slog.Logger     // nil discards logs

	// OnProgress, if not nil, is called every Config.ProgressInterval and once
	// at the end, from one goroutine. It must not block for long.
	OnProgress func(Progress)

	Host    string // recorded in the run history and the lock owner
	Version string // program version, recorded in the run history

	// RunID identifies the run in logs, metrics, the summary and the run
	// history; "" means a new NewRunID. A command sets it to log lines with
	// the same ID before the run starts.
	RunID string
}

// Stop reasons recorded in the run history and the summary.
const (
	StopCompleted   = "completed"
	StopNothingLeft = "nothing-left"
	StopSignal      = "signal"
	StopMaxDuration = "max-duration"
	StopMaxUsers    = "max-users"
	StopThrottled   = "throttled"
	StopMaxFailures = "max-failures"
	StopFatal       = "fatal"
)

// result is what a worker (or the dispatcher, for rows that need no call)
// hands to the recorder.
type result struct {
	index   int
	outcome Outcome
	state   *UserState // nil when the user was not read
	note    string     // error code, invalid-input reason, duplicate-of
	called  bool       // the row needed Cognito calls (a "user" for --max-users and failure rates)
	cls     class      // classFatal, classThrottled and classCanceled are not recorded
	op      Op
	err     error
}

// runner is one execution of Run.
type runner struct {
	cfg   Config
	d     Deps
	log   *slog.Logger
	runID string

	stats       *Stats
	read, write *Limiter
	api         *Limited

	scan    *input.Scan
	open    func() (io.ReadCloser, error)
	state   *checkpoint.State
	version string
	prior   map[string]int64 // state.Stats when this run started
	started time.Time

	// reportOpen is open without the cancellation of the run's ctx: the
	// report of a stopped run is written after a signal.
	reportOpen func() (io.ReadCloser, error)

	// owned by the recorder while the run goes on
	thisRun       int64                  // rows recorded by this run
	thisRunCounts [numOutcomes + 1]int64 // rows recorded by this run, per outcome

	// stopping
	stopMu         sync.Mutex
	stopReason     string
	stopErr        error
	cancelDispatch context.CancelFunc
	cancelCalls    context.CancelFunc

	// worker sizing (see sizeWorkers)
	inflight  atomic.Int64  // users handed to workers and not finished
	target    atomic.Int64  // users allowed in flight
	freed     chan struct{} // signaled when a user finishes or target grows
	usersDone atomic.Int64  // users finished by workers
}

// Run migrates the users of cfg.Input, resuming from the checkpoint in
// d.Store. It returns the summary of the job (nil only when it could not
// start) and an error that says how it ended: nil when every row is done and
// none failed; ErrSomeFailed; ErrStopped when it stopped early and can be
// resumed; an error wrapping ErrUsage or input.ErrInput for bad usage or
// input; anything else (a *FatalError, checkpoint.ErrLocked, ...) is fatal.
// Run returns only after every goroutine it started has ended.
func Run(ctx context.Context, cfg Config, d Deps) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Cognito == nil || d.Store == nil {
		return nil, errors.New("job.Run: Deps.Cognito and Deps.Store are required")
	}
	r := &runner{cfg: cfg, d: d, log: d.Logger, runID: d.RunID, stats: &Stats{}, freed: make(chan struct{}, 1)}
	if r.runID == "" {
		r.runID = NewRunID()
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("run_id", r.runID, "pool_id", cfg.UserPoolID)
	onChange := func(c LimitChange) {
		if c.Reason == "throttled" {
			r.log.Warn("Cognito is throttling: rate lowered", "category", c.Category, "from_rps", round2(c.From), "to_rps", round2(c.To))
		} else {
			r.log.Info("rate back to the configured value", "category", c.Category, "rps", round2(c.To))
		}
	}
	r.read = NewLimiter("read", cfg.ReadRPS, onChange)
	r.write = NewLimiter("write", cfg.WriteRPS, onChange)
	r.api = NewLimited(d.Cognito, nil, r.read, r.write, NewLimiter("list", cfg.ListRPS, nil), r.stats)
	return r.run(ctx)
}

func (r *runner) run(ctx context.Context) (*Summary, error) {
	r.started = time.Now()
	open, err := r.d.Files.Opener(ctx, r.cfg.Input)
	if err != nil {
		return nil, err
	}
	r.open = open
	// The report of a stopped run is written after a signal has cancelled
	// ctx: it reads the input through an opener that does not inherit the
	// cancellation.
	if r.reportOpen, err = r.d.Files.Opener(context.WithoutCancel(ctx), r.cfg.Input); err != nil {
		return nil, err
	}
	r.scan, err = input.ScanInput(ctx, open, r.cfg.Input, r.inputOptions(), r.cfg.TempDir)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: interrupted while reading the input, before any call", ErrStopped)
		}
		return nil, err
	}
	r.log.Info("input scanned", "input", r.cfg.Input, "format", r.scan.Format.String(), "rows", r.scan.Rows,
		"invalid_rows", r.scan.Invalid, "duplicate_rows", len(r.scan.Duplicates))

	lock, err := r.d.Store.Lock(ctx, r.owner(), r.cfg.LockTTL)
	if err != nil {
		return nil, fmt.Errorf("lock checkpoint %s: %w", r.d.Store, err)
	}
	defer func() {
		relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := lock.Release(relCtx); err != nil {
			r.log.Warn("could not release the checkpoint lock; it expires on its own", "checkpoint", r.d.Store.String(), "error", err)
		}
	}()

	if err := r.loadState(ctx); err != nil {
		return nil, err
	}
	r.prior = maps.Clone(r.state.Stats)
	if r.remaining() == 0 {
		r.log.Info("nothing left to do: every row of this checkpoint is done", "checkpoint", r.d.Store.String())
		r.progress(r.outcomeCounts(), true) // a final snapshot, for progress displays and metrics
		sum := r.summary(StopNothingLeft, nil)
		// The run that finished the job may have crashed before writing
		// the report and the summary: write them from the checkpoint.
		if err := r.writeOutputs(ctx, sum); err != nil {
			return sum, err
		}
		return sum, nil
	}

	r.state.Runs = append(r.state.Runs, checkpoint.Run{ID: r.runID, Host: r.d.Host, Version: r.d.Version, Started: r.started.UTC()})
	if err := r.save(ctx); err != nil {
		return nil, err
	}
	r.log.Info("run started", "mode", r.cfg.Mode(), "checkpoint", r.d.Store.String(), "rows", r.scan.Rows,
		"remaining", r.remaining(), "read_rps", r.cfg.ReadRPS, "write_rps", r.cfg.WriteRPS, "max_workers", r.cfg.Workers)

	reason, runErr := r.execute(ctx, lock)

	// Outputs: the checkpoint is saved first (it is what resume needs), then
	// the report and the summary, which can always be rebuilt from it.
	sum := r.summary(reason, runErr)
	if err := r.writeOutputs(ctx, sum); err != nil {
		r.log.Error("could not write the report or summary; rebuild them with the report command", "error", err)
		if runErr == nil {
			runErr = err
		}
	}
	r.log.Info("run ended", "reason", reason, "outcomes", sum.Outcomes, "remaining", sum.Remaining,
		"duration_seconds", round2(sum.DurationSeconds))
	return sum, r.exitError(reason, runErr)
}

// exitError turns how the run ended into Run's error.
func (r *runner) exitError(reason string, runErr error) error {
	switch {
	case runErr != nil && reason != StopSignal && reason != StopMaxDuration && reason != StopMaxUsers && reason != StopThrottled:
		return runErr
	case r.remaining() == 0 && r.count(OutcomeFailed) == 0:
		return nil
	case reason == StopCompleted:
		if r.count(OutcomeFailed) > 0 {
			return fmt.Errorf("%w: %d users failed; run again to retry them", ErrSomeFailed, r.count(OutcomeFailed))
		}
		return nil
	default:
		if runErr != nil {
			return fmt.Errorf("%w (%s): %w", ErrStopped, reason, runErr)
		}
		return fmt.Errorf("%w (%s)", ErrStopped, reason)
	}
}

func (r *runner) inputOptions() input.Options {
	return input.Options{UsernameColumn: r.cfg.UsernameColumn}
}

func (r *runner) owner() string {
	return fmt.Sprintf("%s pid %d run %s", r.d.Host, pid(), r.runID)
}

// identity is what a checkpoint must match to be resumed.
func (r *runner) identity() checkpoint.Identity {
	return checkpoint.Identity{PoolID: r.cfg.UserPoolID, InputSHA256: r.scan.SHA256, Mode: r.cfg.Mode(), Flags: r.cfg.identityFlags()}
}

// loadState loads the checkpoint or starts a new one.
func (r *runner) loadState(ctx context.Context) error {
	data, version, err := r.d.Store.Load(ctx)
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		r.state = r.newState()
		return nil
	case err != nil:
		return fmt.Errorf("load checkpoint %s: %w", r.d.Store, err)
	}
	r.version = version
	st, decErr := checkpoint.Decode(data)
	if r.cfg.Reset {
		r.log.Warn("--reset: discarding the existing checkpoint and starting over", "checkpoint", r.d.Store.String())
		r.state = r.newState()
		return nil
	}
	if decErr != nil {
		return fmt.Errorf("checkpoint %s is unusable and was left untouched: %w\n  fix: restore it, or run with --reset to start over (this forgets what it recorded; the migration is safe to repeat)", r.d.Store, decErr)
	}
	if err := checkpoint.CheckIdentity(r.d.Store.String(), st.Identity, r.identity()); err != nil {
		return err
	}
	if len(st.Rows) != r.scan.Rows {
		return fmt.Errorf("%w: checkpoint %s has %d rows but the input has %d", checkpoint.ErrCorrupt, r.d.Store, len(st.Rows), r.scan.Rows)
	}
	if st.Notes == nil {
		st.Notes = map[int]string{}
	}
	r.state = st
	r.log.Info("resuming from checkpoint", "checkpoint", r.d.Store.String(), "done", int64(r.scan.Rows)-r.remaining(), "runs", len(st.Runs))
	return nil
}

func (r *runner) newState() *checkpoint.State {
	now := time.Now().UTC()
	return &checkpoint.State{
		Identity: r.identity(),
		Rows:     make([]uint32, r.scan.Rows),
		Notes:    map[int]string{},
		Counts:   map[string]int64{},
		Stats:    map[string]int64{},
		Created:  now,
		Updated:  now,
	}
}

// remaining counts rows that are not done (pending or failed).
func (r *runner) remaining() int64 {
	var n int64
	for _, w := range r.state.Rows {
		if !rowOutcome(w).Done() {
			n++
		}
	}
	return n
}

// count counts rows with outcome o.
func (r *runner) count(o Outcome) int64 {
	var n int64
	for _, w := range r.state.Rows {
		if rowOutcome(w) == o {
			n++
		}
	}
	return n
}

// stop asks the run to stop dispatching. The first reason wins. A fatal stop
// also cancels the calls in flight; a graceful one gives them
// ShutdownTimeout.
func (r *runner) stop(reason string, err error) {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	if r.stopReason != "" {
		return
	}
	r.stopReason, r.stopErr = reason, err
	if r.cancelDispatch != nil {
		r.cancelDispatch()
	}
	switch reason {
	case StopFatal, StopMaxFailures:
		if r.cancelCalls != nil {
			r.cancelCalls()
		}
	default:
		if r.cancelCalls != nil {
			time.AfterFunc(r.cfg.ShutdownTimeout, r.cancelCalls)
		}
	}
}

func (r *runner) stopped() (string, error) {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	return r.stopReason, r.stopErr
}

// execute runs the dispatcher, the workers, the controller and the recorder
// until the input is exhausted or the run stops. It returns the stop reason.
func (r *runner) execute(ctx context.Context, lock checkpoint.Lock) (string, error) {
	dispatchCtx, cancelDispatch := context.WithCancel(ctx)
	defer cancelDispatch()
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	r.stopMu.Lock()
	r.cancelDispatch, r.cancelCalls = cancelDispatch, cancelCalls
	r.stopMu.Unlock()

	// A signal cancels ctx: stop gracefully.
	stopOnSignal := context.AfterFunc(ctx, func() { r.stop(StopSignal, nil) })
	defer stopOnSignal()
	if r.cfg.MaxDuration > 0 {
		t := time.AfterFunc(r.cfg.MaxDuration, func() { r.stop(StopMaxDuration, nil) })
		defer t.Stop()
	}

	var bg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	bg.Go(func() { r.renewLock(bgCtx, lock) })
	bg.Go(func() { r.sizeWorkers(bgCtx) })

	jobs := make(chan input.Row)
	results := make(chan result, 2*r.cfg.Workers)
	var workers sync.WaitGroup
	for range r.cfg.Workers {
		workers.Go(func() {
			for row := range jobs {
				res := r.process(callCtx, row)
				r.usersDone.Add(1)
				r.inflight.Add(-1)
				select {
				case r.freed <- struct{}{}:
				default:
				}
				results <- res
			}
		})
	}
	recDone := make(chan error, 1)
	go func() { recDone <- r.record(ctx, results) }()

	r.target.Store(min(4, int64(r.cfg.Workers)))
	dispErr := r.dispatch(dispatchCtx, jobs, results)
	close(jobs)
	workers.Wait()
	close(results)
	recErr := <-recDone
	stopBG()
	bg.Wait()

	reason, stopErr := r.stopped()
	if dispErr != nil && reason != "" && errors.Is(dispErr, context.Canceled) {
		dispErr = nil // the stop cancelled the dispatcher's read of the input
	}
	if reason == "" {
		reason = StopCompleted
	}
	if dispErr != nil && stopErr == nil {
		reason, stopErr = StopFatal, dispErr
	}
	if recErr != nil {
		reason, stopErr = StopFatal, recErr
	}
	r.state.Runs[len(r.state.Runs)-1].Ended = time.Now().UTC()
	r.state.Runs[len(r.state.Runs)-1].Reason = reason
	if err := r.save(ctx); err != nil {
		return StopFatal, err
	}
	return reason, stopErr
}

// dispatch reads the input and hands each row that is not done to a worker,
// or straight to the recorder when it needs no call.
func (r *runner) dispatch(ctx context.Context, jobs chan<- input.Row, results chan<- result) error {
	// A bitset of the rows finished before this run, taken before the
	// recorder starts changing the state (1 bit a row).
	done := make([]uint64, (len(r.state.Rows)+63)/64)
	for i, w := range r.state.Rows {
		if rowOutcome(w).Done() {
			done[i/64] |= 1 << (i % 64)
		}
	}
	f, err := r.open()
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := input.NewReader(f, r.cfg.Input, r.inputOptions())
	if err != nil {
		return err
	}
	var n int
	for ctx.Err() == nil {
		row, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if row.Index >= len(r.state.Rows) {
			return fmt.Errorf("%w: the input changed during the run: more rows than the scan counted", input.ErrInput)
		}
		if done[row.Index/64]&(1<<(row.Index%64)) != 0 {
			continue
		}
		if r.cfg.MaxUsers > 0 && n >= r.cfg.MaxUsers {
			r.stop(StopMaxUsers, nil)
			return nil
		}
		n++
		var res result
		dup, isDup := r.scan.Duplicates[row.Index]
		switch {
		case row.Invalid != "":
			res = result{index: row.Index, outcome: OutcomeInvalidInput, note: row.Invalid}
		case isDup:
			res = result{index: row.Index, outcome: OutcomeDuplicate, note: fmt.Sprintf("duplicate of line %d", dup.FirstLine)}
		case row.Legacy == input.LegacyNone && !r.cfg.ReadAll:
			res = result{index: row.Index, outcome: OutcomeNoLegacyMFA} // no note: the report derives it (noteNotRead)
		default:
			if !r.acquire(ctx) {
				return nil
			}
			select {
			case jobs <- row:
				continue
			case <-ctx.Done():
				r.inflight.Add(-1)
				return nil
			}
		}
		select {
		case results <- res:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// acquire waits until fewer users than the current target are in flight.
// A worker that finishes a user, and the sizer when it raises the target,
// signal r.freed, so no wake-up is missed.
func (r *runner) acquire(ctx context.Context) bool {
	for r.inflight.Load() >= r.target.Load() {
		select {
		case <-r.freed:
		case <-ctx.Done():
			return false
		}
	}
	r.inflight.Add(1)
	return true
}

// sizeWorkers sets how many users may be in flight (r.target) by Little's
// law: the users per second the limiters allow now, times the seconds a user
// spends in calls and retry backoff (limiter waits excluded), times a margin
// of 2 so that users always wait at the binding limiters (a limiter left
// without a waiter loses its slot: its bucket holds one token), plus one;
// capped by Config.Workers.
//
// A user's time outside limiter waits is itself measured by Little's law,
// over windows of at least 250 ms and 10 completed users (or 2 s): the mean
// number of users in flight less the mean number waiting for a limiter,
// both sampled every 50 ms, divided by the users completed per second. The
// estimate follows a rise faster than a fall: too few users in flight cost
// rate, too many cost little. While every slot is taken and no user
// completes, the time since the last completion (or since the start) is a
// lower bound of that time and raises the target every 50 ms: this is how
// the pool grows in the first tens of milliseconds of a run, and how it
// makes room when the users in flight sleep in retry backoff.
func (r *runner) sizeWorkers(ctx context.Context) {
	const (
		tick      = 50 * time.Millisecond
		minWindow = 250 * time.Millisecond
		maxWindow = 2 * time.Second
		minDone   = 10
		margin    = 2.0  // users in flight per user the limiters keep busy
		alphaUp   = 0.5  // weight of a new window that raises the estimate
		alphaDown = 0.25 // weight of a new window that lowers it
	)
	t := time.NewTicker(tick)
	defer t.Stop()
	// Until users complete, assume a read per user, a write unless dry run,
	// and a second read to verify.
	readsPerUser, writesPerUser := 1.0, 0.0
	if !r.cfg.DryRun {
		writesPerUser = 1
		if r.cfg.Verify {
			readsPerUser = 2
		}
	}
	perUser := 0.0 // seconds per user outside limiter waits; 0 until users complete
	lastDone, prevAt := time.Now(), time.Now()
	var seen, prevUsers, prevReads, prevWrites, inflightSum, waitingSum, samples int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		inflight, cur := r.inflight.Load(), r.target.Load()
		inflightSum += inflight
		waitingSum += r.read.waiting() + r.write.waiting()
		samples++
		users := r.usersDone.Load()
		if users != seen {
			seen, lastDone = users, now
		}
		if done, window := users-prevUsers, now.Sub(prevAt); done > 0 &&
			(perUser == 0 || window >= maxWindow || window >= minWindow && done >= minDone) {
			reads, writes := r.stats.ops[OpAdminGetUser].attempts.Load(), r.stats.ops[OpAdminSetUserMFAPreference].attempts.Load()
			n := float64(done)
			busy := float64(inflightSum-waitingSum) / float64(samples) // users in calls or retry backoff
			w := math.Max(busy*window.Seconds()/n, 0.001)
			switch {
			case perUser == 0:
				perUser = w
				readsPerUser, writesPerUser = float64(reads-prevReads)/n, float64(writes-prevWrites)/n
			default:
				alpha := alphaDown
				if w > perUser {
					alpha = alphaUp
				}
				perUser = (1-alpha)*perUser + alpha*w
				readsPerUser = (1-alphaDown)*readsPerUser + alphaDown*float64(reads-prevReads)/n
				writesPerUser = (1-alphaDown)*writesPerUser + alphaDown*float64(writes-prevWrites)/n
			}
			prevAt, prevUsers, prevReads, prevWrites = now, users, reads, writes
			inflightSum, waitingSum, samples = 0, 0, 0
		}

		rate := math.Inf(1) // users per second the limiters allow
		if readsPerUser > 0 {
			rate = math.Min(rate, r.read.Rate()/readsPerUser)
		}
		if writesPerUser > 0 {
			rate = math.Min(rate, r.write.Rate()/writesPerUser)
		}
		want := int64(r.cfg.Workers)
		if !math.IsInf(rate, 1) {
			secs := perUser
			if inflight >= cur {
				// Every slot is taken and none has freed since lastDone
				// (the start, before any user completes): the users in
				// flight take at least that long.
				secs = math.Max(secs, now.Sub(lastDone).Seconds())
			}
			want = int64(math.Ceil(rate*secs*margin)) + 1
			if perUser == 0 {
				want = max(want, cur) // no estimate yet: only grow
			}
		}
		want = min(max(want, 1), int64(r.cfg.Workers))
		if want == cur {
			continue
		}
		r.target.Store(want)
		if want > cur {
			select { // wake the dispatcher
			case r.freed <- struct{}{}:
			default:
			}
		}
	}
}

// renewLock renews the checkpoint lock at a third of its lifetime; losing it
// stops the run.
func (r *runner) renewLock(ctx context.Context, lock checkpoint.Lock) {
	t := time.NewTicker(r.cfg.LockTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := lock.Renew(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				if errors.Is(err, checkpoint.ErrLockLost) {
					r.stop(StopFatal, fmt.Errorf("checkpoint lock %s was taken over by another runner: %w", r.d.Store, err))
					return
				}
				r.log.Warn("could not renew the checkpoint lock; will retry", "error", err)
			}
		}
	}
}

// process migrates one user: read, plan, write, and optionally verify.
func (r *runner) process(ctx context.Context, row input.Row) result {
	res := result{index: row.Index, called: true}
	pool, user := r.cfg.UserPoolID, row.Username
	out, err := r.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &user})
	if cls, code := classify(ctx.Err(), err); cls != classOK {
		return r.failedCall(res, OpAdminGetUser, cls, code, err, nil)
	}
	st := StateFromUser(out)
	res.state = &st
	d := Plan(st)
	res.outcome = d.Outcome
	if d.Call == CallNone {
		return res
	}
	if r.cfg.DryRun {
		res.outcome = OutcomeWouldMigrate
		if d.Expect != "" {
			res.outcome, res.note = OutcomeRejected, fmt.Sprintf("%s expected: user status is %s", d.Expect, st.Status)
		}
		return res
	}
	_, err = r.api.AdminSetUserMFAPreference(ctx, d.Call.Input(pool, user))
	if cls, code := classify(ctx.Err(), err); cls != classOK {
		return r.failedCall(res, OpAdminSetUserMFAPreference, cls, code, err, &st)
	}
	if r.cfg.Verify {
		out, err := r.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &user})
		if cls, code := classify(ctx.Err(), err); cls != classOK {
			return r.failedCall(res, OpAdminGetUser, cls, code, err, &st)
		}
		if !StateFromUser(out).SMS {
			res.outcome, res.note = OutcomeFailed, "VerifyFailed: SMS_MFA not enabled after the write"
		}
	}
	return res
}

// failedCall turns a failed call into a result.
func (r *runner) failedCall(res result, op Op, cls class, code string, err error, st *UserState) result {
	res.cls, res.op, res.err, res.state = cls, op, err, st
	switch cls {
	case classNotFound:
		res.outcome = OutcomeNotFound
		if st == nil {
			res.state = &UserState{}
		}
	case classRejected:
		res.outcome, res.note = OutcomeRejected, code
	case classTransient:
		res.outcome, res.note = OutcomeFailed, code
	}
	return res
}

func pid() int { return os.Getpid() }

// NewRunID returns a new run ID: the UTC start time and about 46 random
// bits in hex, such as 20250102T030405Z-a123456789ab. It sorts by start
// time. The random part starts with a letter, so that it is never a run of
// digits that MaskPhones would take for a phone number.
func NewRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	b[0] = 0xa0 + b[0]%0x60 // first hex digit a–f
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func round2(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return math.Round(v*100) / 100
}
