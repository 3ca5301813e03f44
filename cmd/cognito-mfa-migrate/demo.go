package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/preflight"
)

type demoCmd struct {
	Users      int           `default:"2000" help:"Users in the simulated pool (a realistic mix of every case the migration handles)."`
	Dir        string        `help:"Folder for the CSV, checkpoints and reports (default: a new temporary folder)." placeholder:"DIR"`
	ListRPS    float64       `name:"list-rps" default:"20" help:"ListUsers rate of the demo's export."`
	ReadRPS    rpsFlag       `name:"read-rps" default:"auto" help:"AdminGetUser rate of the demo; auto takes what the simulated production leaves of the simulated quota (400/s without data)."`
	WriteRPS   rpsFlag       `name:"write-rps" default:"auto" help:"AdminSetUserMFAPreference rate of the demo; auto as for reads (150/s without data)."`
	Production float64       `default:"0.4" help:"Share of each quota the simulated production traffic uses while the demo runs (the simulated account's quotas are Cognito's ×10, its metric periods 1s)."`
	Latency    time.Duration `default:"20ms" help:"Simulated Cognito latency per call."`
	Progress   string        `enum:"auto,bar,log,none" default:"auto" help:"Progress display."`
	Serve      bool          `help:"Do not run the migration: keep the simulated pool up on a loopback port and print the commands to try against it (export, run, kill it, resume, status, report), until Ctrl-C."`
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
	if c.Production < 0 || c.Production >= 1 {
		return usageErr("--production must be a share from 0 to below 1")
	}
	demoProduction(srv, c.Production)

	if c.Serve {
		return c.serve(a, srv, dir)
	}
	fmt.Fprintf(a.stderr, "demo: a simulated user pool %s with %d users (legacy SMS MFA, TOTP users, users without a phone, unconfirmed users, ...)\n", cognitotest.DefaultPoolID, c.Users)
	fmt.Fprintf(a.stderr, "demo: no AWS account or network used; %v latency and 1%% InternalErrorException injected; files in %s\n", c.Latency, dir)
	fmt.Fprintf(a.stderr, "demo: simulated production uses %.0f%% of each quota (UserRead %.0f/s, UserResourceUpdate %.0f/s); with auto rates the job takes what it leaves\n\n",
		100*c.Production, demoQuotaScale*job.QuotaUserRead, demoQuotaScale*job.QuotaUserResourceUpdate)

	// Production has been running for a while in a real account: give the
	// simulated one two metric periods of history before the preflight
	// reads it.
	select {
	case <-a.ctx.Done():
		return fmt.Errorf("%w (signal)", job.ErrStopped)
	case <-time.After(2200 * time.Millisecond):
	}

	// Step 0: the preflight, as an operator starts: nothing changes.
	in := filepath.Join(dir, "users.csv")
	fmt.Fprintf(a.stderr, "demo: step 0: preflight: credentials, pool, permissions, output, quotas, cost; changes nothing\n")
	rep := preflight.Run(a.ctx, preflight.Config{
		PoolID: cognitotest.DefaultPoolID, Region: cognitotest.Region, Export: true,
		Outputs: []preflight.Output{{Flag: "--output", Location: in}},
		ReadRPS: c.ReadRPS.rate(400), WriteRPS: c.WriteRPS.rate(150), ListRPS: c.ListRPS,
	}, preflight.Deps{Cognito: cognito.NewClient(srv.Config(), cognito.RetryOptions{}), STS: sts.NewFromConfig(srv.Config()),
		Quotas: quotaSurvey{src: pacingSources(srv.Config(), cognitotest.Region), period: time.Second}})
	_ = rep.WriteText(a.stderr)
	fmt.Fprintln(a.stderr)

	// Step 1: the export: ListUsers, no MAU cost.
	fmt.Fprintf(a.stderr, "demo: step 1/3: export the users with legacy MFA options (ListUsers, 60 users a call)\n")
	ecfg := job.DefaultExportConfig()
	ecfg.UserPoolID, ecfg.Output, ecfg.ListRPS, ecfg.ProgressInterval = cognitotest.DefaultPoolID, in, c.ListRPS, snapshotInterval
	eprog := newExportProgress(c.Progress, con, a.getenv, log.With("pool_id", ecfg.UserPoolID), 5*time.Second)
	esum, err := job.Export(a.ctx, ecfg, job.ExportDeps{
		Cognito: cognito.NewClient(srv.Config(), cognito.RetryOptions{}), Logger: log, OnProgress: eprog.exportUpdate,
	})
	if esum != nil {
		_ = esum.WriteText(a.stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stderr)

	for _, dry := range []bool{true, false} {
		cfg := job.DefaultConfig()
		cfg.UserPoolID, cfg.Input, cfg.DryRun = cognitotest.DefaultPoolID, in, dry
		cfg.ReadRPS, cfg.WriteRPS = c.ReadRPS.rate(400), c.WriteRPS.rate(150)
		cfg.Pacing = job.Pacing{AutoRead: c.ReadRPS.auto, AutoWrite: c.WriteRPS.auto, Reserve: job.DefaultReserve, Period: time.Second}
		cfg.ProgressInterval = snapshotInterval
		step := "step 3/3: the real run (stop it with Ctrl-C and run the demo's status command: it resumes where it stopped)"
		if dry {
			step = "step 2/3: a dry run (no writes), to review before changing anything"
		}
		fmt.Fprintf(a.stderr, "demo: %s\n", step)
		runID := job.NewRunID()
		runLog := log.With("run_id", runID, "pool_id", cfg.UserPoolID)
		prog := newProgressSink(c.Progress, con, a.getenv, runLog, 5*time.Second, map[bool]string{true: "dry run", false: "migrating"}[dry])
		sum, err := job.Run(a.ctx, cfg, job.Deps{
			Cognito: cognito.NewClient(srv.Config(), cfg.Retry), Store: checkpoint.NewFile(cfg.CheckpointLocation()),
			Logger: log, OnProgress: prog.update, Host: "demo", Version: programVersion(), RunID: runID,
			Pacing: pacingSources(srv.Config(), cognitotest.Region),
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
	fmt.Fprintf(a.stderr, "demo: and its change ticket (runs, outcomes, rates over time): cognito-mfa-migrate report --input %s --format markdown\n", in)
	return nil
}

// serve keeps the simulated pool up until the command is interrupted, for
// trying the real commands against it.
func (c *demoCmd) serve(a *app, srv *cognitotest.Server, dir string) error {
	pool := cognitotest.DefaultPoolID
	fmt.Fprintf(a.stdout, `A simulated user pool %s with %d users is listening at %s (Ctrl-C to stop).
It accepts any credentials, but the AWS SDK wants some. In another terminal:

  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s AWS_ENDPOINT_URL_STS=%s
  export AWS_ENDPOINT_URL_CLOUDWATCH=%s AWS_ENDPOINT_URL_SERVICE_QUOTAS=%s COGNITO_MFA_MIGRATE_USAGE_PERIOD=1s
  cd %s
  cognito-mfa-migrate preflight --endpoint-url %s --user-pool-id %s
  cognito-mfa-migrate export --endpoint-url %s --user-pool-id %s --output users.csv
  cognito-mfa-migrate run    --endpoint-url %s --user-pool-id %s --input users.csv --dry-run
  cognito-mfa-migrate run    --endpoint-url %s --user-pool-id %s --input users.csv --write-rps auto
      (it takes what the simulated production, %.0f%% of each quota, leaves of it; interrupt it
      with Ctrl-C or kill -9, then run the same command again: it resumes)
  cognito-mfa-migrate status --input users.csv
  cognito-mfa-migrate report --input users.csv
`, pool, c.Users, srv.URL, cognitotest.DefaultAccessKeyID, cognitotest.DefaultSecretAccessKey, cognitotest.Region, srv.URL,
		srv.URL, srv.URL, dir, srv.URL, pool, srv.URL, pool, srv.URL, pool, srv.URL, pool, 100*c.Production)
	<-a.ctx.Done()
	return nil
}

// demoQuotaScale scales the simulated account's quotas up from Cognito's, so
// that the demo is short.
const demoQuotaScale = 10

// demoProduction gives the simulated account quotas (Cognito's, scaled by
// demoQuotaScale, with a fifth of a second of burst), usage metrics every
// second, and production traffic using share of the read and write quotas.
func demoProduction(srv *cognitotest.Server, share float64) {
	srv.SetUsageMetrics(cognitotest.UsageMetrics{Period: time.Second, Lag: 100 * time.Millisecond})
	for _, q := range []struct {
		c   cognitotest.Category
		rps float64
	}{{cognitotest.UserRead, job.QuotaUserRead}, {cognitotest.UserResourceUpdate, job.QuotaUserResourceUpdate}, {cognitotest.UserList, job.QuotaUserList}} {
		rps := demoQuotaScale * q.rps
		srv.SetQuota(q.c, rps, int(rps/5))
		if q.c != cognitotest.UserList {
			srv.SetProduction(q.c, share*rps)
		}
	}
}
