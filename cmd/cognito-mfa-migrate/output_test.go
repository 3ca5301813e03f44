package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// TestBuildVersion checks where the printed version comes from: -ldflags
// -X first, else what `go install module@vX` and a git checkout record.
func TestBuildVersion(t *testing.T) {
	info := func(v string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: v}, Settings: settings}, true
		}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef0123"}
	tests := []struct {
		name         string
		v, c         string
		read         func() (*debug.BuildInfo, bool)
		wantV, wantC string
	}{
		{"stamped with -X", "v1.0.0", "abc1234", info("v9.9.9", rev), "v1.0.0", "abc1234"},
		{"go install module@v1.2.3", "dev", "none", info("v1.2.3"), "v1.2.3", "none"},
		{"go build in a checkout", "dev", "none", info("(devel)", rev), "dev", "0123456789ab"},
		{"modified checkout", "dev", "none", info("(devel)", rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "dev", "0123456789ab-dirty"},
		{"no build information", "dev", "none", func() (*debug.BuildInfo, bool) { return nil, false }, "dev", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, c := buildVersion(tt.v, tt.c, tt.read)
			if v != tt.wantV || c != tt.wantC {
				t.Errorf("buildVersion(%q, %q) = %q, %q; want %q, %q", tt.v, tt.c, v, c, tt.wantV, tt.wantC)
			}
		})
	}
}

// TestVersionFlag checks that --version prints what the version command
// prints, on the stamped binary.
func TestVersionFlag(t *testing.T) {
	bin := binary(t)
	env := obsEnv(t)
	flag := runObs(t, bin, env, "--version")
	cmd := runObs(t, bin, env, "version")
	if flag.code != 0 || !bytes.HasPrefix(flag.stdout, []byte("cognito-mfa-migrate "+e2eVersion+" (commit e2e,")) || !bytes.Equal(flag.stdout, cmd.stdout) {
		t.Errorf("--version = %d, %q; want 0 and the version command's %q", flag.code, flag.stdout, cmd.stdout)
	}
}

// oneJSON decodes stdout as exactly one JSON document into v.
func oneJSON(t *testing.T, what string, stdout []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: stdout is not a JSON document: %v\n%s", what, err, stdout)
	}
	var more json.RawMessage
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		t.Errorf("%s: stdout holds more than one JSON document (next: %s, %v)", what, more, err)
	}
}

// TestFormatJSON runs each command that prints a result with --format json
// and checks that stdout holds one JSON document a script can parse (as
// `... --format json | jq` does), and diagnostics stay on stderr.
func TestFormatJSON(t *testing.T) {
	bin := binary(t)
	env := obsEnv(t)
	pool := newObsPool(t, 60)
	dir := t.TempDir()
	cp := filepath.Join(dir, "checkpoint")
	files := []string{"--checkpoint", cp, "--report", filepath.Join(dir, "report.csv"), "--summary", filepath.Join(dir, "summary.json")}

	var lastRun string
	t.Run("run", func(t *testing.T) {
		for _, logFormat := range []string{"json", "text"} {
			res := runObs(t, bin, env, pool.runArgs(append(files, "--format", "json", "--log-format", logFormat, "--reset")...)...)
			if res.code != 0 {
				t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
			}
			var sum job.Summary
			oneJSON(t, "run --format json --log-format "+logFormat, res.stdout, &sum)
			if sum.RunID == "" || sum.Done != int64(len(pool.seeds)) || sum.ExitCode != 0 || sum.Calls["AdminGetUser"].Calls == 0 {
				t.Errorf("run --format json = %+v; want the summary of a completed run", sum)
			}
			if len(res.stderr) == 0 {
				t.Errorf("stderr is empty: the logs belong there")
			}
			lastRun = sum.RunID
		}
	})
	t.Run("run that fails before its summary", func(t *testing.T) {
		res := runObs(t, bin, env, pool.runArgs("--input", filepath.Join(dir, "missing.csv"), "--format", "json")...)
		var doc resultDoc
		oneJSON(t, "failed run", res.stdout, &doc)
		if res.code == 0 || doc.ExitCode != res.code || doc.Error == "" {
			t.Errorf("exit %d, document %+v; want a non-zero exit code and the same code and an error in the document", res.code, doc)
		}
	})
	t.Run("run refuses two outputs on stdout", func(t *testing.T) {
		res := runObs(t, bin, env, pool.runArgs(append(files, "--format", "json", "--metrics", "emf")...)...)
		if res.code != 2 || !bytes.Contains(res.stderr, []byte("--format json and --metrics emf")) {
			t.Errorf("exit %d, stderr %s; want 2 and a usage error", res.code, res.stderr)
		}
	})
	t.Run("status", func(t *testing.T) {
		res := runObs(t, bin, env, "status", "--checkpoint", cp, "--format", "json")
		var st job.Status
		oneJSON(t, "status --format json", res.stdout, &st)
		if res.code != 0 || st.Done != int64(len(pool.seeds)) || st.Calls["AdminGetUser"].Calls != int64(len(pool.seeds)) {
			t.Errorf("status --format json = %d, %+v; want 0, %d rows done and AdminGetUser calls in the summary's shape", res.code, st, len(pool.seeds))
		}
		if st.ETA.RatesFrom != "run "+lastRun {
			t.Errorf("status ETA rates from %q, want the rates the last run (%s) achieved", st.ETA.RatesFrom, lastRun)
		}
		old := runObs(t, bin, env, "status", "--checkpoint", cp, "--json")
		if !bytes.Equal(old.stdout, res.stdout) || !bytes.Contains(old.stderr, []byte("--json is deprecated")) {
			t.Errorf("status --json (deprecated alias) = %s, stderr %q; want what --format json prints, and a deprecation note on stderr", old.stdout, old.stderr)
		}
	})
	t.Run("export", func(t *testing.T) {
		res := runObs(t, bin, env, "export", "--user-pool-id", cognitotest.DefaultPoolID, "--endpoint-url", pool.srv.URL,
			"--output", filepath.Join(dir, "export.csv"), "--format", "json")
		var sum job.ExportSummary
		oneJSON(t, "export --format json", res.stdout, &sum)
		if res.code != 0 || sum.Users == 0 || !sum.Written {
			t.Errorf("export --format json = %d, %+v; want 0 and the summary of a written export", res.code, sum)
		}
	})
}

// TestCompletion checks the shell completions: the shell code of each
// shell, and the answers the program gives to a shell's request.
func TestCompletion(t *testing.T) {
	bin := binary(t)
	env := obsEnv(t)
	for _, sh := range []string{"bash", "zsh", "fish"} {
		res := runObs(t, bin, env, "completion", sh)
		if res.code != 0 || !bytes.Contains(res.stdout, []byte(bin)) || !bytes.Contains(res.stdout, []byte("cognito-mfa-migrate")) {
			t.Errorf("completion %s = %d, %q; want the shell code naming %s", sh, res.code, res.stdout, bin)
		}
	}
	tests := []struct {
		line string
		want []string
	}{
		{"cognito-mfa-migrate st", []string{"status"}},
		{"cognito-mfa-migrate status --format ", []string{"json", "text"}},
		{"cognito-mfa-migrate run --dry", []string{"--dry-run"}},
		{"cognito-mfa-migrate report --format ", []string{"csv", "html", "markdown"}},
	}
	for _, tt := range tests {
		res := runObs(t, bin, append(env, "COMP_LINE="+tt.line), "")
		got := strings.Fields(string(res.stdout))
		slices.Sort(got)
		if res.code != 0 || !slices.Equal(got, tt.want) {
			t.Errorf("completing %q = %d, %q; want 0, %q", tt.line, res.code, got, tt.want)
		}
	}
	// bash loads the code and registers the completion.
	if _, err := exec.LookPath("bash"); err == nil {
		out, err := exec.Command("bash", "-c", "source <(\"$0\" completion bash) && complete -p cognito-mfa-migrate", bin).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "complete -C '"+bin+"' cognito-mfa-migrate") {
			t.Errorf("bash: %v, %s; want the completion registered", err, out)
		}
	}
}

// TestReportTicket runs a job on the built binary and writes its
// change-ticket report: the run is there with its ID and exit code, and
// the chart is drawn from the series the run recorded in the checkpoint.
func TestReportTicket(t *testing.T) {
	bin := binary(t)
	env := obsEnv(t)
	pool := newObsPool(t, 40)
	dir := t.TempDir()
	cp := filepath.Join(dir, "checkpoint")
	res := runObs(t, bin, env, pool.runArgs("--checkpoint", cp, "--report", filepath.Join(dir, "report.csv"),
		"--summary", filepath.Join(dir, "summary.json"), "--format", "json")...)
	var sum job.Summary
	oneJSON(t, "run", res.stdout, &sum)
	if res.code != 0 {
		t.Fatalf("run exit %d; stderr:\n%s", res.code, res.stderr)
	}
	// The format from the environment, as in a task definition; the
	// --format of the other commands has its own variable.
	md := runObs(t, bin, append(env, "COGNITO_MFA_MIGRATE_FORMAT=json", "COGNITO_MFA_MIGRATE_REPORT_FORMAT=markdown"),
		"report", "--input", pool.input, "--checkpoint", cp)
	for _, want := range []string{"# Legacy SMS MFA migration of " + cognitotest.DefaultPoolID + " (apply)", "| " + sum.RunID + " | ", " | completed | 0 | ", "<svg ", "<polyline "} {
		if md.code != 0 || !bytes.Contains(md.stdout, []byte(want)) {
			t.Errorf("report --format markdown = %d, want %q in:\n%s\nstderr: %s", md.code, want, md.stdout, md.stderr)
		}
	}
	out := filepath.Join(dir, "ticket.html")
	htm := runObs(t, bin, env, "report", "--input", pool.input, "--checkpoint", cp, "--format", "html", "--output", out)
	page := readFile(t, out)
	if htm.code != 0 || !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) || !bytes.Contains(page, []byte("<svg ")) || len(htm.stdout) != 0 {
		t.Errorf("report --format html --output = %d, stdout %q; file:\n%s", htm.code, htm.stdout, page)
	}
}
