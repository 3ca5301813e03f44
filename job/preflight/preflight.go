// Package preflight proves, changing nothing, that a migration run (or an
// export) will work: credentials and account, the pool in the Region its ID
// names, each permission the run needs, every output location writable,
// the rates against Cognito's quotas, and the run's size, duration and MAU
// cost (DESIGN.md "Preflight, self-test, discovery").
//
// Permissions are proven by calling each action on a username that does not
// exist: Cognito answers UserNotFoundException only after IAM allowed the
// call, the user does not exist so nothing changes, and a user that does not
// exist is not a monthly active user. Output locations are proven by writing
// and deleting a probe file or object beside them.
//
// Run runs every check; Cheap runs the part that costs at most one call and
// that run and export repeat before their first call.
package preflight

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Status is the result of one check.
type Status string

// The statuses of a check. Only StatusFail makes a preflight fail.
const (
	StatusPass Status = "pass"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// Check is the result of one check: what was checked, what was found, and
// for a warning or a failure the fix.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the result of a preflight, in the order the checks ran.
type Report struct {
	PoolID  string  `json:"pool_id"`
	Region  string  `json:"region"`
	Account string  `json:"account,omitempty"`
	Checks  []Check `json:"checks"`
}

// OK reports whether no check failed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return false
		}
	}
	return true
}

// Failed returns the checks that failed.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			out = append(out, c)
		}
	}
	return out
}

func (r *Report) add(name string, st Status, detail, fix string) {
	r.Checks = append(r.Checks, Check{Name: name, Status: st, Detail: detail, Fix: fix})
}

// WriteText writes one line per check (status, name, detail) with the fix
// indented below it, and a last line saying whether the preflight passed.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(string(c.Status)), c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var warn, fail int
	for _, c := range r.Checks {
		switch c.Status {
		case StatusWarn:
			warn++
		case StatusFail:
			fail++
		}
	}
	var err error
	if fail > 0 {
		_, err = fmt.Fprintf(w, "preflight FAILED: %d check(s) failed, %d warning(s): fix them and run preflight again\n", fail, warn)
	} else {
		_, err = fmt.Fprintf(w, "preflight passed (%d warning(s))\n", warn)
	}
	return err
}

// WriteJSON writes the report as one JSON object with "ok" added.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		OK bool `json:"ok"`
		*Report
	}{r.OK(), r})
}

// CognitoAPI is the part of the Cognito client a preflight calls; the
// signatures are the SDK's.
type CognitoAPI interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminSetUserMFAPreference(ctx context.Context, in *cip.AdminSetUserMFAPreferenceInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserMFAPreferenceOutput, error)
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
}

// STSAPI is the part of the STS client a preflight calls.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// S3API is the part of the S3 client the location checks call.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var (
	_ CognitoAPI = (*cip.Client)(nil)
	_ STSAPI     = (*sts.Client)(nil)
	_ S3API      = (*s3.Client)(nil)
)

// Use is one quota category's applied quota and production's current use,
// as the pacing of --read-rps auto reads them.
type Use struct {
	Category   string  // UserRead, UserResourceUpdate, UserList
	Quota      float64 // applied quota, requests per second
	Peak       float64 // production's recent peak, requests per second
	Throttled  bool    // production was throttled recently
	FromSource string  // where the quota came from ("Service Quotas", "documented default")
}

// QuotaSource reads applied quotas and production's use (Service Quotas and
// CloudWatch AWS/Usage), as the pacing of --read-rps auto does (the command
// implements it with allowance.Survey). A nil Deps.Quotas skips the check.
type QuotaSource interface {
	Usage(ctx context.Context) ([]Use, error)
}

// Config says what the preflight checks.
type Config struct {
	PoolID string
	// Region is the Region the clients call: the pool's Region unless the
	// operator overrode it.
	Region string
	// Input, when set, is the CSV a run will read (a path or s3://).
	Input string
	// UsernameColumn is run's --username-column.
	UsernameColumn string
	// DryRun: the run makes no write, so AdminSetUserMFAPreference is not
	// needed.
	DryRun bool
	// Export: the next step is an export, so ListUsers is needed (its probe
	// fails rather than warns).
	Export bool
	// Outputs are the locations the run or export writes.
	Outputs []Output
	// Rates the run will use.
	ReadRPS, WriteRPS, ListRPS float64
	// Profile is the AWS profile in use, named in the fix of an expired
	// SSO session ("" when unknown).
	Profile string
	// CallTimeout bounds each check that calls AWS; 0 means
	// DefaultCallTimeout.
	CallTimeout time.Duration
}

// DefaultCallTimeout bounds each check of Run that calls AWS.
const DefaultCallTimeout = 30 * time.Second

func (c Config) callTimeout() time.Duration {
	if c.CallTimeout > 0 {
		return c.CallTimeout
	}
	return DefaultCallTimeout
}

// fixFor returns the fix of an error a check got: credentials, or an
// endpoint that did not answer in time.
func fixFor(err error) string {
	if fix := CredentialsFix(err); fix != "" {
		return fix
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the endpoint did not answer in time: check --endpoint-url / --s3-endpoint-url, the network (proxy, VPC endpoint) and the Region"
	}
	return ""
}

// Output is one location a command writes, named by its flag.
type Output struct {
	Flag       string // such as "--report"
	Location   string // a path or s3://bucket/key
	Checkpoint bool   // the checkpoint: S3 needs delete (lock release) and list (first run)
}

// Deps are the clients a preflight calls. Cognito is required; a nil STS
// skips the account check; a nil S3 fails s3:// locations; a nil Quotas
// skips the quota check.
type Deps struct {
	Cognito CognitoAPI
	STS     STSAPI
	S3      S3API
	Quotas  QuotaSource
}

// probeName returns a username that does not exist: a recognisable prefix
// and 64 random bits.
func probeName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "cognito-mfa-migrate-preflight-" + hex.EncodeToString(b)
}

// PoolRegion returns the Region a pool ID starts with ("us-east-1_AbC" →
// "us-east-1"), or "" when it does not start with one.
func PoolRegion(poolID string) string {
	if r, _, ok := strings.Cut(poolID, "_"); ok && regionPattern(r) {
		return r
	}
	return ""
}

// regionPattern reports whether s looks like an AWS Region (xx-name-N).
func regionPattern(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts[0]) != 2 {
		return false
	}
	for _, p := range parts[:len(parts)-1] {
		if p == "" || strings.Trim(p, "abcdefghijklmnopqrstuvwxyz") != "" {
			return false
		}
	}
	last := parts[len(parts)-1]
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// poolARN is the ARN of the pool in account (or "*" when unknown).
func poolARN(region, account, poolID string) string {
	if account == "" {
		account = "*"
	}
	return "arn:aws:cognito-idp:" + region + ":" + account + ":userpool/" + poolID
}

// errorCode returns the API error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// denied reports whether code is an authorization refusal.
func denied(code string) bool {
	switch code {
	case "AccessDeniedException", "AccessDenied", "NotAuthorizedException", "Forbidden", "AllAccessDisabled":
		return true
	}
	return false
}

// Run runs every check and returns the report; it never returns an error:
// a check that cannot be made is a failed or skipped check.
func Run(ctx context.Context, cfg Config, d Deps) *Report {
	r := &Report{PoolID: cfg.PoolID, Region: cfg.Region}
	if !checkRegion(r, cfg) {
		return r
	}
	// Every check that calls AWS gets cfg.CallTimeout: a preflight against
	// an endpoint that does not answer ends, naming it.
	step := func(f func(ctx context.Context)) {
		c, cancel := context.WithTimeout(ctx, cfg.callTimeout())
		defer cancel()
		f(c)
	}
	estimated := int64(-1)
	credsOK := true
	step(func(ctx context.Context) { credsOK = checkCredentials(ctx, r, cfg, d) })
	if credsOK {
		poolOK := false
		step(func(ctx context.Context) { poolOK, estimated = checkPool(ctx, r, cfg, d) })
		if poolOK {
			step(func(ctx context.Context) { checkPermissions(ctx, r, cfg, d) })
		}
	} else {
		r.add("pool", StatusSkip, "skipped: no usable credentials", "")
	}
	var rows, reads int64
	step(func(ctx context.Context) { rows, reads = checkInput(ctx, r, cfg, d) })
	step(func(ctx context.Context) { checkOutputs(ctx, r, cfg, d, true) })
	checkRates(r, cfg)
	checkQuotas(ctx, r, d)
	estimate(r, cfg, rows, reads, estimated)
	return r
}

// Cheap runs what run and export check before their first call: the
// Region, every local output location writable (an S3 checkpoint readable;
// S3 objects are not written, so that the run needs no permission beyond
// its own), and, unless a checkpoint already
// exists (a resumed run has proven its pool, and a slice with nothing left
// to do must make no call), the pool and the permission to read it: one
// call on a user that does not exist (no change, no MAU), so that a wrong
// pool ID leaves no checkpoint behind. It returns the report; callers stop
// when it is not OK, or when ctx is done.
func Cheap(ctx context.Context, cfg Config, d Deps) *Report {
	r := &Report{PoolID: cfg.PoolID, Region: cfg.Region}
	if !checkRegion(r, cfg) {
		return r
	}
	resumed := checkOutputs(ctx, r, cfg, d, false)
	if ctx.Err() != nil || !r.OK() || resumed {
		return r
	}
	if cfg.Export {
		probeList(ctx, r, cfg, d, "")
	} else {
		probeRead(ctx, r, cfg, d, "")
	}
	return r
}

// checkRegion compares the pool ID's Region with the Region called.
func checkRegion(r *Report, cfg Config) bool {
	want := PoolRegion(cfg.PoolID)
	switch {
	case want == "":
		r.add("region", StatusWarn, fmt.Sprintf("the pool ID %s does not start with a Region; calling %s", cfg.PoolID, cfg.Region),
			"check --user-pool-id: pool IDs look like us-east-1_AbC123")
	case cfg.Region != want:
		r.add("region", StatusFail, fmt.Sprintf("the pool %s is in %s, but the calls would go to %s", cfg.PoolID, want, cfg.Region),
			fmt.Sprintf("drop --region (the pool ID names its Region) or pass --region %s; check AWS_REGION", want))
		return false
	default:
		r.add("region", StatusPass, fmt.Sprintf("calls go to %s, the Region the pool ID names", cfg.Region), "")
	}
	return true
}

// checkCredentials reports whether the calls can be made at all.
func checkCredentials(ctx context.Context, r *Report, cfg Config, d Deps) bool {
	if d.STS == nil {
		r.add("credentials", StatusSkip, "no STS client", "")
		return true
	}
	out, err := d.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fix := CredentialsFix(err)
		credentials := fix != ""
		if cfg.Profile != "" {
			fix = strings.ReplaceAll(fix, "--profile NAME", "--profile "+cfg.Profile)
		}
		if !credentials {
			fix = fixFor(err)
		}
		r.add("credentials", StatusFail, "STS GetCallerIdentity failed: "+oneLine(err), fix)
		return !credentials // an answer that is not about credentials: the pool checks may still tell
	}
	r.Account = aws.ToString(out.Account)
	r.add("credentials", StatusPass, fmt.Sprintf("account %s as %s", r.Account, aws.ToString(out.Arn)), "")
	return true
}

// CredentialsFix returns the fix for an error that came from missing,
// expired or rejected credentials, or "" for another error. Commands that
// know the profile replace it with a more precise one.
func CredentialsFix(err error) string {
	switch code := errorCode(err); code {
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
		return "the session expired: refresh the credentials (aws sso login --profile NAME, or a new role session)"
	case "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidSignatureException":
		return "AWS rejected the credentials: check AWS_PROFILE / AWS_ACCESS_KEY_ID and the secret key"
	case "":
		msg := err.Error()
		if strings.Contains(msg, "SSO") || strings.Contains(msg, "sso") {
			return "the SSO session has expired or was never started: aws sso login --profile NAME"
		}
		if strings.Contains(msg, "credentials") {
			return "no AWS credentials were found: set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an IAM role"
		}
	}
	return ""
}

// checkPool describes the pool. It returns whether the permission probes
// are worth making and the estimated number of users (-1 if unknown).
func checkPool(ctx context.Context, r *Report, cfg Config, d Deps) (bool, int64) {
	out, err := d.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &cfg.PoolID})
	switch code := errorCode(err); {
	case err == nil:
		p := out.UserPool
		detail := fmt.Sprintf("%s (%s): about %d users, MFA %s", cfg.PoolID, aws.ToString(p.Name), p.EstimatedNumberOfUsers, p.MfaConfiguration)
		if p.MfaConfiguration == types.UserPoolMfaTypeOff {
			r.add("pool", StatusWarn, detail, "MFA is OFF in this pool: enabling SMS MFA for users has no effect at sign-in until the pool allows MFA (OPTIONAL or ON)")
		} else {
			r.add("pool", StatusPass, detail, "")
		}
		return true, int64(p.EstimatedNumberOfUsers)
	case code == "ResourceNotFoundException":
		r.add("pool", StatusFail, fmt.Sprintf("no pool %s in %s", cfg.PoolID, cfg.Region),
			"check --user-pool-id (aws cognito-idp list-user-pools --max-results 60 --region "+cfg.Region+") and the account ("+accountOr(r.Account)+")")
		return false, -1
	case denied(code):
		r.add("pool", StatusWarn, "DescribeUserPool was denied: the pool's size and MFA configuration are unknown (run does not need it)",
			"grant cognito-idp:DescribeUserPool on "+poolARN(cfg.Region, r.Account, cfg.PoolID)+" for preflight (see samples/iam-policy-export.json)")
		return true, -1
	default:
		r.add("pool", StatusFail, "DescribeUserPool failed: "+oneLine(err), fixFor(err))
		return false, -1
	}
}

func accountOr(a string) string {
	if a == "" {
		return "unknown"
	}
	return "account " + a
}

func checkPermissions(ctx context.Context, r *Report, cfg Config, d Deps) {
	name := probeName()
	if cfg.Input != "" || !cfg.Export {
		probeRead(ctx, r, cfg, d, name)
		if !cfg.DryRun {
			probeWrite(ctx, r, cfg, d, name)
		}
	}
	probeList(ctx, r, cfg, d, name)
}

// probe turns the answer to a call on a user that does not exist into a
// check.
func probe(r *Report, cfg Config, action string, needed bool, err error) {
	name := "permission " + action
	arn := poolARN(cfg.Region, r.Account, cfg.PoolID)
	code := errorCode(err)
	switch {
	case code == "UserNotFoundException" || (err == nil && action == "ListUsers"):
		r.add(name, StatusPass, "allowed (probed on a user that does not exist: nothing changed, no MAU)", "")
	case code == "ResourceNotFoundException":
		r.add(name, StatusFail, fmt.Sprintf("no pool %s in %s", cfg.PoolID, cfg.Region), "check --user-pool-id and --region")
	case denied(code):
		st := StatusFail
		if !needed {
			st = StatusWarn
		}
		r.add(name, st, "denied: "+oneLine(err), fmt.Sprintf("grant cognito-idp:%s on %s (see samples/%s)", action, arn, samplePolicy(action)))
	case err == nil:
		r.add(name, StatusWarn, "the probe user exists (unexpected)", "")
	default:
		r.add(name, StatusFail, action+" failed: "+oneLine(err), fixFor(err))
	}
}

func probeRead(ctx context.Context, r *Report, cfg Config, d Deps, name string) {
	if name == "" {
		name = probeName()
	}
	_, err := d.Cognito.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &cfg.PoolID, Username: &name})
	probe(r, cfg, "AdminGetUser", true, err)
}

func probeWrite(ctx context.Context, r *Report, cfg Config, d Deps, name string) {
	_, err := d.Cognito.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{
		UserPoolId: &cfg.PoolID, Username: &name, SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true}})
	probe(r, cfg, "AdminSetUserMFAPreference", true, err)
}

func probeList(ctx context.Context, r *Report, cfg Config, d Deps, name string) {
	if name == "" {
		name = probeName()
	}
	filter := fmt.Sprintf("username = %q", name)
	_, err := d.Cognito.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &cfg.PoolID, Filter: &filter, Limit: aws.Int32(1)})
	probe(r, cfg, "ListUsers", cfg.Export || cfg.Input == "", err)
}

// samplePolicy names the sample policy that grants a Cognito action: the
// ECS task role's for run's calls, the workstation's for export's ListUsers.
func samplePolicy(action string) string {
	if action == "ListUsers" {
		return "iam-policy-export.json"
	}
	return "iam-policy.json"
}

// oneLine returns err's text on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
