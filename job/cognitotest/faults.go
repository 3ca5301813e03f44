package cognitotest

import (
	"math/rand/v2"
	"time"

	"golang.org/x/time/rate"
)

// Faults describes faults injected at random into calls of an operation.
// Rates are fractions of requests from 0 to 1; one random draw per request
// picks at most one of Error500, ResetBefore and ResetAfter (in that order,
// so rates summing to more than 1 starve the later ones). The zero value
// injects nothing.
type Faults struct {
	// Error500 is the fraction of requests answered with HTTP 500
	// InternalErrorException before anything changes.
	Error500 float64
	// ResetBefore is the fraction of requests whose connection is reset
	// (TCP RST, no response) before anything changes.
	ResetBefore float64
	// ResetAfter is the fraction of requests whose operation is carried
	// out and whose connection is then reset instead of answered.
	ResetAfter float64
	// Latency is slept server-side before each response (and before the
	// operation runs), plus a uniformly random extra in [0, Jitter). The
	// sleep ends early, without any change and with the connection reset,
	// when the client gives up or the server is closed.
	Latency time.Duration
	// Jitter is the width of the uniform random extra latency.
	Jitter time.Duration
	// Seed seeds the random source of the draws and the jitter, so a
	// sequence of requests sent one after another gets the same faults on
	// every run. Concurrent requests draw in arrival order, which varies.
	Seed int64
}

// FaultKind names a fault FailNext can force.
type FaultKind int

// The faults FailNext can force.
const (
	// FaultThrottle answers HTTP 400 TooManyRequestsException "Rate
	// exceeded" before anything changes.
	FaultThrottle FaultKind = iota + 1
	// FaultError500 answers HTTP 500 InternalErrorException before
	// anything changes.
	FaultError500
	// FaultResetBefore resets the connection before anything changes.
	FaultResetBefore
	// FaultResetAfter carries out the operation, then resets the
	// connection instead of responding.
	FaultResetAfter
)

// String returns the name of k as used in test names, such as "reset_after".
func (k FaultKind) String() string {
	switch k {
	case FaultThrottle:
		return "throttle"
	case FaultError500:
		return "error500"
	case FaultResetBefore:
		return "reset_before"
	case FaultResetAfter:
		return "reset_after"
	}
	return "none"
}

type faultState struct {
	f   Faults
	rng *rand.Rand
}

type pendingFaults struct {
	kind FaultKind
	n    int
}

// SetFaults sets the random faults injected into calls of op, replacing any
// earlier setting for op and restarting its random source from f.Seed. The
// op "" applies to every operation that has no setting of its own. The zero
// Faults removes the setting. Faults are drawn after authentication,
// FailNext/ThrottleNext and quota checks.
func (s *Server) SetFaults(op string, f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == (Faults{}) {
		delete(s.faults, op)
		return
	}
	seed := uint64(f.Seed)
	s.faults[op] = &faultState{f: f, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// ThrottleNext makes the next n calls of op fail with HTTP 400
// TooManyRequestsException "Rate exceeded", exactly as Cognito sends it,
// before anything changes. It is FailNext(op, FaultThrottle, n).
func (s *Server) ThrottleNext(op string, n int) {
	s.FailNext(op, FaultThrottle, n)
}

// FailNext makes the next n calls of op get the fault kind, replacing any
// forced faults still pending for op; n <= 0 clears them. The op "" means
// the next n calls of any operation that has no forced faults of its own.
// Forced faults are applied after authentication and before quotas and
// random faults; a forced call still counts as received.
func (s *Server) FailNext(op string, kind FaultKind, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || kind < FaultThrottle || kind > FaultResetAfter {
		delete(s.pending, op)
		return
	}
	s.pending[op] = &pendingFaults{kind: kind, n: n}
}

// takePendingLocked consumes one forced fault for op, if any.
func (s *Server) takePendingLocked(op string) FaultKind {
	p := s.pending[op]
	key := op
	if p == nil {
		p, key = s.pending[""], ""
	}
	if p == nil {
		return 0
	}
	p.n--
	if p.n <= 0 {
		delete(s.pending, key)
	}
	return p.kind
}

func (s *Server) faultStateLocked(op string) *faultState {
	if fs := s.faults[op]; fs != nil {
		return fs
	}
	return s.faults[""]
}

// drawFaultLocked draws a random fault for op.
func (s *Server) drawFaultLocked(op string) FaultKind {
	fs := s.faultStateLocked(op)
	if fs == nil || fs.f.Error500+fs.f.ResetBefore+fs.f.ResetAfter <= 0 {
		return 0
	}
	u := fs.rng.Float64()
	switch f := fs.f; {
	case u < f.Error500:
		return FaultError500
	case u < f.Error500+f.ResetBefore:
		return FaultResetBefore
	case u < f.Error500+f.ResetBefore+f.ResetAfter:
		return FaultResetAfter
	}
	return 0
}

// latencyLocked returns the injected latency for one call of op.
func (s *Server) latencyLocked(op string) time.Duration {
	fs := s.faultStateLocked(op)
	if fs == nil || fs.f.Latency <= 0 && fs.f.Jitter <= 0 {
		return 0
	}
	d := max(fs.f.Latency, 0)
	if fs.f.Jitter > 0 {
		d += time.Duration(fs.rng.Int64N(int64(fs.f.Jitter)))
	}
	return d
}

// SetAuthError makes every call fail with HTTP 400 and the error code and
// message, as when credentials are expired or not authorized, for example
// "NotAuthorizedException", "ExpiredTokenException" or
// "AccessDeniedException". An empty message gets a default text. The code
// "" clears it.
func (s *Server) SetAuthError(code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if message == "" && code != "" {
		message = defaultAuthMessages[code]
		if message == "" {
			message = code + " (injected by cognitotest)"
		}
	}
	s.authCode, s.authMsg = code, message
}

var defaultAuthMessages = map[string]string{
	"UnrecognizedClientException": "The security token included in the request is invalid.",
	"ExpiredTokenException":       "The security token included in the request is expired",
	"AccessDeniedException":       "User is not authorized to perform this action (injected by cognitotest).",
	"NotAuthorizedException":      "Not authorized (injected by cognitotest).",
	"InvalidSignatureException":   "The request signature we calculated does not match the signature you provided.",
}

// Category is a Cognito request-rate quota category (reference §4). Quotas
// are shared by all pools of a server, as the real ones are shared by all
// pools in an account and Region.
type Category string

// The quota categories of the implemented operations.
const (
	// UserRead holds AdminGetUser (real default 120 requests per second).
	UserRead Category = "UserRead"
	// UserResourceUpdate holds AdminSetUserMFAPreference and
	// AdminSetUserSettings (real quota 25 per second, not adjustable).
	UserResourceUpdate Category = "UserResourceUpdate"
	// UserList holds ListUsers (real quota 30 per second).
	UserList Category = "UserList"
	// UserCreation holds AdminCreateUser and SignUp.
	UserCreation Category = "UserCreation"
	// UserUpdate holds AdminUpdateUserAttributes, AdminDeleteUserAttributes,
	// AdminDeleteUser, AdminSetUserPassword and AdminResetUserPassword.
	UserUpdate Category = "UserUpdate"
	// UserPoolRead holds ListUserPools and DescribeUserPool.
	UserPoolRead Category = "UserPoolRead"
	// UserPoolClient holds CreateUserPoolClient and DeleteUserPoolClient.
	UserPoolClient Category = "UserPoolClient"
	// UserAuthentication holds AdminInitiateAuth.
	UserAuthentication Category = "UserAuthentication"
)

// CategoryOf returns the quota category of the operation op, or "" for an
// operation the server does not implement.
func CategoryOf(op string) Category {
	return operations[op]
}

// operations maps each implemented operation to its quota category.
var operations = map[string]Category{
	"AdminGetUser":              UserRead,
	"AdminSetUserMFAPreference": UserResourceUpdate,
	"AdminSetUserSettings":      UserResourceUpdate,
	"ListUsers":                 UserList,
	"AdminCreateUser":           UserCreation,

	// Preflight and self-test support (pools.go, admin.go, totp.go).
	"ListUserPools":             UserPoolRead,
	"DescribeUserPool":          UserPoolRead,
	"AdminDeleteUser":           UserUpdate,
	"AdminUpdateUserAttributes": UserUpdate,
	"AdminDeleteUserAttributes": UserUpdate,
	"AdminSetUserPassword":      UserUpdate,
	"AdminResetUserPassword":    UserUpdate,
	"SignUp":                    UserCreation,
	"CreateUserPoolClient":      UserPoolClient,
	"DeleteUserPoolClient":      UserPoolClient,
	"AdminInitiateAuth":         UserAuthentication,
	"AssociateSoftwareToken":    UserResourceUpdate,
	"VerifySoftwareToken":       UserResourceUpdate,
}

// SetQuota enforces a token-bucket quota of rps requests per second with
// the given burst (at least 1) on category c, replacing any earlier quota
// with a full bucket. Calls over the quota are answered with HTTP 400
// TooManyRequestsException "Rate exceeded" before anything changes, and
// count as received. Tokens are taken at arrival, by the server's clock.
// Quotas are off by default; rps <= 0 turns c's off.
func (s *Server) SetQuota(c Category, rps float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rps <= 0 {
		delete(s.quotas, c)
		return
	}
	lim := rate.NewLimiter(rate.Limit(rps), max(burst, 1))
	lim.AllowN(s.now(), 0) // start the bucket full at the server's time
	s.quotas[c] = lim
}
