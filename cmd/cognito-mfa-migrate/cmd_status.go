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
	ReadRPS  float64 `name:"read-rps" help:"Read rate the ETA assumes (default: the rate the last run achieved, else ${read_rps})." placeholder:"RPS"`
	WriteRPS float64 `name:"write-rps" help:"Write rate the ETA assumes (default: the rate the last run achieved, else ${write_rps})." placeholder:"RPS"`
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
	st, err := job.LoadStatus(a.ctx, store, c.ReadRPS, c.WriteRPS)
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
	if c.JSON || c.Format == "json" {
		return st.WriteJSON(a.stdout)
	}
	return st.WriteText(a.stdout)
}

type reportCmd struct {
	Input      string `required:"" help:"The input CSV the checkpoint was made from (usernames come from it), a path or s3://bucket/key." placeholder:"CSV"`
	Checkpoint string `help:"Checkpoint location (default: derived from --input as run does)." placeholder:"LOCATION"`
	DryRun     bool   `help:"The dry run's checkpoint (when derived from --input)."`
	Output     string `help:"Where to write the report, a path or s3:// (default: as run names it)." placeholder:"LOCATION"`
	NoMask     bool   `help:"Show full phone numbers in the report, for the rows a run with --no-mask recorded (never in logs)."`
}

func (c *reportCmd) Run(a *app) error {
	cfg := locFlags{Checkpoint: c.Checkpoint, Input: c.Input, DryRun: c.DryRun}.config()
	loc := cfg.CheckpointLocation()
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
