// Package job is the migration itself: it reads users from a CSV, reads each
// user's live MFA state with AdminGetUser, decides with a pure planner (plan)
// whether and how to re-express a legacy SMS MFA configuration through
// AdminSetUserMFAPreference, applies the decision through rate-limited
// workers, and records every row's outcome in a checkpoint from which the
// per-user report and the JSON summary are built. Export writes that CSV
// cheaply beforehand: it pages through the pool with ListUsers and keeps the
// users with legacy MFA options.
//
// The flow of Run:
//
//	CSV ──reader──▶ rows ──skip done (checkpoint)──▶ dispatcher ──▶ workers ──▶ results ──▶ recorder
//	                                                  read limiter  → AdminGetUser            ├ checkpoint (batched)
//	                                                  plan (pure)                             ├ report, summary
//	                                                  write limiter → AdminSetUserMFAPreference └ progress, metrics
//
// Who owns what is said by types, one per owner:
//   - recorder (recorder.go): the checkpoint state and this run's tallies;
//     only the goroutine running record touches them while the run goes on.
//   - dispatcher (dispatch.go): reads the input, skips the rows of doneSet
//     (built before the recorder starts), hands users to workers.
//   - gate (gate.go): the users in flight; the dispatcher acquires, workers
//     release, the sizer (sizer.go) sets the target from a small load
//     interface (rates, waiting, attempts).
//   - worker (worker.go): one user at a time, stateless.
//   - stopper (stopper.go): the stop reason and error, the cancellations,
//     the stop budget; a fatal stop overrides a graceful one.
//   - lease (lease.go): the checkpoint lock as this process knows it;
//     writes, saves and outputs check it, so a runner frozen past its lock's
//     lifetime sends nothing it had queued.
//   - runner (run.go): wires them, and after a stop runs the stop path
//     under one budget: drain, final save, release the lock, then summary
//     and report if time is left.
//
// Files follow the flow and use only names declared at their level or
// below: errors, mask, pacing (with pacingtext: --*-rps auto, its settings,
// controller and words), config, outcome, plan, row, files (with files_unix,
// fileid_unix, inputfile: the input pinned for the run, resume: reading it
// from a mark of its scan, exists, and scancache: the input's scan kept next
// to the checkpoint), cells, report, summary, interim (when a stopped run
// writes the report), status, ticket (with ticketchart: the change-ticket
// report), metrics, gate, stopper, worker, dispatch, sizer, lease, series
// (a run's calls per minute), recorder,
// run (with startup: what a run does between the lock and its first call),
// export (with exportchains: the pool listed as disjoint chains), pools
// (discovery and the fleet manifest). Pacing is package job/pace; the AWS edge (client, retries,
// the pacing middleware, fencing, error classification, per-operation
// stats) is package job/cognito; neither imports job.
//
// Errors: sentinels (ErrUsage, ErrStopped, ErrSomeFailed, input.ErrInput)
// are wrapped with %w as the last verb; a function adds only what its
// callee did not say. ExitCode maps them to the process exit codes.
package job
