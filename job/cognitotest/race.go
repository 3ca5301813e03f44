package cognitotest

import (
	"github.com/aws/smithy-go/middleware"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/internal/bodyrace"
)

// AvoidRequestBodyRace is an SDK API option (for aws.Config.APIOptions,
// config.WithAPIOptions or a client's Options.APIOptions) that works around
// a client-side race in the SDK's request body handling, which a fast local
// server exposes often and a remote endpoint rarely. Server.Config and
// Server.Client install it, and so does job.NewClient; installing it twice
// is harmless.
//
// smithy-go wraps a request body whose reader implements io.WriterTo (the
// SDK's JSON bodies are *bytes.Reader) in a reader whose WriteTo returns
// io.EOF once closed, and the SDK closes the body as soon as the response
// headers arrive. net/http's transport copies what is left of the body once
// more after sending it, to check its length; when the response has already
// arrived, that copy fails with io.EOF, the transport closes the connection,
// and a response body larger than its first 4 KiB read (a ListUsers page)
// fails with "use of closed network connection". AvoidRequestBodyRace hides
// the body's WriteTo method once the SDK has hashed and signed the request
// (so that the hash still copies the body without a buffer), keeping it
// seekable so that retries still rewind it; the transport then reads the
// closed body with Read, which ends with a clean io.EOF.
//
// It returns an error only if the middleware stack refuses the step.
func AvoidRequestBodyRace(stack *middleware.Stack) error {
	return bodyrace.Install(stack)
}
