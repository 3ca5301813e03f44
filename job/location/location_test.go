package location_test

import (
	"strings"
	"testing"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/location"
)

func TestParse(t *testing.T) {
	tests := []struct {
		loc         string
		bucket, key string
		isS3        bool
		err         string // in the error; "" for none
	}{
		{loc: "checkpoint.ckpt", key: "checkpoint.ckpt"},
		{loc: "/mnt/efs/jobs/pool-a.ckpt", key: "/mnt/efs/jobs/pool-a.ckpt"},
		{loc: "./rel/dir/x", key: "./rel/dir/x"},
		{loc: "s3://my-bucket/jobs/pool-a.ckpt", bucket: "my-bucket", key: "jobs/pool-a.ckpt", isS3: true},
		{loc: "S3://my.bucket.1/k", bucket: "my.bucket.1", key: "k", isS3: true},
		{loc: "s3://abc/k", bucket: "abc", key: "k", isS3: true},
		{loc: "", err: "empty location"},
		{loc: "/tmp/dir/", err: "names a folder"},
		{loc: "s3://", err: "has no bucket"},
		{loc: "s3:///key", err: "has no bucket"},
		{loc: "s3://bucket", err: "has no object key"},
		{loc: "s3://bucket/", err: "has no object key"},
		{loc: "s3://bucket/dir/", err: "names a folder"},
		{loc: "s3://ab/k", err: "3 to 63 characters"},
		{loc: "s3://" + strings.Repeat("a", 64) + "/k", err: "3 to 63 characters"},
		{loc: "s3://My_Bucket/k", err: "lowercase letters"},
		{loc: "s3://-bucket/k", err: "begin and end"},
		{loc: "s3://bucket./k", err: "begin and end"},
		{loc: "s3://my..bucket/k", err: "adjacent dots"},
		{loc: "s3://192.168.1.10/k", err: "IP address"},
		{loc: "s3://bucket/" + strings.Repeat("k", 1020), err: "longer than S3 allows"},
		{loc: "gs://bucket/key", err: `unsupported scheme "gs"`},
		{loc: "https://example.com/ckpt", err: `unsupported scheme "https"`},
	}
	for _, tt := range tests {
		t.Run(tt.loc, func(t *testing.T) {
			bucket, key, isS3, err := location.Parse(tt.loc)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Parse(%q) error = %v, want one containing %q", tt.loc, err, tt.err)
				}
				return
			}
			if err != nil || bucket != tt.bucket || key != tt.key || isS3 != tt.isS3 {
				t.Errorf("Parse(%q) = %q, %q, %v, %v; want %q, %q, %v, nil", tt.loc, bucket, key, isS3, err, tt.bucket, tt.key, tt.isS3)
			}
		})
	}
}
