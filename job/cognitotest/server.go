package cognitotest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// DefaultPoolID is the user pool a Server has when NewServer is given no
// WithPool option.
const DefaultPoolID = "us-east-1_TestPool01"

// DefaultAccessKeyID and DefaultSecretAccessKey are the static credentials
// Server.Config uses when WithAccessKey is not given.
const (
	DefaultAccessKeyID     = "AKIDTEST"
	DefaultSecretAccessKey = "SECRET"
)

// Region is the AWS Region in Server.Config.
const Region = "us-east-1"

// targetPrefix is the X-Amz-Target prefix of Cognito user pool operations.
const targetPrefix = "AWSCognitoIdentityProviderService."

// maxBodyBytes bounds a request body; real requests are a few hundred bytes.
const maxBodyBytes = 1 << 20

// Responses larger than largeResponse bytes, which a Go client cannot take in
// with its first 4 KiB read, are held back largeResponseDelay. This narrows
// the window of a client-side race (see AvoidRequestBodyRace) for clients
// built without it; real Cognito is never this fast anyway.
const (
	largeResponse      = 3 << 10
	largeResponseDelay = 2 * time.Millisecond
)

// poolIDPattern is UserPoolIdType's pattern (reference §7).
var poolIDPattern = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)

// Option configures a Server in NewServer.
type Option func(*options)

type options struct {
	pools     []string
	accessKey string
	clock     func() time.Time
}

// WithPool adds a user pool with the given ID to the server. It can be
// repeated; when it is given, the server has only the pools it names and not
// DefaultPoolID. NewServer panics if id does not match the model's pattern
// [\w-]+_[0-9a-zA-Z]+ (for example "us-east-1_abc123").
func WithPool(id string) Option {
	return func(o *options) { o.pools = append(o.pools, id) }
}

// WithAccessKey makes the server accept only requests signed with the access
// key ID id; requests signed with any other key get
// UnrecognizedClientException "The security token included in the request
// is invalid.". Only the Credential=<id>/... part of the Authorization header
// is checked, never the signature. Server.Config uses id as its access key.
// By default any access key is accepted.
func WithAccessKey(id string) Option {
	return func(o *options) { o.accessKey = id }
}

// WithClock sets the function the server reads the time from: request
// arrival times, quota token buckets, PerSecond buckets and users'
// creation and modification dates all use it. It must be safe for
// concurrent use. Latency injected with SetFaults is always real time. The
// default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.clock = now }
}

// A Server is a fake Cognito user pool service listening on a system-chosen
// port on the loopback interface, for use in end-to-end tests and demos.
//
// A Server must be created with NewServer and closed with Close. All its
// methods are safe for concurrent use by multiple goroutines.
type Server struct {
	// URL is the base URL of the form http://ipaddr:port with no trailing
	// slash; it is the endpoint Config and Client use.
	URL string

	hs        *httptest.Server
	now       func() time.Time
	accessKey string
	done      chan struct{}
	closeOnce sync.Once
	reqSeq    atomic.Uint64

	mu sync.Mutex // guards everything below

	pools     map[string]*pool
	authCode  string
	authMsg   string
	faults    map[string]*faultState
	pending   map[string]*pendingFaults
	quotas    map[Category]*rate.Limiter
	recording bool
	st        stats
	ext       extState   // preflight and self-test support (access.go)
	fleet     fleetState // pools of several Regions (fleet.go)
	usage     usageState // production traffic and usage metrics (usage.go)
}

// NewServer starts and returns a new Server. The caller should call Close
// when finished, to shut it down. Without WithPool the server has one empty
// pool, DefaultPoolID. NewServer panics if it cannot listen on a loopback
// port or if an option is invalid, like httptest.NewServer.
func NewServer(opts ...Option) *Server {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.pools) == 0 {
		o.pools = []string{DefaultPoolID}
	}
	if o.clock == nil {
		o.clock = time.Now
	}
	s := &Server{
		now:       o.clock,
		accessKey: o.accessKey,
		done:      make(chan struct{}),
		pools:     make(map[string]*pool),
		faults:    make(map[string]*faultState),
		pending:   make(map[string]*pendingFaults),
		quotas:    make(map[Category]*rate.Limiter),
		recording: true,
	}
	for _, id := range o.pools {
		if !poolIDPattern.MatchString(id) {
			panic(fmt.Sprintf("cognitotest: invalid user pool ID %q", id))
		}
		if _, ok := s.pools[id]; !ok {
			s.pools[id] = newPool(id)
		}
	}
	s.st.reset(s.now(), true)
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.hs.URL
	return s
}

// Close shuts down the server and blocks until all outstanding requests
// have completed. Requests sleeping in injected latency are cut short,
// change nothing, and get their connection reset. Close may be called more
// than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.hs.Close()
	})
}

// Handler returns the handler the server's listener serves, for calling the
// fake in process: an SDK client whose HTTP client hands each request to it
// needs no connection, which a testing/synctest bubble requires (a goroutine
// waiting on a socket keeps the bubble's clock from advancing). Create the
// Server outside the bubble and call ResetStats inside it, so that arrival
// times and PerSecond buckets use the bubble's clock. Latency injected with
// SetFaults also waits for the server's Close, a channel from outside the
// bubble, so the bubble's clock would stop during it: simulate latency in
// the HTTP client instead. The connection-reset
// faults need a connection: they panic when the ResponseWriter cannot be
// hijacked. SetQuota too must then be called inside the bubble.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Config returns an aws.Config aimed at the server: static credentials (the
// WithAccessKey key ID, or DefaultAccessKeyID, with DefaultSecretAccessKey),
// Region us-east-1, BaseEndpoint s.URL, and AvoidRequestBodyRace in
// APIOptions. The HTTP client and retryer are left unset, so SDK clients
// built from it use their defaults. The configuration does not read the
// environment or shared config files.
func (s *Server) Config() aws.Config {
	key := s.accessKey
	if key == "" {
		key = DefaultAccessKeyID
	}
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(key, DefaultSecretAccessKey, ""),
		BaseEndpoint: aws.String(s.URL),
		APIOptions:   []func(*middleware.Stack) error{AvoidRequestBodyRace},
	}
}

// Client returns a real Cognito user pools client built from s.Config with
// the SDK's default HTTP client and retryer; optFns are applied after, for
// example to replace the retryer.
func (s *Server) Client(optFns ...func(*cognitoidentityprovider.Options)) *cognitoidentityprovider.Client {
	return cognitoidentityprovider.NewFromConfig(s.Config(), optFns...)
}

// apiError is an error response in Cognito's wire format.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errInvalidParameter(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

func errThrottled() *apiError {
	return &apiError{http.StatusBadRequest, "TooManyRequestsException", "Rate exceeded"}
}

func errInternal(msg string) *apiError {
	return &apiError{http.StatusInternalServerError, "InternalErrorException", msg}
}

// serveHTTP is the server's whole request pipeline: arrival bookkeeping,
// routing, authentication, throttling, injected faults, latency, the
// operation, and the response.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if isSTS(r) {
		s.serveSTS(w, r)
		return
	}
	if s.serveMonitoring(w, r) { // CloudWatch and Service Quotas
		return
	}
	arrival := s.now()
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	op, known := operationFromTarget(r.Header.Get("X-Amz-Target"))

	s.mu.Lock()
	rec := s.st.arrive(arrival, op, CategoryOf(op), body, s.recording)
	var d decision
	if readErr == nil {
		d = s.decideLocked(r, op, known, arrival, body)
		s.usage.countLocked(arrival, CategoryOf(op), false, d.err != nil && d.err.code == "TooManyRequestsException")
	}
	s.mu.Unlock()

	// Each outcome is recorded before the client can see it, so a client
	// that has its answer always finds it in Stats and Requests.
	if readErr != nil {
		// The client went away or sent too much; nothing to answer.
		s.finish(rec, OutcomeResetBefore, 0, "", false)
		s.reset(w)
		return
	}
	if d.latency > 0 && !s.sleep(r.Context(), d.latency) {
		// Reset rather than return: net/http would answer an empty 200,
		// which a client still waiting (on Close) would take for success.
		s.finish(rec, OutcomeCanceled, 0, "", false)
		s.reset(w)
		return
	}
	if d.err != nil {
		out := OutcomeError
		switch {
		case d.err.code == "TooManyRequestsException":
			out = OutcomeThrottled
		case d.kind == FaultError500:
			out = OutcomeError500
		}
		s.finish(rec, out, d.err.status, d.err.code, false)
		s.writeError(w, d.err)
		return
	}
	if d.kind == FaultResetBefore {
		s.finish(rec, OutcomeResetBefore, 0, "", false)
		s.reset(w)
		return
	}

	resp, apiErr := s.executeIn(signedRegion(r.Header.Get("Authorization")), op, body) // fleet.go

	if d.kind == FaultResetAfter {
		s.finish(rec, OutcomeResetAfter, 0, "", apiErr == nil)
		s.reset(w)
		return
	}
	if apiErr != nil {
		s.finish(rec, OutcomeError, apiErr.status, apiErr.code, false)
		s.writeError(w, apiErr)
		return
	}
	s.finish(rec, OutcomeOK, http.StatusOK, "", true)
	if len(resp) > largeResponse {
		s.sleep(r.Context(), largeResponseDelay)
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// finish records a request's outcome.
func (s *Server) finish(rec arrival, out Outcome, status int, code string, applied bool) {
	s.mu.Lock()
	s.st.finish(rec, out, status, code, applied)
	s.mu.Unlock()
}

// operationFromTarget returns the operation named by an X-Amz-Target header
// and whether the server implements it. For a target without the Cognito
// prefix op is the whole header value.
func operationFromTarget(target string) (op string, known bool) {
	op, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		return target, false
	}
	_, known = operations[op]
	return op, known
}

// decision is what decideLocked chose for a request before running it.
type decision struct {
	err     *apiError // answer with this error, change nothing
	kind    FaultKind // FaultError500 (err is set), FaultResetBefore, FaultResetAfter, or 0
	latency time.Duration
}

// decideLocked applies routing, authentication, forced faults, quotas and
// random faults, in that order. s.mu must be held.
func (s *Server) decideLocked(r *http.Request, op string, known bool, now time.Time, body []byte) decision {
	var d decision
	d.latency = s.latencyLocked(op)
	switch {
	case r.Method != http.MethodPost:
		d.err = &apiError{http.StatusBadRequest, "UnknownOperationException", "Method " + r.Method + " is not supported; use POST."}
		return d
	case !known:
		d.err = &apiError{http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("Operation %q is unknown or not implemented by cognitotest.", op)}
		return d
	}
	akid, ok := accessKeyID(r.Header.Get("Authorization"))
	switch {
	case !ok && anonymousOps[op]:
		// Called with a user's token, unsigned (the SDK's anonymous auth).
	case !ok:
		d.err = &apiError{http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"}
		return d
	case s.accessKey != "" && akid != s.accessKey:
		d.err = &apiError{http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid."}
		return d
	case s.authCode != "":
		d.err = &apiError{authStatus(s.authCode), s.authCode, s.authMsg}
		return d
	}
	if e := s.accessLocked(op, r.Header.Get("Authorization"), body); e != nil {
		d.err = e
		return d
	}
	if kind := s.takePendingLocked(op); kind != 0 {
		d.kind = kind
	} else if lim := s.quotas[CategoryOf(op)]; lim != nil && !lim.AllowN(now, 1) {
		d.kind = FaultThrottle
	} else {
		d.kind = s.drawFaultLocked(op)
	}
	switch d.kind {
	case FaultThrottle:
		d.err = errThrottled()
	case FaultError500:
		d.err = errInternal("An internal error occurred (injected by cognitotest).")
	}
	return d
}

// accessKeyID returns the access key ID from a SigV4 Authorization header.
func accessKeyID(auth string) (string, bool) {
	if !strings.HasPrefix(auth, "AWS4-") {
		return "", false
	}
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(cred, "/")
	if !ok || id == "" {
		return "", false
	}
	return id, true
}

// authStatus is the HTTP status real AWS uses for an authentication or
// authorization error code.
func authStatus(code string) int {
	if code == "InternalErrorException" {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// sleep waits for d, returning false if the request's context ends or the
// server is closed first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// reset aborts the connection with a TCP RST instead of responding.
func (s *Server) reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("cognitotest: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *Server) requestID() string {
	n := s.reqSeq.Add(1)
	return fmt.Sprintf("c0911700-0000-4000-8000-%012x", n)
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", s.requestID())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("X-Amzn-ErrorType", e.code)
	h.Set("X-Amzn-ErrorMessage", e.msg)
	s.writeJSON(w, e.status, mustMarshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.code, e.msg}))
}
