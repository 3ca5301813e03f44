package selftest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"github.com/gocarina/gocsv"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
)

// Sources of the assumptions, as the reference names them.
const (
	srcLegacy     = "reference §1: legacy SMS shows MFAOptions, not SMS_MFA"
	srcAbsent     = "reference §2: settings not sent are unchanged (inferred)"
	srcNoPhone    = "reference §2: SMS without phone_number is InvalidParameterException"
	srcShared     = "reference §1: enabling SMS keeps the legacy MFAOptions entry (inferred)"
	srcRule5      = "reference Implications rule 5 (inferred)"
	srcNotFound   = "preflight: a user that does not exist answers UserNotFoundException"
	srcIdempotent = "reference Implications: repeating the write is safe (inferred)"
)

// The outcomes of the report (README "What it decides"), as the self-test
// expects them.
const (
	outMigrated        = "migrated"
	outNoPhone         = "no_phone"
	outAlreadyMigrated = "already_migrated"
	outNoLegacyMFA     = "no_legacy_mfa"
	outRejected        = "rejected"
	outNotFound        = "not_found"
)

// state is one user of the self-test: a state of the decision table.
type state struct {
	key      string // short name, also the username suffix
	want     string // the outcome in the report
	wantCode string // the rejection code, for rejected
	setup    func(ctx context.Context, t *tester, name string) (skip string, err error)
}

// tester is one self-test run.
type tester struct {
	cfg    Config
	api    API
	log    *slog.Logger
	rep    *Report
	prefix string
	pool   *string

	created  []string // users to delete
	clientID *string  // the temporary app client, to delete
	noClient string   // why there is no app client, "" if there is one
}

// Run runs the self-test in cfg.PoolID. It returns the report, nil error,
// when the test ran (check Report.OK); an error when it could not start
// (ErrNotScratch, a pool that cannot be read, a missing permission) or was
// interrupted (ctx done), with the report so far. Users and the app client
// it created are deleted before Run returns, in every case.
func Run(ctx context.Context, cfg Config, api API) (rep *Report, err error) {
	if cfg.MaxPoolUsers <= 0 {
		cfg.MaxPoolUsers = DefaultMaxPoolUsers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &tester{cfg: cfg, api: api, log: cfg.Logger, prefix: newPrefix(), pool: aws.String(cfg.PoolID)}
	t.rep = &Report{PoolID: cfg.PoolID, Prefix: t.prefix}
	if err := t.checkScratch(ctx); err != nil {
		return t.rep, err
	}
	t.sweep(ctx)
	defer func() {
		// Cleanup is detached from ctx: a signal must not leave users behind.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
		defer cancel()
		t.cleanup(cctx)
	}()
	if err := t.run(ctx); err != nil {
		if ctx.Err() != nil {
			return t.rep, fmt.Errorf("selftest interrupted (%w); its users are being deleted", ctx.Err())
		}
		return t.rep, err
	}
	return t.rep, nil
}

// checkScratch refuses a pool with more than a few users unless forced.
func (t *tester) checkScratch(ctx context.Context) error {
	n := int64(-1)
	out, err := t.api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: t.pool})
	if err == nil && out.UserPool != nil {
		n = int64(out.UserPool.EstimatedNumberOfUsers)
	} else if code(err) == "ResourceNotFoundException" {
		return fmt.Errorf("no user pool %s in this Region: %w", t.cfg.PoolID, err)
	} else {
		// DescribeUserPool may not be allowed; count a page of users instead.
		lu, lerr := t.api.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: t.pool, Limit: aws.Int32(int32(t.cfg.MaxPoolUsers + 1))})
		if lerr != nil {
			return fmt.Errorf("cannot count the pool's users (DescribeUserPool: %v): %w", err, lerr)
		}
		n = int64(len(lu.Users))
	}
	if n > int64(t.cfg.MaxPoolUsers) && !t.cfg.Force {
		return fmt.Errorf("%w: %s holds about %d users (more than %d): run selftest in a pool made for it (--force to run anyway; it creates and deletes only users named %s*)",
			ErrNotScratch, t.cfg.PoolID, n, t.cfg.MaxPoolUsers, Prefix)
	}
	return nil
}

// states are the users of the self-test, one per state of the decision
// table; "absent" is never created.
func states() []state {
	return []state{
		{key: "sms", want: outMigrated, setup: setupLegacy(true)},
		{key: "nophone", want: outNoPhone, setup: setupNoPhone},
		{key: "totp-preferred", want: outMigrated, setup: setupTOTP(true)},
		{key: "totp-enabled", want: outMigrated, setup: setupTOTP(false)},
		{key: "migrated", want: outAlreadyMigrated, setup: setupMigrated},
		{key: "nomfa", want: outNoLegacyMFA, setup: setupLegacy(false)},
		{key: "unconfirmed", want: outRejected, wantCode: "UserNotConfirmedException", setup: setupUnconfirmed},
		{key: "reset", want: outRejected, wantCode: "PasswordResetRequiredException", setup: setupReset},
		{key: "absent", want: outNotFound},
	}
}

func (t *tester) run(ctx context.Context) error {
	sts := states()
	skipped := map[string]string{}
	var names []string
	for _, s := range sts {
		name := t.prefix + s.key
		names = append(names, name)
		if s.setup == nil {
			continue
		}
		skip, err := s.setup(ctx, t, name)
		if err != nil {
			return fmt.Errorf("set up %s: %w", name, err)
		}
		if skip != "" {
			skipped[s.key] = skip
			t.log.Info("selftest: state skipped", "state", s.key, "why", skip)
		}
	}
	if t.cfg.OnUsersCreated != nil {
		t.cfg.OnUsersCreated()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// The legacy state as Cognito reports it, before the migration.
	t.checkLegacyState(ctx, t.prefix+"sms")

	rows, err := t.migrate(ctx, names)
	if err != nil {
		return err
	}
	for i, s := range sts {
		name := names[i]
		if why, ok := skipped[s.key]; ok {
			t.rep.add("outcome", s.key, Skipped, "", "%s", why)
			continue
		}
		row, ok := rows[name]
		if !ok {
			t.rep.add("outcome", s.key, Refuted, "", "no report row for %s", name)
			continue
		}
		got, want := row.Outcome, s.want
		if got == want && (s.wantCode == "" || row.Detail == s.wantCode) {
			t.rep.add("outcome", s.key, Held, "", "%s%s", got, suffix(row.Detail))
			continue
		}
		t.rep.add("outcome", s.key, Refuted, "", "got %s%s, want %s%s", got, suffix(row.Detail), want, suffix(s.wantCode))
	}
	t.checkAfter(ctx, skipped, rows)
	return ctx.Err()
}

func suffix(code string) string {
	if code == "" {
		return ""
	}
	return " (" + code + ")"
}

// migrate runs the real migration on the self-test's users and returns the
// report rows by username.
func (t *tester) migrate(ctx context.Context, names []string) (map[string]job.ReportRow, error) {
	dir, err := os.MkdirTemp(t.cfg.Dir, "selftest-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(in, []byte("username\n"+strings.Join(names, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	cfg := job.DefaultConfig()
	cfg.UserPoolID, cfg.Input = t.cfg.PoolID, in
	cfg.ReadRPS, cfg.WriteRPS, cfg.Workers = 25, 10, 4 // about 10 users: well under the quotas
	cfg.MaxFailures = job.Threshold{}
	_, err = job.Run(ctx, cfg, job.Deps{
		Cognito: t.api, Store: checkpoint.NewFile(cfg.CheckpointLocation()), Logger: t.log, Version: "selftest",
	})
	if err != nil && !errors.Is(err, job.ErrSomeFailed) {
		return nil, fmt.Errorf("the migration of the self-test's users: %w", err)
	}
	var rows []job.ReportRow
	f, err := os.Open(cfg.ReportLocation())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := gocsv.UnmarshalFile(f, &rows); err != nil {
		return nil, fmt.Errorf("read the self-test's report: %w", err)
	}
	out := make(map[string]job.ReportRow, len(rows))
	for _, r := range rows {
		out[r.Username] = r
	}
	return out, nil
}

// get reads a user.
func (t *tester) get(ctx context.Context, name string) (*cip.AdminGetUserOutput, error) {
	return t.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: t.pool, Username: aws.String(name)})
}

func hasSMSOption(u *cip.AdminGetUserOutput) bool {
	return slices.ContainsFunc(u.MFAOptions, func(o types.MFAOptionType) bool { return o.DeliveryMedium == types.DeliveryMediumTypeSms })
}

func (t *tester) checkLegacyState(ctx context.Context, name string) {
	const n = "legacy SMS shows as MFAOptions only"
	u, err := t.get(ctx, name)
	switch {
	case err != nil:
		t.rep.add("assumption", n, Refuted, srcLegacy, "AdminGetUser: %v", err)
	case hasSMSOption(u) && !slices.Contains(u.UserMFASettingList, "SMS_MFA") && aws.ToString(u.PreferredMfaSetting) == "":
		t.rep.add("assumption", n, Held, srcLegacy, "after AdminSetUserSettings(SMS): MFAOptions has SMS, UserMFASettingList %v, no preference", u.UserMFASettingList)
	default:
		t.rep.add("assumption", n, Refuted, srcLegacy, "after AdminSetUserSettings(SMS): MFAOptions %s, UserMFASettingList %v, preferred %q",
			describeOptions(u.MFAOptions), u.UserMFASettingList, aws.ToString(u.PreferredMfaSetting))
	}
}

func describeOptions(opts []types.MFAOptionType) string {
	var parts []string
	for _, o := range opts {
		parts = append(parts, string(o.DeliveryMedium)+":"+aws.ToString(o.AttributeName))
	}
	if len(parts) == 0 {
		return "[]"
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkAfter checks the assumptions that the users' state after the run
// shows, and those that need one more call.
func (t *tester) checkAfter(ctx context.Context, skipped map[string]string, rows map[string]job.ReportRow) {
	sms := t.prefix + "sms"
	if u, err := t.get(ctx, sms); err == nil {
		const n = "migration enables SMS_MFA, preferred when alone"
		if slices.Contains(u.UserMFASettingList, "SMS_MFA") && aws.ToString(u.PreferredMfaSetting) == "SMS_MFA" {
			t.rep.add("assumption", n, Held, "DESIGN decision rules", "UserMFASettingList %v, preferred SMS_MFA", u.UserMFASettingList)
		} else {
			t.rep.add("assumption", n, Refuted, "DESIGN decision rules", "UserMFASettingList %v, preferred %q", u.UserMFASettingList, aws.ToString(u.PreferredMfaSetting))
		}
		const m = "MFAOptions keeps the SMS entry after migration"
		if hasSMSOption(u) {
			t.rep.add("assumption", m, Held, srcShared, "MFAOptions %s", describeOptions(u.MFAOptions))
		} else {
			t.rep.add("assumption", m, Refuted, srcShared, "MFAOptions %s after AdminSetUserMFAPreference(SMS)", describeOptions(u.MFAOptions))
		}
	}
	t.checkAbsent(ctx, skipped)
	t.checkNoPhone(ctx, skipped)
	t.checkRejection("UNCONFIRMED is rejected with UserNotConfirmedException", "unconfirmed", "UserNotConfirmedException", skipped, rows)
	t.checkRejection("RESET_REQUIRED is rejected with PasswordResetRequiredException", "reset", "PasswordResetRequiredException", skipped, rows)

	const nf = "a write to a user that does not exist is UserNotFoundException"
	_, err := t.api.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: t.pool,
		Username: aws.String(t.prefix + "absent"), SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true}})
	if c := code(err); c == "UserNotFoundException" {
		t.rep.add("assumption", nf, Held, srcNotFound, "%s", c)
	} else {
		t.rep.add("assumption", nf, Refuted, srcNotFound, "got %s", errText(err))
	}

	const rep = "repeating the migration write is safe"
	before, err1 := t.get(ctx, sms)
	_, err2 := t.api.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: t.pool,
		Username: aws.String(sms), SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true, PreferredMfa: true}})
	after, err3 := t.get(ctx, sms)
	switch {
	case err1 != nil || err2 != nil || err3 != nil:
		t.rep.add("assumption", rep, Refuted, srcIdempotent, "%v", errors.Join(err1, err2, err3))
	case slices.Equal(before.UserMFASettingList, after.UserMFASettingList) && aws.ToString(before.PreferredMfaSetting) == aws.ToString(after.PreferredMfaSetting):
		t.rep.add("assumption", rep, Held, srcIdempotent, "same settings after a second identical write")
	default:
		t.rep.add("assumption", rep, Refuted, srcIdempotent, "settings changed: %v/%q → %v/%q", before.UserMFASettingList,
			aws.ToString(before.PreferredMfaSetting), after.UserMFASettingList, aws.ToString(after.PreferredMfaSetting))
	}
}

// checkAbsent: the TOTP users keep TOTP and their preference after a write
// that sent only SMSMfaSettings.
func (t *tester) checkAbsent(ctx context.Context, skipped map[string]string) {
	const n = "settings not sent are left unchanged"
	var details []string
	refuted := false
	for _, k := range []string{"totp-preferred", "totp-enabled"} {
		if _, ok := skipped[k]; ok {
			continue
		}
		u, err := t.get(ctx, t.prefix+k)
		if err != nil {
			refuted = true
			details = append(details, k+": "+errText(err))
			continue
		}
		wantPref := ""
		if k == "totp-preferred" {
			wantPref = "SOFTWARE_TOKEN_MFA"
		}
		ok := slices.Contains(u.UserMFASettingList, "SOFTWARE_TOKEN_MFA") && slices.Contains(u.UserMFASettingList, "SMS_MFA") &&
			aws.ToString(u.PreferredMfaSetting) == wantPref
		if !ok {
			refuted = true
		}
		details = append(details, fmt.Sprintf("%s: UserMFASettingList %v, preferred %q (want TOTP kept, preferred %q)", k, u.UserMFASettingList, aws.ToString(u.PreferredMfaSetting), wantPref))
	}
	switch {
	case len(details) == 0:
		t.rep.add("assumption", n, Skipped, srcAbsent, "the TOTP users could not be set up: %s", skipped["totp-preferred"])
	case refuted:
		t.rep.add("assumption", n, Refuted, srcAbsent, "%s", strings.Join(details, "; "))
	default:
		t.rep.add("assumption", n, Held, srcAbsent, "%s", strings.Join(details, "; "))
	}
}

// checkNoPhone: enabling SMS for a user without a phone number is refused.
func (t *tester) checkNoPhone(ctx context.Context, skipped map[string]string) {
	const n = "SMS cannot be enabled without phone_number"
	if why, ok := skipped["nophone"]; ok {
		t.rep.add("assumption", n, Skipped, srcNoPhone, "%s", why)
		return
	}
	_, err := t.api.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: t.pool,
		Username: aws.String(t.prefix + "nophone"), SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true}})
	if c := code(err); c == "InvalidParameterException" {
		t.rep.add("assumption", n, Held, srcNoPhone, "%s", c)
	} else {
		t.rep.add("assumption", n, Refuted, srcNoPhone, "got %s", errText(err))
	}
}

func (t *tester) checkRejection(name, key, want string, skipped map[string]string, rows map[string]job.ReportRow) {
	if why, ok := skipped[key]; ok {
		t.rep.add("assumption", name, Skipped, srcRule5, "%s", why)
		return
	}
	row := rows[t.prefix+key]
	if row.Outcome == outRejected && row.Detail == want {
		t.rep.add("assumption", name, Held, srcRule5, "%s", want)
		return
	}
	t.rep.add("assumption", name, Refuted, srcRule5, "the write was answered: %s%s", row.Outcome, suffix(row.Detail))
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func errText(err error) string {
	if err == nil {
		return "success"
	}
	if c := code(err); c != "" {
		return c
	}
	return err.Error()
}

// sweep deletes the users an earlier self-test left behind (one killed
// with SIGKILL cannot clean up): users named Prefix*, in a pool that passed
// the scratch check.
func (t *tester) sweep(ctx context.Context) {
	filter := fmt.Sprintf("username ^= %q", Prefix)
	out, err := t.api.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: t.pool, Filter: &filter, Limit: aws.Int32(60)})
	if err != nil {
		t.log.Warn("selftest: cannot look for users an earlier selftest left", "error", err)
		return
	}
	for _, u := range out.Users {
		name := aws.ToString(u.Username)
		if !strings.HasPrefix(name, Prefix) {
			continue
		}
		if _, err := t.api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: t.pool, Username: u.Username}); err == nil {
			t.rep.Swept++
		}
	}
	if t.rep.Swept > 0 {
		t.log.Info("selftest: deleted users an earlier selftest left", "users", t.rep.Swept)
	}
}

// cleanup deletes every user and the app client the self-test made.
func (t *tester) cleanup(ctx context.Context) {
	t.rep.Created = len(t.created)
	for _, name := range t.created {
		_, err := t.api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: t.pool, Username: aws.String(name)})
		if err != nil && code(err) != "UserNotFoundException" {
			t.rep.Leftover = append(t.rep.Leftover, "user "+name+" ("+errText(err)+")")
			continue
		}
		t.rep.Deleted++
	}
	if t.clientID != nil {
		_, err := t.api.DeleteUserPoolClient(ctx, &cip.DeleteUserPoolClientInput{UserPoolId: t.pool, ClientId: t.clientID})
		if err != nil && code(err) != "ResourceNotFoundException" {
			t.rep.Leftover = append(t.rep.Leftover, "app client "+aws.ToString(t.clientID)+" ("+errText(err)+")")
		}
	}
	t.log.Info("selftest: cleaned up", "users_deleted", t.rep.Deleted, "leftover", len(t.rep.Leftover))
}

// password returns a password that satisfies any Cognito password policy
// (upper, lower, digit, symbol, 24 characters). It is never printed.
func password() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return "Aa1!" + hex.EncodeToString(b) + "x-"
}

// phone is a fictional number (555-01xx is reserved for fiction in the
// NANP); no SMS is sent to it: users are created with SUPPRESS and never
// sign in with SMS.
const phone = "+15555550123"
