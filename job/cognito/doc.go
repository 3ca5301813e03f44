// Package cognito is the job's edge to Amazon Cognito: the client with the
// job's retry policy (NewClient), decorators that pace and count calls per
// attempt inside the SDK's retry loop (Pace, PaceList) or fence writes
// (Fence), a watch on every attempt (Watched, WatchList, AttemptTimeout:
// the call timeout, stall detection, and an endpoint that refuses or does
// not resolve before it has ever answered), per-operation statistics
// (Stats), and error classification (Classify, FatalError).
//
// Errors: errors from Cognito are classified by their API code
// (smithy.APIError.ErrorCode) and by typed causes (syscall errors,
// *net.DNSError, timeouts), never by message text, with one isolated
// exception documented on credentialsError. Sentinels and wrapping follow
// one style across the job: a function wraps its cause with %w as the last
// verb and adds only what the callee did not say.
package cognito
