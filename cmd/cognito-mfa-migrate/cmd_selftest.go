package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/selftest"
)

// selftestCmd is the selftest command.
type selftestCmd struct {
	UserPoolID string `name:"user-pool-id" required:"" help:"A scratch user pool of your account to test in, such as us-east-1_Scratch1 (never production)." placeholder:"ID"`
	Force      bool   `help:"Run even in a pool that holds more than ${selftest_max_users} users (only users named ${selftest_prefix}* are created and deleted)."`
	Format     string `enum:"text,json" default:"text" help:"Output: one line per check (text) or a JSON object (json)."`
}

// Help is the selftest command's long help.
func (selftestCmd) Help() string {
	return `Proves, in a scratch pool of your own account, that Cognito behaves as this
tool assumes, before you touch production. It:

  - creates users (MessageAction SUPPRESS: no message is sent; names start
    with ` + selftest.Prefix + `) in every state of the decision table: legacy SMS with
    and without a phone number (set with AdminSetUserSettings), TOTP preferred,
    TOTP enabled without preference (set up the way a user does, through a
    temporary app client), already migrated, no MFA, UNCONFIRMED and
    RESET_REQUIRED;
  - runs the real migration on them and checks every outcome;
  - checks every behaviour the tool relies on: the legacy state, settings not
    sent left unchanged, SMS refused without a phone number, MFAOptions after
    the migration, the rejections of UNCONFIRMED and RESET_REQUIRED users, and
    more; prints which held and which did not;
  - deletes its users and its app client, whatever happens (also on Ctrl-C
    or SIGTERM; after a SIGKILL, the next selftest deletes what is left).

States the pool does not allow (no app client, no sign-up, TOTP off) are
reported skipped, not passed. Exit 0 when every check held (or was skipped),
1 when an assumption was refuted or a user could not be deleted, 2 for a pool
that holds more than a few users (use a scratch pool, or --force).

IAM: samples/iam-policy-selftest.json.`
}

func (c *selftestCmd) Run(a *app) error {
	if err := job.ValidatePoolID(c.UserPoolID); err != nil {
		return err
	}
	con := &console{w: a.stderr}
	format := logFormat(a.stderr, a.cli.Logging.LogFormat)
	log := newLogger(con, format, a.cli.Logging.LogLevel).With("pool_id", c.UserPoolID)
	a.cli.AWS.log = log
	clients, err := loadAWS(a.ctx, a.cli.AWS, c.UserPoolID, cognito.RetryOptions{})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cognito-mfa-migrate-selftest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rep, err := selftest.Run(a.ctx, selftest.Config{PoolID: c.UserPoolID, Force: c.Force, Dir: dir, Logger: log}, clients.cognito)
	if errors.Is(err, selftest.ErrNotScratch) {
		return fmt.Errorf("%w: %w", job.ErrUsage, err)
	}
	if rep != nil && rep.Created > 0 || err == nil {
		var werr error
		if c.Format == "json" {
			werr = rep.WriteJSON(a.stdout)
		} else {
			werr = rep.WriteText(a.stdout)
		}
		if werr != nil {
			return werr
		}
	}
	switch {
	case err != nil && a.ctx.Err() != nil:
		fmt.Fprintf(a.stderr, "cognito-mfa-migrate: selftest interrupted: %d of its %d users deleted\n", rep.Deleted, rep.Created)
		return shownError{fmt.Errorf("%w: selftest interrupted", job.ErrStopped)}
	case err != nil:
		return err
	case !rep.OK():
		return shownError{errors.New("selftest failed")}
	}
	return nil
}
