package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// Sentinel errors that the command maps to exit codes.
var (
	// ErrUsage marks a configuration or command-line mistake (exit 2).
	ErrUsage = errors.New("usage error")
	// ErrStopped means the run stopped early and can be resumed (exit 4):
	// a signal, --max-duration, --max-users, or persistent throttling.
	ErrStopped = errors.New("stopped early; run again to resume")
	// ErrSomeFailed means the run finished but some users failed (exit 3).
	ErrSomeFailed = errors.New("finished, but some users failed")
)

// class is how the job treats an error from Cognito.
type class int

const (
	classOK        class = iota
	classThrottled       // throttling that outlasted the retry budget: stop, resumable
	classTransient       // 5xx, resets, timeouts that outlasted the retries: the user fails
	classNotFound        // UserNotFoundException
	classRejected        // a permanent answer about this user
	classFatal           // the run cannot go on: wrong pool, credentials, permissions
	classCanceled        // our own context ended
)

// throttleCodes are the error codes Cognito and the AWS SDK use for throttling.
var throttleCodes = map[string]bool{
	"TooManyRequestsException":               true,
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"ThrottledException":                     true,
	"RequestThrottledException":              true,
	"RequestThrottled":                       true,
	"LimitExceededException":                 true,
	"RequestLimitExceeded":                   true,
	"ProvisionedThroughputExceededException": true,
	"SlowDown":                               true,
}

// rejectedCodes are per-user answers that retrying cannot change.
var rejectedCodes = map[string]bool{
	"InvalidParameterException":      true,
	"UserNotConfirmedException":      true,
	"PasswordResetRequiredException": true,
	"AliasExistsException":           true,
	"CodeMismatchException":          true,
}

// fatalHints maps run-fatal codes to the fix the operator needs.
var fatalHints = map[string]string{
	"ResourceNotFoundException":     "check --user-pool-id and --region: the pool must exist in the Region the job calls",
	"NotAuthorizedException":        "the credentials are not allowed to call this operation on this pool; check the IAM policy (see samples/iam-policy.json)",
	"AccessDeniedException":         "the credentials are not allowed to call this operation; check the IAM policy (see samples/iam-policy.json)",
	"UnrecognizedClientException":   "AWS rejected the credentials: check AWS_PROFILE / AWS_ACCESS_KEY_ID, or refresh your session",
	"InvalidClientTokenId":          "AWS rejected the credentials: check AWS_PROFILE / AWS_ACCESS_KEY_ID, or refresh your session",
	"ExpiredTokenException":         "the session token expired: refresh the credentials (aws sso login, or a new role session) and run again to resume",
	"ExpiredToken":                  "the session token expired: refresh the credentials and run again to resume",
	"InvalidSignatureException":     "the request signature was rejected: check the secret key and the machine's clock",
	"SignatureDoesNotMatch":         "the request signature was rejected: check the secret key and the machine's clock",
	"MissingAuthenticationToken":    "no credentials were sent: configure AWS credentials",
	"IncompleteSignature":           "the request signature was incomplete: check the credentials",
	"OperationNotEnabledException":  "the operation is not enabled for this pool in this Region (replica Region?): run against the pool's primary Region",
	"UnsupportedOperationException": "Cognito does not support this operation for the pool",
}

// classify sorts an error from a Cognito call. It returns the class and the
// error code kept in the report. Errors are classified by
// smithy.APIError.ErrorCode, never by concrete type: the write operation
// does not model TooManyRequestsException, so it arrives as a generic error.
func classify(ctxErr error, err error) (class, string) {
	if err == nil {
		return classOK, ""
	}
	if ctxErr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return classCanceled, "Canceled"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case throttleCodes[code]:
			return classThrottled, code
		case code == "UserNotFoundException":
			return classNotFound, code
		case rejectedCodes[code]:
			return classRejected, code
		case fatalHints[code] != "":
			return classFatal, code
		default:
			return classTransient, code
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return classFatal, "EndpointNotFound"
	}
	if isCredentialsError(err) {
		return classFatal, "NoCredentials"
	}
	switch {
	case strings.Contains(err.Error(), "connection refused"):
		return classTransient, "ConnectionRefused"
	case strings.Contains(err.Error(), "connection reset"), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return classTransient, "ConnectionReset"
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return classTransient, "Timeout"
	}
	return classTransient, "Error"
}

// isCredentialsError reports whether the SDK failed before sending because it
// could not get credentials.
func isCredentialsError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "failed to retrieve credentials") ||
		strings.Contains(msg, "failed to refresh cached credentials") ||
		strings.Contains(msg, "get identity: ")
}

// FatalError stops a run: the operator has to fix something first. The
// checkpoint keeps everything done before it.
type FatalError struct {
	Op   string // the operation that failed, such as "AdminGetUser"
	Code string // the error code
	Err  error  // the error as the SDK returned it
}

// Error names the operation, the code and the fix.
func (e *FatalError) Error() string {
	hint := fatalHints[e.Code]
	switch e.Code {
	case "EndpointNotFound":
		hint = "the Cognito endpoint's host name does not resolve: check --region and --endpoint-url"
	case "NoCredentials":
		hint = "no AWS credentials were found: set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an IAM role"
	}
	msg := Scrub(e.Err.Error())
	if hint == "" {
		return fmt.Sprintf("%s failed: %s", e.Op, msg)
	}
	return fmt.Sprintf("%s failed: %s\n  fix: %s", e.Op, msg, hint)
}

// Unwrap returns the SDK error.
func (e *FatalError) Unwrap() error { return e.Err }

// eofRetryable makes a connection closed without an answer retryable. The
// SDK retries "connection reset" but not a bare EOF; every call this job
// makes is safe to repeat (two reads, and a write whose repetition sets the
// same settings again), so a lost answer is retried.
type eofRetryable struct{}

func (eofRetryable) IsErrorRetryable(err error) aws.Ternary {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

var _ retry.IsErrorRetryable = eofRetryable{}

// ExitCode maps the error a command returns to the process exit code:
// 0 success; 1 fatal (credentials, pool, lock held, checkpoint unusable);
// 2 usage or input error; 3 finished, some users failed; 4 stopped early,
// resumable.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage), errors.Is(err, input.ErrInput):
		return 2
	case errors.Is(err, ErrStopped):
		return 4
	case errors.Is(err, ErrSomeFailed):
		return 3
	default:
		return 1
	}
}
