package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/preflight"
)

// runCmd is the run command; its fields are its flags.
type runCmd struct {
	UserPoolID     string        `name:"user-pool-id" required:"" help:"The user pool to migrate, such as us-east-1_AbC123." placeholder:"ID"`
	Input          string        `required:"" help:"CSV of users: a 'username' column, this tool's export, or a Cognito user-import CSV. A path or s3://bucket/key." placeholder:"CSV"`
	DryRun         bool          `help:"Plan every user and write the report, but make no change in Cognito (zero write calls)."`
	Checkpoint     string        `help:"Checkpoint: a path or s3://bucket/key (default: next to the input, <input>.checkpoint or <input>.dry-run.checkpoint)." placeholder:"LOCATION"`
	Report         string        `help:"Per-user report CSV, a path or s3:// (default <input>.report.csv, <input>.dry-run.report.csv)." placeholder:"LOCATION"`
	Summary        string        `help:"JSON summary, a path or s3:// (default <input>.summary.json, <input>.dry-run.summary.json)." placeholder:"LOCATION"`
	Reset          bool          `help:"Discard an existing checkpoint and start over (needed after changing the input, pool or mode)."`
	ReadRPS        rpsFlag       `name:"read-rps" default:"${read_rps}" help:"AdminGetUser calls per second; Cognito's UserRead quota is ${quota_read}/s per account and Region, shared with production (0 = unlimited). auto: take what production leaves of the applied quota, from CloudWatch and Service Quotas (${read_rps}/s without data)."`
	WriteRPS       rpsFlag       `name:"write-rps" default:"${write_rps}" help:"AdminSetUserMFAPreference calls per second; Cognito's UserResourceUpdate quota is ${quota_write}/s, not adjustable, shared with production (0 = unlimited). auto: take what production leaves of the quota (${write_rps}/s without data)."`
	ReadQuota      float64       `help:"With --read-rps auto: the UserRead quota to assume instead of asking Service Quotas (0 = ask, else ${quota_read})." placeholder:"RPS"`
	WriteQuota     float64       `help:"With --write-rps auto: the UserResourceUpdate quota to assume instead of asking Service Quotas (0 = ask, else ${quota_write})." placeholder:"RPS"`
	Workers        int           `default:"${workers}" help:"Most users in flight at once; the job sizes itself below this from the rates and the observed latency."`
	MaxFailures    job.Threshold `default:"${max_failures}" help:"Stop (exit 1) when more users than this have failed: a count (50) or a percentage of the users processed so far, counted over at least 100 users (5%); 0 = never."`
	MaxAttempts    int           `default:"${max_attempts}" help:"Attempts per call for 5xx answers, resets and timeouts (throttling is retried longer: the rate limiter paces it). AWS_MAX_ATTEMPTS and AWS_RETRY_MODE do not apply to Cognito calls."`
	CallTimeout    time.Duration `default:"${call_timeout}" help:"Longest wait for the answer to one Cognito or S3 attempt; a timed-out attempt is retried like a 5xx (0 = none)."`
	StallTimeout   time.Duration `default:"${stall_timeout}" help:"Stop (exit 1, naming the endpoint) when no call has been answered for this long while calls are being made (0 = never)."`
	MaxDuration    time.Duration `help:"End this run after this long (a time-boxed slice), saving the checkpoint; exit 4 until the job is done." placeholder:"DURATION"`
	MaxUsers       int           `help:"End this run after this many rows; exit 4 until the job is done." placeholder:"N"`
	Verify         bool          `help:"Read each migrated user again and check that SMS_MFA is on (one more AdminGetUser per migrated user)."`
	ReadAll        bool          `help:"Read every user, even those the export shows without legacy MFA options."`
	UsernameColumn string        `help:"CSV column holding the username (default: username, or cognito:username in a Cognito import CSV)." placeholder:"NAME"`
	NoMask         bool          `help:"Show full phone numbers in the report (never in logs); the checkpoint then holds them too: protect both."`
	NoPreflight    bool          `help:"Skip the checks made before the first call: the input is a CSV of users, local output folders are writable, an S3 checkpoint is readable, and on a job's first run the pool exists and may be read (one AdminGetUser of a user that does not exist: no MAU)."`
	InterimReport  string        `enum:"auto,always,end" default:"auto" help:"When a run that stops early (exit 4) writes the report: auto when it costs little next to the run's work (input of at most 100,000 rows, or at most 100 rows per row this run recorded), always, or only at the end of the job (end). A finished job always has it; report rebuilds it any time."`

	ShutdownTimeout  time.Duration `default:"${shutdown_timeout}" help:"The stop budget: on SIGTERM/SIGINT or a slice's end, calls in flight get half of it, then the checkpoint is saved, the lock released, and the summary and report written if time is left (keep it under ECS's stopTimeout)."`
	SaveEvery        int           `default:"${save_every}" help:"Save the checkpoint after this many rows or after --save-interval, whichever comes first."`
	SaveInterval     time.Duration `default:"${save_interval}" help:"Save the checkpoint at least this often while rows are recorded. A crash redoes at most the rows since the last save."`
	LockTTL          time.Duration `name:"lock-ttl" default:"${lock_ttl}" help:"Lifetime of the checkpoint lock, renewed while running; a crashed runner's S3 lock can be taken over after it."`
	Progress         string        `enum:"auto,bar,log,none" default:"auto" help:"Progress display: a bar on a terminal, a log line otherwise (auto)."`
	ProgressInterval time.Duration `default:"${progress_interval}" help:"How often the progress log line is written."`

	metricsFlags `embed:""`
	formatFlag
	pacingFlags `embed:""`
}

func (c *runCmd) config() job.Config {
	cfg := job.DefaultConfig()
	cfg.UserPoolID, cfg.Input, cfg.DryRun = c.UserPoolID, c.Input, c.DryRun
	cfg.Checkpoint, cfg.Report, cfg.Summary, cfg.Reset = c.Checkpoint, c.Report, c.Summary, c.Reset
	cfg.ReadRPS, cfg.WriteRPS = c.ReadRPS.rate(job.DefaultReadRPS), c.WriteRPS.rate(job.DefaultWriteRPS)
	cfg.Pacing = c.pacing()
	cfg.Pacing.AutoRead, cfg.Pacing.AutoWrite = c.ReadRPS.auto, c.WriteRPS.auto
	cfg.Pacing.ReadQuota, cfg.Pacing.WriteQuota = c.ReadQuota, c.WriteQuota
	cfg.Workers, cfg.MaxFailures = c.Workers, c.MaxFailures
	cfg.Retry.MaxAttempts = c.MaxAttempts
	cfg.MaxDuration, cfg.MaxUsers = c.MaxDuration, c.MaxUsers
	cfg.CallTimeout, cfg.StallTimeout = c.CallTimeout, c.StallTimeout
	cfg.Verify, cfg.ReadAll, cfg.UsernameColumn, cfg.NoMask = c.Verify, c.ReadAll, c.UsernameColumn, c.NoMask
	cfg.ShutdownTimeout, cfg.SaveEvery, cfg.SaveInterval, cfg.LockTTL = c.ShutdownTimeout, c.SaveEvery, c.SaveInterval, c.LockTTL
	cfg.ProgressInterval = snapshotInterval
	cfg.InterimReport = c.InterimReport
	return cfg
}

func (c *runCmd) Run(a *app) error {
	cfg := c.config()
	// Every line of the run carries its ID and the pool ID, from the first
	// one: the ID is made here and handed to the job.
	runID := job.NewRunID()
	con := &console{w: a.stderr}
	format := logFormat(a.stderr, a.cli.Logging.LogFormat)
	base := newLogger(con, format, a.cli.Logging.LogLevel)
	log := base.With("run_id", runID, "pool_id", cfg.UserPoolID)
	a.cli.AWS.log = log
	sum, err := c.run(a, cfg, runID, con, base, log)
	if err != nil && a.ctx.Err() != nil && errors.Is(err, context.Canceled) && !errors.Is(err, job.ErrStopped) {
		// A signal while starting (loading AWS, reading the input, taking
		// the lock) stops the run like a signal later does. The cancelled
		// call's error would pass for an input or credentials problem.
		log.Debug("interrupted while starting", "error", err)
		err = fmt.Errorf("%w (signal, while starting: nothing was done)", job.ErrStopped)
	}
	err = endRun(log, a.stderr, format, sum, err)
	if sum != nil {
		writeResult(a.stdout, c.Format, sum, err)
	} else {
		writeResult(a.stdout, c.Format, nil, err)
	}
	return err
}

// run loads AWS and the checkpoint store and runs the job.
func (c *runCmd) run(a *app, cfg job.Config, runID string, con *console, base, log *slog.Logger) (*job.Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkStdout(c.Format, c.Metrics); err != nil {
		return nil, err
	}
	emf, err := c.emf(a.stdout, cfg.UserPoolID, cfg.Mode(), runID)
	if err != nil {
		return nil, err
	}
	if cfg.NoMask {
		log.Warn("--no-mask: the report and the checkpoint hold full phone numbers: protect them (logs never do)",
			"report", cfg.ReportLocation(), "checkpoint", cfg.CheckpointLocation())
	}
	for _, w := range preflight.RateWarnings(cfg.ReadRPS, cfg.WriteRPS, cfg.ListRPS) {
		log.Warn(w)
	}
	a.cli.AWS.callTimeout = flagTimeout(cfg.CallTimeout)
	clients, err := loadAWS(a.ctx, a.cli.AWS, cfg.UserPoolID, cfg.Retry,
		cfg.CheckpointLocation(), cfg.Input, cfg.ReportLocation(), cfg.SummaryLocation())
	if err != nil {
		return nil, err
	}
	if !c.NoPreflight {
		if err := preflight.InputHeader(a.ctx, clients.files(), cfg.Input, cfg.UsernameColumn); err != nil {
			return nil, err
		}
		pc := preflight.Config{PoolID: cfg.UserPoolID, Region: clients.cognito.Options().Region, Outputs: runOutputs(cfg)}
		if err := cheapPreflight(a.ctx, pc, clients); err != nil {
			return nil, err
		}
	}
	store, err := openStore(cfg.CheckpointLocation(), clients.s3)
	if err != nil {
		return nil, err
	}
	label := "migrating"
	if cfg.DryRun {
		label = "dry run"
	}
	prog := newProgressSink(c.Progress, con, a.getenv, log, c.ProgressInterval, label)
	if emf != nil {
		prog.extra = append(prog.extra, emf.Observe)
	}
	host, _ := os.Hostname()
	deps := job.Deps{
		Cognito: clients.cognito, Watch: clients.watch, Store: store, Files: clients.files(), Logger: base,
		OnProgress: prog.update, Host: host, Version: programVersion(), RunID: runID,
	}
	if cfg.Pacing.Enabled() && monitoringReachable(clients.cfg, a.cli.AWS, a.getenv) {
		deps.Pacing = pacingSources(clients.poolCfg, clients.cognito.Options().Region)
	}
	sum, err := job.Run(a.ctx, cfg, deps)
	if emf != nil && emf.Err() != nil {
		log.Warn("metrics could not be written to stdout; the run was not affected", "error", emf.Err())
	}
	return sum, err
}
