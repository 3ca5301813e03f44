package job

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognitotest"
)

// subOf returns the sub the fake gave a user.
func subOf(tb testing.TB, srv *cognitotest.Server, name string) string {
	tb.Helper()
	u, ok := srv.User(testPool, name)
	if !ok || u.Attributes["sub"] == "" {
		tb.Fatalf("user %s has no sub in the fake", name)
	}
	return u.Attributes["sub"]
}

// chainOrder returns users in the order a 16-chain export writes them:
// by the first hex digit of their sub, in insertion order within a chain.
func chainOrder(tb testing.TB, srv *cognitotest.Server, users []cognitotest.User) []cognitotest.User {
	tb.Helper()
	out := slices.Clone(users)
	first := map[string]byte{}
	for _, u := range out {
		first[u.Username] = subOf(tb, srv, u.Username)[0]
	}
	slices.SortStableFunc(out, func(a, b cognitotest.User) int { return int(first[a.Username]) - int(first[b.Username]) })
	return out
}

// chainPages is the number of ListUsers calls an export of users with
// chains chains makes: ceil(users/60) per chain, and one for an empty one.
func chainPages(tb testing.TB, srv *cognitotest.Server, users []cognitotest.User, chains int) int {
	tb.Helper()
	per := map[string]int{}
	for _, u := range users {
		sub := subOf(tb, srv, u.Username)
		switch chains {
		case 16:
			per[sub[:1]]++
		case 256:
			per[sub[:2]]++
		default:
			per[""]++
		}
	}
	pages := chains - len(per) // empty chains: one call each
	for _, n := range per {
		pages += (n + listUsersPageSize - 1) / listUsersPageSize
	}
	return pages
}

// concurrentLister counts the ListUsers calls in flight at once.
type concurrentLister struct {
	cognito.ListUsersAPI
	now, max atomic.Int32
}

func (c *concurrentLister) ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
	}
	return c.ListUsersAPI.ListUsers(ctx, in, optFns...)
}

// TestExportChains lists a pool as 1, 16 and 256 disjoint chains: every
// user exactly once, in chain order, the same bytes on every export, the
// chains' calls in flight together, each with its sub prefix filter.
func TestExportChains(t *testing.T) {
	users := tenthLegacy(3_000)
	srv := newPool(t, users)
	srv.SetFaults("ListUsers", cognitotest.Faults{Latency: 5 * time.Millisecond})
	var outputs [][]byte
	for _, chains := range []int{1, 16, 256, 16} {
		t.Run(fmt.Sprint("chains=", chains), func(t *testing.T) {
			srv.ResetStats()
			out := filepath.Join(t.TempDir(), "users.csv")
			cfg := testExportConfig(out)
			cfg.All, cfg.Chains, cfg.ListRPS = true, chains, 0
			lister := &concurrentLister{ListUsersAPI: exportClient(srv)}
			sum, err := Export(t.Context(), cfg, ExportDeps{Cognito: lister})
			if err != nil {
				t.Fatal(err)
			}
			got := readExport(t, out)
			seen := map[string]int{}
			for _, r := range got {
				seen[r.Username]++
			}
			for _, u := range users {
				if seen[u.Username] != 1 {
					t.Errorf("user %s listed %d times, want once", u.Username, seen[u.Username])
				}
			}
			if len(got) != len(users) || sum.Users != int64(len(users)) {
				t.Errorf("export has %d rows, summary %d users; want %d", len(got), sum.Users, len(users))
			}
			if chains == 16 {
				if want := wantRecords(chainOrder(t, srv, users), true); !slices.Equal(want, got) {
					t.Errorf("16-chain export is not in chain order (sub's first digit, then the pool's order)")
				}
			}
			if want := chainPages(t, srv, users, chains); sum.Pages != int64(want) || srv.Calls("ListUsers") != want {
				t.Errorf("pages %d, calls %d; want %d", sum.Pages, srv.Calls("ListUsers"), want)
			}
			filters := map[string]bool{}
			for _, r := range srv.Requests("ListUsers") {
				var in struct{ Filter string }
				if err := json.Unmarshal(r.Body, &in); err != nil {
					t.Fatal(err)
				}
				filters[in.Filter] = true
			}
			if chains > 1 {
				if len(filters) != chains || !filters[`sub ^= "`+chainPrefixes(chains)[chains-1]+`"`] {
					t.Errorf("requests used %d distinct filters, want the %d sub prefixes", len(filters), chains)
				}
				if m := lister.max.Load(); m < 2 {
					t.Errorf("at most %d ListUsers call in flight, want the chains paged in parallel", m)
				}
			} else if !filters[""] || len(filters) != 1 {
				t.Errorf("one chain used filters %v, want none", filters)
			}
			b, _ := os.ReadFile(out)
			outputs = append(outputs, b)
		})
	}
	if len(outputs) == 4 && !bytes.Equal(dropComments(outputs[1]), dropComments(outputs[3])) {
		t.Error("two 16-chain exports of the same pool differ, want the same bytes")
	}
}

// dropComments removes the export's comment line (its pool and time).
func dropComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasPrefix(l, []byte("#")) {
			out = append(out, l...)
		}
	}
	return out
}

// failingLister fails ListUsers with err once it has answered n calls.
type failingLister struct {
	cognito.ListUsersAPI
	n   atomic.Int32
	at  int32
	err error
}

func (f *failingLister) ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	if f.n.Add(1) > f.at {
		return nil, f.err
	}
	return f.ListUsersAPI.ListUsers(ctx, in, optFns...)
}

// TestExportChainFails: one chain failing fatally stops the export with
// that error (not a cancellation), writes nothing, and leaves no temporary
// file behind.
func TestExportChainFails(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	srv := newPool(t, tenthLegacy(3_000))
	srv.SetFaults("ListUsers", cognitotest.Faults{Latency: 2 * time.Millisecond})
	dir := t.TempDir()
	out := filepath.Join(dir, "users.csv")
	cfg := testExportConfig(out)
	cfg.All = true
	// A real Cognito answer through the real client: access denied after
	// 30 pages, while the other chains are still listing.
	srv2 := newPool(t, nil)
	srv2.SetAuthError("AccessDeniedException", "")
	_, denied := exportClient(srv2).ListUsers(t.Context(), &cip.ListUsersInput{UserPoolId: strPtr(testPool)})
	lister := &failingLister{ListUsersAPI: exportClient(srv), at: 30, err: denied}
	sum, err := Export(t.Context(), cfg, ExportDeps{Cognito: lister})
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "IAM policy") {
		t.Fatalf("Export() = %v (exit %d), want the fatal AccessDenied (exit 1)", err, ExitCode(err))
	}
	if sum.Written || sum.StopReason != StopFatal {
		t.Errorf("summary written %v, reason %s; want not written, fatal", sum.Written, sum.StopReason)
	}
	for _, d := range []string{dir, tmp} {
		if entries, _ := os.ReadDir(d); len(entries) != 0 {
			t.Errorf("%s holds %d files after the failure, want none", d, len(entries))
		}
	}
}

func strPtr(s string) *string { return &s }

// BenchmarkExportAtQuota exports a pool of 30,000 users at --list-rps 30
// with 0, 50 and 150 ms of ListUsers latency, and reports the wall time
// against the floor: the pages over the list rate, where pages is what 16
// chains need (each chain's last page is partial) and floor-500 the
// single-chain ceil(30000/60) = 500. Every user must come out exactly once.
//
//	go test ./job -run '^$' -bench ExportAtQuota -benchtime 1x
func BenchmarkExportAtQuota(b *testing.B) {
	const n, rps = 30_000, 30.0
	users := tenthLegacy(n)
	srv := newPool(b, users)
	srv.SetRecording(false)
	for _, lat := range []time.Duration{0, 50 * time.Millisecond, 150 * time.Millisecond} {
		for _, chains := range []int{1, DefaultListChains} {
			if chains == 1 && lat == 0 {
				continue
			}
			b.Run(fmt.Sprintf("latency=%v/chains=%d", lat, chains), func(b *testing.B) {
				srv.SetFaults("ListUsers", cognitotest.Faults{Latency: lat})
				out := filepath.Join(b.TempDir(), "users.csv")
				cfg := testExportConfig(out)
				cfg.All, cfg.ListRPS, cfg.Chains = true, rps, chains
				cfg.ProgressInterval = time.Second
				var wall time.Duration
				var pages int64
				for b.Loop() {
					start := time.Now()
					sum, err := Export(context.Background(), cfg, ExportDeps{Cognito: exportClient(srv)})
					wall += time.Since(start)
					if err != nil {
						b.Fatal(err)
					}
					pages = sum.Pages
				}
				b.StopTimer()
				seen := map[string]bool{}
				for _, r := range readExport(b, out) {
					if seen[r.Username] {
						b.Fatalf("user %s exported twice", r.Username)
					}
					seen[r.Username] = true
				}
				if len(seen) != n {
					b.Fatalf("export has %d users, want %d", len(seen), n)
				}
				per := wall.Seconds() / float64(b.N)
				b.ReportMetric(per, "s/export")
				b.ReportMetric(per/(float64(pages)/rps), "x-floor")
				b.ReportMetric(per/(float64((n+listUsersPageSize-1)/listUsersPageSize)/rps), "x-floor-500")
			})
		}
	}
}
