package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/preflight"
)

// checkRegion refuses, before any call, a Region that is not the one the
// pool ID names: --region, else AWS_REGION/the profile's Region (chain).
// A pool lives in one Region; calling another answers
// ResourceNotFoundException only after the checkpoint and lock were made.
func checkRegion(poolID, flag, chain string) error {
	want := preflight.PoolRegion(poolID)
	if want == "" {
		return nil
	}
	switch {
	case flag != "" && flag != want:
		return fmt.Errorf("%w: --region %s, but the pool %s is in %s (a pool ID starts with its Region)\n  fix: pass --region %s, or drop --region", job.ErrUsage, flag, poolID, want, want)
	case flag == "" && chain != "" && chain != want:
		return fmt.Errorf("%w: AWS_REGION (or the profile's region) is %s, but the pool %s is in %s (a pool ID starts with its Region)\n  fix: pass --region %s (or set AWS_REGION=%s) if that pool is the one you mean; otherwise check --user-pool-id and the AWS profile",
			job.ErrUsage, chain, poolID, want, want, want)
	}
	return nil
}

// explainConfigError turns a failure to load the AWS configuration into one
// that names the fix: a profile that does not exist names those that do.
func explainConfigError(err error, profile string) error {
	var pe config.SharedConfigProfileNotExistError
	if errors.As(err, &pe) {
		if profile == "" {
			profile = pe.Profile
		}
		have := listProfiles()
		fix := "no profile is configured: run aws configure --profile " + profile + " (or aws configure sso)"
		if len(have) > 0 {
			fix = "use one of the profiles that exist: " + strings.Join(have, ", ") + " (files: " + strings.Join(profileFiles(), ", ") + ")"
		}
		return fmt.Errorf("%w: the AWS profile %q does not exist\n  fix: %s", job.ErrUsage, profile, fix)
	}
	return fmt.Errorf("load AWS configuration: %w", err)
}

// credentialsError explains a failure to get credentials: an expired or
// missing SSO session names aws sso login with the profile.
func credentialsError(err error, profile string) error {
	if profile == "" {
		profile = os.Getenv("AWS_PROFILE")
	}
	fe := &cognito.FatalError{Op: "load AWS credentials", Code: "NoCredentials", Err: err}
	var te *ssocreds.InvalidTokenError
	if errors.As(err, &te) || strings.Contains(err.Error(), "SSO token") {
		name := profile
		if name == "" {
			name = "default"
		}
		fe.Code = "SSOSessionExpired"
		fe.Fix = "the AWS SSO session has expired or was never started: run aws sso login --profile " + name + ", then run this command again"
	}
	return fe
}

// profileFiles returns the shared config and credentials files the SDK reads.
func profileFiles() []string {
	home, _ := os.UserHomeDir()
	cfg := os.Getenv("AWS_CONFIG_FILE")
	if cfg == "" {
		cfg = filepath.Join(home, ".aws", "config")
	}
	creds := os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	if creds == "" {
		creds = filepath.Join(home, ".aws", "credentials")
	}
	return []string{cfg, creds}
}

// listProfiles returns the profile names of the shared config files
// ([profile NAME] and [default] in config, [NAME] in credentials), sorted.
func listProfiles() []string {
	var names []string
	for i, path := range profileFiles() {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if !strings.HasPrefix(line, "[") || !strings.HasSuffix(line, "]") {
				continue
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			if i == 0 {
				if n, ok := strings.CutPrefix(name, "profile "); ok {
					name = strings.TrimSpace(n)
				} else if name != "default" {
					continue // [sso-session x], [services x]
				}
			}
			if name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		f.Close()
	}
	slices.Sort(names)
	return names
}

// explainedStore names the S3 grant when the checkpoint store's S3 calls are
// refused.
type explainedStore struct {
	checkpoint.Store
}

func (s explainedStore) Load(ctx context.Context) ([]byte, string, error) {
	b, v, err := s.Store.Load(ctx)
	return b, v, job.ExplainS3(s.String(), err)
}

func (s explainedStore) Save(ctx context.Context, data []byte, version string) (string, error) {
	v, err := s.Store.Save(ctx, data, version)
	return v, job.ExplainS3(s.String(), err)
}

func (s explainedStore) Lock(ctx context.Context, owner string, ttl time.Duration) (checkpoint.Lock, error) {
	l, err := s.Store.Lock(ctx, owner, ttl)
	return l, job.ExplainS3(s.String()+".lock", err)
}
