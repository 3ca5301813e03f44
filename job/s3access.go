package job

import (
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/location"
)

// S3AccessError is an S3 request that IAM or the bucket policy refused. It
// is fatal (exit 1), not an input error: the file may be fine, the
// credentials may not read or write it. Its message names the action and the
// resource to grant.
type S3AccessError struct {
	Action   string // the S3 operation, such as "GetObject"
	Location string // s3://bucket/key
	Err      error  // the SDK's error
}

// Error names the location, the action and the grant that fixes it.
func (e *S3AccessError) Error() string {
	bucket, key, _, _ := location.Parse(e.Location)
	action := s3Action(e.Action)
	fix := fmt.Sprintf("grant %s on arn:aws:s3:::%s/%s to the credentials running this tool", action, bucket, key)
	if action == "s3:GetObject" {
		// Without ListBucket, S3 answers a missing object with 403 too.
		fix += fmt.Sprintf(" (and s3:ListBucket on arn:aws:s3:::%s, or S3 reports a missing object as AccessDenied)", bucket)
	}
	return fmt.Sprintf("%s: S3 denied %s (%s)\n  fix: %s", e.Location, action, errCodeOf(e.Err), fix)
}

// Unwrap returns the SDK's error.
func (e *S3AccessError) Unwrap() error { return e.Err }

// s3Action returns the IAM action of an S3 operation.
func s3Action(op string) string {
	switch op {
	case "HeadObject":
		return "s3:GetObject"
	case "":
		return "s3:GetObject/s3:PutObject"
	}
	return "s3:" + op
}

func errCodeOf(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "403"
}

// ExplainS3 returns an *S3AccessError when err is S3 refusing access to loc
// (AccessDenied, AllAccessDisabled, or any 403), and err unchanged
// otherwise.
func ExplainS3(loc string, err error) error {
	if err == nil {
		return nil
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.Service() != "S3" {
		return err
	}
	denied := false
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "AllAccessDisabled", "Forbidden", "InvalidAccessKeyId":
			denied = true
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden {
		denied = true
	}
	if !denied {
		return err
	}
	return &S3AccessError{Action: oe.Operation(), Location: loc, Err: err}
}

// s3InputError explains a failed read of the input object: access refused
// (fatal, naming the grant), no such object, or (once pinned) replaced
// during the run.
func s3InputError(loc string, pinned bool, err error) error {
	if ae := ExplainS3(loc, err); ae != err {
		return ae
	}
	msg := "cannot read the input object"
	switch errCodeOf(err) {
	case "NoSuchKey", "NotFound":
		msg = "no such object: check the bucket and key"
	case "NoSuchBucket":
		msg = "no such bucket: check the bucket name and the Region"
	case "PreconditionFailed":
		if pinned {
			msg = "the input object was replaced during the run: put the original back, or start over with --reset"
		}
	}
	return &input.Error{File: loc, Msg: msg, Err: err}
}
