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

	// owned by the recorder while the run goes on
	thisRun       int64                  // rows recorded by this run
	thisRunCounts [numOutcomes + 1]int64 // rows recorded by this run, per outcome

	// stopping
	stopMu         sync.Mutex
	stopReason     string
	stopErr        error
	cancelDispatch context.CancelFunc
	cancelCalls    context.CancelFunc

	// worker sizing
	inflight  atomic.Int64
	target    atomic.Int64
	freed     chan struct{}
	busyNs    atomic.Int64
	usersDone atomic.Int64
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
	r := &runner{cfg: cfg, d: d, log: d.Logger, runID: newRunID(), stats: &Stats{}, freed: make(chan struct{}, 1)}
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
	r.scan, err = input.ScanInput(ctx, open, r.cfg.Input, r.inputOptions(), r.cfg.TempDir)
	if err != nil {
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
		sum := r.summary(StopNothingLeft, nil)
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
				start := time.Now()
				res := r.process(callCtx, row)
				r.busyNs.Add(int64(time.Since(start)))
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
	done := make([]bool, len(r.state.Rows))
	for i, w := range r.state.Rows {
		done[i] = rowOutcome(w).Done()
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
		if row.Index >= len(done) {
			return fmt.Errorf("%w: the input changed during the run: more rows than the scan counted", input.ErrInput)
		}
		if done[row.Index] {
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
			res = result{index: row.Index, outcome: OutcomeNoLegacyMFA, note: "not read: the export shows no legacy MFA options"}
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
func (r *runner) acquire(ctx context.Context) bool {
	for r.inflight.Load() >= r.target.Load() {
		select {
		case <-r.freed:
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond): // the target may have grown
		}
	}
	r.inflight.Add(1)
	return true
}

// sizeWorkers sets how many users may be in flight, by Little's law: the
// users per second the limiters allow times the time a user spends in calls
// (limiter waits excluded), plus a margin, capped by Config.Workers.
func (r *runner) sizeWorkers(ctx context.Context) {
	const every = 250 * time.Millisecond
	t := time.NewTicker(every)
	defer t.Stop()
	var prevBusy, prevWait, prevUsers, prevReads, prevWrites int64
	perUser := 0.0 // seconds of calls per user (EWMA)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		busy, users := r.busyNs.Load(), r.usersDone.Load()
		wait := r.stats.ops[OpAdminGetUser].waitNs.Load() + r.stats.ops[OpAdminSetUserMFAPreference].waitNs.Load()
		reads, writes := r.stats.ops[OpAdminGetUser].attempts.Load(), r.stats.ops[OpAdminSetUserMFAPreference].attempts.Load()
		dUsers := users - prevUsers
		cur := r.target.Load()
		if dUsers == 0 {
			if r.inflight.Load() >= cur {
				r.target.Store(min(2*cur, int64(r.cfg.Workers)))
			}
			continue
		}
		w := float64(busy-prevBusy-(wait-prevWait)) / 1e9 / float64(dUsers)
		if perUser == 0 {
			perUser = w
		} else {
			perUser = 0.7*perUser + 0.3*w
		}
		readsPerUser := float64(reads-prevReads) / float64(dUsers)
		writesPerUser := float64(writes-prevWrites) / float64(dUsers)
		prevBusy, prevWait, prevUsers, prevReads, prevWrites = busy, wait, users, reads, writes

		usersPerSec := math.Inf(1)
		if readsPerUser > 0 {
			usersPerSec = math.Min(usersPerSec, r.read.Rate()/readsPerUser)
		}
		if writesPerUser > 0 {
			usersPerSec = math.Min(usersPerSec, r.write.Rate()/writesPerUser)
		}
		want := int64(r.cfg.Workers)
		if !math.IsInf(usersPerSec, 1) {
			want = int64(math.Ceil(usersPerSec*math.Max(perUser, 0.001)*1.3)) + 1
		}
		r.target.Store(min(max(want, 1), int64(r.cfg.Workers)))
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

func newRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func round2(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return math.Round(v*100) / 100
}
