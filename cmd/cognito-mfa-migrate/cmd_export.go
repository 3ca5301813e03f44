package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/preflight"
)

// exportCmd is the export command: the users of a pool with legacy MFA
// options, from ListUsers, as the CSV run reads.
type exportCmd struct {
	UserPoolID       string        `name:"user-pool-id" required:"" help:"The user pool to list, such as us-east-1_AbC123." placeholder:"ID"`
	Output           string        `help:"Where to write the CSV: a path or s3://bucket/key (default <pool-id>.users.csv). It appears only once every user has been listed." placeholder:"LOCATION"`
	All              bool          `help:"List every user in the file, not only those with legacy MFA options (run still reads only the latter)."`
	KeepExisting     bool          `help:"If the output already exists, keep it and exit 0 without listing: for a workflow that exports before each job (samples/fleet), so that a job in progress keeps the input its checkpoint was made from."`
	ListRPS          rpsFlag       `name:"list-rps" default:"${list_rps}" help:"ListUsers calls per second, 60 users each; Cognito's UserList quota is ${quota_list}/s per account and Region, not adjustable, shared with production (0 = unlimited). auto: take what production leaves of the quota, from CloudWatch and Service Quotas (${list_rps}/s without data)."`
	ListQuota        float64       `help:"With --list-rps auto: the UserList quota to assume instead of asking Service Quotas (0 = ask, else ${quota_list})." placeholder:"RPS"`
	CallTimeout      time.Duration `default:"${call_timeout}" help:"Longest wait for the answer to one ListUsers or S3 attempt; a timed-out attempt is retried like a 5xx (0 = none)."`
	ListChains       int           `name:"list-chains" enum:"1,16,256" default:"${list_chains}" help:"ListUsers pagination chains listed in parallel (Filter sub ^= \"0\" … \"f\"), so that latency does not cap the rate below --list-rps: 1, 16 or 256."`
	Progress         string        `enum:"auto,bar,log,none" default:"auto" help:"Progress display: a bar on a terminal, a log line otherwise (auto)."`
	ProgressInterval time.Duration `default:"${progress_interval}" help:"How often the progress log line is written."`
	NoPreflight      bool          `help:"Skip the checks made before the first call: a local output folder is writable, and the pool exists and may be listed (one ListUsers call)."`
	formatFlag

	pacingFlags `embed:""`
}

// Help is the export command's long help.
func (exportCmd) Help() string {
	return `Lists every user of the pool with ListUsers and writes a CSV of the users
that still carry legacy MFA options (MFAOptions): the users run has to look
at. Feed it to run:

  cognito-mfa-migrate export --user-pool-id us-east-1_AbC123 --output users.csv
  cognito-mfa-migrate run --user-pool-id us-east-1_AbC123 --input users.csv --dry-run

The file (its first line names the pool: run refuses it for another pool):

  # cognito-mfa-migrate export: user_pool_id=us-east-1_AbC123 exported_at=2026-01-02T03:04:05Z; ...
  username,mfa_options,has_phone,user_status,enabled
  alice,SMS:phone_number,true,CONFIRMED,true

Usernames are written exactly as they are: to open the file in a spreadsheet,
use its import dialog with every column as text (a username such as =SUM(1)
would otherwise run as a formula). The report neutralises such cells.

Why: AdminGetUser counts every user it reads as a monthly active user
(billed) and is paced by the UserRead quota; ListUsers costs no MAU and
returns 60 users a call, MFAOptions included. For a pool of 1,000,000 users
of which 50,000 have legacy MFA, export then run make about 16,700 ListUsers
calls and 50,000 AdminGetUser calls instead of 1,000,000 (at 10 ListUsers
calls a second the export takes about 28 minutes).

run still reads every exported user with AdminGetUser before changing it: a
user may have changed since the export, and ListUsers is eventually
consistent. With --all the file lists every user; run records those without
legacy options as no_legacy_mfa without reading them (run --read-all reads
them anyway).

The pool is listed as 16 disjoint chains (users whose sub starts with 0, 1,
... f) paged in parallel under the one --list-rps limit, so that Cognito's
latency does not hold the rate below it; the file lists the chains one
after another, so two exports of an unchanged pool are identical. Users
created while the export runs may or may not be listed (run the export
again later for them); users deleted while it runs may still be listed
(run records them not_found). ListUsers is eventually consistent.

The output is written to a temporary file and appears only once every user
has been listed, so a file that exists is complete. An interrupted export
(Ctrl-C, SIGTERM) exits 4 and writes nothing (a previous file stays as it
was); run it again, it starts over. IAM: cognito-idp:ListUsers on the pool.`
}

func (c *exportCmd) config() job.ExportConfig {
	cfg := job.DefaultExportConfig()
	cfg.UserPoolID, cfg.Output, cfg.All, cfg.ListRPS, cfg.Chains = c.UserPoolID, c.Output, c.All, c.ListRPS.rate(job.DefaultListRPS), c.ListChains
	cfg.Pacing = c.pacing()
	cfg.Pacing.AutoList, cfg.Pacing.ListQuota = c.ListRPS.auto, c.ListQuota
	cfg.CallTimeout = c.CallTimeout
	cfg.ProgressInterval = snapshotInterval
	return cfg
}

func (c *exportCmd) Run(a *app) error {
	cfg := c.config()
	con := &console{w: a.stderr}
	format := logFormat(a.stderr, a.cli.Logging.LogFormat)
	base := newLogger(con, format, a.cli.Logging.LogLevel)
	log := base.With("pool_id", cfg.UserPoolID) // job.Export adds pool_id to base itself
	a.cli.AWS.log = log
	sum, err := c.export(a, cfg, con, base, log)
	err = endExport(log, a.stderr, format, sum, err)
	if sum != nil {
		writeResult(a.stdout, c.Format, sum, err)
	} else {
		writeResult(a.stdout, c.Format, nil, err)
	}
	return err
}

// export loads AWS and runs the export.
func (c *exportCmd) export(a *app, cfg job.ExportConfig, con *console, base, log *slog.Logger) (*job.ExportSummary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if c.ProgressInterval <= 0 {
		return nil, usageErr("--progress-interval must be positive")
	}
	for _, w := range preflight.RateWarnings(job.DefaultReadRPS, job.DefaultWriteRPS, cfg.ListRPS) {
		log.Warn(w)
	}
	a.cli.AWS.callTimeout = flagTimeout(cfg.CallTimeout)
	clients, err := loadAWS(a.ctx, a.cli.AWS, cfg.UserPoolID, cognito.RetryOptions{}, cfg.OutputLocation())
	if err != nil {
		return nil, err
	}
	if c.KeepExisting {
		exists, err := clients.files().Exists(a.ctx, cfg.OutputLocation())
		if err != nil {
			return nil, err
		}
		if exists {
			log.Info("export skipped: the output already exists (--keep-existing)", "output", cfg.OutputLocation())
			return nil, nil
		}
	}
	if !c.NoPreflight {
		pc := preflight.Config{PoolID: cfg.UserPoolID, Region: clients.cognito.Options().Region, Export: true,
			Outputs: []preflight.Output{{Flag: "--output", Location: cfg.OutputLocation()}}}
		if err := cheapPreflight(a.ctx, pc, clients); err != nil {
			return nil, err
		}
	}
	if n := job.CleanOutputLeftovers(cfg.OutputLocation()); n > 0 {
		log.Info("removed temporary files left by an earlier export that was killed", "files", n)
	}
	prog := newExportProgress(c.Progress, con, a.getenv, log, c.ProgressInterval)
	deps := job.ExportDeps{Cognito: clients.cognito, Watch: clients.watch, Files: clients.files(), Logger: base, OnProgress: prog.exportUpdate}
	if cfg.Pacing.Enabled() && monitoringReachable(clients.cfg, a.cli.AWS, a.getenv) {
		deps.Pacing = pacingSources(clients.poolCfg, clients.cognito.Options().Region)
	}
	return job.Export(a.ctx, cfg, deps)
}

// endExport shows how an export ended, once, like endRun; in JSON mode a
// stopped export also says that its output was not written.
func endExport(log *slog.Logger, w io.Writer, format string, sum *job.ExportSummary, err error) error {
	var ts textSummary
	if sum != nil {
		ts = sum
	}
	return endCommand(log, w, format, ts, err, endMessages{summary: "export summary", failed: "export failed",
		stopped: "export stopped early: the output was NOT written", alwaysStopped: true})
}

// newExportProgress returns the export's progress display: a count of the
// users listed (the pool's size is not known until the end) or a log line.
func newExportProgress(mode string, con *console, getenv func(string) string, log *slog.Logger, every time.Duration) *progressSink {
	p := &progressSink{log: log, every: every, last: time.Now()}
	switch progressMode(mode, con, getenv) {
	case "bar":
		p.bar = newBar(con, "listing users")
	case "none":
		p.log = nil
	}
	return p
}

// exportUpdate takes one snapshot of an export.
func (p *progressSink) exportUpdate(pr job.ExportProgress) {
	if p.bar != nil {
		p.bar.draw(barLine{
			label: p.bar.label, done: pr.Users, total: -1,
			rate:   rateText(pr.UsersPerSecond) + " users/s",
			detail: fmt.Sprintf("%d with legacy MFA, %d pages", pr.Legacy, pr.Pages),
		}, pr.Final)
		return
	}
	if p.log == nil || (!pr.Final && time.Since(p.last) < p.every) {
		return
	}
	p.last = time.Now()
	p.log.Info("export progress",
		"users", pr.Users, "with_legacy_mfa_options", pr.Legacy, "rows", pr.Written, "pages", pr.Pages,
		"users_per_second", pr.UsersPerSecond, "list_rps", pr.List.Achieved, "list_limit_rps", pr.List.Current,
		"throttles", pr.List.Throttles, "elapsed", pr.Elapsed.Round(time.Second).String())
}
