// Package job is the migration itself: it reads users from a CSV, reads each
// user's live MFA state with AdminGetUser, decides with a pure planner (Plan)
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
//	                                                  Plan (pure)                             ├ report, summary
//	                                                  write limiter → AdminSetUserMFAPreference └ progress, metrics
//
// One recorder goroutine owns the checkpoint state; nothing else writes it.
// Rate limits are applied per attempt inside the SDK's retry loop by a
// middleware that the limited client adds to each call, so retries are paced
// too and throttling answers lower the limit of the category that saw them.
package job
