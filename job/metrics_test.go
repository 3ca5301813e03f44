package job

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// emfUnits are the units the EMF specification's JSON schema allows.
var emfUnits = regexp.MustCompile(`^(Seconds|Microseconds|Milliseconds|Bytes|Kilobytes|Megabytes|Gigabytes|Terabytes|Bits|Kilobits|Megabits|Gigabits|Terabits|Percent|Count|Bytes/Second|Kilobytes/Second|Megabytes/Second|Gigabytes/Second|Terabytes/Second|Bits/Second|Kilobits/Second|Megabits/Second|Gigabits/Second|Terabits/Second|Count/Second|None)$`)

// validateEMF checks one log event against the CloudWatch Embedded Metric
// Format specification and returns what is wrong with it: the root is a
// JSON object with an _aws member holding an integer Timestamp and a
// CloudWatchMetrics array of directives; each directive has a Namespace
// (1–255 characters), Dimensions (at least one set of at most 9 names, each
// a root member with a string value) and at most 100 Metrics, each with a
// Name that is a root member holding a number (or an array of at most 100
// numbers) and a valid Unit; the objects have no members the specification
// does not define.
func validateEMF(line []byte) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	var root map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return []string{"not a JSON object: " + err.Error()}
	}
	if dec.More() {
		fail("data after the JSON object")
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(root["_aws"], &meta); err != nil || meta == nil {
		return append(bad, "no _aws object")
	}
	for k := range meta {
		if k != "Timestamp" && k != "CloudWatchMetrics" {
			fail("_aws has an unknown member %q", k)
		}
	}
	var ts json.Number
	if err := json.Unmarshal(meta["Timestamp"], &ts); err != nil {
		fail("_aws.Timestamp is not a number: %s", meta["Timestamp"])
	} else if _, err := ts.Int64(); err != nil {
		fail("_aws.Timestamp %s is not an integer of milliseconds", ts)
	}
	var dirs []map[string]json.RawMessage
	if err := json.Unmarshal(meta["CloudWatchMetrics"], &dirs); err != nil || len(dirs) == 0 {
		return append(bad, "_aws.CloudWatchMetrics is not a non-empty array of objects")
	}
	isString := func(raw json.RawMessage) bool {
		var s string
		return json.Unmarshal(raw, &s) == nil
	}
	isNumbers := func(raw json.RawMessage) bool {
		var n float64
		if json.Unmarshal(raw, &n) == nil {
			return true
		}
		var ns []float64
		return json.Unmarshal(raw, &ns) == nil && len(ns) <= 100
	}
	for i, d := range dirs {
		for k := range d {
			if k != "Namespace" && k != "Dimensions" && k != "Metrics" {
				fail("directive %d has an unknown member %q", i, k)
			}
		}
		var ns string
		if err := json.Unmarshal(d["Namespace"], &ns); err != nil || len(ns) < 1 || len(ns) > 255 {
			fail("directive %d: Namespace %s is not a string of 1 to 255 characters", i, d["Namespace"])
		}
		var dims [][]string
		if err := json.Unmarshal(d["Dimensions"], &dims); err != nil || len(dims) == 0 {
			fail("directive %d: Dimensions %s is not a non-empty array of dimension sets", i, d["Dimensions"])
		}
		for _, set := range dims {
			if len(set) > 9 {
				fail("directive %d: dimension set %v has more than 9 names", i, set)
			}
			for _, name := range set {
				if raw, ok := root[name]; !ok || !isString(raw) {
					fail("directive %d: dimension %q is not a root member with a string value", i, name)
				}
			}
		}
		var metrics []map[string]json.RawMessage
		if err := json.Unmarshal(d["Metrics"], &metrics); err != nil {
			fail("directive %d: Metrics is not an array of objects", i)
		}
		if len(metrics) > 100 {
			fail("directive %d: %d metrics, more than 100", i, len(metrics))
		}
		for _, m := range metrics {
			var name, unit string
			for k := range m {
				if k != "Name" && k != "Unit" && k != "StorageResolution" {
					fail("metric definition has an unknown member %q", k)
				}
			}
			if err := json.Unmarshal(m["Name"], &name); err != nil || len(name) < 1 || len(name) > 255 {
				fail("metric Name %s is not a string of 1 to 255 characters", m["Name"])
				continue
			}
			if raw, ok := m["Unit"]; ok {
				if json.Unmarshal(raw, &unit) != nil || !emfUnits.MatchString(unit) {
					fail("metric %q: Unit %s is not a CloudWatch unit", name, raw)
				}
			}
			if raw, ok := root[name]; !ok || !isNumbers(raw) {
				fail("metric %q has no numeric value on the root: %s", name, root[name])
			}
		}
	}
	return bad
}

// TestValidateEMF checks the validator on the specification's own example
// and on documents that break each rule, so that the tests using it can
// fail.
func TestValidateEMF(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"spec example", `{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"lambda-function-metrics","Dimensions":[["functionVersion"]],"Metrics":[{"Name":"time","Unit":"Milliseconds"}]}]},"functionVersion":"$LATEST","time":100,"requestId":"989ffbf8"}`, true},
		{"array value", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"t"}]}]},"t":[1,2,3]}`, true},
		{"no _aws", `{"time":100}`, false},
		{"not JSON", `time=100`, false},
		{"trailing data", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[]}]}} x`, false},
		{"timestamp in seconds with fraction", `{"_aws":{"Timestamp":1.5,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[]}]}}`, false},
		{"no namespace", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Dimensions":[[]],"Metrics":[]}]}}`, false},
		{"no dimension sets", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[],"Metrics":[]}]}}`, false},
		{"dimension missing", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["d"]],"Metrics":[]}]}}`, false},
		{"dimension not a string", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["d"]],"Metrics":[]}]},"d":3}`, false},
		{"metric value missing", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"t"}]}]}}`, false},
		{"metric value a string", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"t"}]}]},"t":"1"}`, false},
		{"metric value nested", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"a.b"}]}]},"a":{"b":1}}`, false},
		{"bad unit", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"t","Unit":"Requests"}]}]},"t":1}`, false},
		{"unknown member", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[],"Extra":1}]}}`, false},
		{"too many metrics", func() string {
			var defs, vals []string
			for i := range 101 {
				defs = append(defs, fmt.Sprintf(`{"Name":"m%d"}`, i))
				vals = append(vals, fmt.Sprintf(`"m%d":1`, i))
			}
			return `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[` + strings.Join(defs, ",") + `]}]},` + strings.Join(vals, ",") + `}`
		}(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := validateEMF([]byte(tt.doc))
			if (len(bad) == 0) != tt.ok {
				t.Errorf("validateEMF(%s) = %q, want valid %v", tt.doc, bad, tt.ok)
			}
		})
	}
}

// emfDocs parses and validates the EMF lines in out.
func emfDocs(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var docs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if bad := validateEMF(sc.Bytes()); len(bad) > 0 {
			t.Fatalf("EMF line %s:\n  %s", sc.Bytes(), strings.Join(bad, "\n  "))
		}
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	return docs
}

// emfSums adds up the values of every metric over docs.
func emfSums(docs []map[string]any) map[string]float64 {
	sums := map[string]float64{}
	for _, doc := range docs {
		for _, d := range doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any) {
			for _, m := range d.(map[string]any)["Metrics"].([]any) {
				name := m.(map[string]any)["Name"].(string)
				sums[name] += doc[name].(float64)
			}
		}
	}
	return sums
}

// TestEMFAddsUpToSummary runs the job twice over the real SDK client
// against the fake Cognito with faults injected (a slice cut by --max-users,
// then the rest), writes EMF every snapshot, and checks that every line
// follows the specification and that the counts of each run's lines add up
// to that run's summary: rows per outcome, and calls, retries, throttles and
// errors per operation.
func TestEMFAddsUpToSummary(t *testing.T) {
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	seeds := cognitotest.Mix(300, 7)
	if err := srv.AddSeeds(cognitotest.DefaultPoolID, seeds); err != nil {
		t.Fatal(err)
	}
	srv.SetFaults("", cognitotest.Faults{Error500: 0.05, Seed: 3})
	srv.ThrottleNext("AdminGetUser", 4)
	var csv strings.Builder
	csv.WriteString("username\n")
	for _, s := range seeds {
		csv.WriteString(s.User.Username + "\n")
	}
	in := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(in, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	for i, maxUsers := range []int{120, 0} {
		t.Run(fmt.Sprintf("run%d", i+1), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.UserPoolID, cfg.Input, cfg.MaxUsers = cognitotest.DefaultPoolID, in, maxUsers
			cfg.ReadRPS, cfg.WriteRPS = 3000, 1500
			cfg.Retry = cognito.RetryOptions{MaxBackoff: 5 * time.Millisecond}
			cfg.ProgressInterval = 10 * time.Millisecond
			var out bytes.Buffer
			runID := NewRunID()
			emf := NewEMF(&out, cfg.UserPoolID, cfg.Mode(), runID, 25*time.Millisecond)
			sum, err := Run(t.Context(), cfg, Deps{
				Cognito: cognito.NewClient(srv.Config(), cfg.Retry), Store: checkpoint.NewFile(cfg.CheckpointLocation()),
				OnProgress: emf.Observe, RunID: runID,
			})
			if sum == nil {
				t.Fatalf("Run: no summary, error %v", err)
			}
			if emf.Err() != nil {
				t.Fatal(emf.Err())
			}
			if sum.RunID != runID {
				t.Errorf("summary run_id = %q, want the Deps.RunID %q", sum.RunID, runID)
			}
			docs := emfDocs(t, out.Bytes())
			if len(docs) < 2 || docs[len(docs)-1]["Final"] != true {
				t.Fatalf("%d EMF lines; want several, the last one final:\n%s", len(docs), out.String())
			}
			for _, doc := range docs {
				if doc["RunId"] != runID || doc[dimensionPool] != cfg.UserPoolID || doc[dimensionMode] != "apply" {
					t.Fatalf("EMF line identifies run %v pool %v mode %v, want %s %s apply", doc["RunId"], doc[dimensionPool], doc[dimensionMode], runID, cfg.UserPoolID)
				}
			}
			sums := emfSums(docs)
			want := map[string]float64{"Rows": float64(sum.ThisRun.Rows)}
			for _, o := range allOutcomes() {
				if o != outcomeWouldMigrate {
					want["Rows."+o.String()] = float64(sum.ThisRun.Outcomes[o.String()])
				}
			}
			for op, c := range sum.Calls {
				want[op+".Calls"] = float64(c.Calls)
				want[op+".Retries"] = float64(c.Retries)
				want[op+".Throttles"] = float64(c.Throttled)
				want[op+".Errors"] = float64(c.Errors)
			}
			for name, w := range want {
				if sums[name] != w {
					t.Errorf("sum of %s over %d EMF lines = %v, want the summary's %v", name, len(docs), sums[name], w)
				}
			}
			if last := docs[len(docs)-1]["RemainingRows"]; last != float64(sum.Remaining) {
				t.Errorf("final RemainingRows = %v, want the summary's %d", last, sum.Remaining)
			}
			if i == 0 && (sum.Calls["AdminGetUser"].Throttled == 0 || sum.Calls["AdminGetUser"].Retries == 0) {
				t.Errorf("first run saw %+v AdminGetUser calls: want throttles and retries, or the test proves little", sum.Calls["AdminGetUser"])
			}
		})
	}
}

// TestEMFInterval checks when documents are written: once an interval has
// passed on the run's clock, and always at the final snapshot.
func TestEMFInterval(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		elapsed  []time.Duration // snapshots; the last is final
		want     int
	}{
		{"every snapshot", 0, []time.Duration{1, 2, 3}, 3},
		{"final only", time.Minute, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, 1},
		{"per interval and final", time.Second, []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2100 * time.Millisecond, 2500 * time.Millisecond}, 3},
		{"final right after a document", time.Second, []time.Duration{time.Second, time.Second + time.Millisecond}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			e := NewEMF(&out, "us-east-1_X", "apply", "r", tt.interval)
			for i, el := range tt.elapsed {
				e.Observe(Progress{Elapsed: el, Rows: 10, ThisRun: int64(i), Final: i == len(tt.elapsed)-1})
			}
			if got := strings.Count(out.String(), "\n"); got != tt.want || e.Lines() != tt.want {
				t.Errorf("documents written = %d (Lines %d), want %d:\n%s", got, e.Lines(), tt.want, out.String())
			}
		})
	}
}

// TestEMFCountsNeverNegative feeds snapshots whose retries dip (a call is
// counted before its first attempt) and checks that no document has a
// negative count and that the documents add up to the final figure.
func TestEMFCountsNeverNegative(t *testing.T) {
	snaps := []cognito.OpStats{
		{Calls: 10, Attempts: 13, Retries: 3},
		{Calls: 20, Attempts: 21, Retries: 1}, // ten calls in flight, not attempted yet
		{Calls: 30, Attempts: 35, Retries: 5},
	}
	var out bytes.Buffer
	e := NewEMF(&out, "us-east-1_X", "apply", "r", 0)
	for i, s := range snaps {
		p := Progress{Elapsed: time.Duration(i+1) * time.Second, Final: i == len(snaps)-1}
		p.Calls[cognito.OpAdminGetUser] = s
		e.Observe(p)
	}
	docs := emfDocs(t, out.Bytes())
	var total float64
	for i, doc := range docs {
		v := doc["AdminGetUser.Retries"].(float64)
		if v < 0 {
			t.Errorf("document %d: AdminGetUser.Retries = %v, want >= 0", i, v)
		}
		total += v
	}
	if total != 5 {
		t.Errorf("sum of AdminGetUser.Retries = %v, want the final 5", total)
	}
	if _, ok := docs[0]["AdminSetUserMFAPreference.Calls"]; ok {
		t.Error("an operation never called has metrics, want none")
	}
}

// TestEMFWriteError checks that a failing writer neither stops nor panics
// the caller, and that the first error is kept.
func TestEMFWriteError(t *testing.T) {
	w := &failingWriter{err: errors.New("broken pipe")}
	e := NewEMF(w, "us-east-1_X", "apply", "r", 0)
	e.Observe(Progress{Elapsed: time.Second})
	e.Observe(Progress{Elapsed: 2 * time.Second, Final: true})
	if !errors.Is(e.Err(), w.err) {
		t.Errorf("Err() = %v, want it to wrap %v", e.Err(), w.err)
	}
	if w.calls != 1 {
		t.Errorf("writes after an error = %d, want 1 (none after the first failure)", w.calls)
	}
}

type failingWriter struct {
	err   error
	calls int
}

func (w *failingWriter) Write([]byte) (int, error) {
	w.calls++
	return 0, w.err
}
