package cognito

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/internal/bodyrace"
)

// API is the part of the Cognito client the migration calls. The
// signatures are the SDK's, so *cognitoidentityprovider.Client satisfies it.
type API interface {
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminSetUserMFAPreference(ctx context.Context, in *cip.AdminSetUserMFAPreferenceInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserMFAPreferenceOutput, error)
}

// ListUsersAPI is the part of the Cognito client the export calls.
type ListUsersAPI interface {
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
}

var (
	_ API          = (*cip.Client)(nil)
	_ ListUsersAPI = (*cip.Client)(nil)
)

// Retry defaults. Throttling is retried up to DefaultMaxThrottleAttempts
// times (with the SDK's throttling backoff, up to DefaultMaxBackoff between
// attempts, several minutes in all) because the limiter, not the retry
// budget, is what paces the job; every other retryable error is retried up to
// DefaultMaxAttempts times.
const (
	DefaultMaxAttempts         = 8
	DefaultMaxThrottleAttempts = 30
	DefaultMaxBackoff          = 20 * time.Second
)

// RetryOptions configure NewRetryer. Zero fields take the defaults.
type RetryOptions struct {
	MaxAttempts         int           // attempts for 5xx, resets, timeouts
	MaxThrottleAttempts int           // attempts for throttling answers
	MaxBackoff          time.Duration // longest wait between attempts
}

// NewRetryer returns the job's retry policy: the SDK's standard retryer with
// its client-side retry quota disabled (ratelimit.None: the quota empties
// under sustained throttling and then fails calls that never reached
// Cognito), a bare EOF treated as retryable, and separate attempt budgets for
// throttling and for other errors.
func NewRetryer(o RetryOptions) aws.RetryerV2 {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxThrottleAttempts <= 0 {
		o.MaxThrottleAttempts = DefaultMaxThrottleAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	std := retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = max(o.MaxAttempts, o.MaxThrottleAttempts)
		so.MaxBackoff = o.MaxBackoff
		so.RateLimiter = ratelimit.None
		so.Retryables = append(append([]retry.IsErrorRetryable{}, retry.DefaultRetryables...), eofRetryable{})
	})
	return &budgetRetryer{RetryerV2: std, maxAttempts: o.MaxAttempts, maxThrottle: o.MaxThrottleAttempts}
}

// budgetRetryer gives throttling its own, larger attempt budget. The SDK's
// retry loop stops when RetryDelay returns an error, which is how the
// budget for other errors is enforced.
type budgetRetryer struct {
	aws.RetryerV2
	maxAttempts, maxThrottle int
}

func (r *budgetRetryer) MaxAttempts() int { return r.maxThrottle }

func (r *budgetRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if !IsThrottle(err) && attempt >= r.maxAttempts {
		return 0, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
	}
	return r.RetryerV2.RetryDelay(attempt, err)
}

// NewClient returns a Cognito client built from cfg (the SDK's standard
// configuration chain) with the job's retry policy, and with a workaround
// for an SDK race that closes HTTP connections and cuts off large responses
// such as ListUsers pages (see package job/internal/bodyrace). optFns are
// applied last.
//
// The HTTP client stays the SDK's BuildableClient (so AWS_CA_BUNDLE and the
// other settings of the chain keep applying) but keeps up to
// maxIdleConnsPerHost idle connections instead of the SDK's 10: with tens of
// users in flight at a few hundred milliseconds of latency, 10 would mean
// reconnecting (and a TLS handshake) for most calls.
func NewClient(cfg aws.Config, ro RetryOptions, optFns ...func(*cip.Options)) *cip.Client {
	switch hc := cfg.HTTPClient.(type) {
	case nil:
		cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(moreIdleConns)
	case *awshttp.BuildableClient:
		cfg.HTTPClient = hc.WithTransportOptions(moreIdleConns)
	}
	opts := append([]func(*cip.Options){func(o *cip.Options) {
		o.Retryer = NewRetryer(ro)
		o.RetryMaxAttempts = 0 // AWS_MAX_ATTEMPTS would wrap Retryer and cut the throttling budget
		o.APIOptions = append(o.APIOptions, bodyrace.Install)
	}}, optFns...)
	return cip.NewFromConfig(cfg, opts...)
}

// maxIdleConnsPerHost is how many idle connections to Cognito the client
// keeps: twice the users the job puts in flight by default (64).
const maxIdleConnsPerHost = 128

func moreIdleConns(t *http.Transport) {
	t.MaxIdleConns = max(t.MaxIdleConns, maxIdleConnsPerHost)
	t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, maxIdleConnsPerHost)
}
