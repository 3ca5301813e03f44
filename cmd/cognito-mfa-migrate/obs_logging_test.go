package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/smithy-go/logging"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
)

// phoneValuer is a slog.LogValuer whose value holds a phone number.
type phoneValuer struct{}

func (phoneValuer) LogValue() slog.Value { return slog.StringValue("call +14155550100") }

// TestMaskingHandler logs phone numbers and credentials through every kind
// of value and checks that none reaches the output, that JSON stays valid
// JSON and that numbers keep their exact value.
func TestMaskingHandler(t *testing.T) {
	const phone, token = "+14155550100", "FQoGZXIvYXdzEXAMPLETOKEN"
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var out bytes.Buffer
			log := newLogger(&out, format, "debug").With("pool_id", "us-east-1_X", "note", "was "+phone)
			log.Info("user "+phone+" failed",
				"error", fmt.Errorf("AccessDenied: X-Amz-Security-Token: %s", token),
				"state", map[string]any{"phone_number": phone, "latency_ms": 0.123456789012345, "count": int64(9007199254740993)},
				"valuer", phoneValuer{},
				slog.Group("g", "phone", phone, "auth", "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x, Signature=abc"),
			)
			got := out.String()
			for _, secret := range []string{phone, "4155550100", token, "AKIAIOSFODNN7EXAMPLE", "Signature=abc"} {
				if strings.Contains(got, secret) {
					t.Errorf("log output holds %q:\n%s", secret, got)
				}
			}
			if !strings.Contains(got, job.MaskPhone(phone)) {
				t.Errorf("log output has no masked phone %s:\n%s", job.MaskPhone(phone), got)
			}
			if format == "json" {
				var rec map[string]any
				dec := json.NewDecoder(strings.NewReader(got))
				dec.UseNumber()
				if err := dec.Decode(&rec); err != nil {
					t.Fatalf("JSON log line does not parse: %v\n%s", err, got)
				}
				state := rec["state"].(map[string]any)
				if state["latency_ms"] != json.Number("0.123456789012345") || state["count"] != json.Number("9007199254740993") {
					t.Errorf("numbers in a masked value = %v, %v; want them unchanged", state["latency_ms"], state["count"])
				}
			}
		})
	}
}

// TestTextLogMaps checks that a map in a text log line is printed as
// key=value pairs in key order, not as Go's map[...], and that its keys are
// scrubbed like its values.
func TestTextLogMaps(t *testing.T) {
	var out bytes.Buffer
	newLogger(&out, "text", "info").Info("progress",
		"outcomes", map[string]int64{"migrated": 3, "failed": 1},
		"by_user", map[string]string{"+14155550100": "x"})
	got := out.String()
	if !strings.Contains(got, " outcomes.failed=1 outcomes.migrated=3") {
		t.Errorf("text log = %q, want outcomes.failed=1 outcomes.migrated=3", got)
	}
	if strings.Contains(got, "map[") || strings.Contains(got, "4155550100") {
		t.Errorf("text log = %q, want no Go map syntax and no phone number", got)
	}
}

// TestConsole checks that a log line written while the bar is on screen
// blanks the bar line first, and only then.
func TestConsole(t *testing.T) {
	var out bytes.Buffer
	c := &console{w: &out}
	bar := c.barWriter()
	fmt.Fprint(bar, "\rmigrating  50% |██  |")
	fmt.Fprint(c, "level=WARN msg=throttled\n")
	fmt.Fprint(c, "level=INFO msg=next\n")
	fmt.Fprint(bar, "\rmigrating 100% |████|")
	fmt.Fprint(bar, "\n")
	fmt.Fprint(c, "level=INFO msg=done\n")
	want := "\rmigrating  50% |██  |" + "\r" + strings.Repeat(" ", 21) + "\r" + "level=WARN msg=throttled\n" +
		"level=INFO msg=next\n" + "\rmigrating 100% |████|\n" + "level=INFO msg=done\n"
	if got := out.String(); got != want {
		t.Errorf("console output =\n%q\nwant\n%q", got, want)
	}
}

// TestConsoleConcurrent writes bar updates and log lines from several
// goroutines (run it with -race): every log line arrives whole.
func TestConsoleConcurrent(t *testing.T) {
	var out bytes.Buffer
	c := &console{w: &out}
	log := newLogger(c, "json", "info")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				log.Info("line", "writer", i, "n", j)
				fmt.Fprintf(c.barWriter(), "\r%3d%%", j)
			}
		})
	}
	wg.Wait()
	lines := 0
	for _, chunk := range strings.Split(out.String(), "\n") {
		if i := strings.Index(chunk, "{"); i >= 0 {
			var rec map[string]any
			if err := json.Unmarshal([]byte(chunk[i:]), &rec); err != nil {
				t.Fatalf("log line cut by the bar: %q", chunk)
			}
			lines++
		}
	}
	if lines != 200 {
		t.Errorf("%d whole log lines, want 200", lines)
	}
}

// TestSDKLogger checks that the AWS SDK's own log entries go through the
// command's logger: scrubbed, at the matching level, marked as the SDK's.
func TestSDKLogger(t *testing.T) {
	var out bytes.Buffer
	l := sdkLogger{newLogger(&out, "json", "debug")}
	l.Logf(logging.Warn, "retrying request with X-Amz-Security-Token=%s", "SECRETTOKEN")
	l.Logf(logging.Debug, "Response has no supported checksum. Not validating response payload.")
	recs := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2:\n%s", len(recs), out.String())
	}
	for i, want := range []string{"WARN", "DEBUG"} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(recs[i]), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["level"] != want || rec["source"] != "aws-sdk" {
			t.Errorf("record %d = %v, want level %s and source aws-sdk", i, rec, want)
		}
	}
	if strings.Contains(out.String(), "SECRETTOKEN") {
		t.Errorf("SDK log line holds the token:\n%s", out.String())
	}
}

// TestEndRun checks how a run's end is shown in each mode: the summary once
// (text, or one JSON record), a fatal error logged once at ERROR with its
// fix, and which errors run still has to print.
func TestEndRun(t *testing.T) {
	sum := &job.Summary{RunID: "r1", PoolID: "us-east-1_X", Mode: "apply", StopReason: job.StopCompleted, Outcomes: map[string]int64{"migrated": 3}}
	fatal := &cognito.FatalError{Op: "AdminGetUser", Code: "AccessDeniedException", Err: errors.New("api error AccessDeniedException: denied")}
	stopped := fmt.Errorf("%w (max-duration)", job.ErrStopped)
	tests := []struct {
		name      string
		format    string
		sum       *job.Summary
		err       error
		wantShown bool     // run must not print the error again
		wantOut   []string // substrings of the output
		records   int      // JSON records (json mode)
	}{
		{"json success", "json", sum, nil, false, []string{`"msg":"summary"`, `"migrated":3`}, 1},
		{"json fatal", "json", sum, fatal, true, []string{`"msg":"summary"`, `"level":"ERROR","msg":"run failed"`, `"fix":"the credentials are not allowed`}, 2},
		{"json fatal before the run", "json", nil, fatal, true, []string{`"msg":"run failed"`}, 1},
		{"json stopped", "json", sum, stopped, true, []string{`"msg":"summary"`}, 1},
		{"text success", "text", sum, nil, false, []string{"apply of", "outcomes: migrated 3"}, 0},
		{"text fatal", "text", sum, fatal, true, []string{"apply of", `level=ERROR msg="run failed"`, `fix="the credentials`}, 0},
		{"text stopped", "text", sum, stopped, false, []string{"apply of"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			log := newLogger(&out, tt.format, "info")
			err := endRun(log, &out, tt.format, tt.sum, tt.err)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("endRun error = %v, want %v", err, tt.err)
			}
			if isShown(err) != tt.wantShown {
				t.Errorf("isShown = %v, want %v", isShown(err), tt.wantShown)
			}
			if tt.err != nil && job.ExitCode(err) != job.ExitCode(tt.err) {
				t.Errorf("exit code %d, want %d", job.ExitCode(err), job.ExitCode(tt.err))
			}
			got := out.String()
			for _, w := range tt.wantOut {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			if tt.format == "json" {
				n := 0
				for line := range strings.SplitSeq(strings.TrimSpace(got), "\n") {
					if !json.Valid([]byte(line)) {
						t.Errorf("not a JSON line: %s", line)
					}
					n++
				}
				if n != tt.records {
					t.Errorf("%d JSON records, want %d:\n%s", n, tt.records, got)
				}
			}
		})
	}
}
