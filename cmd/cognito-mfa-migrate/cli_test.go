package main

// In-process tests of the command line through run(ctx, args, getenv, ...):
// help, environment variables, usage errors. None of them loads AWS
// configuration, so none depends on the environment of the test process.

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// runCLI runs the command line in process with the environment env and
// returns its exit code, stdout and stderr.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(t.Context(), args, func(k string) string { return env[k] }, &out, &errb)
	return job.ExitCode(err), out.String(), errb.String()
}

// flagInHelp matches a flag at the start of a line of kong's help.
var flagInHelp = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9][a-z0-9-]*)`)

// explicitEnvs are the flags whose variable is not derived from the flag's
// name, by command and flag: report's and pools' --format take other values
// than the --format of run, export and status, so they cannot share their
// variable.
var explicitEnvs = map[string]string{"report --format": "COGNITO_MFA_MIGRATE_REPORT_FORMAT", "pools --format": "COGNITO_MFA_MIGRATE_POOLS_FORMAT"}

// TestHelpNamesEnvVars checks that the help of every command names the
// environment variable of each of its flags.
func TestHelpNamesEnvVars(t *testing.T) {
	for _, cmd := range []string{"", "run", "export", "pools", "status", "report", "demo", "version", "completion"} {
		t.Run("help "+cmd, func(t *testing.T) {
			args := []string{"--help"}
			if cmd != "" {
				args = []string{cmd, "--help"}
			}
			code, out, stderr := runCLI(t, nil, args...)
			if code != 0 {
				t.Fatalf("%v: exit code %d, want 0; stderr:\n%s", args, code, stderr)
			}
			flags := flagInHelp.FindAllStringSubmatch(out, -1)
			if len(flags) < 2 {
				t.Fatalf("%v: found %d flags in the help, want the global ones at least:\n%s", args, len(flags), out)
			}
			for _, m := range flags {
				if m[1] == "help" || m[1] == "version" { // they stop the program: no variable should
					continue
				}
				env := "$" + envName(m[1])
				if e, ok := explicitEnvs[cmd+" --"+m[1]]; ok {
					env = "$" + e
				}
				if !strings.Contains(out, env) {
					t.Errorf("%v: help does not name %s for --%s", args, env, m[1])
				}
			}
		})
	}
}

// writeStatusCheckpoint writes a checkpoint of rows pending rows and
// returns its path.
func writeStatusCheckpoint(t *testing.T, rows int) string {
	t.Helper()
	st := &checkpoint.State{
		Identity: checkpoint.Identity{PoolID: cognitotest.DefaultPoolID, InputSHA256: strings.Repeat("ab", 32), Mode: "apply"},
		Rows:     make([]uint32, rows),
		Created:  time.Now(), Updated: time.Now(),
	}
	data, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users.checkpoint")
	writeFile(t, path, data)
	return path
}

// TestFlagsFromEnv checks that environment variables set flags, and that a
// flag on the command line wins over its variable.
func TestFlagsFromEnv(t *testing.T) {
	path := writeStatusCheckpoint(t, 100)
	env := map[string]string{
		"COGNITO_MFA_MIGRATE_CHECKPOINT": path,
		"COGNITO_MFA_MIGRATE_WRITE_RPS":  "7",
		"COGNITO_MFA_MIGRATE_JSON":       "true",
	}
	tests := []struct {
		name      string
		args      []string
		wantWrite float64
	}{
		{"from the environment", []string{"status"}, 7},
		{"flag wins", []string{"status", "--write-rps", "9"}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, env, tt.args...)
			if code != 0 {
				t.Fatalf("exit code %d, want 0; stderr:\n%s", code, stderr)
			}
			var st job.Status
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("status output is not JSON (COGNITO_MFA_MIGRATE_JSON ignored?): %v\n%s", err, out)
			}
			if st.Checkpoint != path || st.Rows != 100 || st.ETA.WriteRPS != tt.wantWrite {
				t.Errorf("status = checkpoint %s, %d rows, ETA at %v writes/s; want %s, 100, %v", st.Checkpoint, st.Rows, st.ETA.WriteRPS, path, tt.wantWrite)
			}
		})
	}
}

// TestUsageErrors checks that mistakes on the command line exit 2 with a
// message naming the mistake, before anything is loaded or called.
func TestUsageErrors(t *testing.T) {
	pool := cognitotest.DefaultPoolID
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad pool ID", nil, []string{"run", "--user-pool-id", "not-a-pool", "--input", "users.csv"}, "--user-pool-id"},
		{"pool ID too long", nil, []string{"run", "--user-pool-id", "us-east-1_" + strings.Repeat("a", 50), "--input", "users.csv"}, "at most 55 characters"},
		{"missing input", nil, []string{"run", "--user-pool-id", pool}, "--input"},
		{"missing pool", nil, []string{"run", "--input", "users.csv"}, "--user-pool-id"},
		{"no workers", nil, []string{"run", "--user-pool-id", pool, "--input", "users.csv", "--workers", "0"}, "--workers"},
		{"negative rate", nil, []string{"run", "--user-pool-id", pool, "--input", "users.csv", "--read-rps", "-1"}, "--read-rps"},
		{"bad max-failures", nil, []string{"run", "--user-pool-id", pool, "--input", "users.csv", "--max-failures", "lots"}, "max-failures"},
		{"reserve of the whole quota", nil, []string{"run", "--user-pool-id", pool, "--input", "users.csv", "--write-rps", "auto", "--reserve", "1"}, "--reserve"},
		{"usage period not whole minutes", nil, []string{"run", "--user-pool-id", pool, "--input", "users.csv", "--write-rps", "auto", "--usage-period", "90s"}, "--usage-period"},
		{"usage period under a second", nil, []string{"run", "--user-pool-id", pool, "--input", "users.csv", "--write-rps", "auto", "--usage-period", "500ms"}, "--usage-period"},
		{"bad list rate", nil, []string{"export", "--user-pool-id", pool, "--list-rps", "auto-ish"}, "list-rps"},
		{"bad duration", nil, []string{"run", "--user-pool-id", pool, "--input", "users.csv", "--max-duration", "soon"}, "--max-duration"},
		{"bad rate in environment", map[string]string{"COGNITO_MFA_MIGRATE_WRITE_RPS": "fast"}, []string{"run", "--user-pool-id", pool, "--input", "users.csv"}, "write-rps"},
		{"bad pool ID in environment", map[string]string{"COGNITO_MFA_MIGRATE_USER_POOL_ID": "nope"}, []string{"run", "--input", "users.csv"}, "--user-pool-id"},
		{"unknown flag", nil, []string{"run", "--bogus"}, "--bogus"},
		{"unknown command", nil, []string{"migrate"}, "migrate"},
		{"status without a checkpoint", nil, []string{"status"}, "--checkpoint"},
		{"bad checkpoint location", nil, []string{"status", "--checkpoint", "ftp://host/cp"}, "unsupported scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.env, tt.args...)
			if code != 2 {
				t.Errorf("%v: exit code %d, want 2; stderr:\n%s", tt.args, code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("%v: stderr does not name %q:\n%s", tt.args, tt.want, stderr)
			}
		})
	}
}

// TestUsageErrorPointsAtHelp checks that a parse error points at the help of
// the command it was made in.
func TestUsageErrorPointsAtHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--input", "users.csv"}, "run 'cognito-mfa-migrate run --help' for usage"},
		{[]string{"export", "--bogus"}, "run 'cognito-mfa-migrate export --help' for usage"},
		{[]string{"migrate"}, "run 'cognito-mfa-migrate --help' for usage"},
	} {
		if _, _, stderr := runCLI(t, nil, tt.args...); !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: stderr = %q, want it to say %q", tt.args, stderr, tt.want)
		}
	}
}

// TestVersion checks the version command of an unstamped build (the stamped
// one is checked on the built binary in TestCommandLine).
func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, nil, "version")
	want := "cognito-mfa-migrate dev (commit none, " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if code != 0 || out != want {
		t.Errorf("version = %d, %q; want 0, %q", code, out, want)
	}
}

// TestAutoRates checks that "auto" reaches the job's configuration, from a
// flag or the environment, with the static default as the fallback rate.
func TestAutoRates(t *testing.T) {
	env := map[string]string{"COGNITO_MFA_MIGRATE_READ_RPS": "auto", "COGNITO_MFA_MIGRATE_RESERVE": "0.3"}
	c := parseRunEnv(t, []string{"run", "--user-pool-id", cognitotest.DefaultPoolID, "--input", "u.csv", "--write-rps", "AUTO", "--usage-period", "5m", "--write-quota", "30"}, env)
	cfg := c.Run.config()
	want := job.Pacing{AutoRead: true, AutoWrite: true, Reserve: 0.3, Period: 5 * time.Minute, WriteQuota: 30}
	if cfg.Pacing != want || cfg.ReadRPS != job.DefaultReadRPS || cfg.WriteRPS != job.DefaultWriteRPS {
		t.Errorf("config: pacing %+v, rates %v/%v; want %+v at the static %v/%v", cfg.Pacing, cfg.ReadRPS, cfg.WriteRPS, want, job.DefaultReadRPS, job.DefaultWriteRPS)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	c = parseRunEnv(t, []string{"run", "--user-pool-id", cognitotest.DefaultPoolID, "--input", "u.csv", "--write-rps", "12.5"}, nil)
	if cfg := c.Run.config(); cfg.Pacing.Enabled() || cfg.WriteRPS != 12.5 {
		t.Errorf("--write-rps 12.5: pacing %+v, write rate %v; want static 12.5", cfg.Pacing, cfg.WriteRPS)
	}
	e := parseRunEnv(t, []string{"export", "--user-pool-id", cognitotest.DefaultPoolID, "--list-rps", "auto"}, nil).Export.config()
	if !e.Pacing.AutoList || e.ListRPS != job.DefaultListRPS {
		t.Errorf("export --list-rps auto: pacing %+v, rate %v", e.Pacing, e.ListRPS)
	}
}
