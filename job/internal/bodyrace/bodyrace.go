// Package bodyrace holds an SDK middleware that keeps the AWS SDK for Go v2
// from losing HTTP/1.1 connections, and with them large responses, to a
// race between the SDK and net/http over the request body. It is internal
// so that the job (whose Cognito clients need it) and the cognitotest fake
// (whose clients need it as much) share one implementation.
//
// # The race
//
// smithy-go's Request.Build wraps a request body that implements io.WriterTo
// (every JSON body the SDK serializes is a *bytes.Reader) in a
// safeWriteToReadCloser, whose WriteTo returns io.EOF once the body has been
// closed (smithy-go v1.28.9, transport/http/internal/io/safe.go). The SDK
// closes the body as soon as the HTTP client returns, that is when the
// response headers have arrived (transport/http/client.go, ClientHandler).
//
// net/http's transport writes the body on the connection's writeLoop
// goroutine. Because the body is not a known in-memory type, the request
// headers are flushed first and the body goes straight to the socket;
// after that, transferWriter.writeBody copies whatever is left of the body
// to io.Discard, to check its length (Go 1.26 net/http/transfer.go). That
// copy calls the body's WriteTo. If the SDK's goroutine has already seen
// the response and closed the body, WriteTo returns io.EOF, writeBody
// returns it as a write error, and the writeLoop closes the connection
// (persistConn.writeLoop → pc.close). The response being read on that
// connection then fails with "use of closed network connection" as soon as
// the reader needs more than the first 4 KiB it had buffered (a ListUsers
// page), and a smaller response (AdminGetUser) arrives whole but the
// connection is not reused.
//
// Against a loopback server the answer often arrives before the writeLoop
// goroutine gets to run again; against a remote endpoint it takes a
// scheduling stall longer than the round trip (CPU starvation, throttled
// containers), which aws/aws-sdk-go-v2#2737 traced in production to this
// writeLoop close. The SDK retries the error (aws-sdk-go-v2 v1.48.0
// aws/retry/retryable_error.go treats "use of closed network connection" as
// retryable), so what it costs in production is a repeated call, its share
// of the quota, and a new TLS connection.
//
// # The workaround
//
// Install hides the body's WriteTo method (keeping Read and Seek, so that
// the SDK still rewinds the body for retries). The transport then drains
// the closed body with Read, which ends with a clean io.EOF that io.Copy
// treats as success.
//
// It hides it as late as it can: at the end of the Finalize step, once per
// attempt, after the SDK has computed the payload's SHA-256
// (ComputePayloadHash) and signed the request, just before the request goes
// to the HTTP client. The hash copies the body with io.Copy, which uses
// WriteTo when the body has one and otherwise allocates a 32 KiB buffer for
// a body of about 100 bytes; hiding WriteTo any earlier (the Build step,
// where this middleware first lived) made that allocation on every attempt
// and cost the job about a third more CPU per call than a plain SDK client.
package bodyrace

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ID is the middleware's ID in the SDK's Finalize step.
const ID = "cognito-mfa-migrate/AvoidRequestBodyRace"

// Install adds the middleware to the end of stack's Finalize step (after
// the payload hash and the signature), unless a middleware with ID is
// already there, so that it can be given both in an aws.Config's APIOptions
// and in a client's Options.APIOptions. It has the signature of an SDK API
// option. It returns an error only if the stack refuses the step.
func Install(stack *middleware.Stack) error {
	if _, ok := stack.Finalize.Get(ID); ok {
		return nil
	}
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc(ID, hideWriteTo), middleware.After)
}

// hideWriteTo replaces a request stream that is an io.ReadSeeker and an
// io.WriterTo with one that is only an io.ReadSeeker.
func hideWriteTo(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return next.HandleFinalize(ctx, in)
	}
	rs, ok := req.GetStream().(io.ReadSeeker)
	if _, isWriterTo := rs.(io.WriterTo); !ok || !isWriterTo {
		return next.HandleFinalize(ctx, in)
	}
	r, err := req.SetStream(readSeeker{rs})
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("replace request stream: %w", err)
	}
	in.Request = r
	return next.HandleFinalize(ctx, in)
}

// readSeeker hides every method of its reader but Read and Seek.
type readSeeker struct{ io.ReadSeeker }
