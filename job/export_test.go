package job

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gocarina/gocsv"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint/checkpointtest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// tenthLegacy returns n users of which every tenth has legacy MFA options,
// cycling through the legacy states of the decision table; the others have
// none (no MFA, TOTP only, or SMS already set through the new API).
func tenthLegacy(n int) []cognitotest.User {
	users := make([]cognitotest.User, n)
	for i := range users {
		u := cognitotest.User{
			Username:   fmt.Sprintf("user-%05d", i),
			Attributes: map[string]string{"phone_number": fmt.Sprintf("+1415555%04d", i%10000), "email": fmt.Sprintf("u%05d@example.com", i)},
			Enabled:    true,
		}
		sms := []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}}
		if i%10 != 0 {
			switch i % 3 {
			case 1:
				u.TOTPRegistered, u.TOTPEnabled, u.Preferred = true, true, cognitotest.SoftwareTokenMFA
			case 2:
				u.SMSEnabled, u.Preferred = true, cognitotest.SMSMFA
			}
			users[i] = u
			continue
		}
		u.MFAOptions = sms
		switch (i / 10) % 7 {
		case 1: // TOTP preferred: SMS is enabled, the preference kept
			u.TOTPRegistered, u.TOTPEnabled, u.Preferred = true, true, cognitotest.SoftwareTokenMFA
		case 2: // no phone: cannot be migrated
			delete(u.Attributes, "phone_number")
		case 3: // a legacy option that is not SMS
			u.MFAOptions = []cognitotest.MFAOption{{DeliveryMedium: "EMAIL", AttributeName: "email"}}
		case 4: // migrated already; the legacy option stays
			u.SMSEnabled, u.Preferred = true, cognitotest.SMSMFA
		case 5:
			u.Enabled = false
		case 6: // the write is rejected
			u.Status = cognitotest.StatusUnconfirmed
		}
		users[i] = u
	}
	return users
}

// newPool starts a fake Cognito holding users.
func newPool(t testing.TB, users []cognitotest.User) *cognitotest.Server {
	t.Helper()
	srv := cognitotest.NewServer()
	t.Cleanup(srv.Close)
	for _, u := range users {
		if err := srv.AddUser(testPool, u); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// exportClient returns the client the command builds (cognito.NewClient) aimed at
// srv, without the fake's own workaround for the SDK's request body race:
// cognito.NewClient's must do.
func exportClient(srv *cognitotest.Server) *cip.Client {
	cfg := srv.Config()
	cfg.APIOptions = nil
	return cognito.NewClient(cfg, cognito.RetryOptions{MaxBackoff: 20 * time.Millisecond})
}

func testExportConfig(out string) ExportConfig {
	cfg := DefaultExportConfig()
	cfg.UserPoolID, cfg.Output = testPool, out
	cfg.ListRPS = 5000
	cfg.ProgressInterval = 20 * time.Millisecond
	return cfg
}

func readExport(t testing.TB, path string) []input.ExportRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return decodeExport(t, f)
}

func decodeExport(t testing.TB, r io.Reader) []input.ExportRecord {
	t.Helper()
	var recs []input.ExportRecord
	br := bufio.NewReader(r)
	if first, _ := br.Peek(1); string(first) == "#" {
		origin, _ := br.ReadString('\n') // the origin comment line
		if !strings.Contains(origin, "user_pool_id=") {
			t.Fatalf("export starts with %q, want its origin line", origin)
		}
	}
	if err := gocsv.Unmarshal(br, &recs); err != nil {
		t.Fatalf("parse export: %v", err)
	}
	return recs
}

// wantRecords is what the export must say about users.
func wantRecords(users []cognitotest.User, all bool) []input.ExportRecord {
	var recs []input.ExportRecord
	for _, u := range users {
		if len(u.MFAOptions) == 0 && !all {
			continue
		}
		var opts []string
		for _, o := range u.MFAOptions {
			opts = append(opts, o.DeliveryMedium+":"+o.AttributeName)
		}
		status := u.Status
		if status == "" {
			status = cognitotest.StatusConfirmed
		}
		recs = append(recs, input.ExportRecord{
			Username: u.Username, MFAOptions: strings.Join(opts, ";"), HasPhone: u.Attributes["phone_number"] != "",
			UserStatus: status, Enabled: u.Enabled,
		})
	}
	return recs
}

// mfaState is the part of a user the migration may change.
type mfaState struct {
	SMS, TOTP, Email bool
	Preferred        string
	Options          int
}

func mfaStates(srv *cognitotest.Server) map[string]mfaState {
	m := map[string]mfaState{}
	for _, u := range srv.Users(testPool) {
		m[u.Username] = mfaState{u.SMSEnabled, u.TOTPEnabled, u.EmailEnabled, u.Preferred, len(u.MFAOptions)}
	}
	return m
}

func runConfig(in string) Config {
	cfg := DefaultConfig()
	cfg.UserPoolID, cfg.Input = testPool, in
	cfg.ReadRPS, cfg.WriteRPS = 0, 0 // unlimited: the fake keeps no quota here
	cfg.Retry = cognito.RetryOptions{MaxBackoff: 20 * time.Millisecond}
	cfg.ProgressInterval, cfg.SaveInterval = 100*time.Millisecond, 200*time.Millisecond
	return cfg
}

func runOn(t *testing.T, srv *cognitotest.Server, in string) *Summary {
	t.Helper()
	cfg := runConfig(in)
	sum, err := Run(t.Context(), cfg, Deps{Cognito: exportClient(srv), Store: checkpoint.NewFile(cfg.CheckpointLocation()), Host: "test"})
	if err != nil {
		t.Fatalf("Run(%s) = %v, want success", in, err)
	}
	return sum
}

// TestExportThenRun is the export's purpose: on a pool of 10,000 users of
// which 10% have legacy MFA options, export then run makes
// one ListUsers call per 60 users of each chain and reads only the legacy users, and
// leaves the pool as a run over every username does.
func TestExportThenRun(t *testing.T) {
	const n = 10_000
	users := tenthLegacy(n)
	srv := newPool(t, users)
	dir := t.TempDir()
	out := filepath.Join(dir, "pool.users.csv")

	sum, err := Export(t.Context(), testExportConfig(out), ExportDeps{Cognito: exportClient(srv)})
	if err != nil {
		t.Fatalf("Export() = %v, want success", err)
	}
	wantPages := chainPages(t, srv, users, DefaultListChains)
	if got := srv.Calls("ListUsers"); got != wantPages {
		t.Errorf("ListUsers calls = %d, want the sum over the 16 chains of ceil(users/%d) = %d", got, listUsersPageSize, wantPages)
	}
	if sum.Users != n || sum.Legacy != n/10 || sum.Rows != n/10 || sum.Pages != int64(wantPages) || sum.ListUsers.Calls != int64(wantPages) || !sum.Written {
		t.Errorf("summary = users %d, legacy %d, rows %d, calls %d, written %v; want %d, %d, %d, %d, true",
			sum.Users, sum.Legacy, sum.Rows, sum.ListUsers.Calls, sum.Written, n, n/10, n/10, wantPages)
	}
	if srv.Calls("AdminGetUser") != 0 {
		t.Errorf("the export called AdminGetUser %d times, want 0", srv.Calls("AdminGetUser"))
	}

	got := runOn(t, srv, out)
	if reads := srv.Calls("AdminGetUser"); reads != n/10 {
		t.Errorf("run over the export: %d AdminGetUser calls, want %d (the legacy users only)", reads, n/10)
	}

	// The reference: a run over the full username list of an identical pool.
	// Its 10,000 reads take most of the test's time; the race detector makes
	// them several times slower and finds nothing there that the run above
	// does not exercise.
	if testing.Short() || raceEnabled {
		t.Log("not comparing with a run over every user of an identical pool: -short or -race")
		return
	}
	ref := newPool(t, users)
	var b strings.Builder
	b.WriteString("username\n")
	for _, u := range users {
		b.WriteString(u.Username + "\n")
	}
	all := filepath.Join(dir, "all.csv")
	if err := os.WriteFile(all, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	want := runOn(t, ref, all)
	if reads := ref.Calls("AdminGetUser"); reads != n {
		t.Errorf("reference run: %d AdminGetUser calls, want %d", reads, n)
	}
	if d := cmp.Diff(mfaStates(ref), mfaStates(srv)); d != "" {
		t.Errorf("final state after export+run differs from a run over every user (-full run +export run):\n%s", d)
	}
	// Every user the export left out needed no call: the full run found
	// nothing to do for them either.
	exportCfg, fullCfg := runConfig(out), runConfig(all)
	exported := outcomesByUser(t, exportCfg.ReportLocation())
	for name, o := range outcomesByUser(t, fullCfg.ReportLocation()) {
		e, ok := exported[name]
		switch {
		case ok && e != o:
			t.Errorf("%s: %s after export+run, %s after the full run", name, e, o)
		case !ok && o != outcomeNoLegacyMFA.String() && o != outcomeAlreadyMigrated.String():
			t.Errorf("%s: left out of the export, but the full run recorded %s", name, o)
		}
	}
	if len(exported) != n/10 || want.Outcomes[outcomeMigrated.String()] != got.Outcomes[outcomeMigrated.String()] {
		t.Errorf("export+run recorded %d users, migrated %d; want %d users, migrated %d as in the full run",
			len(exported), got.Outcomes[outcomeMigrated.String()], n/10, want.Outcomes[outcomeMigrated.String()])
	}
	if got.Outcomes[outcomeMigrated.String()] == 0 {
		t.Errorf("outcomes %v, want some migrated users", got.Outcomes)
	}
}

// TestExportContents checks every column of the export against the pool,
// with and without --all, and that run reads from it only the users with
// legacy options.
func TestExportContents(t *testing.T) {
	users := tenthLegacy(250)
	users = append(users, cognitotest.User{Username: `o"brien,jr`, Enabled: true,
		MFAOptions: []cognitotest.MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}, {DeliveryMedium: "EMAIL", AttributeName: "email"}},
		Attributes: map[string]string{"phone_number": "+14155550100"}})
	legacy := 0
	for _, u := range users {
		if len(u.MFAOptions) > 0 {
			legacy++
		}
	}
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprintf("all=%v", all), func(t *testing.T) {
			srv := newPool(t, users)
			out := filepath.Join(t.TempDir(), "users.csv")
			cfg := testExportConfig(out)
			cfg.All = all
			var progress []ExportProgress
			sum, err := Export(t.Context(), cfg, ExportDeps{Cognito: exportClient(srv), OnProgress: func(p ExportProgress) { progress = append(progress, p) }})
			if err != nil {
				t.Fatalf("Export() = %v", err)
			}
			want := wantRecords(chainOrder(t, srv, users), all)
			if d := cmp.Diff(want, readExport(t, out)); d != "" {
				t.Errorf("export (-want +got):\n%s", d)
			}
			if sum.Rows != int64(len(want)) || sum.Users != int64(len(users)) || sum.Legacy != int64(legacy) {
				t.Errorf("summary rows %d users %d legacy %d, want %d %d %d", sum.Rows, sum.Users, sum.Legacy, len(want), len(users), legacy)
			}
			if len(progress) == 0 || !progress[len(progress)-1].Final || progress[len(progress)-1].Users != int64(len(users)) {
				t.Errorf("progress = %+v, want a final snapshot with %d users", progress, len(users))
			}

			rs := runOn(t, srv, out)
			if reads := srv.Calls("AdminGetUser"); reads != legacy {
				t.Errorf("run over the export: %d AdminGetUser calls, want %d", reads, legacy)
			}
			wantSkipped := int64(0)
			if all {
				wantSkipped = int64(len(users) - legacy)
			}
			if rs.Outcomes[outcomeNoLegacyMFA.String()] != wantSkipped {
				t.Errorf("no_legacy_mfa = %d, want %d (recorded from the export, without a call)", rs.Outcomes[outcomeNoLegacyMFA.String()], wantSkipped)
			}
		})
	}
}

// cancelingLister cancels the export's context just before its call number
// at, as a signal would.
type cancelingLister struct {
	cognito.ListUsersAPI
	at     int32
	n      atomic.Int32
	cancel context.CancelFunc
}

func (c *cancelingLister) ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	if c.n.Add(1) == c.at {
		c.cancel()
	}
	return c.ListUsersAPI.ListUsers(ctx, in, optFns...)
}

// TestExportInterrupted stops an export half way: no output, no temporary
// file, a previous output left as it was, and an error that says so (exit 4).
func TestExportInterrupted(t *testing.T) {
	for _, previous := range []string{"", "username\nfrom-an-earlier-export\n"} {
		t.Run(fmt.Sprintf("previous output %v", previous != ""), func(t *testing.T) {
			srv := newPool(t, tenthLegacy(600))
			dir := t.TempDir()
			out := filepath.Join(dir, "users.csv")
			if previous != "" {
				if err := os.WriteFile(out, []byte(previous), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			lister := &cancelingLister{ListUsersAPI: exportClient(srv), at: 4, cancel: cancel}
			cfg := testExportConfig(out)
			cfg.Chains = 1 // one call at a time: the pages before the signal are known
			sum, err := Export(ctx, cfg, ExportDeps{Cognito: lister})
			if !errors.Is(err, ErrExportStopped) || !errors.Is(err, ErrStopped) || ExitCode(err) != 4 || !strings.Contains(err.Error(), "NOT written") {
				t.Fatalf("Export() = %v (exit %d), want ErrExportStopped saying the output was NOT written (exit 4)", err, ExitCode(err))
			}
			if sum == nil || sum.Written || sum.StopReason != StopSignal || sum.Users != 3*listUsersPageSize || sum.Pages != 3 {
				t.Errorf("summary = %+v, want not written, stopped by a signal after 3 pages, %d users", sum, 3*listUsersPageSize)
			}
			if n := srv.Calls("ListUsers"); n != 3 {
				t.Errorf("ListUsers calls = %d, want 3 (none after the signal)", n)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			wantNames := []string(nil)
			if previous != "" {
				wantNames = []string{"users.csv"}
			}
			if !cmp.Equal(names, wantNames) {
				t.Errorf("folder holds %q, want %q (no temporary file left)", names, wantNames)
			}
			if previous != "" {
				if b, _ := os.ReadFile(out); string(b) != previous {
					t.Errorf("previous output = %q, want it unchanged %q", b, previous)
				}
			}
			var text strings.Builder
			if err := sum.WriteText(&text); err != nil || !strings.Contains(text.String(), "NOT written") {
				t.Errorf("WriteText = %q, %v; want it to say the output was NOT written", text.String(), err)
			}
		})
	}
}

// TestExportErrors checks the errors that stop an export before it writes.
func TestExportErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(srv *cognitotest.Server, cfg *ExportConfig, d *ExportDeps)
		wantExit int
		wantMsg  string
	}{
		{"wrong pool", func(srv *cognitotest.Server, cfg *ExportConfig, d *ExportDeps) {
			cfg.UserPoolID = "us-east-1_NoSuchPool"
		}, 1, "--user-pool-id"},
		{"rejected credentials", func(srv *cognitotest.Server, cfg *ExportConfig, d *ExportDeps) {
			c := srv.Config()
			c.Credentials = staticCreds("AKIDWRONG")
			d.Cognito = cognito.NewClient(c, cognito.RetryOptions{})
		}, 1, "credentials"},
		{"access denied", func(srv *cognitotest.Server, cfg *ExportConfig, d *ExportDeps) {
			srv.SetAuthError("AccessDeniedException", "")
		}, 1, "IAM policy"},
		{"bad pool ID", func(srv *cognitotest.Server, cfg *ExportConfig, d *ExportDeps) {
			cfg.UserPoolID = "no-underscore"
		}, 2, "--user-pool-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := cognitotest.NewServer(cognitotest.WithAccessKey(cognitotest.DefaultAccessKeyID))
			t.Cleanup(srv.Close)
			if err := srv.AddUser(testPool, cognitotest.User{Username: "alice"}); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			cfg := testExportConfig(filepath.Join(dir, "users.csv"))
			d := ExportDeps{Cognito: exportClient(srv)}
			tt.setup(srv, &cfg, &d)
			_, err := Export(t.Context(), cfg, d)
			if ExitCode(err) != tt.wantExit || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Export() = %v (exit %d), want exit %d mentioning %q", err, ExitCode(err), tt.wantExit, tt.wantMsg)
			}
			var fe *cognito.FatalError
			if tt.wantExit == 1 && !errors.As(err, &fe) {
				t.Errorf("Export() = %T, want a *cognito.FatalError", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("folder holds %d files, want none", len(entries))
			}
		})
	}
}

// TestExportThrottled checks that throttled ListUsers calls are paced and
// retried: the export completes with every user, each page listed once.
func TestExportThrottled(t *testing.T) {
	const n = 600
	tests := []struct {
		name  string
		setup func(srv *cognitotest.Server)
	}{
		{"bursts", func(srv *cognitotest.Server) { srv.ThrottleNext("ListUsers", 5) }},
		{"quota", func(srv *cognitotest.Server) { srv.SetQuota(cognitotest.UserList, 40, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newPool(t, tenthLegacy(n))
			tt.setup(srv)
			out := filepath.Join(t.TempDir(), "users.csv")
			cfg := testExportConfig(out)
			cfg.All = true
			// Configured at twice the quota (not 125 times: the 16 chains
			// would spend their retries while the rate is cut down to it).
			cfg.ListRPS = 80
			sum, err := Export(t.Context(), cfg, ExportDeps{Cognito: exportClient(srv)})
			if err != nil {
				t.Fatalf("Export() = %v, want success", err)
			}
			st := srv.Stats("ListUsers")
			if st.Throttled == 0 {
				t.Fatalf("the fake throttled nothing: %+v", st)
			}
			if got := len(readExport(t, out)); got != n || sum.Users != n {
				t.Errorf("export has %d rows, summary %d users; want %d", got, sum.Users, n)
			}
			if pages := int64(chainPages(t, srv, tenthLegacy(n), cfg.Chains)); sum.ListUsers.Calls != pages || st.OK != int(pages) {
				t.Errorf("pages = %d calls, %d answered; want %d each", sum.ListUsers.Calls, st.OK, pages)
			}
			if sum.ListUsers.Throttled != int64(st.Throttled) || sum.Rate.Throttles != int64(st.Throttled) {
				t.Errorf("summary counts %d throttled attempts (limiter %d), the fake %d", sum.ListUsers.Throttled, sum.Rate.Throttles, st.Throttled)
			}
		})
	}
}

// newFakeS3 returns a real SDK client aimed at gofakes3 with the bucket "exports".
func newFakeS3(t *testing.T) *s3.Client {
	t.Helper()
	_, c := checkpointtest.FakeS3(t, "exports")
	return c
}

// TestExportS3 writes the export to S3; an interrupted export puts nothing.
func TestExportS3(t *testing.T) {
	users := tenthLegacy(300)
	srv := newPool(t, users)
	s3c := newFakeS3(t)
	files := Files{S3: s3c}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := Export(ctx, testExportConfig("s3://exports/stopped.csv"),
		ExportDeps{Cognito: &cancelingLister{ListUsersAPI: exportClient(srv), at: 2, cancel: cancel}, Files: files})
	if !errors.Is(err, ErrExportStopped) {
		t.Fatalf("interrupted Export() = %v, want ErrExportStopped", err)
	}
	if _, err := s3c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("exports"), Key: aws.String("stopped.csv")}); err == nil {
		t.Error("an interrupted export put its object, want none")
	}

	if _, err := Export(t.Context(), testExportConfig("s3://exports/users.csv"), ExportDeps{Cognito: exportClient(srv), Files: files}); err != nil {
		t.Fatalf("Export() = %v", err)
	}
	obj, err := s3c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("exports"), Key: aws.String("users.csv")})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	if d := cmp.Diff(wantRecords(chainOrder(t, srv, users), false), decodeExport(t, obj.Body)); d != "" {
		t.Errorf("S3 export (-want +got):\n%s", d)
	}
}

func TestExportConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*ExportConfig)
		ok     bool
	}{
		{"defaults", func(*ExportConfig) {}, true},
		{"unlimited rate", func(c *ExportConfig) { c.ListRPS = 0 }, true},
		{"no pool", func(c *ExportConfig) { c.UserPoolID = "" }, false},
		{"negative rate", func(c *ExportConfig) { c.ListRPS = -1 }, false},
		{"no progress interval", func(c *ExportConfig) { c.ProgressInterval = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultExportConfig()
			cfg.UserPoolID = testPool
			tt.change(&cfg)
			err := cfg.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrUsage)) {
				t.Errorf("Validate() = %v, want ok %v (errors wrap ErrUsage)", err, tt.ok)
			}
		})
	}
	cfg := ExportConfig{UserPoolID: testPool}
	if got, want := cfg.OutputLocation(), testPool+".users.csv"; got != want {
		t.Errorf("OutputLocation() = %q, want %q", got, want)
	}
}

// BenchmarkExport measures the export's throughput and memory against the
// fake, without rate limits: users listed per second, bytes allocated per
// user, and the largest growth of the live heap (sampled after a GC every
// 100 ms), which must not grow with the pool.
func BenchmarkExport(b *testing.B) {
	for _, n := range []int{6_000, 30_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			srv := newPool(b, tenthLegacy(n))
			srv.SetRecording(false) // the fake would keep every request
			client := exportClient(srv)
			out := filepath.Join(b.TempDir(), "users.csv")
			cfg := testExportConfig(out)
			cfg.ListRPS, cfg.All = 0, true
			cfg.ProgressInterval = 100 * time.Millisecond
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base, alloc := ms.HeapAlloc, ms.TotalAlloc
			var peak uint64
			sample := func(ExportProgress) {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > base {
					peak = max(peak, ms.HeapAlloc-base)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := Export(context.Background(), cfg, ExportDeps{Cognito: client, OnProgress: sample}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms)
			users := float64(n) * float64(b.N)
			b.ReportMetric(users/b.Elapsed().Seconds(), "users/s")
			b.ReportMetric(float64(ms.TotalAlloc-alloc)/users, "B/user")
			b.ReportMetric(float64(peak)/(1<<20), "peak-live-heap-growth-MB")
		})
	}
}
