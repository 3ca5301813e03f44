package job

import (
	"context"
	"fmt"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// result is what a worker (or the dispatcher, for rows that need no call)
// hands to the recorder.
type result struct {
	index   int
	outcome outcome
	state   *userState // nil when the user was not read
	note    string     // error code, invalid-input reason, duplicate-of
	called  bool       // the row needed Cognito calls (a "user" for failure rates)
	cls     cognito.Class
	op      cognito.Op
	err     error
}

// worker migrates one user at a time: read, plan, write, and optionally
// verify. It holds no state of its own: any number of goroutines may share
// one.
type worker struct {
	api    cognito.API // paced and fenced by the runner
	poolID string
	dryRun bool
	verify bool
}

// process migrates the user of row. A call that fails is classified into
// the result: the recorder records the user's outcome or stops the run.
func (w *worker) process(ctx context.Context, row input.Row) result {
	res := result{index: row.Index, called: true}
	pool, user := w.poolID, row.Username
	out, err := w.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &user})
	if cls, code := cognito.Classify(ctx.Err(), err); cls != cognito.ClassOK {
		return failedCall(res, cognito.OpAdminGetUser, cls, code, err, nil)
	}
	st := stateFromUser(out)
	res.state = &st
	d := plan(st)
	res.outcome = d.Outcome
	if d.Call == callNone {
		return res
	}
	if w.dryRun {
		res.outcome = outcomeWouldMigrate
		if d.Expect != "" {
			res.outcome, res.note = outcomeRejected, fmt.Sprintf("%s expected: user status is %s", d.Expect, st.Status)
		}
		return res
	}
	_, err = w.api.AdminSetUserMFAPreference(ctx, d.Call.Input(pool, user))
	if cls, code := cognito.Classify(ctx.Err(), err); cls != cognito.ClassOK {
		return failedCall(res, cognito.OpAdminSetUserMFAPreference, cls, code, err, &st)
	}
	if w.verify {
		out, err := w.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &user})
		if cls, code := cognito.Classify(ctx.Err(), err); cls != cognito.ClassOK {
			return failedCall(res, cognito.OpAdminGetUser, cls, code, err, &st)
		}
		if !stateFromUser(out).SMS {
			res.outcome, res.note = outcomeFailed, "VerifyFailed: SMS_MFA not enabled after the write"
		}
	}
	return res
}

// failedCall turns a failed call into a result.
func failedCall(res result, op cognito.Op, cls cognito.Class, code string, err error, st *userState) result {
	res.cls, res.op, res.err, res.state = cls, op, err, st
	switch cls {
	case cognito.ClassNotFound:
		res.outcome = outcomeNotFound
		if st == nil {
			res.state = &userState{}
		}
	case cognito.ClassRejected:
		res.outcome, res.note = outcomeRejected, code
	case cognito.ClassTransient:
		res.outcome, res.note = outcomeFailed, code
	}
	return res
}
