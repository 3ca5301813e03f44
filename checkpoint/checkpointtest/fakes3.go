package checkpointtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// FakeS3 starts gofakes3 (in memory, over HTTP on a loopback port) with the
// given buckets, and returns its URL and a real SDK S3 client aimed at it.
// The client is built the way the program builds its own
// (awsconfig.LoadDefaultConfig and the SDK's HTTP client, so AWS_CA_BUNDLE is
// honoured; path-style addressing), with static credentials and no shared
// config files, so nothing of the developer's AWS setup is used. The server
// stops when the test ends. Bucket names need 3 to 63 characters.
func FakeS3(t testing.TB, buckets ...string) (url string, client *s3.Client) {
	t.Helper()
	return FakeS3Denying(t, nil, buckets...)
}

// FakeS3Denying is FakeS3 with an IAM stand-in: a request for which deny
// returns true (given the HTTP method and the path-style path,
// "/bucket/key") is answered 403 AccessDenied, as S3 answers a request the
// credentials' policy does not allow. A nil deny allows everything.
func FakeS3Denying(t testing.TB, deny func(method, path string) bool, buckets ...string) (url string, client *s3.Client) {
	t.Helper()
	faker := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	h := faker.Server()
	if deny != nil {
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if deny(r.Method, r.URL.Path) {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>fakes3deny</RequestId></Error>`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg, err := awsconfig.LoadDefaultConfig(t.Context(),
		awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRET", "")),
		awsconfig.WithSharedConfigFiles([]string{}),
		awsconfig.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		t.Fatal(err)
	}
	client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.UsePathStyle = true
	})
	for _, b := range buckets {
		if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("CreateBucket %s: %v", b, err)
		}
	}
	return srv.URL, client
}
