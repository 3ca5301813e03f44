package cognito

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

func TestRetryBudgets(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(srv *cognitotest.Server)
		wantCalls int
		wantCode  string
	}{
		{"server errors get MaxAttempts", func(srv *cognitotest.Server) { srv.FailNext("AdminGetUser", cognitotest.FaultError500, 100) }, 4, "InternalErrorException"},
		{"resets get MaxAttempts", func(srv *cognitotest.Server) { srv.FailNext("AdminGetUser", cognitotest.FaultResetBefore, 100) }, 4, ""},
		{"throttling gets MaxThrottleAttempts", func(srv *cognitotest.Server) { srv.ThrottleNext("AdminGetUser", 100) }, 9, "TooManyRequestsException"},
		{"a user error is not retried", func(srv *cognitotest.Server) {}, 1, "UserNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := cognitotest.NewServer()
			t.Cleanup(srv.Close)
			tt.fail(srv)
			c := NewClient(srv.Config(), RetryOptions{MaxAttempts: 4, MaxThrottleAttempts: 9, MaxBackoff: time.Millisecond})
			_, err := c.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(testPool), Username: aws.String("nobody")})
			if err == nil {
				t.Fatal("AdminGetUser() = nil error, want one")
			}
			if got := srv.Calls("AdminGetUser"); got != tt.wantCalls {
				t.Errorf("AdminGetUser made %d attempts, want %d (err %v)", got, tt.wantCalls, err)
			}
			var ae smithy.APIError
			if tt.wantCode != "" && (!errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode) {
				t.Errorf("AdminGetUser() error = %v, want code %s", err, tt.wantCode)
			}
		})
	}
}

func TestNewClientKeepsTheChainsHTTPClient(t *testing.T) {
	// A CA bundle from the chain (AWS_CA_BUNDLE) must survive NewClient:
	// it lives in the BuildableClient's transport.
	pem, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Skip("no system CA bundle to test with")
	}
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCustomCABundle(mustOpen(t, bundle)),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
	)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(cfg, RetryOptions{})
	bc, ok := c.Options().HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		t.Fatalf("HTTPClient is %T, want the SDK's *BuildableClient", c.Options().HTTPClient)
	}
	tr := bc.GetTransport()
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.RootCAs == nil {
		t.Error("NewClient dropped the CA bundle of the configuration")
	}
	if tr.MaxIdleConnsPerHost < maxIdleConnsPerHost {
		t.Errorf("MaxIdleConnsPerHost = %d, want at least %d", tr.MaxIdleConnsPerHost, maxIdleConnsPerHost)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

const testPool = cognitotest.DefaultPoolID
