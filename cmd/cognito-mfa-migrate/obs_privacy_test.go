package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gocarina/gocsv"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// TestOperatorOutput runs the built command against the fake Cognito in
// every output mode an operator meets (JSON off a terminal, text, debug,
// --no-mask, a fatal error, stderr on a terminal) and checks its whole
// stdout and stderr: no phone
// number of the seeded users, no credential value, no username (nothing is
// logged per user), no terminal control sequence; in JSON mode every line
// is a JSON object carrying the run ID and the pool ID; the EMF metrics on
// stdout are well formed and add up to the summary.
func TestOperatorOutput(t *testing.T) {
	bin := binary(t) // built once for the package (e2e_harness_test.go)
	env := obsEnv(t)
	pool := newObsPool(t, 200)

	tests := []struct {
		name    string
		args    []string
		format  string // what stderr must be: json or text
		metrics bool
		setup   func()
	}{
		{
			name: "json off a terminal, with metrics",
			// 200 users at 300 reads/s last at least 0.66 s: several 100 ms intervals.
			args:    []string{"--metrics", "emf", "--metrics-interval", "100ms", "--progress-interval", "50ms", "--read-rps", "300"},
			format:  "json",
			metrics: true,
			setup:   func() { pool.srv.ThrottleNext("AdminGetUser", 2) },
		},
		{name: "text", args: []string{"--log-format", "text", "--progress", "log", "--progress-interval", "50ms"}, format: "text"},
		{name: "json debug", args: []string{"--log-level", "debug"}, format: "json"},
		{name: "text debug", args: []string{"--log-format", "text", "--log-level", "debug", "--dry-run"}, format: "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			dir := t.TempDir()
			summary, report := filepath.Join(dir, "summary.json"), filepath.Join(dir, "report.csv")
			args := pool.runArgs(append([]string{"--checkpoint", filepath.Join(dir, "checkpoint"),
				"--report", report, "--summary", summary}, tt.args...)...)
			res := runObs(t, bin, env, args...)
			if res.code != 0 {
				t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
			}
			checkPrivate(t, res, pool.phones(), usernames(pool.seeds))
			sum := readSummary(t, summary)
			checkLogLines(t, res.stderr, tt.format, sum.RunID)
			if tt.metrics {
				checkEMFAddsUp(t, res.stdout, sum)
			} else if len(res.stdout) > 0 {
				t.Errorf("stdout without --metrics = %q, want nothing", res.stdout)
			}
			for _, r := range readReportRows(t, report) {
				if r.Phone != "" && !regexp.MustCompile(`^\+\d\*{6}\d{4}$|^\*{6}$`).MatchString(r.Phone) {
					t.Errorf("report row %d phone = %q, want it masked like +1******0123", r.Line, r.Phone)
				}
			}
		})
	}

	t.Run("bar on a terminal", func(t *testing.T) { testProgressOnTerminal(t, bin, env, pool) })

	t.Run("no-mask shows phones in the report only", func(t *testing.T) {
		dir := t.TempDir()
		cp, report := filepath.Join(dir, "checkpoint"), filepath.Join(dir, "report.csv")
		res := runObs(t, bin, env, pool.runArgs("--checkpoint", cp, "--report", report,
			"--summary", filepath.Join(dir, "summary.json"), "--no-mask", "--log-level", "debug")...)
		if res.code != 0 {
			t.Fatalf("exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
		}
		checkPrivate(t, res, pool.phones(), usernames(pool.seeds))
		if !bytes.Contains(res.stderr, []byte("--no-mask")) {
			t.Errorf("stderr has no --no-mask warning:\n%s", res.stderr)
		}
		want := map[string]string{}
		for _, s := range pool.seeds {
			if ph := s.User.Attributes["phone_number"]; s.InPool && ph != "" {
				want[s.User.Username] = ph
			}
		}
		checkReportPhones(t, "run --no-mask", readReportRows(t, report), want, true)

		for _, noMask := range []bool{false, true} {
			out := filepath.Join(dir, fmt.Sprintf("rebuilt-%v.csv", noMask))
			args := []string{"report", "--input", pool.input, "--checkpoint", cp, "--output", out}
			if noMask {
				args = append(args, "--no-mask")
			}
			res := runObs(t, bin, env, args...)
			if res.code != 0 {
				t.Fatalf("report exit code %d, want 0; stderr:\n%s", res.code, res.stderr)
			}
			checkPrivate(t, res, pool.phones(), nil)
			checkReportPhones(t, strings.Join(args[:1], " ")+fmt.Sprintf(" (no-mask %v)", noMask), readReportRows(t, out), want, noMask)
		}
	})

	// A fatal error whose message quotes a phone number, a security token
	// and an Authorization header (as a proxy echoing the request might).
	for _, format := range []string{"json", "text"} {
		t.Run("fatal error "+format, func(t *testing.T) {
			bad := newObsPool(t, 20)
			leak := "+14155550100"
			bad.srv.SetAuthError("AccessDeniedException", "denied for "+leak+"; X-Amz-Security-Token: "+obsSessionToken+
				"; Authorization: AWS4-HMAC-SHA256 Credential="+obsAccessKeyID+"/20250101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0123abcd")
			res := runObs(t, bin, env, bad.runArgs("--log-format", format)...)
			if res.code != 1 {
				t.Fatalf("exit code %d, want 1; stderr:\n%s", res.code, res.stderr)
			}
			checkPrivate(t, res, append(bad.phones(), leak, "4155550100", "0123abcd"), usernames(bad.seeds))
			runID := checkLogLines(t, res.stderr, format, "")
			failed := 0
			for line := range strings.SplitSeq(strings.TrimSpace(string(res.stderr)), "\n") {
				if strings.Contains(line, "run failed") {
					failed++
					if !strings.Contains(line, "ERROR") || !strings.Contains(line, "fix") || !strings.Contains(line, runID) {
						t.Errorf("fatal error line = %s, want level ERROR, a fix and run_id %s", line, runID)
					}
				}
			}
			if failed != 1 {
				t.Errorf("%d \"run failed\" lines, want the fatal error logged once:\n%s", failed, res.stderr)
			}
		})
	}
}

// usernames returns the seeded usernames.
func usernames(seeds []cognitotest.Seed) []string {
	var out []string
	for _, s := range seeds {
		out = append(out, s.User.Username)
	}
	return out
}

// checkPrivate fails if the output holds a credential, one of phones, one
// of users, or a terminal control sequence.
func checkPrivate(t *testing.T, res obsResult, phones, users []string) {
	t.Helper()
	out := string(res.stdout) + string(res.stderr)
	for _, s := range []string{obsSecretKey, obsSessionToken, obsAccessKeyID} {
		if strings.Contains(out, s) {
			t.Errorf("output holds the credential %q:\n%s", s, out)
		}
	}
	for _, ph := range phones {
		if strings.Contains(out, ph) {
			t.Errorf("output holds the phone number %q", ph)
		}
	}
	for _, u := range users {
		if strings.Contains(out, u) {
			t.Errorf("output holds the username %q: something is logged per user", u)
		}
	}
	if i := strings.IndexAny(out, "\r\x1b"); i >= 0 {
		t.Errorf("output off a terminal holds a control sequence at byte %d: %q", i, out[max(i-20, 0):min(i+20, len(out))])
	}
}

// checkLogLines checks stderr: in JSON mode every line is a JSON object
// with level, msg, and the run's run_id and pool_id, and the summary is one
// record; in text mode every log line (time=...) carries run_id and
// pool_id, and the human summary is printed. It returns the run ID the
// lines carry; runID, if not "", is the one they must carry.
func checkLogLines(t *testing.T, stderr []byte, format, runID string) string {
	t.Helper()
	pool := cognitotest.DefaultPoolID
	summaries, logLines := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if format == "text" {
			if !strings.HasPrefix(line, "time=") {
				continue // the human summary
			}
			logLines++
			m := regexp.MustCompile(`\brun_id=(\S+)`).FindStringSubmatch(line)
			if m == nil || !strings.Contains(line, " pool_id="+pool) {
				t.Errorf("log line without run_id and pool_id=%s: %s", pool, line)
				continue
			}
			if runID == "" {
				runID = m[1]
			} else if m[1] != runID {
				t.Errorf("log line run_id=%s, want %s: %s", m[1], runID, line)
			}
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stderr line is not a JSON object (%v): %s", err, line)
			continue
		}
		logLines++
		id, _ := rec["run_id"].(string)
		if rec["level"] == nil || rec["msg"] == nil || id == "" || rec["pool_id"] != pool {
			t.Errorf("JSON log line without level, msg, run_id and pool_id %s: %s", pool, line)
		}
		if runID == "" {
			runID = id
		} else if id != runID {
			t.Errorf("JSON log line run_id %q, want %q: %s", id, runID, line)
		}
		if rec["msg"] == "summary" {
			summaries++
		}
	}
	if logLines == 0 {
		t.Errorf("no log lines in stderr:\n%s", stderr)
	}
	if format == "json" && summaries > 1 {
		t.Errorf("%d summary records, want at most one", summaries)
	}
	if format == "text" && !bytes.Contains(stderr, []byte("  rows: ")) && !bytes.Contains(stderr, []byte("run failed")) {
		t.Errorf("text mode without the human summary:\n%s", stderr)
	}
	return runID
}

// checkEMFAddsUp checks the EMF lines of stdout: the structure CloudWatch
// needs (namespace, dimensions and metrics whose values are on the root),
// and that their counts add up to the summary.
func checkEMFAddsUp(t *testing.T, stdout []byte, sum *job.Summary) {
	t.Helper()
	type directive struct {
		Namespace  string
		Dimensions [][]string
		Metrics    []struct{ Name, Unit string }
	}
	sums := map[string]float64{}
	lines := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(stdout)), "\n") {
		lines++
		var root map[string]json.RawMessage
		var meta struct {
			Timestamp         *int64
			CloudWatchMetrics []directive
		}
		if err := json.Unmarshal([]byte(line), &root); err != nil {
			t.Fatalf("metrics line is not a JSON object (%v): %s", err, line)
		}
		if err := json.Unmarshal(root["_aws"], &meta); err != nil || meta.Timestamp == nil || len(meta.CloudWatchMetrics) == 0 {
			t.Fatalf("metrics line without _aws.Timestamp and _aws.CloudWatchMetrics: %s", line)
		}
		for _, d := range meta.CloudWatchMetrics {
			if d.Namespace != job.MetricsNamespace || len(d.Dimensions) == 0 || len(d.Metrics) == 0 {
				t.Fatalf("metrics directive %+v: want namespace %s, dimensions and metrics", d, job.MetricsNamespace)
			}
			for _, set := range d.Dimensions {
				for _, name := range set {
					var v string
					if err := json.Unmarshal(root[name], &v); err != nil || v == "" {
						t.Errorf("dimension %s has no string value on the root: %s", name, line)
					}
				}
			}
			for _, m := range d.Metrics {
				var v float64
				if err := json.Unmarshal(root[m.Name], &v); err != nil {
					t.Errorf("metric %s has no numeric value on the root: %s", m.Name, line)
				}
				sums[m.Name] += v
			}
		}
	}
	want := map[string]float64{"Rows": float64(sum.ThisRun.Rows)}
	for o, n := range sum.ThisRun.Outcomes {
		want["Rows."+o] = float64(n)
	}
	for op, c := range sum.Calls {
		want[op+".Calls"], want[op+".Retries"] = float64(c.Calls), float64(c.Retries)
		want[op+".Throttles"], want[op+".Errors"] = float64(c.Throttled), float64(c.Errors)
	}
	for name, w := range want {
		if sums[name] != w {
			t.Errorf("sum of %s over %d metrics lines = %v, want the summary's %v", name, lines, sums[name], w)
		}
	}
	if lines < 2 {
		t.Errorf("%d metrics lines, want one per interval and a final one", lines)
	}
}

func readSummary(t *testing.T, path string) *job.Summary {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s job.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("summary %s: %v", path, err)
	}
	return &s
}

func readReportRows(t *testing.T, path string) []job.ReportRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []job.ReportRow
	if err := gocsv.Unmarshal(f, &rows); err != nil {
		t.Fatalf("report %s: %v", path, err)
	}
	return rows
}

// checkReportPhones checks the phone column of a report: the full number
// of every user of want when full, else a masked one with the same first
// and last digits.
func checkReportPhones(t *testing.T, what string, rows []job.ReportRow, want map[string]string, full bool) {
	t.Helper()
	seen := 0
	for _, r := range rows {
		ph, ok := want[r.Username]
		if !ok {
			continue
		}
		seen++
		w := job.MaskPhone(ph)
		if full {
			w = ph
		}
		if r.Phone != w {
			t.Errorf("%s: report phone of %s = %q, want %q", what, r.Username, r.Phone, w)
		}
	}
	if seen == 0 {
		t.Errorf("%s: no report row of a user with a phone", what)
	}
}
