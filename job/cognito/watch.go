package cognito

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// AttemptTimeoutError is the error of an attempt that got no answer within
// the call timeout. The SDK's retryer retries it like a 5xx (RetryableError
// reports true) and the job classifies it as a timeout.
type AttemptTimeoutError struct {
	Limit time.Duration // the call timeout
	Err   error         // the cancelled attempt's error
}

func (e *AttemptTimeoutError) Error() string {
	return fmt.Sprintf("no answer within the call timeout (%v)", e.Limit)
}

// AttemptTimeoutError has no Unwrap on purpose: the cancelled attempt's
// error is a *smithy.CanceledError, which the SDK's retryer never retries.

// RetryableError tells the SDK's retryer to retry the attempt.
func (e *AttemptTimeoutError) RetryableError() bool { return true }

// Timeout reports true: the job classifies it as a network timeout.
func (e *AttemptTimeoutError) Timeout() bool { return true }

// unreachableError is a connection refused, or a host name that does not
// resolve, before the endpoint has ever answered: a wrong endpoint or Region,
// not a passing fault. It is not retried and stops the run at once.
type unreachableError struct {
	endpoint string
	refused  bool
	err      error
}

func (e *unreachableError) Error() string {
	if e.refused {
		return fmt.Sprintf("%s refused the connection (nothing listens there)", e.endpoint)
	}
	var dnsErr *net.DNSError
	if errors.As(e.err, &dnsErr) {
		return fmt.Sprintf("%s: host name %s not found", e.endpoint, dnsErr.Name)
	}
	return fmt.Sprintf("%s does not resolve", e.endpoint)
}

func (e *unreachableError) Unwrap() error { return e.err }

// RetryableError tells the SDK's retryer not to retry.
func (e *unreachableError) RetryableError() bool { return false }

// WatchOption returns an SDK API option (for Options.APIOptions) that puts
// every attempt of a client under w. Clients whose requests or answers may
// be large (S3: a report upload, an input download) should use a Watch with
// no timeout and bound the wait for an answer with WithResponseHeaderTimeout
// instead, which does not count the time spent sending or reading a body.
func WatchOption(w *Watch) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error { return st.Finalize.Add(w, middleware.After) }
}

// WithResponseHeaderTimeout sets the response-header timeout of an SDK
// BuildableClient (nil means a new one): a request that is sent but never
// answered fails d after it was sent, and the SDK retries it. Any other
// client is returned unchanged.
func WithResponseHeaderTimeout(hc aws.HTTPClient, d time.Duration) aws.HTTPClient {
	if d <= 0 {
		return hc
	}
	set := func(t *http.Transport) { t.ResponseHeaderTimeout = d }
	switch c := hc.(type) {
	case nil:
		return awshttp.NewBuildableClient().WithTransportOptions(set)
	case *awshttp.BuildableClient:
		return c.WithTransportOptions(set)
	}
	return hc
}

// Watch is an SDK middleware that runs once per attempt, at the end of
// the Finalize step (after the pacer's limiter wait, so the timeout counts
// only the attempt): it applies the call timeout, records whether the
// endpoint answered (for stall detection), and makes a connection refused or
// an unresolvable host on the first calls fatal. It is safe for concurrent
// use. Make it with NewWatch; install it with Watched and WatchList.
type Watch struct {
	timeout time.Duration
	now     func() time.Time // nil means time.Now

	mu         sync.Mutex
	endpoint   string    // host of the last attempt
	answered   bool      // the endpoint has answered at least once
	unanswered time.Time // start of the oldest attempt since the last answer; zero if none
}

// NewWatch returns a Watch that gives each attempt at most timeout to be
// answered (0 or less: no limit).
func NewWatch(timeout time.Duration) *Watch { return &Watch{timeout: timeout} }

// ID names the middleware in the SDK's stack.
func (w *Watch) ID() string { return "cognito-mfa-migrate/CallWatch" }

func (w *Watch) clock() time.Time {
	if w.now != nil {
		return w.now()
	}
	return time.Now()
}

// HandleFinalize runs one attempt under the watch.
func (w *Watch) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	endpoint := ""
	if req, ok := in.Request.(*smithyhttp.Request); ok && req.URL != nil {
		endpoint = req.URL.Scheme + "://" + req.URL.Host
	}
	w.begin(endpoint)
	actx := ctx
	if w.timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, w.timeout)
		defer cancel()
	}
	out, md, err := next.HandleFinalize(actx, in)
	ever := w.end(err == nil || answeredErr(err))
	switch {
	case err == nil:
	case actx != ctx && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded):
		err = &AttemptTimeoutError{Limit: w.timeout, Err: err}
	case !ever && ctx.Err() == nil:
		if refused, dns := unreachable(err); refused || dns {
			err = &unreachableError{endpoint: endpoint, refused: refused, err: err}
		}
	}
	return out, md, err
}

func (w *Watch) begin(endpoint string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if endpoint != "" {
		w.endpoint = endpoint
	}
	if w.unanswered.IsZero() {
		w.unanswered = w.clock()
	}
}

// end records the end of an attempt and returns whether the endpoint has
// ever answered.
func (w *Watch) end(answered bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if answered {
		w.answered = true
		w.unanswered = time.Time{}
	}
	return w.answered
}

// Stalled reports whether an attempt has waited longer than d for an answer
// (counting from the oldest attempt made since the last answer), and the
// endpoint and how long. A runner stops when it does (--stall-timeout).
func (w *Watch) Stalled(d time.Duration) (endpoint string, waited time.Duration, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.unanswered.IsZero() {
		return "", 0, false
	}
	waited = w.clock().Sub(w.unanswered)
	return w.endpoint, waited, waited > d
}

// answeredErr reports whether err carries an answer from the endpoint (an
// HTTP response, such as a throttling or a 5xx error), as opposed to no
// answer at all (a timeout, a reset, a refused connection).
func answeredErr(err error) bool {
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		return false
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() > 0 {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae)
}

// unreachable reports whether err is a refused connection or a host name that
// does not resolve.
func unreachable(err error) (refused, dns bool) {
	var dnsErr *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

// Watched returns c with every attempt of every call under w (the call
// timeout, stall detection, unreachable endpoints). Install it innermost
// (Pace and Fence around it), so that the timeout counts only the attempt,
// not the limiter's wait.
func Watched(c API, w *Watch) API { return &watched{next: c, opt: w.option()} }

// WatchList is Watched for the ListUsers client.
func WatchList(c ListUsersAPI, w *Watch) ListUsersAPI { return &watchedList{next: c, opt: w.option()} }

func (w *Watch) option() func(*cip.Options) {
	add := func(st *middleware.Stack) error { return st.Finalize.Add(w, middleware.After) }
	return func(o *cip.Options) { o.APIOptions = append(o.APIOptions, add) }
}

type watched struct {
	next API
	opt  func(*cip.Options)
}

func (c *watched) AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	return c.next.AdminGetUser(ctx, in, append(optFns, c.opt)...)
}

func (c *watched) AdminSetUserMFAPreference(ctx context.Context, in *cip.AdminSetUserMFAPreferenceInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserMFAPreferenceOutput, error) {
	return c.next.AdminSetUserMFAPreference(ctx, in, append(optFns, c.opt)...)
}

type watchedList struct {
	next ListUsersAPI
	opt  func(*cip.Options)
}

func (c *watchedList) ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	return c.next.ListUsers(ctx, in, append(optFns, c.opt)...)
}
