package cognito

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// The classification tests make real calls with the real SDK client (the
// job's NewClient) so that Classify is pinned to the errors the SDK really
// returns: its wrapping, its types and, for credentials, its text.

// quickRetries is a retry policy that keeps the failing calls short.
var quickRetries = RetryOptions{MaxAttempts: 2, MaxThrottleAttempts: 2, MaxBackoff: time.Millisecond}

// classifyCase is one real failure: run makes the call and returns the
// error of its context and its error.
type classifyCase struct {
	name      string
	run       func(t *testing.T) (ctxErr, err error)
	wantClass Class
	wantCode  string
	check     func(t *testing.T, err error) // optional: what the case relies on
}

func runClassifyCases(t *testing.T, tests []classifyCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctxErr, err := tt.run(t)
			if err == nil {
				t.Fatal("the call = nil error, want one")
			}
			if class, code := Classify(ctxErr, err); class != tt.wantClass || code != tt.wantCode {
				t.Errorf("Classify(%v, %q) = %v, %q, want %v, %q", ctxErr, err, class, code, tt.wantClass, tt.wantCode)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

// clientFor returns a client of the fake's configuration with its endpoint
// replaced by url (when not "") and the HTTP client's settings changed by
// opts; the HTTP client stays the SDK's BuildableClient.
func clientFor(srv *cognitotest.Server, url string, opts ...func(*awshttp.BuildableClient) *awshttp.BuildableClient) *cip.Client {
	cfg := srv.Config()
	if url != "" {
		cfg.BaseEndpoint = aws.String(url)
	}
	hc := awshttp.NewBuildableClient()
	for _, o := range opts {
		hc = o(hc)
	}
	cfg.HTTPClient = hc
	return NewClient(cfg, quickRetries)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// DNS response codes (RFC 1035 4.1.1).
const (
	rcodeServFail = 2
	rcodeNXDomain = 3
)

// failingResolver returns a pure-Go resolver whose DNS server, a UDP
// socket on loopback, answers every query with rcode: with NXDOMAIN, name
// resolution fails as it does for a mistyped endpoint, without leaving the
// machine.
func failingResolver(t *testing.T, rcode byte) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], rcode); resp != nil {
				_, _ = pc.WriteTo(resp, addr)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

// dnsAnswer returns the answer to a DNS query (RFC 1035 4.1) with rcode:
// the query's ID and question, no records. It returns nil for a query it
// cannot parse.
func dnsAnswer(q []byte, rcode byte) []byte {
	const header = 12
	if len(q) < header || q[4] != 0 || q[5] != 1 { // one question
		return nil
	}
	i := header
	for i < len(q) && q[i] != 0 {
		i += int(q[i]) + 1
	}
	i += 1 + 4 // the root label, QTYPE and QCLASS
	if i > len(q) {
		return nil
	}
	resp := append([]byte(nil), q[:i]...)
	resp[2] = 0x80 | q[2]&0x01 // QR, the query's RD
	resp[3] = 0x80 | rcode     // RA, RCODE
	clear(resp[6:header])      // no answer, authority or additional records
	return resp
}

func TestClassifyNetworkErrors(t *testing.T) {
	srv, _ := newPacedServer(t)
	client := clientFor(srv, "") // two attempts: the faults below outlast them
	get := func(ctx context.Context, c *cip.Client) error { return getAlice(ctx, c) }
	tests := []classifyCase{
		{
			name: "connection refused",
			run: func(t *testing.T) (error, error) {
				err := get(t.Context(), clientFor(srv, "http://"+closedPort(t)))
				return t.Context().Err(), err
			},
			wantClass: ClassTransient, wantCode: CodeConnectionRefused,
		},
		{
			name: "reset before the answer",
			run: func(t *testing.T) (error, error) {
				srv.FailNext("AdminGetUser", cognitotest.FaultResetBefore, 2)
				return t.Context().Err(), get(t.Context(), client)
			},
			wantClass: ClassTransient, wantCode: CodeConnectionReset,
		},
		{
			name: "reset after the operation",
			run: func(t *testing.T) (error, error) {
				srv.FailNext("AdminGetUser", cognitotest.FaultResetAfter, 2)
				return t.Context().Err(), get(t.Context(), client)
			},
			wantClass: ClassTransient, wantCode: CodeConnectionReset,
		},
		{
			name: "a hung endpoint and our context's deadline",
			run: func(t *testing.T) (error, error) {
				srv.SetFaults("AdminGetUser", cognitotest.Faults{Latency: time.Hour})
				defer srv.SetFaults("AdminGetUser", cognitotest.Faults{})
				ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
				defer cancel()
				err := get(ctx, client)
				return ctx.Err(), err
			},
			wantClass: ClassCanceled, wantCode: CodeCanceled,
		},
		{
			name: "our context cancelled",
			run: func(t *testing.T) (error, error) {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				err := get(ctx, client)
				return ctx.Err(), err
			},
			wantClass: ClassCanceled, wantCode: CodeCanceled,
		},
		{
			name: "a hung endpoint and the HTTP client's timeout",
			run: func(t *testing.T) (error, error) {
				srv.SetFaults("AdminGetUser", cognitotest.Faults{Latency: time.Hour})
				defer srv.SetFaults("AdminGetUser", cognitotest.Faults{})
				c := clientFor(srv, "", func(b *awshttp.BuildableClient) *awshttp.BuildableClient { return b.WithTimeout(50 * time.Millisecond) })
				err := get(t.Context(), c)
				return t.Context().Err(), err
			},
			wantClass: ClassTransient, wantCode: CodeTimeout,
		},
		{
			name: "endpoint host not found",
			run: func(t *testing.T) (error, error) {
				r := failingResolver(t, rcodeNXDomain)
				c := clientFor(srv, "http://cognito-idp.nonexistent.invalid", func(b *awshttp.BuildableClient) *awshttp.BuildableClient {
					return b.WithDialerOptions(func(d *net.Dialer) { d.Resolver = r })
				})
				err := get(t.Context(), c)
				return t.Context().Err(), err
			},
			wantClass: ClassFatal, wantCode: CodeEndpointNotFound,
			check: func(t *testing.T, err error) {
				var de *net.DNSError
				if !errors.As(err, &de) || !de.IsNotFound {
					t.Errorf("error = %v, want a *net.DNSError with IsNotFound", err)
				}
			},
		},
		{
			// A DNS server that fails says nothing about the name: the
			// user fails, the run goes on.
			name: "the DNS server fails",
			run: func(t *testing.T) (error, error) {
				r := failingResolver(t, rcodeServFail)
				c := clientFor(srv, "http://cognito-idp.us-east-1.amazonaws.com", func(b *awshttp.BuildableClient) *awshttp.BuildableClient {
					return b.WithDialerOptions(func(d *net.Dialer) { d.Resolver = r })
				})
				err := get(t.Context(), c)
				return t.Context().Err(), err
			},
			wantClass: ClassTransient, wantCode: CodeOther,
			check: func(t *testing.T, err error) {
				var de *net.DNSError
				if !errors.As(err, &de) || de.IsNotFound {
					t.Errorf("error = %v, want a *net.DNSError without IsNotFound", err)
				}
			},
		},
	}
	runClassifyCases(t, tests)
}

// expiredSSOToken writes an SSO token cache file that expired an hour ago
// and returns its path.
func expiredSSOToken(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sso-token.json")
	expired := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if err := os.WriteFile(path, []byte(`{"accessToken":"token","expiresAt":"`+expired+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClassifyCredentialErrors(t *testing.T) {
	// No typed error says "the client could not get credentials"; these
	// cases pin the SDK's text that credentialsError relies on, with the
	// SDK's own providers and client.
	srv, _ := newPacedServer(t)
	withProvider := func(p aws.CredentialsProvider) func(t *testing.T) (error, error) {
		return func(t *testing.T) (error, error) {
			cfg := srv.Config()
			cfg.Credentials = p
			err := getAlice(t.Context(), NewClient(cfg, quickRetries))
			if n := srv.Calls("AdminGetUser"); n != 0 {
				t.Errorf("the fake received %d requests, want none: no credentials, nothing sent", n)
			}
			return t.Context().Err(), err
		}
	}
	failing := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("no EC2 IMDS role found")
	})
	isSSO := func(t *testing.T, err error) {
		var ite *ssocreds.InvalidTokenError
		if !errors.As(err, &ite) {
			t.Errorf("error = %v, want a *ssocreds.InvalidTokenError in it", err)
		}
	}
	const account, role, startURL = "123456789012", "Migrate", "https://example.awsapps.com/start"
	tests := []classifyCase{
		{name: "a provider that fails", run: withProvider(failing), wantClass: ClassFatal, wantCode: CodeNoCredentials},
		{name: "a cached provider that fails", run: withProvider(aws.NewCredentialsCache(failing)), wantClass: ClassFatal, wantCode: CodeNoCredentials},
		{
			name: "SSO with an expired token",
			run: withProvider(ssocreds.New(nil, account, role, startURL, func(o *ssocreds.Options) {
				o.CachedTokenFilepath = expiredSSOToken(t)
			})),
			wantClass: ClassFatal, wantCode: CodeNoCredentials, check: isSSO,
		},
		{
			name: "SSO without a token file",
			run: withProvider(ssocreds.New(nil, account, role, startURL, func(o *ssocreds.Options) {
				o.CachedTokenFilepath = filepath.Join(t.TempDir(), "missing.json")
			})),
			wantClass: ClassFatal, wantCode: CodeNoCredentials, check: isSSO,
		},
		{
			// The typed case on its own, however it is wrapped.
			name: "an SSO token error without the client's text",
			run: func(*testing.T) (error, error) {
				return nil, &smithy.OperationError{ServiceID: "x", OperationName: "AdminGetUser", Err: &ssocreds.InvalidTokenError{}}
			},
			wantClass: ClassFatal, wantCode: CodeNoCredentials,
		},
	}
	runClassifyCases(t, tests)
}

func TestClassifyAPIErrors(t *testing.T) {
	srv, _ := newPacedServer(t)
	client := clientFor(srv, "") // two attempts: the faults below outlast them
	if err := srv.AddUser(testPool, cognitotest.User{Username: "nophone", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	set := func(ctx context.Context, c *cip.Client, user string) error {
		_, err := c.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{
			UserPoolId:     aws.String(testPool),
			Username:       aws.String(user),
			SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true},
		})
		return err
	}
	get := func(ctx context.Context, c *cip.Client, user, pool string) error {
		_, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(user)})
		return err
	}
	isGeneric := func(t *testing.T, err error) {
		var ge *smithy.GenericAPIError
		if !errors.As(err, &ge) {
			t.Errorf("error = %T %v, want a *smithy.GenericAPIError: the write does not model throttling", errors.Unwrap(err), err)
		}
	}
	tests := []classifyCase{
		{
			name: "write throttled (an unmodeled error)",
			run: func(t *testing.T) (error, error) {
				srv.ThrottleNext("AdminSetUserMFAPreference", 2)
				return nil, set(t.Context(), client, "alice")
			},
			wantClass: ClassThrottled, wantCode: "TooManyRequestsException", check: isGeneric,
		},
		{
			name: "read throttled (a modeled error)",
			run: func(t *testing.T) (error, error) {
				srv.ThrottleNext("AdminGetUser", 2)
				return nil, get(t.Context(), client, "alice", testPool)
			},
			wantClass: ClassThrottled, wantCode: "TooManyRequestsException",
		},
		{
			name: "user not found",
			run: func(t *testing.T) (error, error) {
				return nil, get(t.Context(), client, "nobody", testPool)
			},
			wantClass: ClassNotFound, wantCode: "UserNotFoundException",
		},
		{
			name: "invalid parameter",
			run: func(t *testing.T) (error, error) {
				return nil, set(t.Context(), client, "nophone")
			},
			wantClass: ClassRejected, wantCode: "InvalidParameterException",
		},
		{
			name: "no such pool",
			run: func(t *testing.T) (error, error) {
				return nil, get(t.Context(), client, "alice", "us-east-1_NoSuchPool")
			},
			wantClass: ClassFatal, wantCode: "ResourceNotFoundException",
		},
		{
			name: "internal error after the retries",
			run: func(t *testing.T) (error, error) {
				srv.FailNext("AdminGetUser", cognitotest.FaultError500, 2)
				return nil, get(t.Context(), client, "alice", testPool)
			},
			wantClass: ClassTransient, wantCode: "InternalErrorException",
		},
		{
			name: "access denied",
			run: func(t *testing.T) (error, error) {
				srv.SetAuthError("AccessDeniedException", "User: arn:aws:iam::123456789012:user/x is not authorized to perform: cognito-idp:AdminGetUser")
				defer srv.SetAuthError("", "")
				return nil, get(t.Context(), client, "alice", testPool)
			},
			wantClass: ClassFatal, wantCode: "AccessDeniedException",
		},
	}
	runClassifyCases(t, tests)
}

func TestClassifyNil(t *testing.T) {
	if class, code := Classify(nil, nil); class != ClassOK || code != "" {
		t.Errorf("Classify(nil, nil) = %v, %q, want %v, \"\"", class, code, ClassOK)
	}
}
