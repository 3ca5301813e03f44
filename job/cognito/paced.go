package cognito

import (
	"context"
	"errors"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go/middleware"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// pacer is an SDK middleware that runs inside the retry loop, once per
// attempt: it waits for the category's limiter, times the attempt, counts
// it, and reports throttling to the limiter.
type pacer struct {
	lim   *pace.Limiter
	stats *opCounters
}

func (p *pacer) ID() string { return "cognito-mfa-migrate/Pacer" }

func (p *pacer) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	if err := p.lim.Wait(ctx); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	start := time.Now()
	out, md, err := next.HandleFinalize(ctx, in)
	if fe := (*FencedError)(nil); errors.As(err, &fe) {
		return out, md, err // never sent: not an attempt
	}
	throttled := err != nil && IsThrottle(err)
	p.stats.observe(time.Since(start), throttled, err != nil)
	p.lim.ObserveAttempt(start, throttled)
	if throttled {
		p.lim.Throttled(start)
	}
	return out, md, err
}

// option returns the per-call option that adds the pacer after the SDK's
// retry middleware, so that every attempt is paced.
func (p *pacer) option() func(*cip.Options) {
	add := func(stack *middleware.Stack) error {
		return stack.Finalize.Insert(p, "Retry", middleware.After)
	}
	return func(o *cip.Options) { o.APIOptions = append(o.APIOptions, add) }
}

// Pace returns c with every attempt of AdminGetUser paced by read and every
// attempt of AdminSetUserMFAPreference paced by write, and every call and
// attempt counted in stats. Workers call the result like the client and know
// nothing of rates. Pacing happens per attempt through an SDK middleware
// inside the retry loop, so it takes effect with a real SDK client; with a
// stub of API the calls are only counted. Limiters and stats may be shared;
// the result is safe for concurrent use.
func Pace(c API, read, write *pace.Limiter, stats *Stats) API {
	return &paced{next: c,
		read:  &pacer{lim: read, stats: &stats.ops[OpAdminGetUser]},
		write: &pacer{lim: write, stats: &stats.ops[OpAdminSetUserMFAPreference]},
	}
}

type paced struct {
	next        API
	read, write *pacer
}

func (p *paced) AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	p.read.stats.calls.Add(1)
	return p.next.AdminGetUser(ctx, in, append(optFns, p.read.option())...)
}

func (p *paced) AdminSetUserMFAPreference(ctx context.Context, in *cip.AdminSetUserMFAPreferenceInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserMFAPreferenceOutput, error) {
	p.write.stats.calls.Add(1)
	return p.next.AdminSetUserMFAPreference(ctx, in, append(optFns, p.write.option())...)
}

// PaceList returns c with every attempt of ListUsers paced by l and counted
// in stats, as Pace does for the migration's calls.
func PaceList(c ListUsersAPI, l *pace.Limiter, stats *Stats) ListUsersAPI {
	return &pacedList{next: c, list: &pacer{lim: l, stats: &stats.ops[OpListUsers]}}
}

type pacedList struct {
	next ListUsersAPI
	list *pacer
}

func (p *pacedList) ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	p.list.stats.calls.Add(1)
	return p.next.ListUsers(ctx, in, append(optFns, p.list.option())...)
}

// FencedError is the error of an attempt that Fence stopped before it was
// sent. Classify sorts it as fatal.
type FencedError struct{ Err error }

func (e *FencedError) Error() string { return "not sent: " + e.Err.Error() }

// Unwrap returns the fence's reason.
func (e *FencedError) Unwrap() error { return e.Err }

// fence is an SDK middleware at the very end of the Finalize step (after
// pacing and signing, just before the request is sent) that asks check
// whether the attempt may still go out.
type fence struct{ check func() error }

func (f fence) ID() string { return "cognito-mfa-migrate/Fence" }

func (f fence) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	if err := f.check(); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, &FencedError{Err: err}
	}
	return next.HandleFinalize(ctx, in)
}

// Fence returns c with every attempt of AdminSetUserMFAPreference checked
// by check at the last moment before it is sent, after any pacing wait:
// when check returns an error the attempt is not sent and the call returns
// a *FencedError, which is not retried. This is how a runner that has lost
// its checkpoint lease (frozen past its lock's TTL, then resumed) is kept
// from sending a write it had queued. Reads are not fenced: they change
// nothing. check must be safe for concurrent use.
func Fence(c API, check func() error) API {
	add := func(stack *middleware.Stack) error { return stack.Finalize.Add(fence{check}, middleware.After) }
	return &fenced{API: c, opt: func(o *cip.Options) { o.APIOptions = append(o.APIOptions, add) }}
}

type fenced struct {
	API
	opt func(*cip.Options)
}

func (f *fenced) AdminSetUserMFAPreference(ctx context.Context, in *cip.AdminSetUserMFAPreferenceInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserMFAPreferenceOutput, error) {
	return f.API.AdminSetUserMFAPreference(ctx, in, append(optFns, f.opt)...)
}
