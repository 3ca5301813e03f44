package job

import (
	"errors"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// Sentinel errors that the command maps to exit codes. Errors wrap them with
// %w as the last verb (fmt.Errorf("%w: what happened", ErrUsage) for a
// sentinel that heads the message; "context: %w" for a cause), and add only
// what the callee did not say.
var (
	// ErrUsage marks a configuration or command-line mistake (exit 2).
	ErrUsage = errors.New("usage error")
	// ErrStopped means the run stopped early and can be resumed (exit 4):
	// a signal, --max-duration, --max-users, or persistent throttling.
	ErrStopped = errors.New("stopped early; run again to resume")
	// ErrSomeFailed means the run finished but some users failed (exit 3).
	ErrSomeFailed = errors.New("finished, but some users failed")
)

// ExitCode maps the error a command returns to the process exit code:
// 0 success; 1 fatal (credentials, pool, lock held, checkpoint unusable);
// 2 usage or input error; 3 finished, some users failed; 4 stopped early,
// resumable.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage), errors.Is(err, input.ErrInput):
		return 2
	case errors.Is(err, ErrStopped):
		return 4
	case errors.Is(err, ErrSomeFailed):
		return 3
	default:
		return 1
	}
}
