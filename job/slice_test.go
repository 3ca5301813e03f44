package job

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint/checkpointtest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// sliceEnv is a synthetic pool (every name is a legacy SMS user) and a
// plain input of n usernames.
type sliceEnv struct {
	srv *cognitotest.Server
	dir string
	in  string
}

func newSliceEnv(t *testing.T, n int) *sliceEnv {
	t.Helper()
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetUserSource(testPool, resumeBenchUser)
	e := &sliceEnv{srv: srv, dir: t.TempDir()}
	e.in = filepath.Join(e.dir, "users.csv")
	writeUsers(t, e.in, n, "u")
	return e
}

// writeUsers writes a plain CSV of n usernames prefix-0000000...
func writeUsers(t *testing.T, path string, n int, prefix string) {
	t.Helper()
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	fmt.Fprintln(w, "username")
	for i := range n {
		fmt.Fprintf(w, "%s-%07d\n", prefix, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (e *sliceEnv) config() Config {
	cfg := runConfig(e.in)
	cfg.TempDir = e.dir
	return cfg
}

// run runs cfg and returns the summary, the error and the log.
func (e *sliceEnv) run(t *testing.T, cfg Config, files Files, store checkpoint.Store) (*Summary, error, string) {
	t.Helper()
	var logs syncBuffer
	if store == nil {
		store = checkpoint.NewFile(cfg.CheckpointLocation())
	}
	sum, err := Run(t.Context(), cfg, Deps{Cognito: cognito.NewClient(e.srv.Config(), cfg.Retry), Store: store, Files: files,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Host: "test"})
	return sum, err, logs.String()
}

const cacheHit = "input scan taken from the cache"

// TestScanCache: the first slice stores the scan next to the checkpoint,
// the next slices use it; a damaged cache costs a scan; an input replaced
// by another of the same size and time is not taken for the first one.
func TestScanCache(t *testing.T) {
	e := newSliceEnv(t, 600)
	cfg := e.config()
	cfg.MaxUsers = 100

	_, err, logs := e.run(t, cfg, Files{}, nil)
	if ExitCode(err) != 4 || strings.Contains(logs, cacheHit) {
		t.Fatalf("first slice: %v, cache used %v; want exit 4 and a scan", err, strings.Contains(logs, cacheHit))
	}
	if _, err := os.Stat(cfg.ScanCacheLocation()); err != nil {
		t.Fatalf("no scan cache after the first slice: %v", err)
	}
	_, err, logs = e.run(t, cfg, Files{}, nil)
	if ExitCode(err) != 4 || !strings.Contains(logs, cacheHit) {
		t.Fatalf("second slice: %v, cache used %v; want exit 4 from the cache", err, strings.Contains(logs, cacheHit))
	}

	if err := os.WriteFile(cfg.ScanCacheLocation(), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err, logs = e.run(t, cfg, Files{}, nil)
	if ExitCode(err) != 4 || strings.Contains(logs, cacheHit) {
		t.Fatalf("slice over a damaged cache: %v, cache used %v; want a new scan", err, strings.Contains(logs, cacheHit))
	}
	_, err, logs = e.run(t, cfg, Files{}, nil)
	if !strings.Contains(logs, cacheHit) {
		t.Fatalf("slice after the damaged cache was rewritten: %v, want the cache used", err)
	}

	// Another file, same size and same modification time, in the input's
	// place: its rows are other users. The cache must not vouch for it.
	fi, err := os.Stat(e.in)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(e.dir, "other.csv")
	writeUsers(t, other, 600, "v")
	if err := os.Chtimes(other, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, e.in); err != nil {
		t.Fatal(err)
	}
	_, err, logs = e.run(t, cfg, Files{}, nil)
	if err == nil || strings.Contains(logs, cacheHit) || !strings.Contains(err.Error(), "input") {
		t.Fatalf("slice over a replaced input: %v, cache used %v; want the checkpoint's identity check to refuse it after a scan", err, strings.Contains(logs, cacheHit))
	}
}

// TestScanCacheS3: with the input and the checkpoint in S3, the cache is an
// object next to the checkpoint, keyed by the input's ETag.
func TestScanCacheS3(t *testing.T) {
	e := newSliceEnv(t, 600)
	_, s3c := checkpointtest.FakeS3(t, "jobs")
	files := Files{S3: s3c}
	data, err := os.ReadFile(e.in)
	if err != nil {
		t.Fatal(err)
	}
	put := func(body []byte) {
		t.Helper()
		if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("jobs"), Key: aws.String("in/users.csv"), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	put(data)
	cfg := e.config()
	cfg.Input, cfg.Checkpoint = "s3://jobs/in/users.csv", "s3://jobs/state/checkpoint"
	cfg.Report, cfg.Summary = filepath.Join(e.dir, "r.csv"), filepath.Join(e.dir, "s.json")
	cfg.MaxUsers = 100
	store := checkpoint.NewS3(s3c, "jobs", "state/checkpoint")

	if _, err, logs := e.run(t, cfg, files, store); ExitCode(err) != 4 || strings.Contains(logs, cacheHit) {
		t.Fatalf("first slice: %v", err)
	}
	if _, err := s3c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("jobs"), Key: aws.String("state/checkpoint.scan")}); err != nil {
		t.Fatalf("no scan cache object next to the checkpoint: %v", err)
	}
	if _, err, logs := e.run(t, cfg, files, store); ExitCode(err) != 4 || !strings.Contains(logs, cacheHit) {
		t.Fatalf("second slice: %v, cache used %v", err, strings.Contains(logs, cacheHit))
	}
	// A new object (new ETag) with other users: scanned again, refused.
	put(bytes.ReplaceAll(data, []byte("u-"), []byte("w-")))
	if _, err, logs := e.run(t, cfg, files, store); err == nil || strings.Contains(logs, cacheHit) {
		t.Fatalf("slice over a replaced input object: %v, cache used %v; want a scan and a refusal", err, strings.Contains(logs, cacheHit))
	}
}

// TestSliceStartsAtFirstPending resumes a job whose first 66,000 of 70,000
// rows are done: the dispatcher starts reading at the scan's mark before
// row 66,000 (input.MarkEvery), and the rows it processes are the right users, with
// the right lines in the report.
func TestSliceStartsAtFirstPending(t *testing.T) {
	if testing.Short() {
		t.Skip("70,000-row input")
	}
	const rows, done = 70_000, 66_000
	e := newSliceEnv(t, rows)
	cfg := e.config()
	cfg.MaxUsers = 50
	cfg.InterimReport = InterimReportAlways

	data, err := os.ReadFile(cfg.Input)
	if err != nil {
		t.Fatal(err)
	}
	state := sliceCheckpointFor(t, cfg, data, rows, done)
	if err := os.WriteFile(cfg.CheckpointLocation(), state, 0o600); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetStats()
	sum, err, _ := e.run(t, cfg, Files{}, nil)
	if ExitCode(err) != 4 || sum.ThisRun.Rows != 50 {
		t.Fatalf("slice: %v, %d rows; want 50 rows, exit 4", err, sum.ThisRun.Rows)
	}
	for _, r := range e.srv.Requests("AdminGetUser") {
		var name string
		if i := bytes.Index(r.Body, []byte(`"Username":"`)); i >= 0 {
			name = string(r.Body[i+12 : i+12+9])
		}
		var n int
		if _, err := fmt.Sscanf(name, "u-%07d", &n); err != nil || n < done || n >= done+50 {
			t.Errorf("read %q, want one of rows %d..%d", name, done, done+49)
		}
	}
	report := readReport(t, cfg.ReportLocation())
	if len(report) != rows {
		t.Fatalf("report has %d rows, want %d", len(report), rows)
	}
	for i := done; i < done+50; i++ {
		r := report[i]
		if r.Line != i+2 || r.Username != fmt.Sprintf("u-%07d", i) || r.Outcome != outcomeMigrated.String() {
			t.Errorf("report row %d = line %d %s %s, want line %d u-%07d migrated", i, r.Line, r.Username, r.Outcome, i+2, i)
		}
	}
	if r := report[done+50]; r.Outcome != outcomePending.String() {
		t.Errorf("row %d = %s, want pending", done+50, r.Outcome)
	}
}

// sliceCheckpointFor returns the checkpoint of cfg's job over data with its
// first done rows finished.
func sliceCheckpointFor(t *testing.T, cfg Config, data []byte, rows, done int) []byte {
	t.Helper()
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	now := time.Now().UTC()
	st := &checkpoint.State{
		Identity: checkpoint.Identity{PoolID: cfg.UserPoolID, InputSHA256: sum, Mode: cfg.Mode(), Flags: cfg.identityFlags()},
		Rows:     make([]uint32, rows),
		Notes:    map[int]string{},
		Stats:    map[string]int64{},
		Counts:   map[string]int64{outcomePending.String(): int64(rows - done), outcomeAlreadyMigrated.String(): int64(done)},
		Created:  now, Updated: now,
	}
	s := userState{Found: true, Enabled: true, LegacySMS: true, SMS: true, Preferred: mfaSMS, Phone: "+1******0100"}
	for i := range done {
		st.Rows[i] = encodeRow(outcomeAlreadyMigrated, &s)
	}
	out, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInterimReport: with --interim-report end a stopped slice leaves the
// report to the end of the job and says so; the run that finishes the job
// writes it whole; and if the report is lost after the job ended (a crash
// before it was written), the next run writes it from the checkpoint.
func TestInterimReport(t *testing.T) {
	e := newSliceEnv(t, 600)
	cfg := e.config()
	cfg.MaxUsers = 250
	cfg.InterimReport = InterimReportEnd

	sum, err, logs := e.run(t, cfg, Files{}, nil)
	if ExitCode(err) != 4 {
		t.Fatalf("slice: %v", err)
	}
	if _, err := os.Stat(cfg.ReportLocation()); !os.IsNotExist(err) {
		t.Errorf("a stopped slice with --interim-report end wrote the report (stat: %v)", err)
	}
	if !strings.Contains(sum.ReportNote, "written when the job ends") || !strings.Contains(sum.ReportNote, "cognito-mfa-migrate report") ||
		!strings.Contains(logs, "report not written") {
		t.Errorf("summary note %q; want it to say when the report is written and how to rebuild it", sum.ReportNote)
	}
	var text strings.Builder
	_ = sum.WriteText(&text)
	if !strings.Contains(text.String(), "written when the job ends") {
		t.Errorf("human summary does not say the report was not written:\n%s", text.String())
	}

	cfg.MaxUsers = 0
	if _, err, _ := e.run(t, cfg, Files{}, nil); err != nil {
		t.Fatalf("final run: %v", err)
	}
	rep := readReport(t, cfg.ReportLocation())
	if len(rep) != 600 {
		t.Fatalf("report after the job ended has %d rows, want 600", len(rep))
	}
	for _, r := range rep {
		if r.Outcome != outcomeMigrated.String() {
			t.Fatalf("row %d: %s, want migrated", r.Line, r.Outcome)
		}
	}
	if err := os.Remove(cfg.ReportLocation()); err != nil {
		t.Fatal(err)
	}
	if sum, err, _ := e.run(t, cfg, Files{}, nil); err != nil || sum.StopReason != StopNothingLeft {
		t.Fatalf("run after the end: %v, want nothing left", err)
	}
	if got := len(readReport(t, cfg.ReportLocation())); got != 600 {
		t.Errorf("report rewritten after the end has %d rows, want 600", got)
	}

	t.Run("auto on a small job writes it", func(t *testing.T) {
		e := newSliceEnv(t, 300)
		cfg := e.config()
		cfg.MaxUsers = 10
		sum, err, _ := e.run(t, cfg, Files{}, nil)
		if ExitCode(err) != 4 || sum.ReportNote != "" || len(readReport(t, cfg.ReportLocation())) != 300 {
			t.Errorf("auto, 300 rows: %v, note %q; want the report written", err, sum.ReportNote)
		}
	})
}

func TestInterimReportRule(t *testing.T) {
	for _, tt := range []struct {
		mode          string
		reason        string
		rows, thisRun int64
		remaining     int64
		want          bool
	}{
		{"", StopMaxUsers, interimReportRows, 1, 10, true},
		{"", StopMaxUsers, interimReportRows + 1, 1, 10, false},
		{"", StopMaxDuration, 5_000_000, 50_000, 10, true},  // 100 rows per row recorded
		{"", StopMaxDuration, 5_000_000, 49_999, 10, false}, // a little more
		{"", StopSignal, 5_000_000, 1_000, 10, false},
		{"", StopThrottled, 5_000_000, 1_000, 10, false},
		{"", StopFatal, 5_000_000, 1_000, 10, true},
		{"", StopCompleted, 5_000_000, 1_000, 10, true}, // failed rows remain: the report shows them
		{"", StopMaxUsers, 5_000_000, 1_000, 0, true},   // the slice finished the job
		{InterimReportAlways, StopMaxUsers, 5_000_000, 1, 10, true},
		{InterimReportEnd, StopMaxUsers, 10, 10, 5, false},
		{InterimReportEnd, StopNothingLeft, 10, 0, 0, true},
	} {
		t.Run(fmt.Sprintf("%s/%s/%d/%d", tt.mode, tt.reason, tt.rows, tt.thisRun), func(t *testing.T) {
			cfg := Config{InterimReport: tt.mode, Input: "in.csv"}
			sum := &Summary{StopReason: tt.reason, Rows: tt.rows, Remaining: tt.remaining, ThisRun: RunCounts{Rows: tt.thisRun}}
			if got := interimReport(&cfg, "in.checkpoint", slog.New(slog.DiscardHandler), sum); got != tt.want || (sum.ReportNote == "") != got {
				t.Errorf("interimReport = %v (note %q), want %v", got, sum.ReportNote, tt.want)
			}
		})
	}
}

// TestScanCacheInputChangedInPlace: an input rewritten in place (same
// inode, size and modification time) passes for the cached one, so the run
// starts; but the input's reader checks its SHA-256 against the (cached)
// scan's at the end: the report is not written, the run fails naming the
// change, and the cache is dropped so that the next run scans and is
// refused.
func TestScanCacheInputChangedInPlace(t *testing.T) {
	e := newSliceEnv(t, 600)
	cfg := e.config()
	cfg.MaxUsers = 100
	if _, err, _ := e.run(t, cfg, Files{}, nil); ExitCode(err) != 4 {
		t.Fatalf("first slice: %v", err)
	}
	before, err := os.ReadFile(cfg.ReportLocation())
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(e.in)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(e.in)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(e.in, os.O_WRONLY, 0) // same inode
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.ReplaceAll(data, []byte("u-0000"), []byte("x-0000"))); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(e.in, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}

	_, err, logs := e.run(t, cfg, Files{}, nil)
	if !strings.Contains(logs, cacheHit) {
		t.Fatalf("the in-place change was not taken for the cached input; the test does not test the check")
	}
	if err == nil || !strings.Contains(err.Error(), "input changed") {
		t.Fatalf("slice over an input changed in place: %v, want the input's SHA-256 check to fail", err)
	}
	if after, _ := os.ReadFile(cfg.ReportLocation()); !bytes.Equal(after, before) {
		t.Error("the report was rewritten from a changed input")
	}
	if _, err := os.Stat(cfg.ScanCacheLocation()); !os.IsNotExist(err) {
		t.Errorf("the scan cache of the changed input is still there (stat: %v)", err)
	}
	if _, err, logs := e.run(t, cfg, Files{}, nil); err == nil || strings.Contains(logs, cacheHit) {
		t.Errorf("next slice: %v, cache used %v; want a scan and the checkpoint's refusal", err, strings.Contains(logs, cacheHit))
	}
}
