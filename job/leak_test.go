package job

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/jobtest"
)

// modulePrefix starts the function names of this module's packages in a
// goroutine dump.
const modulePrefix = "github.com/cognito-mfa-migrate/cognito-mfa-migrate/"

// jobGoroutines returns the dumps of the goroutines, other than the caller,
// that are running code of this module outside test files: goroutines of
// the job (or of the fake's handler, which runs on them in process). With
// blockedOnly, it leaves out the goroutines that are running, runnable or
// waiting for a mutex: a goroutine that has just called its WaitGroup's
// Done may still be on its way out.
func jobGoroutines(blockedOnly bool) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // the caller
		}
		lines := strings.Split(g, "\n")
		// The header reads "goroutine 7 [chan receive, 2 minutes]:".
		_, state, _ := strings.Cut(lines[0], "[")
		state, _, _ = strings.Cut(state, ",")
		state = strings.TrimSuffix(state, "]:")
		if blockedOnly && (state == "running" || state == "runnable" || strings.HasPrefix(state, "sync.Mutex") || state == "semacquire") {
			continue
		}
		for j := 1; j+1 < len(lines); j++ {
			file := strings.TrimSpace(lines[j+1])
			if strings.HasPrefix(lines[j], modulePrefix) && !strings.Contains(file, "_test.go:") {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

// TestRunCancelLeavesNoGoroutine cancels Run at random points (seeded):
// before it starts, after a random number of Cognito requests, or at a
// random time up to past the run's end (the final save, report and summary
// included), and checks that once Run has returned no goroutine of the job
// is left, and that a second run then finishes the job with every user's
// expected outcome. It runs in a synctest bubble, so that each seed cancels
// at the same point on every machine.
func TestRunCancelLeavesNoGoroutine(t *testing.T) {
	const users = 120
	const uncanceled = 4 * time.Second // about the run's length at the rates below
	for seed := range 10 {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			e := newTestEnv(t, users)
			rng := rand.New(rand.NewPCG(uint64(seed), 9))
			synctest.Test(t, func(t *testing.T) {
				e.srv.ResetStats()
				cfg := e.config()
				cfg.ReadRPS, cfg.WriteRPS = 40, 20
				hc := newInProcessHTTP(e.srv, 20*time.Millisecond, 10*time.Millisecond, uint64(seed))
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				var point string
				switch mode := seed % 3; {
				case seed == 0:
					point = "before Run"
					cancel()
				case mode == 1:
					k := rng.Int64N(2 * users)
					point = fmt.Sprintf("at request %d", k)
					var n atomic.Int64
					hc.onRequest = func() {
						if n.Add(1) == k {
							cancel()
						}
					}
				default:
					d := time.Duration(rng.Int64N(int64(uncanceled * 5 / 4)))
					point = fmt.Sprintf("after %v", d)
					time.AfterFunc(d, cancel)
				}
				sum, err := Run(ctx, cfg, e.inProcessDeps(cfg, hc))
				if err != nil && !errors.Is(err, ErrStopped) {
					t.Fatalf("canceled %s: Run() = %v, want success or ErrStopped", point, err)
				}
				// At once, a goroutine of the job that is blocked is left
				// behind. Then, once the goroutines on their way out have
				// finished (synctest.Wait), none may be left at all.
				if left := jobGoroutines(true); len(left) > 0 {
					t.Fatalf("canceled %s: %d goroutines of the job blocked after Run returned:\n\n%s", point, len(left), strings.Join(left, "\n\n"))
				}
				synctest.Wait()
				if left := jobGoroutines(false); len(left) > 0 {
					t.Fatalf("canceled %s: %d goroutines of the job left after Run returned:\n\n%s", point, len(left), strings.Join(left, "\n\n"))
				}
				if sum != nil {
					t.Logf("canceled %s: Run() = %v, %d of %d rows done", point, err, sum.Done, users)
				} else {
					t.Logf("canceled %s: Run() = %v before it started", point, err)
				}

				// The job resumes and finishes as if never interrupted. A user
				// whose write was answered but not recorded reads
				// already_migrated the second time.
				sum, err = Run(t.Context(), cfg, e.inProcessDeps(cfg, newInProcessHTTP(e.srv, 0, 0, 0)))
				if err != nil || sum.Remaining != 0 {
					t.Fatalf("resumed run = %v, %d remaining; want every row done", err, sum.Remaining)
				}
				got := outcomesByUser(t, cfg.ReportLocation())
				for _, s := range e.seeds {
					want := jobtest.For(s).Outcome
					if g := got[s.User.Username]; g != want && (want != "migrated" || g != "already_migrated") {
						t.Errorf("%s (%s): outcome %q, want %q", s.User.Username, s.Kind, g, want)
					}
				}
				e.checkFinalStates(t, nil)
			})
		})
	}
}
