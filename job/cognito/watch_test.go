package cognito

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// TestWatchStalled checks stall detection on an injected clock: the
// time counts from the oldest attempt since the last answer, an answer
// clears it, and attempts that end without an answer (timeouts) do not.
func TestWatchStalled(t *testing.T) {
	now := time.Unix(1000, 0)
	w := &Watch{now: func() time.Time { return now }}
	if _, _, ok := w.Stalled(time.Second); ok {
		t.Fatal("stalled before any attempt")
	}
	w.begin("https://cognito-idp.example")
	now = now.Add(500 * time.Millisecond)
	w.end(false) // timed out
	w.begin("https://cognito-idp.example")
	now = now.Add(600 * time.Millisecond)
	if ep, waited, ok := w.Stalled(time.Second); !ok || ep != "https://cognito-idp.example" || waited != 1100*time.Millisecond {
		t.Errorf("stalled() = %q, %v, %v; want the endpoint, 1.1s, true", ep, waited, ok)
	}
	if ever := w.end(true); !ever {
		t.Errorf("end(true) = false, want the endpoint marked as having answered")
	}
	now = now.Add(time.Hour) // a long pause with no call in flight is no stall
	if _, _, ok := w.Stalled(time.Second); ok {
		t.Errorf("stalled after an answer and no new attempt")
	}
}

// TestWatchTimeoutRetried checks, with the real SDK client against a
// loopback listener that accepts connections and never answers, that each
// attempt ends at the call timeout and is retried like a 5xx, the call
// failing with an *AttemptTimeoutError classified as a timeout once the
// attempts are spent.
func TestWatchTimeoutRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	var conns sync.WaitGroup
	done := make(chan struct{})
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns.Go(func() { <-done; c.Close() })
		}
	})
	t.Cleanup(func() { ln.Close(); close(done); conns.Wait() })

	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	cfg := srv.Config()
	c := NewClient(cfg, RetryOptions{MaxAttempts: 3, MaxBackoff: time.Millisecond}, func(o *cip.Options) {
		o.BaseEndpoint = aws.String("http://" + ln.Addr().String())
	})
	api := Watched(c, NewWatch(100*time.Millisecond))
	_, err = api.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(cognitotest.DefaultPoolID), Username: aws.String("alice")})
	var te *AttemptTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("AdminGetUser = %v, want an *AttemptTimeoutError", err)
	}
	if cls, code := Classify(nil, err); cls != ClassTransient || code != CodeTimeout {
		t.Errorf("Classify = %v, %q; want transient, %q", cls, code, CodeTimeout)
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("%d attempts reached the endpoint, want 3 (retried like a 5xx)", n)
	}
}

// TestWatchUnreachable checks that a refused connection before any answer
// is fatal at once (not retried), and a refused connection after an answer
// is an ordinary transient error.
func TestWatchUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	c := NewClient(srv.Config(), RetryOptions{MaxAttempts: 5, MaxBackoff: time.Millisecond}, func(o *cip.Options) {
		o.BaseEndpoint = aws.String("http://" + addr)
	})
	w := NewWatch(time.Second)
	_, err = Watched(c, w).AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(cognitotest.DefaultPoolID), Username: aws.String("alice")})
	if cls, code := Classify(nil, err); cls != ClassFatal || code != CodeUnreachable {
		t.Fatalf("refused before any answer: Classify = %v, %q (%v); want fatal, %q", cls, code, err, CodeUnreachable)
	}
	w.end(true) // the endpoint has answered once
	_, err = Watched(c, w).AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(cognitotest.DefaultPoolID), Username: aws.String("alice")})
	if cls, _ := Classify(nil, err); cls != ClassTransient {
		t.Errorf("refused after an answer: Classify = %v (%v); want transient", cls, err)
	}
}
