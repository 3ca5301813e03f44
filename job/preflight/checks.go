package preflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/location"
)

// checkInput reads the input once: readable, its format, how many rows, and
// how many of them run will read with AdminGetUser. It returns -1, -1 when
// there is no input or it cannot be read.
func checkInput(ctx context.Context, r *Report, cfg Config, d Deps) (rows, reads int64) {
	if cfg.Input == "" {
		r.add("input", StatusSkip, "no --input: checking for an export", "")
		return -1, -1
	}
	files := job.Files{}
	if d.S3 != nil {
		files.S3 = d.S3
	}
	open, err := files.Opener(ctx, cfg.Input)
	if err != nil {
		r.add("input", StatusFail, oneLine(err), inputFix(err))
		return -1, -1
	}
	rc, err := open.Open(ctx)
	if err != nil {
		r.add("input", StatusFail, oneLine(err), inputFix(err))
		return -1, -1
	}
	defer rc.Close()
	rd, err := input.NewReader(rc, cfg.Input, input.Options{UsernameColumn: cfg.UsernameColumn})
	if err != nil {
		r.add("input", StatusFail, oneLine(err), "")
		return -1, -1
	}
	var invalid int64
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.add("input", StatusFail, oneLine(err), "")
			return -1, -1
		}
		rows++
		switch {
		case row.Invalid != "":
			invalid++
		case row.Legacy != input.LegacyNone:
			reads++
		}
	}
	detail := fmt.Sprintf("%s: %s, %d rows, %d to read", cfg.Input, rd.Format(), rows, reads)
	if invalid > 0 {
		r.add("input", StatusWarn, fmt.Sprintf("%s, %d invalid (they will be reported invalid_input)", detail, invalid), "")
	} else {
		r.add("input", StatusPass, detail, "")
	}
	return rows, reads
}

// inputFix returns the fix of an input error: the grant for an S3 refusal.
func inputFix(err error) string {
	var ae *job.S3AccessError
	if errors.As(err, &ae) {
		_, fix, _ := strings.Cut(ae.Error(), "fix: ")
		return fix
	}
	return ""
}

// checkOutputs proves every output location writable (S3 ones only when
// s3Writes; see checkS3Output). It reports whether a checkpoint exists
// already.
func checkOutputs(ctx context.Context, r *Report, cfg Config, d Deps, s3Writes bool) (checkpointExists bool) {
	for _, o := range cfg.Outputs {
		if ctx.Err() != nil {
			return false
		}
		if o.Location == "" {
			continue
		}
		name := "output " + o.Flag
		bucket, key, isS3, err := location.Parse(o.Location)
		switch {
		case err != nil:
			r.add(name, StatusFail, err.Error(), "give a file path or s3://bucket/key")
		case isS3:
			if checkS3Output(ctx, r, name, o, bucket, key, d.S3, s3Writes) {
				checkpointExists = true
			}
		default:
			checkLocalOutput(r, name, o.Location)
			if _, err := os.Stat(o.Location); err == nil && o.Checkpoint {
				checkpointExists = true
			}
		}
	}
	return checkpointExists
}

// checkLocalOutput creates and removes a probe file in the output's folder:
// every output is written through a temporary file there and renamed.
func checkLocalOutput(r *Report, name, path string) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		r.add(name, StatusFail, path+" is a folder", "give a file name, such as "+filepath.Join(path, "users.report.csv"))
		return
	}
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		r.add(name, StatusFail, fmt.Sprintf("%s: the folder %s does not exist", path, dir), "create it (mkdir -p "+dir+") or choose another location")
		return
	case !st.IsDir():
		r.add(name, StatusFail, fmt.Sprintf("%s: %s is not a folder", path, dir), "choose another location")
		return
	}
	f, err := os.CreateTemp(dir, ".cognito-mfa-migrate-preflight-*")
	if err != nil {
		r.add(name, StatusFail, fmt.Sprintf("%s: cannot create a file in %s: %v", path, dir, errText(err)),
			"make the folder writable by this user, or choose another location")
		return
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		r.add(name, StatusWarn, fmt.Sprintf("%s: the probe file %s could not be removed: %v", path, f.Name(), err), "remove it")
		return
	}
	r.add(name, StatusPass, path+": writable", "")
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// checkS3Output checks an S3 output with the permissions the run itself
// has, on the exact keys it uses, changing nothing that exists:
//
//   - the checkpoint is read (absent, present, or refused: the first run
//     needs S3 to answer NoSuchKey, which takes s3:ListBucket); when write
//     is set, its lock object is created (If-None-Match *, already expired)
//     and deleted, which is exactly what a run does with it;
//   - a report or summary, when write is set, is created only if absent
//     (If-None-Match *) and deleted; one that exists is left alone (the run
//     replaces it). Without s3:DeleteObject on it (the run does not need
//     it) the probe stays there until the run replaces it: a warning.
//
// It reports whether the checkpoint exists.
func checkS3Output(ctx context.Context, r *Report, name string, o Output, bucket, key string, c S3API, write bool) (exists bool) {
	if c == nil {
		r.add(name, StatusFail, o.Location+": no S3 client", "")
		return false
	}
	if o.Checkpoint {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		switch code := errorCode(err); {
		case err == nil:
			out.Body.Close()
			exists = true
		case code == "NoSuchKey" || code == "NotFound":
		case denied(code) || strings.Contains(err.Error(), "StatusCode: 403"):
			r.add(name, StatusFail, o.Location+": cannot read: "+oneLine(err),
				fmt.Sprintf("grant s3:GetObject on arn:aws:s3:::%s/%s and s3:ListBucket on arn:aws:s3:::%s (without ListBucket a missing checkpoint reads as AccessDenied); see samples/iam-policy.json", bucket, key, bucket))
			return false
		default:
			r.add(name, StatusFail, o.Location+": cannot read: "+oneLine(err), s3Fix(err, "s3:GetObject", bucket, key))
			return false
		}
		state := "no checkpoint yet (a new job)"
		if exists {
			state = "a checkpoint exists (run resumes it; --reset starts over)"
		}
		if !write {
			r.add(name, StatusPass, o.Location+": readable; "+state, "")
			return exists
		}
		lockKey := key + ".lock"
		now := time.Now().UTC()
		body := fmt.Sprintf(`{"owner":"cognito-mfa-migrate preflight probe","acquired":%q,"expires":%q}`, now.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &lockKey, Body: strings.NewReader(body), IfNoneMatch: aws.String("*")})
		switch code := errorCode(err); {
		case err == nil:
		case code == "PreconditionFailed":
			r.add(name, StatusWarn, o.Location+": "+state+"; its lock is held: a run is going on, or one crashed (its lock expires after --lock-ttl)", "")
			return exists
		default:
			r.add(name, StatusFail, o.Location+".lock: cannot write the run's lock: "+oneLine(err), s3Fix(err, "s3:PutObject", bucket, lockKey))
			return exists
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &lockKey}); err != nil {
			r.add(name, StatusFail, o.Location+".lock: written, but cannot be deleted (the run releases its lock so): "+oneLine(err),
				s3Fix(err, "s3:DeleteObject", bucket, lockKey)+"; then delete the probe lock (it has already expired)")
			return exists
		}
		r.add(name, StatusPass, o.Location+": readable, its lock writable and deletable; "+state, "")
		return exists
	}
	if !write {
		return false
	}
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, IfNoneMatch: aws.String("*"),
		Body: strings.NewReader("cognito-mfa-migrate preflight probe: the run replaces this object\n")})
	switch code := errorCode(err); {
	case code == "PreconditionFailed":
		r.add(name, StatusPass, o.Location+": exists; not written by preflight (the run replaces it)", "")
		return false
	case err != nil:
		r.add(name, StatusFail, o.Location+": cannot write: "+oneLine(err), s3Fix(err, "s3:PutObject", bucket, key))
		return false
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil {
		r.add(name, StatusWarn, o.Location+": writable; the probe object could not be deleted, the run will replace it: "+oneLine(err),
			"nothing to do; or grant s3:DeleteObject on arn:aws:s3:::"+bucket+"/"+key+" so that preflight removes its probe")
		return false
	}
	r.add(name, StatusPass, o.Location+": writable (probe object written and deleted)", "")
	return false
}

// s3Fix names the grant for an S3 refusal, or the error's own fix.
func s3Fix(err error, action, bucket, key string) string {
	if denied(errorCode(err)) || strings.Contains(err.Error(), "StatusCode: 403") {
		return fmt.Sprintf("grant %s on arn:aws:s3:::%s/%s to the credentials running this tool (see samples/iam-policy.json)", action, bucket, key)
	}
	if errorCode(err) == "NoSuchBucket" {
		return "create the bucket " + bucket + " or fix the location"
	}
	return fixFor(err)
}

// Documented request-rate quotas per account and Region (reference §4).
var documented = []struct {
	flag, category string
	quota          float64
	adjustable     bool
}{
	{"--read-rps", "UserRead", job.QuotaUserRead, true},
	{"--write-rps", "UserResourceUpdate", job.QuotaUserResourceUpdate, false},
	{"--list-rps", "UserList", job.QuotaUserList, false},
}

// RateWarnings returns a warning for each rate above its category's
// documented quota (0 means unlimited, which is also warned about).
func RateWarnings(readRPS, writeRPS, listRPS float64) []string {
	var out []string
	for i, v := range []float64{readRPS, writeRPS, listRPS} {
		q := documented[i]
		adj := "not adjustable"
		if q.adjustable {
			adj = "adjustable in Service Quotas"
		}
		switch {
		case v == 0:
			out = append(out, fmt.Sprintf("%s 0 (unlimited): nothing keeps the job under Cognito's %s quota of %g/s per account and Region (%s), which production shares",
				q.flag, q.category, q.quota, adj))
		case v > q.quota:
			out = append(out, fmt.Sprintf("%s %g is above Cognito's %s quota of %g/s per account and Region (%s): the job will be throttled and take capacity from production sign-ins; use at most %g",
				q.flag, v, q.category, q.quota, adj, q.quota*0.4))
		}
	}
	return out
}

func checkRates(r *Report, cfg Config) {
	warns := RateWarnings(cfg.ReadRPS, cfg.WriteRPS, cfg.ListRPS)
	if len(warns) == 0 {
		r.add("rates", StatusPass, fmt.Sprintf("read %g/s, write %g/s, list %g/s: within the documented quotas (UserRead %g, UserResourceUpdate %g, UserList %g)",
			cfg.ReadRPS, cfg.WriteRPS, cfg.ListRPS, job.QuotaUserRead, job.QuotaUserResourceUpdate, job.QuotaUserList), "")
		return
	}
	for _, w := range warns {
		flag, rest, _ := strings.Cut(w, " ")
		r.add("rates", StatusWarn, flag+" "+rest, "lower "+flag)
	}
}

func checkQuotas(ctx context.Context, r *Report, d Deps) {
	if d.Quotas == nil {
		r.add("quotas", StatusSkip, "skipped: applied quotas and production's use not read (no CloudWatch or Service Quotas endpoint: with --endpoint-url, set AWS_ENDPOINT_URL_CLOUDWATCH and AWS_ENDPOINT_URL_SERVICE_QUOTAS)", "")
		return
	}
	uses, err := d.Quotas.Usage(ctx)
	if err != nil {
		r.add("quotas", StatusWarn, "cannot read quotas or production's use: "+oneLine(err), "grant servicequotas:ListServiceQuotas, cloudwatch:GetMetricData and cloudwatch:ListMetrics")
		return
	}
	for _, u := range uses {
		st := StatusPass
		detail := fmt.Sprintf("%s: quota %g/s (%s), production's recent peak %g/s", u.Category, u.Quota, u.FromSource, u.Peak)
		if u.Throttled {
			st, detail = StatusWarn, detail+", production was throttled recently"
		}
		r.add("quota "+u.Category, st, detail, "")
	}
}

// estimate adds the size, duration and MAU cost of the run.
func estimate(r *Report, cfg Config, rows, reads, estimated int64) {
	if cfg.Input == "" {
		if estimated >= 0 {
			pages := (estimated + 59) / 60
			secs := 0.0
			if cfg.ListRPS > 0 {
				secs = float64(pages) / cfg.ListRPS
			}
			r.add("estimate", StatusPass, fmt.Sprintf("export: about %d users, %d ListUsers calls, about %s at %g/s; ListUsers counts no MAU",
				estimated, pages, roundDuration(secs), cfg.ListRPS), "")
		}
		return
	}
	if reads < 0 {
		return
	}
	writes := reads
	if cfg.DryRun {
		writes = 0
	}
	secs := job.RunSeconds(float64(reads), float64(writes), cfg.ReadRPS, cfg.WriteRPS)
	detail := fmt.Sprintf("%d rows: %d AdminGetUser calls (each user read counts as a monthly active user: up to %d MAU billed), at most %d writes; at least %s at read %g/s, write %g/s",
		rows, reads, reads, writes, roundDuration(secs), cfg.ReadRPS, cfg.WriteRPS)
	st, fix := StatusPass, ""
	if estimated >= 0 && reads > estimated*2+100 {
		st, fix = StatusWarn, fmt.Sprintf("the input has more rows to read (%d) than the pool has users (about %d): is it the export of this pool?", reads, estimated)
	}
	r.add("estimate", st, detail, fix)
}

func roundDuration(secs float64) string {
	if secs <= 0 {
		return "no time (unlimited rates)"
	}
	return (time.Duration(secs*float64(time.Second)) + time.Second - 1).Round(time.Second).String()
}

// InputHeader opens the input and reads its header: the cheap check that a
// run makes before its first call, so that a file that is not a CSV of users
// (a JSON document, a list without a header) is refused before anything
// else happens. It returns the input's error as it is (an input error,
// exit 2, or an *job.S3AccessError).
func InputHeader(ctx context.Context, files job.Files, loc, usernameColumn string) error {
	open, err := files.Opener(ctx, loc)
	if err != nil {
		return err
	}
	rc, err := open.Open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = input.NewReader(rc, loc, input.Options{UsernameColumn: usernameColumn})
	return err
}
