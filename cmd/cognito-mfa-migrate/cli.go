package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/selftest"
)

const envPrefix = "COGNITO_MFA_MIGRATE"

// programName is the command's name, in help and completions.
const programName = "cognito-mfa-migrate"

const description = `Move Amazon Cognito users off legacy SMS MFA.

Cognito no longer supports AdminSetUserSettings. Users whose SMS MFA was set
through it carry a legacy MFAOptions entry but no SMS_MFA in their MFA
settings; this tool re-expresses each one through AdminSetUserMFAPreference,
never disabling a factor and never overriding a factor the user prefers.

Runbook:
  0. selftest, once, in a scratch pool: prove the tool's assumptions in your account.
  1. preflight: credentials, pool, permissions, outputs, quotas, cost; changes nothing.
  2. export: list the pool's users with legacy MFA (ListUsers, no MAU cost).
  3. run --dry-run: plan every user, write nothing; review the report and the cost.
  4. run: apply. Stop it any time (Ctrl-C, SIGTERM); run it again to resume.
  5. status: progress and ETA of a checkpoint. report: rebuild the report.

Try it with no AWS account: cognito-mfa-migrate demo

Every flag can also be set with an environment variable, named in the help
as ($COGNITO_MFA_MIGRATE_...). AWS credentials and settings come from the
standard AWS chain (environment, profile, ECS task role, AWS_REGION,
AWS_ENDPOINT_URL, AWS_CA_BUNDLE).

Exit codes: 0 done; 1 fatal (credentials, pool, lock, checkpoint);
2 usage or input error; 3 finished but some users failed; 4 stopped early,
resumable.`

// cli is the command line. Flags are parsed into it by kong and turned into
// a job.Config by each command.
type cli struct {
	AWS         awsFlags         `embed:""`
	Logging     logFlags         `embed:""`
	VersionFlag kong.VersionFlag `name:"version" env:"-" help:"Print the version and exit."`

	Preflight  preflightCmd  `cmd:"" help:"Check, changing nothing, that a run or an export will work: credentials, pool, permissions, outputs, quotas, cost."`
	Selftest   selftestCmd   `cmd:"" help:"Prove in a scratch pool of your account that Cognito behaves as this tool assumes; deletes its users."`
	Run        runCmd        `cmd:"" help:"Migrate the users of a CSV (use --dry-run first)."`
	Export     exportCmd     `cmd:"" help:"Write the CSV of users with legacy MFA options, from ListUsers."`
	Pools      poolsCmd      `cmd:"" help:"List the user pools of one or more Regions, or write the fleet manifest."`
	Status     statusCmd     `cmd:"" help:"Show the progress of a checkpoint: counts, remaining rows, ETA, runs."`
	Report     reportCmd     `cmd:"" help:"Rebuild the per-user report from a checkpoint and its input."`
	Demo       demoCmd       `cmd:"" help:"Run the whole flow against a simulated pool: no AWS account needed."`
	Version    versionCmd    `cmd:"" help:"Print the version."`
	Completion completionCmd `cmd:"" help:"Print the shell code that completes commands and flags (bash, zsh, fish)."`
}

// awsFlags are the AWS settings shared by the commands that call AWS.
type awsFlags struct {
	Region      []string `help:"AWS Region of the pool; it must be the Region the pool ID starts with, and so must AWS_REGION when set, unless --region is (default: the pool ID's Region). pools takes several: repeat the flag or separate them with commas." placeholder:"REGION"`
	RoleARN     string   `name:"role-arn" help:"IAM role to assume (AWS STS AssumeRole) for the Cognito calls, to reach a pool in another account; S3 locations keep the caller's own credentials." placeholder:"ARN"`
	Profile     string   `help:"AWS shared-config profile to use." placeholder:"NAME"`
	EndpointURL string   `name:"endpoint-url" help:"Cognito endpoint URL (testing, VPC endpoints)." placeholder:"URL"`
	S3Endpoint  string   `name:"s3-endpoint-url" env:"COGNITO_MFA_MIGRATE_S3_ENDPOINT_URL" help:"S3 endpoint URL for s3:// locations (S3-compatible stores, testing); uses path-style addressing." placeholder:"URL"`

	// log receives the AWS SDK's own log entries (not a flag: kong skips
	// unexported fields). A command sets it before loading AWS; nil
	// discards them.
	log *slog.Logger
	// callTimeout bounds each Cognito and S3 attempt (not a flag: a
	// command sets it from its --call-timeout); 0 means
	// job.DefaultCallTimeout, a negative value no limit.
	callTimeout time.Duration
}

// logFlags configure logging.
type logFlags struct {
	LogFormat string `enum:"auto,json,text" default:"auto" help:"Log format: json (default when stderr is not a terminal, e.g. CloudWatch), text (default on a terminal)."`
	LogLevel  string `enum:"debug,info,warn,error" default:"info" help:"Log level."`
}

// app is what every command's Run method gets.
type app struct {
	ctx    context.Context
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	cli    *cli
}

// exitRequest is how kong's --help (which wants to exit) returns from run.
type exitRequest struct{ code int }

// run parses args and runs the command. It prints what the user needs to
// see and returns an error whose job.ExitCode is the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	var c cli
	parser, err := newParser(&c, getenv, stdout, stderr)
	if err != nil {
		return fmt.Errorf("%w: %w", job.ErrUsage, err)
	}
	defer func() {
		if r := recover(); r != nil {
			req, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			if req.code != 0 {
				err = fmt.Errorf("%w: exit %d", job.ErrUsage, req.code)
			} else {
				err = nil
			}
		}
	}()
	complete(parser, getenv)
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "cognito-mfa-migrate: %s\n", scrub(err.Error()))
		fmt.Fprintf(stderr, "run 'cognito-mfa-migrate %s--help' for usage\n", commandOf(parser, args))
		return fmt.Errorf("%w: %w", job.ErrUsage, err)
	}
	a := &app{ctx: ctx, getenv: getenv, stdout: stdout, stderr: stderr, cli: &c}
	err = kctx.Run(a)
	if err != nil {
		if !isShown(err) {
			reportError(stderr, err)
		}
	}
	return err
}

// commandOf returns "<command> " when args name one of the commands, so that
// a usage error can point at that command's help, and "" otherwise.
func commandOf(p *kong.Kong, args []string) string {
	for _, a := range args {
		for _, n := range p.Model.Children {
			if a == n.Name {
				return a + " "
			}
		}
	}
	return ""
}

// newParser returns the kong parser of the command line, filling c. Tests
// use it to read the flag model (names, environment variables, defaults).
func newParser(c *cli, getenv func(string) string, stdout, stderr io.Writer) (*kong.Kong, error) {
	return kong.New(c,
		kong.Name(programName),
		kong.Description(description),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitRequest{code}) }),
		kong.DefaultEnvars(envPrefix),
		kong.Resolvers(envResolver(getenv)),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, WrapUpperBound: 100}),
		kong.Vars(defaultVars()),
	)
}

// reportError prints the final error line a user reads.
func reportError(w io.Writer, err error) {
	switch {
	case errors.Is(err, job.ErrExportStopped): // says what to do; there is no checkpoint
		fmt.Fprintf(w, "cognito-mfa-migrate: %v\n", err)
	case errors.Is(err, job.ErrStopped):
		fmt.Fprintf(w, "cognito-mfa-migrate: %v\n  run the same command again to resume from the checkpoint\n", err)
	case errors.Is(err, job.ErrSomeFailed):
		fmt.Fprintf(w, "cognito-mfa-migrate: %v\n", err)
	default:
		fmt.Fprintf(w, "cognito-mfa-migrate: error: %s\n", scrub(err.Error()))
	}
}

// envResolver reads flag values from the environment through getenv, so
// that run can be tested without touching the process environment. Kong's
// own environment support (DefaultEnvars) names the variables in --help.
func envResolver(getenv func(string) string) kong.Resolver {
	return kong.ResolverFunc(func(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
		for _, name := range flag.Envs {
			if v := getenv(name); v != "" {
				return v, nil
			}
		}
		return nil, nil
	})
}

// defaultVars feeds the exported defaults of package job into the flag
// defaults, so that --help and the code agree.
func defaultVars() kong.Vars {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return kong.Vars{
		"read_rps":           f(job.DefaultReadRPS),
		"write_rps":          f(job.DefaultWriteRPS),
		"list_rps":           f(job.DefaultListRPS),
		"workers":            strconv.Itoa(job.DefaultWorkers),
		"list_chains":        strconv.Itoa(job.DefaultListChains),
		"max_failures":       job.DefaultMaxFailures,
		"max_attempts":       strconv.Itoa(cognito.DefaultMaxAttempts),
		"shutdown_timeout":   job.DefaultShutdownTimeout.String(),
		"call_timeout":       job.DefaultCallTimeout.String(),
		"stall_timeout":      job.DefaultStallTimeout.String(),
		"save_every":         strconv.Itoa(job.DefaultSaveEvery),
		"save_interval":      job.DefaultSaveInterval.String(),
		"pool_read_rps":      f(job.DefaultPoolReadRPS),
		"lock_ttl":           job.DefaultLockTTL.String(),
		"progress_interval":  job.DefaultProgressInterval.String(),
		"metrics_interval":   job.DefaultMetricsInterval.String(),
		"quota_read":         f(job.QuotaUserRead),
		"quota_write":        f(job.QuotaUserResourceUpdate),
		"quota_list":         f(job.QuotaUserList),
		"selftest_max_users": strconv.Itoa(selftest.DefaultMaxPoolUsers),
		"selftest_prefix":    selftest.Prefix,
		"version":            versionLine(),
		"reserve":            f(job.DefaultReserve),
		"usage_period":       allowance.DefaultPeriod.String(),
	}
}

// envName returns the environment variable of a flag, as --help shows it.
func envName(flag string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}
