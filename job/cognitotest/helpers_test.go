package cognitotest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

const pool = cognitotest.DefaultPoolID

// newServer starts a server that is closed when the test ends.
func newServer(t *testing.T, opts ...cognitotest.Option) *cognitotest.Server {
	t.Helper()
	s := cognitotest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// addUsers adds users to pool, failing the test on error.
func addUsers(t *testing.T, s *cognitotest.Server, users ...cognitotest.User) {
	t.Helper()
	for _, u := range users {
		if err := s.AddUser(pool, u); err != nil {
			t.Fatalf("AddUser(%q) = %v", u.Username, err)
		}
	}
}

// noRetry makes a client send each call once.
func noRetry(o *cip.Options) { o.Retryer = aws.NopRetryer{} }

// errCode returns the API error code of err, "" for nil, or a description
// of a non-API error.
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "non-API error: " + err.Error()
}

// legacyUser returns a user in the legacy state: SMS in MFAOptions only.
func legacyUser(name string) cognitotest.User {
	return cognitotest.User{
		Username:   name,
		Attributes: map[string]string{"phone_number": "+14155550100", "email": name + "@example.com"},
		Enabled:    true,
		MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}},
	}
}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rawResponse is a response to a hand-made request.
type rawResponse struct {
	Status int
	Header http.Header
	Body   map[string]any
}

// post sends a hand-made request for op with a fake SigV4 Authorization
// header (auth "" omits it) and decodes the JSON response.
func post(t *testing.T, s *cognitotest.Server, method, target, auth, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+"/", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := rawResponse{Status: resp.StatusCode, Header: resp.Header}
	if err := json.Unmarshal(b, &r.Body); err != nil {
		t.Fatalf("POST %s: response body %q is not JSON: %v", target, b, err)
	}
	return r
}

const fakeAuth = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"

func target(op string) string { return "AWSCognitoIdentityProviderService." + op }

// mfaState is the MFA part of a user, for comparisons.
type mfaState struct {
	SMS, TOTP, Email, WebAuthn bool
	Preferred                  string
	MFAOptions                 []cognitotest.MFAOption
}

func stateOf(u cognitotest.User) mfaState {
	return mfaState{u.SMSEnabled, u.TOTPEnabled, u.EmailEnabled, u.WebAuthnEnabled, u.Preferred, slices.Clone(u.MFAOptions)}
}

func (m mfaState) equal(o mfaState) bool {
	return m.SMS == o.SMS && m.TOTP == o.TOTP && m.Email == o.Email && m.WebAuthn == o.WebAuthn &&
		m.Preferred == o.Preferred && slices.Equal(m.MFAOptions, o.MFAOptions)
}

var smsOption = []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}}
