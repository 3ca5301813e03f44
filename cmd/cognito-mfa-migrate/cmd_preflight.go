package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/preflight"
)

// preflightCmd is the preflight command: everything a run (or an export)
// needs, checked without changing anything.
type preflightCmd struct {
	UserPoolID     string        `name:"user-pool-id" required:"" help:"The user pool the run will migrate, such as us-east-1_AbC123." placeholder:"ID"`
	Input          string        `help:"The CSV the run will read (a path or s3://bucket/key); without it, checks for an export." placeholder:"CSV"`
	DryRun         bool          `help:"Check for a dry run: no write permission needed, the dry run's default locations."`
	Checkpoint     string        `help:"The run's --checkpoint (default: derived from --input as run does)." placeholder:"LOCATION"`
	Report         string        `help:"The run's --report (default: derived from --input)." placeholder:"LOCATION"`
	Summary        string        `help:"The run's --summary (default: derived from --input)." placeholder:"LOCATION"`
	Output         string        `help:"The export's --output, a path or s3:// (default <pool-id>.users.csv when there is no --input)." placeholder:"LOCATION"`
	UsernameColumn string        `help:"The run's --username-column." placeholder:"NAME"`
	ReadRPS        rpsFlag       `name:"read-rps" default:"${read_rps}" help:"The run's --read-rps, for the quota check and the estimate (auto: ${read_rps}/s, the rate without usage data)."`
	WriteRPS       rpsFlag       `name:"write-rps" default:"${write_rps}" help:"The run's --write-rps, for the quota check and the estimate (auto: ${write_rps}/s)."`
	ListRPS        rpsFlag       `name:"list-rps" default:"${list_rps}" help:"The export's --list-rps, for the quota check and the estimate (auto: ${list_rps}/s)."`
	UsagePeriod    time.Duration `default:"${usage_period}" help:"The CloudWatch metric period read for production's use of the quotas (as run's --usage-period)."`
	Format         string        `enum:"text,json" default:"text" help:"Output: one line per check (text) or a JSON object (json)."`
}

// Help is the preflight command's long help.
func (preflightCmd) Help() string {
	return `Checks, changing nothing, that a run (with --input) or an export (without)
will work, and prints one line per check: PASS, WARN, FAIL or SKIP, with the
fix under each warning and failure. Exit 0 when nothing failed, 1 otherwise.

  - credentials and account (STS GetCallerIdentity);
  - the pool exists in the Region its ID names (DescribeUserPool: estimated
    users, MFA configuration);
  - each permission the run needs, probed on a username that does not exist:
    Cognito answers UserNotFoundException only after IAM allowed the call, so
    nothing changes and no monthly active user is counted;
  - the input readable and a CSV of users; every output location writable: a
    local folder by a probe file created and removed in it; in S3, with the
    run's own permissions on its exact keys, never changing an object that
    exists: the checkpoint is read and its lock object created and deleted,
    an absent report or summary is created and deleted (if s3:DeleteObject
    is not granted the probe stays there until the run replaces it: a
    warning);
  - the rates against Cognito's documented quotas, and the run's size,
    duration and MAU cost.

run and export repeat the cheap part before their first call: the input's
header, local output folders, an S3 checkpoint readable, and on a job's first
run the pool and the permission to read it; --no-preflight skips it.

IAM: what the run needs, plus sts:GetCallerIdentity (always allowed) and
cognito-idp:DescribeUserPool (optional: without it the pool's size is unknown).`
}

func (c *preflightCmd) config(region string) preflight.Config {
	cfg := preflight.Config{
		PoolID: c.UserPoolID, Region: region, Input: c.Input, UsernameColumn: c.UsernameColumn, DryRun: c.DryRun,
		ReadRPS: c.ReadRPS.rate(job.DefaultReadRPS), WriteRPS: c.WriteRPS.rate(job.DefaultWriteRPS), ListRPS: c.ListRPS.rate(job.DefaultListRPS),
	}
	if c.Input != "" {
		rc := job.DefaultConfig()
		rc.Input, rc.DryRun, rc.Checkpoint, rc.Report, rc.Summary = c.Input, c.DryRun, c.Checkpoint, c.Report, c.Summary
		cfg.Outputs = runOutputs(rc)
	}
	if c.Input == "" || c.Output != "" {
		cfg.Export = c.Input == ""
		ec := job.DefaultExportConfig()
		ec.UserPoolID, ec.Output = c.UserPoolID, c.Output
		cfg.Outputs = append(cfg.Outputs, preflight.Output{Flag: "--output", Location: ec.OutputLocation()})
	}
	return cfg
}

// runOutputs are the locations a run writes.
func runOutputs(cfg job.Config) []preflight.Output {
	return []preflight.Output{
		{Flag: "--checkpoint", Location: cfg.CheckpointLocation(), Checkpoint: true},
		{Flag: "--report", Location: cfg.ReportLocation()},
		{Flag: "--summary", Location: cfg.SummaryLocation()},
	}
}

func (c *preflightCmd) Run(a *app) error {
	if err := job.ValidatePoolID(c.UserPoolID); err != nil {
		return err
	}
	f := a.cli.AWS
	cfg := c.config("")
	locs := []string{c.Input}
	for _, o := range cfg.Outputs {
		locs = append(locs, o.Location)
	}
	// The Region and credentials are checks of their own here, so loading
	// goes only as far as it can without them.
	opts := sdkLogOptions(f.log)
	if f.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(f.Profile))
	}
	awsCfg, err := config.LoadDefaultConfig(a.ctx, opts...)
	if err != nil {
		return explainConfigError(err, f.Profile)
	}
	cfg.Profile = f.Profile
	if cfg.Profile == "" {
		cfg.Profile = a.getenv("AWS_PROFILE")
	}
	if cfg.Region, err = oneRegion(f); err != nil {
		return err
	}
	if cfg.Region == "" {
		cfg.Region = awsCfg.Region
	}
	if cfg.Region == "" {
		cfg.Region = preflight.PoolRegion(c.UserPoolID)
	}
	if cfg.Region == "" {
		return usageErr("no AWS Region: pass --region or set AWS_REGION")
	}
	clients := awsClientsFor(awsCfg, f, cfg.Region, locs...)
	// With --role-arn, Cognito (and the identity preflight reports) are the
	// assumed role's; S3 stays the caller's.
	roleCfg, err := assumeRole(a.ctx, awsCfg, f.RoleARN, cfg.Region)
	if err != nil {
		return err
	}
	clients.cognito = newCognitoClient(roleCfg, f, cfg.Region, cognito.RetryOptions{MaxAttempts: 2, MaxThrottleAttempts: 4}, clients.watch)
	deps := preflight.Deps{Cognito: clients.cognito, STS: sts.NewFromConfig(roleCfg, func(o *sts.Options) { o.Region = cfg.Region })}
	if monitoringReachable(awsCfg, f, a.getenv) { // the pool's account: the assumed role's
		deps.Quotas = quotaSurvey{src: pacingSources(roleCfg, cfg.Region), period: c.UsagePeriod}
	}
	if clients.s3 != nil {
		deps.S3 = clients.s3
	}
	rep := preflight.Run(a.ctx, cfg, deps)
	if c.Format == "json" {
		err = rep.WriteJSON(a.stdout)
	} else {
		err = rep.WriteText(a.stdout)
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return shownError{errPreflightFailed}
	}
	return nil
}

var errPreflightFailed = errors.New("preflight failed")

// awsClientsFor builds the clients of a command from a loaded
// configuration, aimed at region.
func awsClientsFor(cfg aws.Config, f awsFlags, region string, locations ...string) *awsClients {
	c := &awsClients{cfg: cfg, watch: cognito.NewWatch(callTimeout(f))}
	c.cognito = newCognitoClient(cfg, f, region, cognito.RetryOptions{MaxAttempts: 2, MaxThrottleAttempts: 4}, c.watch)
	if anyS3(locations) {
		c.s3 = newS3Client(cfg, f, region)
	}
	return c
}

// cheapPreflight runs the checks run and export make before their first
// call; it returns an error naming every failed check and its fix.
func cheapPreflight(ctx context.Context, cfg preflight.Config, clients *awsClients) error {
	deps := preflight.Deps{Cognito: clients.cognito}
	if clients.s3 != nil {
		deps.S3 = clients.s3
	}
	rep := preflight.Cheap(ctx, cfg, deps)
	if err := ctx.Err(); err != nil {
		return err // a signal: the run stops like it does later
	}
	if rep.OK() {
		return nil
	}
	var b strings.Builder
	b.WriteString("preflight failed, nothing was done:")
	for _, ch := range rep.Failed() {
		fmt.Fprintf(&b, "\n  %s: %s", ch.Name, ch.Detail)
		if ch.Fix != "" {
			fmt.Fprintf(&b, "\n    fix: %s", ch.Fix)
		}
	}
	b.WriteString("\n  (run preflight for every check; --no-preflight skips these)")
	return &preflightError{msg: b.String()}
}

// preflightError is a failed automatic preflight: fatal (exit 1).
type preflightError struct{ msg string }

func (e *preflightError) Error() string { return e.msg }
