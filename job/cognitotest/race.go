package cognitotest

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// AvoidRequestBodyRace is an SDK API option (for aws.Config.APIOptions,
// config.WithAPIOptions or a client's Options.APIOptions) that works around
// a client-side race a fast local server exposes. Server.Config and
// Server.Client install it.
//
// smithy-go wraps a request body whose reader implements io.WriterTo (the
// SDK's JSON bodies are *bytes.Reader) in a reader whose WriteTo returns
// io.EOF once closed, and the SDK closes the body as soon as the response
// headers arrive. net/http's transport reads the body once more after
// sending it, to check its length; when the response has already arrived,
// that read fails with io.EOF, the transport closes the connection, and a
// response body larger than its first 4 KiB read (a ListUsers page) fails
// with "use of closed network connection". Against real Cognito the network
// round trip hides the race. AvoidRequestBodyRace hides the body's WriteTo
// method, keeping it seekable so that retries still rewind it; the
// transport then reads the closed body with Read, which ends with a clean
// io.EOF.
//
// It returns an error only if the middleware stack refuses the step.
func AvoidRequestBodyRace(stack *middleware.Stack) error {
	return stack.Build.Add(middleware.BuildMiddlewareFunc("cognitotest.AvoidRequestBodyRace",
		func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			req, ok := in.Request.(*smithyhttp.Request)
			if !ok {
				return next.HandleBuild(ctx, in)
			}
			rs, ok := req.GetStream().(io.ReadSeeker)
			if _, isWriterTo := rs.(io.WriterTo); !ok || !isWriterTo {
				return next.HandleBuild(ctx, in)
			}
			r, err := req.SetStream(readSeeker{rs})
			if err != nil {
				return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("cognitotest: replace request stream: %w", err)
			}
			in.Request = r
			return next.HandleBuild(ctx, in)
		}), middleware.After)
}

// readSeeker hides every method of its reader but Read and Seek.
type readSeeker struct{ io.ReadSeeker }
