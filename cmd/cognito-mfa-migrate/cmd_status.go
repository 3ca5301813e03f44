package main

import (
	"errors"
	"fmt"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
)

func usageErr(msg string) error { return fmt.Errorf("%w: %s", job.ErrUsage, msg) }

// formatFlag is the --format of the commands that print a result: text
// for a person, or one JSON document on stdout for a script (diagnostics
// stay on stderr).
type formatFlag struct {
	Format string `enum:"text,json" default:"text" help:"Result format: text for a person, json for a script (one JSON document on stdout; logs and diagnostics stay on stderr)."`
}

// locFlags locate a checkpoint: --checkpoint, or derived from --input like run does.
type locFlags struct {
	Checkpoint string `help:"Checkpoint location, a path or s3://bucket/key (default: derived from --input as run does)." placeholder:"LOCATION"`
	Input      string `help:"The input CSV the checkpoint was made from, a path or s3://bucket/key." placeholder:"CSV"`
	DryRun     bool   `help:"With --input: the dry run's checkpoint."`
}

func (l locFlags) config() job.Config {
	cfg := job.DefaultConfig()
	cfg.Input, cfg.Checkpoint, cfg.DryRun = l.Input, l.Checkpoint, l.DryRun
	return cfg
}

type statusCmd struct {
	locFlags
	formatFlag
	JSON     bool    `name:"json" hidden:"" help:"Deprecated: use --format json."`
	ReadRPS  rpsFlag `name:"read-rps" help:"Read rate the ETA assumes (default, or auto as the task sets it: the rate the last run achieved, else ${read_rps})." placeholder:"RPS"`
	WriteRPS rpsFlag `name:"write-rps" help:"Write rate the ETA assumes (default, or auto: the rate the last run achieved, else ${write_rps})." placeholder:"RPS"`
}

func (c *statusCmd) Run(a *app) error {
	cfg := c.config()
	if cfg.Checkpoint == "" && cfg.Input == "" {
		return usageErr("status needs --checkpoint, or --input to derive it")
	}
	loc := cfg.CheckpointLocation()
	clients, err := loadStorage(a, loc)
	if err != nil {
		return err
	}
	store, err := openStore(loc, clients)
	if err != nil {
		return err
	}
	st, err := job.LoadStatus(a.ctx, store, c.ReadRPS.rate(0), c.WriteRPS.rate(0))
	if errors.Is(err, checkpoint.ErrNotFound) {
		how := "--checkpoint " + loc
		if c.Checkpoint == "" {
			how = "the checkpoint of --input " + c.Input + " (" + loc + ")"
			if !c.DryRun {
				how += "; for a dry run's, add --dry-run"
			}
		}
		return fmt.Errorf("%w: no run has started yet: there is no checkpoint at %s\n  fix: start one with run (or pass the --checkpoint the run used)", job.ErrUsage, how)
	}
	if err != nil {
		return err
	}
	if c.JSON {
		fmt.Fprintln(a.stderr, "cognito-mfa-migrate: status --json is deprecated: use --format json")
	}
	if c.JSON || c.Format == "json" {
		return st.WriteJSON(a.stdout)
	}
	return st.WriteText(a.stdout)
}

type reportCmd struct {
	Input      string `required:"" help:"The input CSV the checkpoint was made from (usernames come from it), a path or s3://bucket/key." placeholder:"CSV"`
	Checkpoint string `help:"Checkpoint location (default: derived from --input as run does)." placeholder:"LOCATION"`
	DryRun     bool   `help:"The dry run's checkpoint (when derived from --input)."`
	Output     string `help:"Where to write the report, a path or s3:// (default: the CSV as run names it; markdown and html go to stdout)." placeholder:"LOCATION"`
	NoMask     bool   `help:"Show full phone numbers in the CSV report, for the rows a run with --no-mask recorded (never in logs, never in markdown or html)."`
	Format     string `enum:"csv,markdown,html" default:"csv" env:"COGNITO_MFA_MIGRATE_REPORT_FORMAT" help:"csv: the per-user report run writes. markdown, html: the change-ticket report (runs, times, exit codes, outcomes, calls, rates over time as an SVG chart, failed and rejected users shortened)."`
}

// Help is the report command's long help.
func (reportCmd) Help() string {
	return `Rebuilds the per-user CSV report from the checkpoint and its input, as run
writes it (a run stopped before its report, or a report lost), or writes the
change-ticket report of the job:

  cognito-mfa-migrate report --input users.csv --format markdown > change.md

The ticket holds what a change board asks for: the pool and mode; every run
with its ID, host, version, start and end times, duration, how it ended and
its exit code; the rows per outcome; the calls, retries and throttles; the
rates each run achieved against those configured; the rate over time as an
inline SVG chart (recorded per minute in the checkpoint); and the users that
failed or were rejected, by input line, with usernames shortened and phone
numbers masked. A dry run's ticket adds the estimated cost of the real run.`
}

func (c *reportCmd) Run(a *app) error {
	cfg := locFlags{Checkpoint: c.Checkpoint, Input: c.Input, DryRun: c.DryRun}.config()
	loc := cfg.CheckpointLocation()
	if c.Format != "csv" {
		return c.ticket(a, loc)
	}
	out := c.Output
	if out == "" {
		out = cfg.ReportLocation()
	}
	clients, err := loadStorage(a, loc, c.Input, out)
	if err != nil {
		return err
	}
	store, err := openStore(loc, clients)
	if err != nil {
		return err
	}
	if err := job.RebuildReport(a.ctx, store, filesFor(clients), c.Input, out, "", c.NoMask); err != nil {
		return err
	}
	_, err = a.stdout.Write([]byte("report written to " + out + "\n"))
	return err
}

// ticket writes the change-ticket report to --output, or stdout.
func (c *reportCmd) ticket(a *app, loc string) error {
	clients, err := loadStorage(a, loc, c.Input, c.Output)
	if err != nil {
		return err
	}
	store, err := openStore(loc, clients)
	if err != nil {
		return err
	}
	files := filesFor(clients)
	t, err := job.LoadTicket(a.ctx, store, files, c.Input, "")
	if err != nil {
		return err
	}
	write := t.WriteMarkdown
	if c.Format == "html" {
		write = t.WriteHTML
	}
	if c.Output == "" {
		return write(a.stdout)
	}
	if err := files.Write(a.ctx, c.Output, write); err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stderr, "%s report written to %s\n", c.Format, c.Output)
	return err
}
