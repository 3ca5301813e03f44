package main

// Helpers of the operator-output tests (obs_*_test.go): the command built
// with `go build` and run as a subprocess against job/cognitotest in the
// test process, with credentials that must never be printed.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// Credentials the subprocess gets. The fake accepts any signature, so the
// secret and the session token are distinctive strings a test can look for
// in the output.
const (
	obsAccessKeyID  = cognitotest.DefaultAccessKeyID
	obsSecretKey    = "obsSecretKey+wJalrXUtnFEMI/K7MDENG/bPxRfiCY"
	obsSessionToken = "obsSessionToken/IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH"
)

// obsEnv is the whole environment of a subprocess: the isolated
// environment of the e2e tests (empty shared config files, no instance
// metadata, AWS_CA_BUNDLE kept) with the distinctive credentials above. For
// a key set twice, os/exec uses the last value.
func obsEnv(t *testing.T) []string {
	t.Helper()
	return append(isolatedEnv(t, t.TempDir()),
		"AWS_ACCESS_KEY_ID="+obsAccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+obsSecretKey,
		"AWS_SESSION_TOKEN="+obsSessionToken,
	)
}

// obsResult is what a subprocess printed and how it ended.
type obsResult struct {
	stdout, stderr []byte
	code           int
}

// runObs runs bin with args and env to its end (at most a minute) and
// returns its output and exit code.
func runObs(t *testing.T, bin string, env []string, args ...string) obsResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after a minute; stderr:\n%s", strings.Join(args, " "), stderr.Bytes())
	}
	return obsResult{stdout: stdout.Bytes(), stderr: stderr.Bytes(), code: cmd.ProcessState.ExitCode()}
}

// obsPool is a fake pool seeded with cognitotest.Mix and a CSV naming every
// seeded user, in a folder of its own.
type obsPool struct {
	srv   *cognitotest.Server
	seeds []cognitotest.Seed
	dir   string
	input string
}

func newObsPool(t *testing.T, users int) *obsPool {
	t.Helper()
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	seeds := cognitotest.Mix(users, 42)
	if err := srv.AddSeeds(cognitotest.DefaultPoolID, seeds); err != nil {
		t.Fatal(err)
	}
	p := &obsPool{srv: srv, seeds: seeds, dir: t.TempDir()}
	var b strings.Builder
	b.WriteString("username\n")
	for _, s := range seeds {
		b.WriteString(s.User.Username + "\n")
	}
	p.input = filepath.Join(p.dir, "users.csv")
	if err := os.WriteFile(p.input, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runArgs returns the arguments of a fast run of the pool's input against
// its fake, followed by extra.
func (p *obsPool) runArgs(extra ...string) []string {
	return append([]string{"run",
		"--user-pool-id", cognitotest.DefaultPoolID,
		"--input", p.input,
		"--endpoint-url", p.srv.URL,
		"--read-rps", "3000", "--write-rps", "1500",
	}, extra...)
}

// phones returns every phone number of the seeded users, in E.164 form and
// as bare national digits (the form a log could quote without the +1).
func (p *obsPool) phones() []string {
	var out []string
	for _, s := range p.seeds {
		if ph := s.User.Attributes["phone_number"]; ph != "" {
			out = append(out, ph, strings.TrimPrefix(ph, "+1"))
		}
	}
	return out
}
