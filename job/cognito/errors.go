package cognito

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/smithy-go"
)

// Class is how the job treats an error from Cognito.
type Class int

// The classes Classify returns.
const (
	ClassOK        Class = iota
	ClassThrottled       // throttling that outlasted the retry budget: stop, resumable
	ClassTransient       // 5xx, resets, timeouts that outlasted the retries: the user fails
	ClassNotFound        // UserNotFoundException
	ClassRejected        // a permanent answer about this user
	ClassFatal           // the run cannot go on: wrong pool, credentials, permissions, lost lease
	ClassCanceled        // our own context ended
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

// Codes Classify gives errors that carry no API error code.
const (
	CodeEndpointNotFound  = "EndpointNotFound"
	CodeUnreachable       = "EndpointUnreachable" // refused or unresolvable before any answer (see Watch)
	CodeStalled           = "Stalled"             // no answer for --stall-timeout (see Watch.Stalled)
	CodeNoCredentials     = "NoCredentials"
	CodeConnectionRefused = "ConnectionRefused"
	CodeConnectionReset   = "ConnectionReset"
	CodeTimeout           = "Timeout"
	CodeFenced            = "LeaseLost"
	CodeCanceled          = "Canceled"
	CodeOther             = "Error"
)

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
	CodeEndpointNotFound:            "the Cognito endpoint's host name does not resolve: check --region and --endpoint-url",
	CodeUnreachable:                 "the endpoint never answered: check --endpoint-url (and --s3-endpoint-url), --region, and the network path (VPC endpoint, proxy, firewall)",
	CodeStalled:                     "the endpoint accepts connections but does not answer: check the network path (proxy, VPC endpoint, security groups) and the AWS Health Dashboard, then run again to resume",
	CodeNoCredentials:               "no usable AWS credentials: set AWS_PROFILE (and run aws sso login for an SSO profile), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an IAM role; run again to resume",
	CodeFenced:                      "this runner lost its checkpoint lock (it was frozen or cut off for longer than --lock-ttl) and another runner may have taken over: nothing more was written; check the job with the status command",
}

// Classify sorts an error from a Cognito call. ctxErr is the error of the
// context the call was made with (nil while it lives). It returns the class
// and the error code kept in the report. API errors are classified by
// smithy.APIError.ErrorCode, never by concrete type: the write operation
// does not model TooManyRequestsException, so it arrives as a generic error.
// Network errors are classified by their typed causes (syscall errors,
// *net.DNSError, timeouts), never by message text; the one exception,
// credentials, is isolated in credentialsError.
func Classify(ctxErr error, err error) (Class, string) {
	if err == nil {
		return ClassOK, ""
	}
	if ctxErr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return ClassCanceled, CodeCanceled
	}
	if fe := (*FencedError)(nil); errors.As(err, &fe) {
		return ClassFatal, CodeFenced
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case throttleCodes[code]:
			return ClassThrottled, code
		case code == "UserNotFoundException":
			return ClassNotFound, code
		case rejectedCodes[code]:
			return ClassRejected, code
		case fatalHints[code] != "":
			return ClassFatal, code
		default:
			return ClassTransient, code
		}
	}
	if ue := (*unreachableError)(nil); errors.As(err, &ue) {
		return ClassFatal, CodeUnreachable
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return ClassFatal, CodeEndpointNotFound
	case credentialsError(err):
		return ClassFatal, CodeNoCredentials
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassTransient, CodeConnectionRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassTransient, CodeConnectionReset
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return ClassTransient, CodeTimeout
	}
	return ClassTransient, CodeOther
}

// ErrorCode returns the code Classify gives err ("" for nil).
func ErrorCode(err error) string {
	_, code := Classify(nil, err)
	return code
}

// IsThrottle reports whether err carries a throttling code.
func IsThrottle(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && throttleCodes[ae.ErrorCode()]
}

// credentialsError reports whether the SDK failed before sending because it
// could not get credentials. It is the only classification by message
// text, because the SDK has no typed error for it: the client's auth step
// wraps whatever the credentials provider (or the SDK's credentials cache
// around it) returned as "get identity: ..." (the service's auth.go). The
// SSO provider's expired token is the one typed case. Tests pin the text
// with the SDK's own errors, so an SDK upgrade that changes it fails a test.
func credentialsError(err error) bool {
	var sso *ssocreds.InvalidTokenError
	return errors.As(err, &sso) || strings.Contains(err.Error(), "get identity: ")
}

// FatalError stops a run: the operator has to fix something first. The
// checkpoint keeps everything done before it. Its text may hold what the SDK
// said, such as a username in a request: scrub it before logging.
type FatalError struct {
	Op   string // the operation that failed, such as "AdminGetUser"
	Code string // the error code, as Classify returns it
	Err  error  // the error as the SDK returned it
	Fix  string // the fix, when the caller knows a better one than the code's
}

// Error names the operation, the code and the fix.
func (e *FatalError) Error() string {
	hint := fatalHints[e.Code]
	if e.Fix != "" {
		hint = e.Fix
	}
	if hint == "" {
		return fmt.Sprintf("%s failed: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("%s failed: %v\n  fix: %s", e.Op, e.Err, hint)
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
