// Package selftest proves, in a scratch user pool of the operator's own
// account, that Cognito behaves as this tool assumes (reference §1–§2 and
// the inferred rules), before the tool touches production.
//
// Run creates users in every state of the decision table (with
// MessageAction SUPPRESS and a recognisable prefix), runs the real migration
// (job.Run) on them, checks every outcome and every assumption, and deletes
// its users and its temporary app client whatever happens: on failure, on
// error and when ctx is cancelled (a signal), with a context of its own.
// The same code runs in the test suite against job/cognitotest, including a
// fake configured to disagree with one assumption.
package selftest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// API is the part of the Cognito client the self-test calls; the signatures
// are the SDK's, so *cognitoidentityprovider.Client satisfies it.
type API interface {
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminSetUserMFAPreference(ctx context.Context, in *cip.AdminSetUserMFAPreferenceInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserMFAPreferenceOutput, error)
	AdminSetUserSettings(ctx context.Context, in *cip.AdminSetUserSettingsInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserSettingsOutput, error)
	AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, optFns ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error)
	AdminDeleteUser(ctx context.Context, in *cip.AdminDeleteUserInput, optFns ...func(*cip.Options)) (*cip.AdminDeleteUserOutput, error)
	AdminUpdateUserAttributes(ctx context.Context, in *cip.AdminUpdateUserAttributesInput, optFns ...func(*cip.Options)) (*cip.AdminUpdateUserAttributesOutput, error)
	AdminDeleteUserAttributes(ctx context.Context, in *cip.AdminDeleteUserAttributesInput, optFns ...func(*cip.Options)) (*cip.AdminDeleteUserAttributesOutput, error)
	AdminSetUserPassword(ctx context.Context, in *cip.AdminSetUserPasswordInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserPasswordOutput, error)
	AdminResetUserPassword(ctx context.Context, in *cip.AdminResetUserPasswordInput, optFns ...func(*cip.Options)) (*cip.AdminResetUserPasswordOutput, error)
	AdminInitiateAuth(ctx context.Context, in *cip.AdminInitiateAuthInput, optFns ...func(*cip.Options)) (*cip.AdminInitiateAuthOutput, error)
	AssociateSoftwareToken(ctx context.Context, in *cip.AssociateSoftwareTokenInput, optFns ...func(*cip.Options)) (*cip.AssociateSoftwareTokenOutput, error)
	VerifySoftwareToken(ctx context.Context, in *cip.VerifySoftwareTokenInput, optFns ...func(*cip.Options)) (*cip.VerifySoftwareTokenOutput, error)
	SignUp(ctx context.Context, in *cip.SignUpInput, optFns ...func(*cip.Options)) (*cip.SignUpOutput, error)
	CreateUserPoolClient(ctx context.Context, in *cip.CreateUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.CreateUserPoolClientOutput, error)
	DeleteUserPoolClient(ctx context.Context, in *cip.DeleteUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.DeleteUserPoolClientOutput, error)
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
}

var _ API = (*cip.Client)(nil)

// DefaultMaxPoolUsers is how many users a pool may hold before the
// self-test refuses it as not a scratch pool (unless Config.Force).
const DefaultMaxPoolUsers = 10

// Prefix starts the name of every user the self-test creates.
const Prefix = "cmm-selftest-"

// CleanupTimeout bounds the deletion of the self-test's users and app client
// after the test, even when the test's context was cancelled.
const CleanupTimeout = 60 * time.Second

// ErrNotScratch means the pool holds more users than a scratch pool would.
var ErrNotScratch = errors.New("the pool does not look like a scratch pool")

// Config configures Run.
type Config struct {
	PoolID string
	// Force runs in a pool with more than MaxPoolUsers users.
	Force bool
	// MaxPoolUsers defaults to DefaultMaxPoolUsers.
	MaxPoolUsers int
	// Dir is a folder for the run's input, checkpoint, report and summary;
	// required.
	Dir string
	// Logger receives progress; nil discards.
	Logger *slog.Logger
	// Now is the clock TOTP codes are computed from; nil is time.Now.
	Now func() time.Time
	// OnUsersCreated, if not nil, is called once every user exists, before
	// the migration runs (tests use it to interrupt the self-test there).
	OnUsersCreated func()
}

// Status is the result of one check.
type Status string

// The results of a check.
const (
	Held    Status = "held"
	Refuted Status = "REFUTED"
	Skipped Status = "skipped"
)

// Result is one checked outcome or assumption.
type Result struct {
	Kind   string `json:"kind"` // "assumption" or "outcome"
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Source string `json:"source,omitempty"` // where the assumption comes from
}

// Report is what a self-test found.
type Report struct {
	PoolID   string   `json:"pool_id"`
	Prefix   string   `json:"prefix"`
	Results  []Result `json:"results"`
	Created  int      `json:"users_created"`
	Deleted  int      `json:"users_deleted"`
	Leftover []string `json:"leftover,omitempty"`              // users or clients that could not be deleted
	Swept    int      `json:"earlier_users_deleted,omitempty"` // users an earlier, killed self-test left
}

// OK reports whether no check was refuted and everything was deleted.
func (r *Report) OK() bool {
	for _, x := range r.Results {
		if x.Status == Refuted {
			return false
		}
	}
	return len(r.Leftover) == 0
}

// Refuted returns the names of the refuted checks.
func (r *Report) Refuted() []string {
	var out []string
	for _, x := range r.Results {
		if x.Status == Refuted {
			out = append(out, x.Name)
		}
	}
	return out
}

func (r *Report) add(kind, name string, st Status, source, format string, args ...any) {
	r.Results = append(r.Results, Result{Kind: kind, Name: name, Status: st, Detail: fmt.Sprintf(format, args...), Source: source})
}

// WriteText prints one line per check and a verdict.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, x := range r.Results {
		src := ""
		if x.Source != "" {
			src = " [" + x.Source + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", x.Status, x.Kind, x.Name, x.Detail, src)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "users: %d created with prefix %s, %d deleted\n", r.Created, r.Prefix, r.Deleted)
	if r.Swept > 0 {
		fmt.Fprintf(w, "users an earlier selftest left (killed before it could clean up): %d deleted\n", r.Swept)
	}
	if len(r.Leftover) > 0 {
		fmt.Fprintf(w, "NOT DELETED (delete them by hand): %s\n", strings.Join(r.Leftover, ", "))
	}
	var err error
	if ref := r.Refuted(); len(ref) > 0 {
		_, err = fmt.Fprintf(w, "selftest FAILED: Cognito in this account does not behave as this tool assumes: %s\n  do not run the migration before this is understood\n", strings.Join(ref, ", "))
	} else if len(r.Leftover) > 0 {
		_, err = fmt.Fprintln(w, "selftest FAILED: its users could not all be deleted")
	} else {
		_, err = fmt.Fprintln(w, "selftest passed: every assumption checked held (skipped ones were not checked)")
	}
	return err
}

// WriteJSON writes the report as one JSON object with "ok" added.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		OK bool `json:"ok"`
		*Report
	}{r.OK(), r})
}

// newPrefix returns Prefix and 32 random bits, so that two self-tests in one
// pool never share users.
func newPrefix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return Prefix + hex.EncodeToString(b) + "-"
}
