package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/location"
)

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// poolRegion returns the Region a pool ID starts with ("us-east-1_AbC" →
// "us-east-1"), or "".
func poolRegion(poolID string) string {
	if r, _, ok := strings.Cut(poolID, "_"); ok && regionPattern.MatchString(r) {
		return r
	}
	return ""
}

// awsClients are the AWS clients a command needs.
type awsClients struct {
	poolCfg aws.Config // the pool's account: cfg, or the assumed role's with --role-arn (CloudWatch, Service Quotas)
	cfg     aws.Config
	cognito *cip.Client
	watch   *cognito.Watch // on every attempt of cognito: call timeout, stalls, unreachable endpoint
	s3      *s3.Client     // nil unless a location is s3://
}

// loadAWS loads the AWS configuration from the standard chain and builds the
// Cognito client (and an S3 client when a location needs one). The Cognito
// Region is --region, else the pool ID's Region, else the chain's. With
// --role-arn the Cognito client uses the assumed role's credentials; the
// S3 client keeps the chain's.
func loadAWS(ctx context.Context, f awsFlags, poolID string, retry cognito.RetryOptions, locations ...string) (*awsClients, error) {
	cfg, err := loadConfig(ctx, f)
	if err != nil {
		return nil, err
	}
	region, err := oneRegion(f)
	if err != nil {
		return nil, err
	}
	if err := checkRegion(poolID, region, cfg.Region); err != nil {
		return nil, err
	}
	if region == "" {
		region = poolRegion(poolID)
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		return nil, fmt.Errorf("%w: no AWS Region: pass --region or set AWS_REGION", job.ErrUsage)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, credentialsError(err, f.Profile)
	}
	c := &awsClients{cfg: cfg}
	c.watch = cognito.NewWatch(callTimeout(f))
	cognitoCfg, err := assumeRole(ctx, cfg, f.RoleARN, region)
	if err != nil {
		return nil, err
	}
	c.cognito = newCognitoClient(cognitoCfg, f, region, retry, c.watch)
	c.poolCfg = cognitoCfg
	if anyS3(locations) {
		c.s3 = newS3Client(cfg, f, region)
	}
	return c, nil
}

// loadConfig loads the AWS configuration from the standard chain (and
// --profile).
func loadConfig(ctx context.Context, f awsFlags) (aws.Config, error) {
	opts := sdkLogOptions(f.log)
	if f.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(f.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, explainConfigError(err, f.Profile)
	}
	return cfg, nil
}

// oneRegion returns --region for the commands that work in one Region, ""
// when it is not set.
func oneRegion(f awsFlags) (string, error) {
	switch len(f.Region) {
	case 0:
		return "", nil
	case 1:
		return f.Region[0], nil
	}
	return "", fmt.Errorf("%w: --region names %d Regions (%s); only pools takes more than one", job.ErrUsage, len(f.Region), strings.Join(f.Region, ", "))
}

// roleSessionName names the STS sessions of --role-arn in CloudTrail.
const roleSessionName = "cognito-mfa-migrate"

// assumeRole returns cfg with the credentials of roleARN, assumed with STS
// (in region, through AWS_ENDPOINT_URL_STS if set) using cfg's credentials,
// and refreshed before they expire; cfg itself when roleARN is "". The role
// is assumed once here, so that a role the caller may not assume is a fatal
// error before any work starts.
func assumeRole(ctx context.Context, cfg aws.Config, roleARN, region string) (aws.Config, error) {
	if roleARN == "" {
		return cfg, nil
	}
	if a, err := arn.Parse(roleARN); err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return cfg, fmt.Errorf("%w: --role-arn %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", job.ErrUsage, roleARN)
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if o.Region == "" {
			o.Region = region
		}
	})
	assumed := cfg.Copy()
	assumed.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = roleSessionName
	}))
	if _, err := assumed.Credentials.Retrieve(ctx); err != nil {
		return cfg, &cognito.FatalError{Op: "assume role " + roleARN, Code: assumeCode(err), Err: err}
	}
	return assumed, nil
}

// assumeCode is the error code of a failed AssumeRole, for FatalError's hint.
func assumeCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if ae.ErrorCode() == "AccessDenied" {
			return "AccessDeniedException"
		}
		return ae.ErrorCode()
	}
	return "NoCredentials"
}

// anyS3 reports whether one of locs is an s3:// location.
func anyS3(locs []string) bool {
	for _, loc := range locs {
		if _, _, isS3, _ := location.Parse(loc); isS3 {
			return true
		}
	}
	return false
}

// newS3Client returns the S3 client of s3:// locations. Each request must
// be answered within the call timeout (f.callTimeout, else
// job.DefaultCallTimeout) once it is sent: an S3 endpoint that accepts
// connections and never answers cannot hang the lock step, a save or a
// read; a timed-out attempt is retried. The time to upload a large report
// or to read an input does not count. An endpoint that refuses connections
// or does not resolve on the first calls fails at once.
func newS3Client(cfg aws.Config, f awsFlags, region string) *s3.Client {
	cfg.HTTPClient = cognito.WithResponseHeaderTimeout(cfg.HTTPClient, callTimeout(f))
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, cognito.WatchOption(cognito.NewWatch(0)))
		if o.Region == "" {
			o.Region = region
		}
		if f.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(f.S3Endpoint)
			o.UsePathStyle = true
		}
	})
}

// loadStorage returns an S3 client when one of locs is an s3:// location,
// and nil (without loading any AWS configuration) otherwise.
func loadStorage(a *app, locs ...string) (*s3.Client, error) {
	if !anyS3(locs) {
		return nil, nil
	}
	cfg, err := loadConfig(a.ctx, a.cli.AWS)
	if err != nil {
		return nil, err
	}
	region, err := oneRegion(a.cli.AWS)
	if err != nil {
		return nil, err
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" && a.cli.AWS.S3Endpoint == "" {
		return nil, fmt.Errorf("%w: %s is in S3, and no AWS Region is set to reach it\n  fix: pass --region with the bucket's Region (or set AWS_REGION)", job.ErrUsage, firstS3(locs))
	}
	return newS3Client(cfg, a.cli.AWS, region), nil
}

// filesFor returns file access using c for s3:// locations (c may be nil).
func filesFor(c *s3.Client) job.Files {
	if c == nil {
		return job.Files{}
	}
	return job.Files{S3: c}
}

// files returns file access for the command's locations.
func (c *awsClients) files() job.Files { return filesFor(c.s3) }

// openStore opens the checkpoint store at loc.
func openStore(loc string, s3c *s3.Client) (checkpoint.Store, error) {
	bucket, key, isS3, err := location.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("%w: --checkpoint: %w", job.ErrUsage, err)
	}
	if isS3 {
		if s3c == nil {
			return nil, fmt.Errorf("%w: --checkpoint %s needs an S3 client", job.ErrUsage, loc)
		}
		return explainedStore{checkpoint.NewS3(s3c, bucket, key)}, nil
	}
	return checkpoint.NewFile(loc), nil
}

// firstS3 returns the first s3:// location of locs.
func firstS3(locs []string) string {
	for _, loc := range locs {
		if _, _, isS3, _ := location.Parse(loc); isS3 {
			return loc
		}
	}
	return ""
}

// newCognitoClient returns the Cognito client of a command, aimed at region
// (and --endpoint-url).
// newCognitoClient returns the Cognito client, every attempt under w (the
// preflight's calls too: an endpoint that never answers cannot hang them).
func newCognitoClient(cfg aws.Config, f awsFlags, region string, retry cognito.RetryOptions, w *cognito.Watch) *cip.Client {
	return cognito.NewClient(cfg, retry, func(o *cip.Options) {
		o.APIOptions = append(o.APIOptions, cognito.WatchOption(w))
		o.Region = region
		if f.EndpointURL != "" {
			o.BaseEndpoint = aws.String(f.EndpointURL)
		}
	})
}

// callTimeout is the command's --call-timeout, or the default for commands
// without the flag.
func callTimeout(f awsFlags) time.Duration {
	if f.callTimeout != 0 {
		return f.callTimeout
	}
	return job.DefaultCallTimeout
}

// flagTimeout turns a --call-timeout value into awsFlags.callTimeout: the
// flag's 0 (no limit) becomes -1.
func flagTimeout(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
