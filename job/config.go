package job

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
)

// Defaults. Cognito's quotas are per account and Region and shared with
// production sign-in traffic (AdminGetUser: UserRead 120/s; AdminSetUserMFA-
// Preference: UserResourceUpdate 25/s, not adjustable; ListUsers: UserList
// 30/s), so the defaults use about a third of each and leave the rest to
// production.
const (
	DefaultReadRPS          = 40.0
	DefaultWriteRPS         = 10.0
	DefaultListRPS          = 10.0
	DefaultWorkers          = 64
	DefaultMaxFailures      = "5%"
	DefaultShutdownTimeout  = 20 * time.Second
	DefaultSaveEvery        = 500
	DefaultSaveInterval     = 5 * time.Second
	DefaultLockTTL          = 2 * time.Minute
	DefaultProgressInterval = 30 * time.Second

	// Liveness (DESIGN.md, "Time and liveness"). Cognito answers in tens
	// of milliseconds; an attempt that takes DefaultCallTimeout is lost and
	// is retried like a 5xx. A run in which no call is answered for
	// DefaultStallTimeout stops (exit 1), naming the endpoint.
	DefaultCallTimeout  = 10 * time.Second
	DefaultStallTimeout = 2 * time.Minute

	// minMaxDuration is the shortest --max-duration accepted (it counts
	// from the first call, after the input scan): a shorter slice could end
	// before any call is answered, every time.
	minMaxDuration = time.Second

	// Cognito's default quotas, used for the "at full quota" estimates.
	QuotaUserRead           = 120.0
	QuotaUserResourceUpdate = 25.0
	QuotaUserList           = 30.0

	// minFailureSample is the number of processed users below which a
	// percentage threshold is applied to this many users instead, so that the
	// first failure of a run does not stop it.
	minFailureSample = 100
)

// RunSeconds is the floor of a run's time that the rates set (DESIGN.md,
// "Rate limits"): max(reads / read rate, writes / write rate), in seconds.
// A rate that is unlimited (<= 0 or +Inf) adds no time.
func RunSeconds(reads, writes, readRPS, writeRPS float64) float64 {
	at := func(n, rps float64) float64 {
		if rps <= 0 || math.IsInf(rps, 1) {
			return 0
		}
		return n / rps
	}
	return math.Max(at(reads, readRPS), at(writes, writeRPS))
}

// Threshold is a failure limit, either a count ("50") or a percentage of the
// users processed so far ("5%"). The zero value never trips.
type Threshold struct {
	Count   int     // trips when failures exceed Count (if > 0)
	Percent float64 // trips when failures exceed Percent of max(processed, 100)
}

// parseThreshold parses "50" or "5%". "0" and "0%" mean no limit.
func parseThreshold(s string) (Threshold, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 || v > 100 || math.IsNaN(v) {
			return Threshold{}, fmt.Errorf("max-failures %q: want a count like 50 or a percentage like 5%%", s)
		}
		return Threshold{Percent: v}, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return Threshold{}, fmt.Errorf("max-failures %q: want a count like 50 or a percentage like 5%%", s)
	}
	return Threshold{Count: v}, nil
}

// UnmarshalText lets flag libraries parse a Threshold.
func (t *Threshold) UnmarshalText(b []byte) error {
	v, err := parseThreshold(string(b))
	if err == nil {
		*t = v
	}
	return err
}

// String formats the threshold as it is parsed.
func (t Threshold) String() string {
	switch {
	case t.Percent > 0:
		return strconv.FormatFloat(t.Percent, 'f', -1, 64) + "%"
	case t.Count > 0:
		return strconv.Itoa(t.Count)
	default:
		return "0"
	}
}

// Exceeded reports whether failed failures out of processed users trips it.
func (t Threshold) Exceeded(failed, processed int64) bool {
	switch {
	case t.Count > 0:
		return failed > int64(t.Count)
	case t.Percent > 0:
		return float64(failed) > t.Percent/100*float64(max(processed, minFailureSample))
	default:
		return false
	}
}

// Config is the whole configuration of a run, filled from flags and
// environment variables by the command. Call Validate before use.
type Config struct {
	UserPoolID     string // the pool to migrate
	Input          string // CSV path or s3://bucket/key
	Report         string // per-user report (CSV); "" = derived from Input
	Summary        string // JSON summary; "" = derived from Input
	Checkpoint     string // checkpoint path or s3://bucket/key; "" = derived from Input
	DryRun         bool   // plan and report, write nothing to Cognito
	UsernameColumn string // CSV column holding the username; "" = detect
	ReadAll        bool   // ignore the export's "no legacy options" and read every user
	Verify         bool   // read each migrated user again and check SMS_MFA is on
	NoMask         bool   // show full phone numbers in the report (never in logs)
	Reset          bool   // discard an existing checkpoint and start over

	ReadRPS, WriteRPS, ListRPS float64 // per-category rates; <= 0 means unlimited
	Workers                    int     // upper bound of concurrent users in flight
	MaxFailures                Threshold
	Retry                      cognito.RetryOptions
	Pacing                     Pacing // production-aware pacing (--*-rps auto); see pacing.go

	CallTimeout     time.Duration // longest wait for the answer to one attempt, retried after (0 = none)
	StallTimeout    time.Duration // stop (exit 1) when no call is answered for this long (0 = never)
	MaxDuration     time.Duration // end the slice after this long (0 = no limit)
	MaxUsers        int           // end the slice after this many input rows not done before, invalid, duplicate and export-skipped rows included (0 = no limit)
	ShutdownTimeout time.Duration // the stop budget: drain (half of it), final save, lock release, outputs
	SaveEvery       int           // save the checkpoint after this many outcomes...
	SaveInterval    time.Duration // ...or after this long, whichever comes first
	LockTTL         time.Duration // lifetime of the checkpoint lock; renewed at a third of it

	ProgressInterval time.Duration // how often progress is reported
	TempDir          string        // scratch space for the input scan; "" = os.TempDir()
	InterimReport    string        // when a stopped run writes the report: "" or InterimReportAuto, ...Always, ...End
}

// DefaultConfig returns a Config holding every default.
func DefaultConfig() Config {
	mf, _ := parseThreshold(DefaultMaxFailures)
	return Config{
		ReadRPS: DefaultReadRPS, WriteRPS: DefaultWriteRPS, ListRPS: DefaultListRPS,
		Workers: DefaultWorkers, MaxFailures: mf,
		CallTimeout: DefaultCallTimeout, StallTimeout: DefaultStallTimeout,
		ShutdownTimeout: DefaultShutdownTimeout, SaveEvery: DefaultSaveEvery, SaveInterval: DefaultSaveInterval,
		LockTTL: DefaultLockTTL, ProgressInterval: DefaultProgressInterval,
	}
}

var poolIDPattern = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)

// ValidatePoolID checks a user pool ID against Cognito's rules (1–55
// characters, pattern [\w-]+_[0-9a-zA-Z]+, such as us-east-1_AbC123).
func ValidatePoolID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: --user-pool-id is required (for example us-east-1_AbC123)", ErrUsage)
	}
	if n := utf8.RuneCountInString(id); n > 55 || !poolIDPattern.MatchString(id) {
		return fmt.Errorf("%w: --user-pool-id %q is not a user pool ID: want <region>_<id> such as us-east-1_AbC123, at most 55 characters", ErrUsage, id)
	}
	return nil
}

// Validate checks the configuration before any call is made. Errors wrap ErrUsage.
func (c *Config) Validate() error {
	if err := ValidatePoolID(c.UserPoolID); err != nil {
		return err
	}
	if c.Input == "" {
		return fmt.Errorf("%w: --input is required: the CSV of users to migrate (see 'export')", ErrUsage)
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"--read-rps", c.ReadRPS}, {"--write-rps", c.WriteRPS}, {"--list-rps", c.ListRPS}} {
		if math.IsNaN(r.v) || r.v < 0 {
			return fmt.Errorf("%w: %s must be a positive number of requests per second (0 = unlimited)", ErrUsage, r.name)
		}
	}
	switch {
	case c.Workers < 1:
		return fmt.Errorf("%w: --workers must be at least 1", ErrUsage)
	case c.MaxDuration < 0:
		return fmt.Errorf("%w: --max-duration must not be negative", ErrUsage)
	case c.MaxDuration > 0 && c.MaxDuration < minMaxDuration:
		return fmt.Errorf("%w: --max-duration %v is too short to make progress: give at least %v (0 = no limit)", ErrUsage, c.MaxDuration, minMaxDuration)
	case c.CallTimeout < 0:
		return fmt.Errorf("%w: --call-timeout must not be negative (0 = none)", ErrUsage)
	case c.StallTimeout < 0:
		return fmt.Errorf("%w: --stall-timeout must not be negative (0 = never)", ErrUsage)
	case c.StallTimeout > 0 && c.CallTimeout > 0 && c.StallTimeout <= c.CallTimeout:
		return fmt.Errorf("%w: --stall-timeout (%v) must be longer than --call-timeout (%v)", ErrUsage, c.StallTimeout, c.CallTimeout)
	case c.MaxUsers < 0:
		return fmt.Errorf("%w: --max-users must not be negative", ErrUsage)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("%w: --shutdown-timeout must be positive", ErrUsage)
	case c.SaveEvery < 1:
		return fmt.Errorf("%w: --save-every must be at least 1", ErrUsage)
	case c.SaveInterval <= 0:
		return fmt.Errorf("%w: --save-interval must be positive", ErrUsage)
	case c.LockTTL < 3*time.Second:
		return fmt.Errorf("%w: --lock-ttl must be at least 3s", ErrUsage)
	case c.ProgressInterval <= 0:
		return fmt.Errorf("%w: --progress-interval must be positive", ErrUsage)
	}
	if err := c.Pacing.validate(); err != nil {
		return err
	}
	return validInterimReport(c.InterimReport)
}

// Mode is "dry-run" or "apply".
func (c *Config) Mode() string {
	if c.DryRun {
		return "dry-run"
	}
	return "apply"
}

// derived returns a location next to the input: users.csv → users.<suffix>.
func (c *Config) derived(suffix string) string {
	base := c.Input
	if i := strings.LastIndexByte(base, '.'); i > strings.LastIndexByte(base, '/') {
		base = base[:i]
	}
	if c.DryRun {
		base += ".dry-run"
	}
	return base + "." + suffix
}

// CheckpointLocation returns the checkpoint location: --checkpoint, or
// <input>.checkpoint (<input>.dry-run.checkpoint for a dry run, so a dry run
// and a real run never share one).
func (c *Config) CheckpointLocation() string {
	if c.Checkpoint != "" {
		return c.Checkpoint
	}
	return c.derived("checkpoint")
}

// ReportLocation returns --report or <input>.report.csv (<input>.dry-run.report.csv).
func (c *Config) ReportLocation() string {
	if c.Report != "" {
		return c.Report
	}
	return c.derived("report.csv")
}

// SummaryLocation returns --summary or <input>.summary.json (<input>.dry-run.summary.json).
func (c *Config) SummaryLocation() string {
	if c.Summary != "" {
		return c.Summary
	}
	return c.derived("summary.json")
}

// identityFlags are the settings that change which user a row is;
// resuming with any of them changed is refused. --read-all and --verify
// are not among them: they change no decision already recorded (a row
// recorded not read stays done; a verified row is verified), so they may be
// added or dropped on resume.
func (c *Config) identityFlags() map[string]string {
	return map[string]string{"username-column": c.UsernameColumn}
}

// formerIdentityFlags were identity flags in checkpoints of earlier
// versions; they are ignored when resuming.
var formerIdentityFlags = []string{"read-all", "verify"}

// Values of Config.InterimReport: when a run that stops early and can be
// resumed (exit 4) writes the per-user report. A run that finishes the job,
// or stops for any other reason, always writes it; and the report command
// rebuilds it from the checkpoint at any time.
const (
	// InterimReportAuto (also "") writes the report of a stopped run when
	// writing it costs little next to the run's own work: the input has at
	// most interimReportRows rows, or at most interimReportRatio rows per
	// row the run recorded. A short slice of a job of millions of rows
	// skips it; a long one, or any run of a small job, writes it.
	InterimReportAuto = "auto"
	// InterimReportAlways writes it after every run.
	InterimReportAlways = "always"
	// InterimReportEnd writes it only when the job ends.
	InterimReportEnd = "end"
)

// validInterimReport checks Config.InterimReport.
func validInterimReport(v string) error {
	switch v {
	case "", InterimReportAuto, InterimReportAlways, InterimReportEnd:
		return nil
	}
	return fmt.Errorf("%w: --interim-report must be auto, always or end", ErrUsage)
}
