// Package pace paces calls to one API category: a token bucket from
// golang.org/x/time/rate, a sliding-window guard that keeps every second at
// the rate even after scheduling stalls, and adaptive control (AIMD: a
// multiplicative cut on each throttling answer, additive recovery, never
// above the configured rate). It knows nothing of Cognito or of the job: a
// Limiter is told when a call was throttled and answers how fast calls may go.
//
// Errors: Limiter.Wait returns only the context's error.
package pace
