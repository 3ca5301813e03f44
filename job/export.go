package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/allowance"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// listUsersPageSize is the number of users the export asks ListUsers for
// per call: the largest Limit Cognito accepts.
const listUsersPageSize = 60

// ErrExportStopped means that an export stopped before it had listed every
// user (a signal, or Cognito throttling ListUsers beyond the retries) and
// therefore did not write its output. errors.Is(err, ErrStopped) also
// holds, so the exit code is 4; the export starts over when run again.
var ErrExportStopped error = exportStoppedError{}

type exportStoppedError struct{}

func (exportStoppedError) Error() string        { return "export stopped early: the output was NOT written" }
func (exportStoppedError) Is(target error) bool { return target == ErrStopped }

// ExportConfig configures Export. Start from DefaultExportConfig and call
// Validate before use.
type ExportConfig struct {
	UserPoolID       string        // the pool to list
	Output           string        // CSV path or s3://bucket/key; "" = <pool-id>.users.csv
	All              bool          // write every user, not only those with legacy MFA options
	ListRPS          float64       // ListUsers calls per second; 0 means unlimited
	CallTimeout      time.Duration // longest wait for the answer to one attempt; 0 means none
	Chains           int           // ListUsers chains listed in parallel: 1, 16 or 256 (see listChains)
	ProgressInterval time.Duration // how often ExportDeps.OnProgress is called
	Pacing           Pacing        // AutoList and ListQuota: --list-rps auto (see pacing.go)
}

// DefaultExportConfig returns an ExportConfig holding every default.
func DefaultExportConfig() ExportConfig {
	return ExportConfig{ListRPS: DefaultListRPS, CallTimeout: DefaultCallTimeout, ProgressInterval: DefaultProgressInterval, Chains: DefaultListChains}
}

// Validate checks the configuration before any call is made. Errors wrap
// ErrUsage.
func (c *ExportConfig) Validate() error {
	if err := ValidatePoolID(c.UserPoolID); err != nil {
		return err
	}
	switch {
	case math.IsNaN(c.ListRPS) || c.ListRPS < 0:
		return fmt.Errorf("%w: --list-rps must be a positive number of requests per second (0 = unlimited)", ErrUsage)
	case c.ProgressInterval <= 0:
		return fmt.Errorf("%w: --progress-interval must be positive", ErrUsage)
	case chainPrefixes(c.Chains) == nil:
		return fmt.Errorf("%w: --list-chains must be 1, 16 or 256", ErrUsage)
	}
	return c.Pacing.validate()
}

// OutputLocation returns Output, or <pool-id>.users.csv when it is empty.
func (c *ExportConfig) OutputLocation() string {
	if c.Output != "" {
		return c.Output
	}
	return c.UserPoolID + ".users.csv"
}

// ExportDeps are the parts of an export that come from outside.
type ExportDeps struct {
	Cognito cognito.ListUsersAPI // usually NewClient(...); paced by Export
	// Watch, if not nil, is the watch Cognito's client already puts every
	// attempt under (cognito.WatchOption); when nil, Export puts the client
	// under one of its own with ExportConfig.CallTimeout.
	Watch  *cognito.Watch
	Files  Files        // where the output goes
	Logger *slog.Logger // nil discards logs

	// OnProgress, if not nil, is called every ExportConfig.ProgressInterval
	// and once at the end (Final set), never concurrently. It must not block
	// for long.
	OnProgress func(ExportProgress)

	// Pacing holds the CloudWatch and Service Quotas readers of
	// --list-rps auto; nil ones mean no usage data and the default quota.
	Pacing PacingSources
}

// ExportProgress is a snapshot of an export for progress bars and log
// lines. The number of users in the pool is not known until the end.
type ExportProgress struct {
	Elapsed        time.Duration
	Users          int64            // users listed so far
	Legacy         int64            // of those, users with legacy MFA options
	Written        int64            // rows written to the output so far
	Pages          int64            // ListUsers pages received
	UsersPerSecond float64          // users listed per second, on average
	List           pace.RateSummary // the ListUsers rate limit
	Final          bool             // the last snapshot
}

// ExportSummary describes a finished or stopped export.
type ExportSummary struct {
	PoolID           string           `json:"user_pool_id"`
	Output           string           `json:"output"`
	All              bool             `json:"all"`
	Written          bool             `json:"output_written"` // false: the output was left as it was
	StopReason       string           `json:"stop_reason"`    // StopCompleted, StopSignal, StopThrottled or StopFatal
	Users            int64            `json:"users_listed"`
	Legacy           int64            `json:"users_with_legacy_mfa_options"`
	LegacySMS        int64            `json:"users_with_legacy_sms"`          // legacy options include SMS
	LegacySMSNoPhone int64            `json:"users_with_legacy_sms_no_phone"` // ...and no phone_number attribute
	Rows             int64            `json:"rows"`                           // rows in the output
	Pages            int64            `json:"pages"`                          // ListUsers pages received
	ListUsers        cognito.OpStats  `json:"list_users"`
	Rate             pace.RateSummary `json:"list_rate"`
	DurationSeconds  float64          `json:"duration_seconds"`
	Error            string           `json:"error,omitempty"`
}

// exporter is one execution of Export. Counters are atomic because the
// progress goroutine reads them while the pages are written.
type exporter struct {
	cfg   ExportConfig
	d     ExportDeps
	log   *slog.Logger
	api   cognito.ListUsersAPI
	lim   *pace.Limiter
	pacer *allowance.Controller // nil unless --list-rps auto
	stats *cognito.Stats
	start time.Time

	users, legacy, legacySMS, legacySMSNoPhone, rows, pages atomic.Int64
	stopReason                                              string // set by stopped, on Export's goroutine
}

// Export pages through every user of the pool with ListUsers (listUsersPageSize
// users a call, paced at cfg.ListRPS, no monthly-active-user cost) and writes
// the users with legacy MFA options (every user with cfg.All) as the export
// CSV that Run reads (input.ExportRecord). It streams: memory does not grow
// with the pool. The output is written to a temporary file that replaces
// cfg.OutputLocation only once every user has been listed, so an output
// that exists is always complete.
//
// Export returns a summary (nil only when it could not start) and an error
// that says how it ended: nil when the output was written; an error
// wrapping ErrExportStopped (and so ErrStopped) when ctx ended or Cognito
// kept throttling; a *cognito.FatalError for a wrong pool or rejected credentials;
// an error wrapping ErrUsage for a bad configuration; anything else for
// other failures. In every error case the output was not written.
func Export(ctx context.Context, cfg ExportConfig, d ExportDeps) (*ExportSummary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Cognito == nil {
		return nil, errors.New("job.Export: ExportDeps.Cognito is required")
	}
	e := &exporter{cfg: cfg, d: d, log: d.Logger, stats: &cognito.Stats{}, start: time.Now()}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.log = e.log.With("pool_id", cfg.UserPoolID)
	e.lim = pace.NewLimiter("list", cfg.ListRPS, func(c pace.Change) {
		if c.Reason == "throttled" {
			e.log.Warn("Cognito is throttling ListUsers: rate lowered", "from_rps", pace.Round2(c.From), "to_rps", pace.Round2(c.To))
		} else {
			e.log.Info("ListUsers rate back to the configured value", "rps", pace.Round2(c.To))
		}
	})
	list := d.Cognito
	if d.Watch == nil {
		list = cognito.WatchList(list, cognito.NewWatch(cfg.CallTimeout))
	}
	e.api = cognito.PaceList(list, e.lim, e.stats)
	e.pacer = newPacer(cfg.Pacing, d.Pacing, e.log,
		pacedCategory{"list", "UserList", cfg.Pacing.AutoList, e.lim, cfg.ListRPS, QuotaUserList, cfg.Pacing.ListQuota})
	pacerCtx, stopPacer := context.WithCancel(context.WithoutCancel(ctx))
	var pacing sync.WaitGroup
	startPacer(ctx, pacerCtx, e.pacer, &pacing)
	out := cfg.OutputLocation()
	e.log.Info("export started", "output", out, "all", cfg.All, "list_rps", cfg.ListRPS)

	progDone := make(chan struct{})
	var prog sync.WaitGroup
	if d.OnProgress != nil {
		prog.Go(func() { e.reportProgress(progDone) })
	}
	err := d.Files.Write(ctx, out, func(w io.Writer) error { return e.write(ctx, w) })
	if err != nil && ctx.Err() != nil && e.stopReason == "" {
		// Interrupted after listing, while the output was being stored.
		err = e.stopped(StopSignal, err)
	}
	close(progDone)
	prog.Wait()
	stopPacer()
	pacing.Wait()
	if d.OnProgress != nil {
		d.OnProgress(e.progress(true))
	}

	sum := e.summary(out, err)
	e.log.Info("export ended", "output", out, "output_written", sum.Written, "reason", sum.StopReason,
		"users", sum.Users, "with_legacy_mfa_options", sum.Legacy, "rows", sum.Rows, "pages", sum.Pages,
		"duration_seconds", pace.Round2(sum.DurationSeconds))
	return sum, err
}

// write lists every user and writes the export CSV to w.
func (e *exporter) write(ctx context.Context, w io.Writer) error {
	ew, err := input.NewExportWriterFrom(w, input.ExportOrigin{PoolID: e.cfg.UserPoolID, Exported: e.start})
	if err != nil {
		return err
	}
	listErr, err := listChains(ctx, e.api, e.cfg.UserPoolID, e.cfg.Chains, listUsersPageSize, e.pageRows,
		func(n int) { e.rows.Add(int64(n)) }, ew) // exportchains.go
	switch {
	case err != nil:
		return err
	case listErr != nil:
		return e.listError(ctx, listErr)
	}
	if err := ew.Flush(); err != nil {
		return fmt.Errorf("write the export: %w", err)
	}
	return nil
}

// pageRows counts the users of one ListUsers page and returns the rows
// the export writes of them: those with legacy MFA options (every user with
// ExportConfig.All). The chains call it concurrently.
func (e *exporter) pageRows(users []types.UserType) []input.ExportRecord {
	e.pages.Add(1)
	var recs []input.ExportRecord
	for i := range users {
		rec, legacy, sms := exportRecord(&users[i])
		e.users.Add(1)
		if legacy {
			e.legacy.Add(1)
		}
		if sms {
			e.legacySMS.Add(1)
			if !rec.HasPhone {
				e.legacySMSNoPhone.Add(1)
			}
		}
		if legacy || e.cfg.All {
			recs = append(recs, rec)
		}
	}
	return recs
}

// listError turns a ListUsers failure into Export's error.
func (e *exporter) listError(ctx context.Context, err error) error {
	cls, code := cognito.Classify(ctx.Err(), err)
	switch cls {
	case cognito.ClassCanceled:
		return e.stopped(StopSignal, nil)
	case cognito.ClassThrottled:
		return e.stopped(StopThrottled, err)
	case cognito.ClassFatal:
		return &cognito.FatalError{Op: "ListUsers", Code: code, Err: err}
	default:
		return fmt.Errorf("ListUsers failed on page %d, after retries: %w", e.pages.Load()+1, err)
	}
}

// stopped records why the export stopped early and returns its error.
func (e *exporter) stopped(reason string, cause error) error {
	e.stopReason = reason
	what := "interrupted"
	if reason == StopThrottled {
		what = "Cognito kept throttling ListUsers"
	}
	err := fmt.Errorf("%w (%s) after listing %d users in %d pages; %s was left as it was: run the export again, it starts over",
		ErrExportStopped, what, e.users.Load(), e.pages.Load(), e.cfg.OutputLocation())
	if cause != nil {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// exportRecord turns a ListUsers user into an export row. legacy reports
// legacy MFA options of any kind; sms, one with the SMS delivery medium.
func exportRecord(u *types.UserType) (rec input.ExportRecord, legacy, sms bool) {
	rec = input.ExportRecord{Username: aws.ToString(u.Username), UserStatus: string(u.UserStatus), Enabled: u.Enabled}
	opts := make([]string, 0, len(u.MFAOptions))
	for _, o := range u.MFAOptions {
		opts = append(opts, string(o.DeliveryMedium)+":"+aws.ToString(o.AttributeName))
		if o.DeliveryMedium == types.DeliveryMediumTypeSms {
			sms = true
		}
	}
	rec.MFAOptions = strings.Join(opts, ";")
	for _, a := range u.Attributes {
		if aws.ToString(a.Name) == "phone_number" && aws.ToString(a.Value) != "" {
			rec.HasPhone = true
		}
	}
	return rec, len(u.MFAOptions) > 0, sms
}

// reportProgress calls OnProgress every ProgressInterval until done closes.
func (e *exporter) reportProgress(done <-chan struct{}) {
	t := time.NewTicker(e.cfg.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			e.d.OnProgress(e.progress(false))
		}
	}
}

func (e *exporter) progress(final bool) ExportProgress {
	el := time.Since(e.start)
	p := ExportProgress{
		Elapsed: el, Users: e.users.Load(), Legacy: e.legacy.Load(), Written: e.rows.Load(), Pages: e.pages.Load(),
		List: e.rate(el), Final: final,
	}
	if s := el.Seconds(); s > 0 {
		p.UsersPerSecond = pace.Round2(float64(p.Users) / s)
	}
	return p
}

// rate describes the ListUsers limiter over elapsed.
func (e *exporter) rate(elapsed time.Duration) pace.RateSummary {
	rs := e.lim.Summary(e.stats.Attempts(cognito.OpListUsers), elapsed)
	rs.Pacing = pacingFigures(e.pacer, "UserList")
	return rs
}

func (e *exporter) summary(out string, err error) *ExportSummary {
	el := time.Since(e.start)
	s := &ExportSummary{
		PoolID: e.cfg.UserPoolID, Output: out, All: e.cfg.All, Written: err == nil, StopReason: StopCompleted,
		Users: e.users.Load(), Legacy: e.legacy.Load(), LegacySMS: e.legacySMS.Load(), LegacySMSNoPhone: e.legacySMSNoPhone.Load(),
		Rows: e.rows.Load(), Pages: e.pages.Load(), ListUsers: e.stats.Snapshot(cognito.OpListUsers), Rate: e.rate(el), DurationSeconds: el.Seconds(),
	}
	if err != nil {
		s.Rows, s.Error, s.StopReason = 0, Scrub(err.Error()), e.stopReason
		if s.StopReason == "" {
			s.StopReason = StopFatal
		}
	}
	return s
}

// minRateSeconds is the shortest time a rate is shown over.
const minRateSeconds = 1.0

// WriteText writes the short human summary printed on stderr.
func (s *ExportSummary) WriteText(w io.Writer) error {
	var b strings.Builder
	d := time.Duration(s.DurationSeconds * float64(time.Second)).Round(time.Second)
	state := "completed"
	switch {
	case s.Written:
	case s.StopReason == StopSignal:
		state = "interrupted"
	case s.StopReason == StopThrottled:
		state = "stopped: Cognito kept throttling ListUsers"
	default:
		state = "failed"
	}
	fmt.Fprintf(&b, "\nexport of %s: %s after %s\n", s.PoolID, state, d)
	c := s.ListUsers
	rate := ""
	if s.DurationSeconds >= minRateSeconds {
		// Over less, a rate says nothing: 13 requests in 0.03 s read as
		// "433.3/s" against 10/s configured, like a breach.
		rate = fmt.Sprintf("; %.1f/s", s.Rate.Achieved)
	}
	fmt.Fprintf(&b, "  users listed: %d in %s (ListUsers: %s, %d throttled%s, %s configured)\n",
		s.Users, plural(s.Pages, "page"), plural(c.Attempts, "request"), c.Throttled, rate, rpsText(s.Rate.Configured))
	if s.Rate.Pacing != nil {
		fmt.Fprintf(&b, "  list pacing %s\n", pacingText(s.Rate.Pacing))
	}
	fmt.Fprintf(&b, "  with legacy MFA options: %d (SMS: %d, of which %d have no phone number and cannot be migrated)\n",
		s.Legacy, s.LegacySMS, s.LegacySMSNoPhone)
	if !s.Written {
		fmt.Fprintf(&b, "  output: NOT written; %s was left as it was\n", s.Output)
		if s.Error != "" && s.StopReason != StopSignal {
			fmt.Fprintf(&b, "  error: %s\n", s.Error)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	which := "users with legacy MFA options"
	if s.All {
		which = "every user; run reads only those with legacy MFA options"
	}
	fmt.Fprintf(&b, "  output: %s, %d rows (%s)\n", s.Output, s.Rows, which)
	if s.Legacy == 0 {
		b.WriteString("  nothing to migrate: no user has legacy MFA options\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "  next: cognito-mfa-migrate run --user-pool-id %s --input %s --dry-run\n", s.PoolID, s.Output)
	fmt.Fprintf(&b, "    it reads %d users with AdminGetUser (each read counts the user as a monthly active user) instead of %d\n",
		s.Legacy, s.Users)
	_, err := io.WriteString(w, b.String())
	return err
}
