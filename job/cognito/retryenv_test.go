package cognito

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// TestRetryIgnoresAWSEnvironment checks that AWS_MAX_ATTEMPTS and
// AWS_RETRY_MODE (which the SDK's configuration chain puts in
// aws.Config.RetryMaxAttempts and RetryMode) do not replace the job's
// retry policy: with them at 2 and adaptive, 4 throttling answers are still
// retried (the job's throttling budget is 30), through the real client
// against the fake.
func TestRetryIgnoresAWSEnvironment(t *testing.T) {
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	if err := srv.AddSeeds(cognitotest.DefaultPoolID, cognitotest.Mix(1, 1)); err != nil {
		t.Fatal(err)
	}
	name := srv.Users(cognitotest.DefaultPoolID)[0].Username
	srv.ThrottleNext("AdminGetUser", 4)
	cfg := srv.Config()
	cfg.RetryMaxAttempts, cfg.RetryMode = 2, aws.RetryModeAdaptive
	c := NewClient(cfg, RetryOptions{MaxBackoff: time.Millisecond})
	_, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(cognitotest.DefaultPoolID), Username: aws.String(name)})
	if err != nil || srv.Calls("AdminGetUser") != 5 {
		t.Errorf("AdminGetUser with AWS_MAX_ATTEMPTS=2 = %v after %d requests; want success after 5 (4 throttled)", err, srv.Calls("AdminGetUser"))
	}
}
