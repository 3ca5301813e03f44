package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
)

// poolsCmd is the pools command: the user pools of one or more Regions, as
// a table, a CSV or the fleet manifest.
type poolsCmd struct {
	Format           string  `enum:"table,csv,json" default:"table" env:"COGNITO_MFA_MIGRATE_POOLS_FORMAT" help:"Output: table (for a terminal), csv, or json (the fleet manifest that samples/fleet consumes)."`
	LocationTemplate string  `name:"location-template" help:"With --format json: the folder of each pool's files (users.csv, checkpoint, report.csv, summary.json), a path or s3:// location with {account}, {region} and {pool} replaced; {pool} is required." placeholder:"TEMPLATE"`
	PoolReadRPS      float64 `name:"pool-read-rps" default:"${pool_read_rps}" help:"ListUserPools and DescribeUserPool calls per second per Region; Cognito's UserPoolRead quota is 15/s per account and Region, shared with every other tool."`
}

// Help is the pools command's long help.
func (poolsCmd) Help() string {
	return `Lists the user pools of each Region given with --region (repeat it, or
separate Regions with commas; default: the AWS chain's Region) with
ListUserPools, and describes each with DescribeUserPool: account, Region,
pool ID, name, estimated number of users and MFA configuration.

  cognito-mfa-migrate pools --region us-east-1,eu-west-1
  cognito-mfa-migrate pools --region us-east-1 --role-arn arn:aws:iam::111122223333:role/cognito-mfa-migrate \
    --format json --location-template 's3://migration-bucket/fleet/{account}/{region}/{pool}/' > manifest.json

With --format json it writes the fleet manifest: pools grouped by account
and Region (the pools of a group share Cognito's quotas, so the fleet runs
them one at a time), each with its input, checkpoint, report and summary
locations and the role to assume. See samples/fleet and the README's
"Running many pools". Merge the manifests of several accounts with jq.

Nothing is changed and no user is read. IAM: cognito-idp:ListUserPools
(resource "*") and cognito-idp:DescribeUserPool on the pools.`
}

func (c *poolsCmd) Run(a *app) error {
	if c.PoolReadRPS <= 0 {
		return usageErr("--pool-read-rps must be a positive number of requests per second")
	}
	if c.Format == "json" {
		// Check the template before any call.
		if _, err := job.NewManifest(nil, c.LocationTemplate, "", time.Time{}); err != nil {
			return err
		}
	} else if c.LocationTemplate != "" {
		return usageErr("--location-template is only used with --format json")
	}
	f := a.cli.AWS
	f.log = newLogger(&console{w: a.stderr}, logFormat(a.stderr, a.cli.Logging.LogFormat), a.cli.Logging.LogLevel)
	cfg, err := loadConfig(a.ctx, f)
	if err != nil {
		return err
	}
	regions := uniqueRegions(f.Region)
	if len(regions) == 0 && cfg.Region != "" {
		regions = []string{cfg.Region}
	}
	if len(regions) == 0 {
		return usageErr("no AWS Region: pass --region (several with commas) or set AWS_REGION")
	}
	for _, r := range regions {
		if !regionPattern.MatchString(r) {
			return usageErr(fmt.Sprintf("--region %q is not a Region name such as us-east-1", r))
		}
	}
	if _, err := cfg.Credentials.Retrieve(a.ctx); err != nil {
		return &cognito.FatalError{Op: "load AWS credentials", Code: "NoCredentials", Err: err}
	}
	var pools []job.Pool
	for _, region := range regions {
		ccfg, err := assumeRole(a.ctx, cfg, f.RoleARN, region)
		if err != nil {
			return err
		}
		got, err := job.ListPools(a.ctx, newCognitoClient(ccfg, f, region, cognito.RetryOptions{}, cognito.NewWatch(callTimeout(f))), region, c.PoolReadRPS)
		if err != nil {
			return err
		}
		pools = append(pools, got...)
	}
	switch c.Format {
	case "csv":
		return job.WritePoolsCSV(a.stdout, pools)
	case "json":
		m, err := job.NewManifest(pools, c.LocationTemplate, f.RoleARN, time.Now())
		if err != nil {
			return err
		}
		return m.WriteJSON(a.stdout)
	}
	return job.WritePoolsTable(a.stdout, pools)
}

// uniqueRegions returns regions without blanks and repeats, in order.
func uniqueRegions(regions []string) []string {
	var out []string
	for _, r := range regions {
		if r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}
