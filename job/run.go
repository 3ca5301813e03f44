package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// Deps are the parts of a run that come from outside: the Cognito client,
// the checkpoint store, file access, logging and progress reporting.
type Deps struct {
	Cognito cognito.API // usually cognito.NewClient(...); paced and fenced by Run
	// Watch, if not nil, is the watch Cognito's client already puts every
	// attempt under (cognito.WatchOption); Run reads it for stall
	// detection. When nil, Run puts the client under a Watch of its own
	// with Config.CallTimeout.
	Watch  *cognito.Watch
	Store  checkpoint.Store // where the checkpoint lives
	Files  Files            // input, report and summary locations
	Logger *slog.Logger     // nil discards logs

	// OnProgress, if not nil, is called every Config.ProgressInterval and once
	// at the end, from one goroutine. It must not block for long.
	OnProgress func(Progress)

	Host    string // recorded in the run history and the lock owner
	Version string // program version, recorded in the run history

	// RunID identifies the run in logs, metrics, the summary and the run
	// history; "" means a new NewRunID. A command sets it to log lines with
	// the same ID before the run starts.
	RunID string

	// Pacing holds the CloudWatch and Service Quotas readers of
	// Config.Pacing; nil ones mean no usage data and the default quotas.
	Pacing PacingSources
}

// runner is one execution of Run. Its fields are set by Run's goroutine
// before the run's other goroutines start, and are safe for them to read:
// the limiters and the stats are safe for concurrent use, and every piece
// of state that changes belongs to a type of its own (the recorder, the
// gate, the stopper, the lease).
type runner struct {
	cfg     Config
	d       Deps
	log     *slog.Logger
	runID   string
	started time.Time

	stats       *cognito.Stats
	read, write *pace.Limiter
	pacer       *allowance.Controller // nil unless a rate is auto; its figures are safe to read

	scan  *input.Scan
	in    *Input         // the input, pinned for the whole run (report included)
	watch *cognito.Watch // call timeout, stall detection

	lease     *lease
	stopKeep  func()     // stops the lease's renewal and waits for it; set with lease
	leaseLost chan error // the renewal's verdict that the lease is lost (buffered)
	rec       *recorder
	gate      *gate // users in flight; set by execute
}

// Run migrates the users of cfg.Input, resuming from the checkpoint in
// d.Store. It returns the summary of the job (nil only when it could not
// start) and an error that says how it ended: nil when every row is done and
// none failed; ErrSomeFailed; ErrStopped when it stopped early and can be
// resumed; an error wrapping ErrUsage or input.ErrInput for bad usage or
// input; anything else (a *cognito.FatalError, checkpoint.ErrLocked, ...) is
// fatal. Run returns only after every goroutine it started has ended.
func Run(ctx context.Context, cfg Config, d Deps) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Cognito == nil || d.Store == nil {
		return nil, errors.New("job.Run: Deps.Cognito and Deps.Store are required")
	}
	r := &runner{cfg: cfg, d: d, log: d.Logger, runID: d.RunID, stats: &cognito.Stats{}, watch: d.Watch}
	if r.runID == "" {
		r.runID = NewRunID()
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("run_id", r.runID, "pool_id", cfg.UserPoolID)
	onChange := func(c pace.Change) {
		if c.Reason == "throttled" {
			r.log.Warn("Cognito is throttling: rate lowered", "category", c.Category, "from_rps", pace.Round2(c.From), "to_rps", pace.Round2(c.To))
		} else {
			r.log.Info("rate back to the configured value", "category", c.Category, "rps", pace.Round2(c.To))
		}
	}
	r.read = pace.NewLimiter("read", cfg.ReadRPS, onChange)
	r.write = pace.NewLimiter("write", cfg.WriteRPS, onChange)
	if r.watch == nil {
		r.watch = cognito.NewWatch(cfg.CallTimeout)
		r.d.Cognito = cognito.Watched(d.Cognito, r.watch)
	}
	r.pacer = newPacer(cfg.Pacing, d.Pacing, r.log,
		pacedCategory{"read", "UserRead", cfg.Pacing.AutoRead, r.read, cfg.ReadRPS, QuotaUserRead, cfg.Pacing.ReadQuota},
		pacedCategory{"write", "UserResourceUpdate", cfg.Pacing.AutoWrite, r.write, cfg.WriteRPS, QuotaUserResourceUpdate, cfg.Pacing.WriteQuota})
	return r.run(ctx)
}

func (r *runner) run(ctx context.Context) (*Summary, error) {
	r.started = time.Now()
	// The input is checked first (a pipe or a missing file is the real
	// problem, not the checkpoint next to it), then the lock is taken, so
	// that a second runner is refused at once, not after the input scan.
	in, err := r.d.Files.Opener(ctx, r.cfg.Input)
	if err != nil {
		return nil, err
	}
	r.in = in
	if r.lease, err = takeLease(ctx, r.d.Store, r.owner(), r.cfg.LockTTL); err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, fmt.Errorf("%w: interrupted while taking the checkpoint lock, before any call", ErrStopped)
		}
		return nil, err // it names the checkpoint
	}
	// The lease is renewed until it is released, the input scan and the
	// final save included.
	keepCtx, cancelKeep := context.WithCancel(context.WithoutCancel(ctx))
	var keeping sync.WaitGroup
	r.leaseLost = make(chan error, 1)
	keeping.Go(func() { r.lease.keep(keepCtx, r.log, func(err error) { r.leaseLost <- err }) })
	r.stopKeep = func() { cancelKeep(); keeping.Wait() }
	defer r.releaseLease(ctx, time.Time{}) // on the paths that end before the stop path releases it
	logTakeover(r.log, r.d.Store.String(), r.lease.lock)
	cleanLeftovers(r.log, &r.cfg, r.d.Store)

	r.scan, err = scanWithCache(ctx, r.d.Files, &r.cfg, r.inputOptions(), in.Open, r.log) // scancache.go
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: interrupted while reading the input, before any call", ErrStopped)
		}
		return nil, err
	}
	defer r.scan.Close()
	in.Expect(r.scan.SHA256)
	r.log.Info("input scanned", "input", r.cfg.Input, "format", r.scan.Format.String(), "rows", r.scan.Rows,
		"invalid_rows", r.scan.Invalid, "duplicate_rows", r.scan.Duplicates.Len())
	if err := checkOrigin(&r.cfg, r.scan.Origin); err != nil {
		return nil, err
	}

	if err := r.load(ctx); err != nil {
		return nil, err
	}
	if r.rec.remaining() == 0 {
		if r.scan.Rows == 0 {
			r.log.Info("nothing to migrate: the input lists no users", "input", r.cfg.Input)
		} else {
			r.log.Info("nothing left to do: every row of this checkpoint is done", "checkpoint", r.d.Store.String())
		}
		r.progress(r.rec.t, true) // a final snapshot, for progress displays and metrics
		sum := r.summary(StopNothingLeft, nil)
		// The run that finished the job may have crashed before writing
		// the report and the summary: write them from the checkpoint.
		return sum, r.writeOutputs(ctx, sum, time.Time{})
	}

	r.rec.startRun(checkpoint.Run{ID: r.runID, Host: r.d.Host, Version: r.d.Version, Started: r.started.UTC()})
	if err := r.rec.save(ctx, time.Time{}); err != nil {
		return nil, err
	}
	rps := func(auto bool, static float64) any {
		if auto {
			return fmt.Sprintf("auto (%v without usage data)", static)
		}
		return static
	}
	r.log.Info("run started", "mode", r.cfg.Mode(), "checkpoint", r.d.Store.String(), "rows", r.scan.Rows,
		"remaining", r.rec.remaining(), "read_rps", rps(r.cfg.Pacing.AutoRead, r.cfg.ReadRPS),
		"write_rps", rps(r.cfg.Pacing.AutoWrite, r.cfg.WriteRPS), "max_workers", r.cfg.Workers)

	reason, deadline, runErr := r.execute(ctx)

	// The stop path, within the stop budget when the run was stopped: the
	// final save (what a resume needs), the release of the lock (so that
	// the next runner can start at once), then the summary and the report,
	// which the report command can always rebuild from the checkpoint.
	r.rec.endRun(reason, ExitCode(r.exitError(reason, runErr)))
	saveBy := time.Time{}
	if !deadline.IsZero() {
		saveBy = deadline.Add(-r.releaseReserve())
	}
	if err := r.rec.save(ctx, saveBy); err != nil {
		reason, runErr = StopFatal, err
	}
	r.releaseLease(ctx, deadline)
	sum := r.summary(reason, runErr)
	if !r.lease.heldUntilRelease() {
		r.log.Warn("the report and the summary were not written: this runner no longer holds the checkpoint lock")
	} else if err := r.writeOutputs(ctx, sum, deadline); err != nil {
		r.log.Error("could not write the report or summary; rebuild them with the report command", "error", err)
		if runErr == nil {
			runErr = err
		}
	}
	r.log.Info("run ended", "reason", reason, "outcomes", sum.Outcomes, "remaining", sum.Remaining,
		"duration_seconds", pace.Round2(sum.DurationSeconds))
	return sum, dropScanIfInputChanged(ctx, r.d.Files, &r.cfg, r.log, r.exitError(reason, runErr)) // scancache.go
}

// releaseReserve is the part of the stop budget kept for releasing the
// lock after the final save.
func (r *runner) releaseReserve() time.Duration { return min(r.cfg.ShutdownTimeout/4, 2*time.Second) }

// releaseLease stops the lease's renewal and releases the lock by deadline,
// or within 10 s when there is none: a lock left behind blocks the next
// runner for --lock-ttl, so even a spent budget leaves the release a
// second. Releasing twice is a no-op.
func (r *runner) releaseLease(ctx context.Context, deadline time.Time) {
	r.stopKeep()
	switch {
	case deadline.IsZero():
		deadline = time.Now().Add(10 * time.Second)
	case time.Until(deadline) < time.Second:
		deadline = time.Now().Add(time.Second)
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	switch err := r.lease.release(ctx); {
	case errors.Is(err, errLeaseLost):
		r.log.Warn("the checkpoint lock is no longer this runner's: left to its holder", "checkpoint", r.d.Store.String(), "error", err)
	case err != nil:
		r.log.Warn("could not release the checkpoint lock; it expires on its own", "checkpoint", r.d.Store.String(), "error", err)
	}
}

// execute runs the dispatcher, the workers, the sizer and the recorder
// until the input is exhausted or the run stops. It returns the stop
// reason, the end of the stop budget (zero when the run was not stopped),
// and the error that caused the stop.
func (r *runner) execute(ctx context.Context) (reason string, deadline time.Time, stopErr error) {
	dispatchCtx, cancelDispatch := context.WithCancel(ctx)
	defer cancelDispatch()
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	r.gate = newGate(min(4, int64(r.cfg.Workers)))
	stop := newStopper(r.cfg.ShutdownTimeout, cancelDispatch, cancelCalls, r.logStop)
	defer stop.close()

	// A signal cancels ctx: stop gracefully.
	stopOnSignal := context.AfterFunc(ctx, func() { stop.stop(StopSignal, nil) })
	defer stopOnSignal()
	if r.cfg.MaxDuration > 0 {
		t := time.AfterFunc(r.cfg.MaxDuration, func() { stop.stop(StopMaxDuration, nil) })
		defer t.Stop()
	}

	var bg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	bg.Go(func() {
		select {
		case err := <-r.leaseLost:
			stop.stop(StopFatal, err)
		case <-bgCtx.Done():
		}
	})
	bg.Go(func() { newSizer(r.gate, limiterLoad{r.read, r.write, r.stats}, &r.cfg).run(bgCtx) })
	bg.Go(func() { watchStall(bgCtx, r.watch, r.cfg.StallTimeout, stop.stop) })
	startPacer(ctx, bgCtx, r.pacer, &bg)

	w := &worker{
		api:    cognito.Fence(cognito.Pace(r.d.Cognito, r.read, r.write, r.stats), r.lease.valid),
		poolID: r.cfg.UserPoolID, dryRun: r.cfg.DryRun, verify: r.cfg.Verify,
	}
	d := &dispatcher{
		open: r.in.Open, name: r.cfg.Input, opts: r.inputOptions(), rows: r.scan.Rows,
		done: newDoneSet(r.rec.state.Rows), // before the recorder starts changing the rows
		dups: r.scan.Duplicates, readAll: r.cfg.ReadAll, maxUsers: r.cfg.MaxUsers,
		gate: r.gate, stop: stop.stop,
		marks: r.scan.Marks, // resume.go
	}

	jobs := make(chan input.Row)
	results := make(chan result, 2*r.cfg.Workers)
	var workers sync.WaitGroup
	for range r.cfg.Workers {
		workers.Go(func() {
			for row := range jobs {
				res := w.process(callCtx, row)
				r.gate.release()
				results <- res
			}
		})
	}
	var rec sync.WaitGroup
	rec.Go(func() { r.rec.record(ctx, results, stop.stop) })

	dispErr := d.run(dispatchCtx, jobs, results)
	close(jobs)
	workers.Wait()
	close(results)
	rec.Wait()
	stopBG()
	bg.Wait()

	reason, stopErr = stop.stopped()
	if dispErr != nil && reason != "" && errors.Is(dispErr, context.Canceled) {
		dispErr = nil // the stop cancelled the dispatcher's read of the input
	}
	if dispErr != nil && (reason == "" || resumable(reason)) {
		reason, stopErr = StopFatal, dispErr
	}
	if reason == "" {
		reason = StopCompleted
	}
	deadline, _ = stop.deadline()
	return reason, deadline, stopErr
}

// logStop logs the first stop of the run at once: what it waits for and
// for how long.
func (r *runner) logStop(reason string, drain time.Duration) {
	inflight, _ := r.gate.inFlight()
	args := []any{"reason", reason, "calls_in_flight", inflight, "budget", r.cfg.ShutdownTimeout.String()}
	switch {
	case !resumable(reason):
		r.log.Warn("stopping at once: the calls in flight are cancelled", args...)
	case reason == StopSignal:
		r.log.Warn(fmt.Sprintf("stopping: waiting up to %s for %d users in flight; signal again to quit now", drain, inflight), args...)
	default:
		r.log.Info(fmt.Sprintf("stopping: waiting up to %s for %d users in flight", drain, inflight), args...)
	}
}

// exitError turns how the run ended into Run's error.
func (r *runner) exitError(reason string, runErr error) error {
	t := &r.rec.t.job
	failed := t[outcomeFailed]
	remaining := t.total() - t.done()
	switch {
	case runErr != nil && !resumable(reason):
		return runErr
	case remaining == 0 && failed == 0:
		return nil
	case reason == StopCompleted:
		if failed > 0 {
			return fmt.Errorf("%w: %d users failed; run again to retry them", ErrSomeFailed, failed)
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
	return fmt.Sprintf("%s pid %d run %s", r.d.Host, os.Getpid(), r.runID)
}

// identity is what a checkpoint must match to be resumed.
func (r *runner) identity() checkpoint.Identity {
	return checkpoint.Identity{PoolID: r.cfg.UserPoolID, InputSHA256: r.scan.SHA256, Mode: r.cfg.Mode(), Flags: r.cfg.identityFlags()}
}

// load loads the checkpoint, or starts a new one, and hands it to a new
// recorder.
func (r *runner) load(ctx context.Context) error {
	r.rec = &recorder{
		store: r.d.Store, lease: r.lease, log: r.log, noMask: r.cfg.NoMask,
		saveEvery: r.cfg.SaveEvery, saveEach: r.cfg.SaveInterval, progressInt: r.cfg.ProgressInterval,
		maxFailures: r.cfg.MaxFailures, meter: r.meter, onProgress: func(t tallies, final bool) { r.progress(t, final) },
	}
	data, version, err := r.d.Store.Load(ctx)
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		if err := checkNotForgotten(ctx, r.d.Files, &r.cfg, r.d.Store.String(), r.scan.SHA256); err != nil {
			return err
		}
		r.rec.adopt(r.newState(), "")
		return nil
	case err != nil:
		return fmt.Errorf("load checkpoint %s: %w", r.d.Store, err)
	}
	st, decErr := checkpoint.Decode(data)
	if r.cfg.Reset {
		r.log.Warn("--reset: discarding the existing checkpoint and starting over", "checkpoint", r.d.Store.String())
		r.rec.adopt(r.newState(), version)
		return nil
	}
	if decErr != nil {
		return fmt.Errorf("checkpoint %s is unusable and was left untouched: %w\n  fix: restore it, or run with --reset to start over (this forgets what it recorded; the migration is safe to repeat)", r.d.Store, decErr)
	}
	for _, f := range formerIdentityFlags {
		delete(st.Identity.Flags, f)
	}
	if err := checkpoint.CheckIdentity(r.d.Store.String(), st.Identity, r.identity()); err != nil {
		return err
	}
	if len(st.Rows) != r.scan.Rows {
		return fmt.Errorf("%w: checkpoint %s has %d rows but the input has %d", checkpoint.ErrCorrupt, r.d.Store, len(st.Rows), r.scan.Rows)
	}
	r.rec.adopt(st, version)
	r.log.Info("resuming from checkpoint", "checkpoint", r.d.Store.String(), "done", r.rec.t.job.done(), "runs", len(st.Runs))
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

// rates describes the two limiters and what this run achieved through them.
func (r *runner) rates() (read, write pace.RateSummary) {
	elapsed := time.Since(r.started)
	read, write = r.read.Summary(r.stats.Attempts(cognito.OpAdminGetUser), elapsed),
		r.write.Summary(r.stats.Attempts(cognito.OpAdminSetUserMFAPreference), elapsed)
	read.Pacing, write.Pacing = pacingFigures(r.pacer, "UserRead"), pacingFigures(r.pacer, "UserResourceUpdate")
	return read, write
}

// meter returns this run's figures (kept in its history entry so that
// status can show them) and its call counters.
func (r *runner) meter() (map[string]float64, map[string]int64) {
	figures := map[string]float64{}
	read, write := r.rates()
	for name, rs := range map[string]pace.RateSummary{"read": read, "write": write} {
		figures[name+"_rps_achieved"] = rs.Achieved
		figures[name+"_rps_configured"] = rs.Configured
		figures[name+"_rps_current"] = rs.Current
		figures[name+"_throttles"] = float64(rs.Throttles)
		figures[name+"_rate_cuts"] = float64(rs.Cuts)
		pacingFigureMap(figures, name, rs.Pacing)
	}
	calls := map[string]int64{}
	for op := range cognito.NumOps {
		s := r.stats.Snapshot(op)
		calls[op.String()+".calls"] = s.Calls
		calls[op.String()+".attempts"] = s.Attempts
		calls[op.String()+".throttled"] = s.Throttled
		calls[op.String()+".errors"] = s.Errors
	}
	return figures, calls
}

// progress reports a snapshot to Deps.OnProgress.
func (r *runner) progress(t tallies, final bool) {
	if r.d.OnProgress == nil {
		return
	}
	p := Progress{
		Elapsed: time.Since(r.started), Rows: t.job.total(), Done: t.job.done(), ThisRun: t.rows,
		Outcomes: t.job.byName(), Final: final, ThisRunOutcomes: t.thisRun.byName(),
	}
	if r.gate != nil {
		_, p.MaxWorker = r.gate.inFlight()
	}
	for op := range cognito.NumOps {
		p.Calls[op] = r.stats.Snapshot(op)
	}
	p.Read, p.Write = r.rates()
	p.ETA = r.eta(p.Rows - p.Done)
	r.d.OnProgress(p)
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
	} else if read := r.stats.Calls(cognito.OpAdminGetUser); read > 0 {
		writeShare = float64(r.stats.Calls(cognito.OpAdminSetUserMFAPreference)) / float64(read)
	}
	reads := float64(remaining)
	if r.cfg.Verify {
		reads += writeShare * float64(remaining)
	}
	secs := RunSeconds(reads, writeShare*float64(remaining), r.read.Rate(), r.write.Rate())
	return time.Duration(secs * float64(time.Second))
}

// summary builds the summary of the run from the recorder's state.
func (r *runner) summary(reason string, runErr error) *Summary {
	t := r.rec.t
	s := &Summary{
		RunID: r.runID, PoolID: r.cfg.UserPoolID, Mode: r.cfg.Mode(), Input: r.cfg.Input,
		InputSHA256: r.scan.SHA256, InputFormat: r.scan.Format.String(), Checkpoint: r.d.Store.String(),
		Report: r.cfg.ReportLocation(), SummaryFile: r.cfg.SummaryLocation(),
		Started: r.started.UTC(), Ended: time.Now().UTC(), StopReason: reason,
		Rows: t.job.total(), Done: t.job.done(), Outcomes: t.job.byName(), Runs: len(r.rec.state.Runs),
		ThisRun:    RunCounts{Rows: t.rows, Outcomes: t.thisRun.byName()},
		Calls:      map[string]cognito.OpStats{},
		MaxWorkers: r.cfg.Workers,
	}
	s.DurationSeconds = pace.Round2(s.Ended.Sub(s.Started).Seconds())
	s.Remaining = s.Rows - s.Done
	for op := range cognito.NumOps {
		if st := r.stats.Snapshot(op); st.Attempts > 0 {
			s.Calls[op.String()] = st
		}
	}
	read, write := r.rates()
	s.Rates = map[string]pace.RateSummary{"read": read, "write": write}
	if r.cfg.DryRun {
		s.Cost = dryRunCost(r.rec.state.Rows, r.cfg.Verify, r.cfg.ReadRPS, r.cfg.WriteRPS)
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

// writeOutputs writes the summary, then the report, by deadline if it is
// not zero (the stop budget). A report that cannot be finished by then is
// skipped, saying so: the report command rebuilds it from the checkpoint.
func (r *runner) writeOutputs(ctx context.Context, sum *Summary, deadline time.Time) error {
	ctx = context.WithoutCancel(ctx)
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	skip := func(what string) {
		r.log.Warn(what+" not written: the stop budget (--shutdown-timeout) ran out; the checkpoint is saved, and the report command rebuilds it",
			"report", r.cfg.ReportLocation(), "summary", r.cfg.SummaryLocation())
	}
	if ctx.Err() != nil {
		skip("report and summary")
		return nil
	}
	reportNow := interimReport(&r.cfg, r.d.Store.String(), r.log, sum) // interim.go: sets sum.ReportNote when the report waits for the job's end
	if err := r.d.Files.Write(ctx, r.cfg.SummaryLocation(), sum.WriteJSON); err != nil {
		if ctx.Err() != nil {
			skip("report and summary")
			return nil
		}
		return fmt.Errorf("summary %s: %w", r.cfg.SummaryLocation(), err)
	}
	if !reportNow {
		return nil
	}
	err := r.d.Files.Write(ctx, r.cfg.ReportLocation(), func(w io.Writer) error {
		return writeReport(ctx, ctxWriter{ctx, w}, r.in.Open, r.cfg.Input, r.inputOptions(), r.rec.state, r.scan.Duplicates, r.cfg.NoMask)
	})
	switch {
	case err != nil && ctx.Err() != nil:
		skip("report")
		return nil
	case err != nil:
		return fmt.Errorf("report %s: %w", r.cfg.ReportLocation(), err)
	}
	return nil
}

// ctxWriter fails writes once its context has ended, so that a long
// report stops at the end of the stop budget.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
