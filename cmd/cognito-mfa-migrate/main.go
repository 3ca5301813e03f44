// Command cognito-mfa-migrate moves Amazon Cognito users whose SMS MFA was
// configured through the retired AdminSetUserSettings API (legacy
// MFAOptions) to AdminSetUserMFAPreference, with rate limits, a per-user
// report and a resumable checkpoint. Run it with --help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling: a second signal
	// ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(job.ExitCode(err))
}
