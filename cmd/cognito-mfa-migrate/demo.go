package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

type demoCmd struct {
	Users    int           `default:"2000" help:"Users in the simulated pool (a realistic mix of every case the migration handles)."`
	Dir      string        `help:"Folder for the CSV, checkpoints and reports (default: a new temporary folder)." placeholder:"DIR"`
	ReadRPS  float64       `name:"read-rps" default:"400" help:"AdminGetUser rate of the demo (scaled up from the real default so the demo is short)."`
	WriteRPS float64       `name:"write-rps" default:"150" help:"AdminSetUserMFAPreference rate of the demo."`
	Latency  time.Duration `default:"20ms" help:"Simulated Cognito latency per call."`
	Progress string        `enum:"auto,bar,log,none" default:"auto" help:"Progress display."`
}

func (c *demoCmd) Run(a *app) error {
	if c.Users < 1 {
		return usageErr("--users must be at least 1")
	}
	dir := c.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "cognito-mfa-migrate-demo-")
		if err != nil {
			return err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	con := &console{w: a.stderr} // log lines clear the progress bar
	log := newLogger(con, a.cli.Logging.LogFormat, a.cli.Logging.LogLevel)

	srv := cognitotest.NewServer()
	defer srv.Close()
	srv.SetRecording(false)
	seeds := cognitotest.Mix(c.Users, time.Now().UnixNano())
	if err := srv.AddSeeds(cognitotest.DefaultPoolID, seeds); err != nil {
		return err
	}
	srv.SetFaults("", cognitotest.Faults{Latency: c.Latency, Jitter: c.Latency / 2, Error500: 0.01, Seed: 1})

	var b strings.Builder
	b.WriteString("username\n")
	for _, s := range seeds {
		b.WriteString(s.User.Username + "\n")
	}
	in := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "demo: a simulated user pool %s with %d users (legacy SMS MFA, TOTP users, users without a phone, unconfirmed users, ...)\n", cognitotest.DefaultPoolID, c.Users)
	fmt.Fprintf(a.stderr, "demo: %s, %v latency and 1%% InternalErrorException injected; files in %s\n\n", "no AWS account or network used", c.Latency, dir)

	for _, dry := range []bool{true, false} {
		cfg := job.DefaultConfig()
		cfg.UserPoolID, cfg.Input, cfg.DryRun = cognitotest.DefaultPoolID, in, dry
		cfg.ReadRPS, cfg.WriteRPS = c.ReadRPS, c.WriteRPS
		cfg.ProgressInterval = snapshotInterval
		step := "step 2/2: the real run"
		if dry {
			step = "step 1/2: a dry run (no writes), to review before changing anything"
		}
		fmt.Fprintf(a.stderr, "demo: %s\n", step)
		runID := job.NewRunID()
		runLog := log.With("run_id", runID, "pool_id", cfg.UserPoolID)
		prog := newProgressSink(c.Progress, con, runLog, 5*time.Second, map[bool]string{true: "dry run", false: "migrating"}[dry])
		sum, err := job.Run(a.ctx, cfg, job.Deps{
			Cognito: job.NewClient(srv.Config(), cfg.Retry), Store: checkpoint.NewFile(cfg.CheckpointLocation()),
			Logger: log, OnProgress: prog.update, Host: "demo", Version: version, RunID: runID,
		})
		if sum != nil {
			_ = sum.WriteText(a.stderr)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stderr)
	}
	fmt.Fprintf(a.stderr, "demo: done. Read the report: %s\n", filepath.Join(dir, "users.report.csv"))
	fmt.Fprintf(a.stderr, "demo: see the job's progress as status shows it: cognito-mfa-migrate status --input %s\n", in)
	return nil
}
