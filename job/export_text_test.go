package job

import (
	"strings"
	"testing"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/pace"
)

// TestExportSummaryText checks the export summary's wording: no rate over
// a fraction of a second, and singulars.
func TestExportSummaryText(t *testing.T) {
	tests := []struct {
		name      string
		sum       ExportSummary
		want, not []string
	}{
		{
			name: "one page in 30 ms",
			sum: ExportSummary{PoolID: "p", Output: "o.csv", Written: true, Users: 13, Pages: 1, DurationSeconds: 0.03,
				ListUsers: cognito.OpStats{Calls: 1, Attempts: 1}, Rate: pace.RateSummary{Configured: 10, Achieved: 33.3}},
			want: []string{"13 in 1 page (ListUsers: 1 request, 0 throttled, 10/s configured)"},
			not:  []string{"33.3/s", "1 requests", "1 pages"},
		},
		{
			name: "many pages over minutes",
			sum: ExportSummary{PoolID: "p", Output: "o.csv", Written: true, Users: 1200, Pages: 20, DurationSeconds: 120,
				ListUsers: cognito.OpStats{Calls: 20, Attempts: 22, Throttled: 2}, Rate: pace.RateSummary{Configured: 10, Achieved: 0.18}},
			want: []string{"1200 in 20 pages (ListUsers: 22 requests, 2 throttled; 0.2/s, 10/s configured)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := tt.sum.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("WriteText = %q, want it to contain %q", b.String(), w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("WriteText = %q, want no %q", b.String(), n)
				}
			}
		})
	}
}

// TestSummaryTextSingulars checks the run summary's call line.
func TestSummaryTextSingulars(t *testing.T) {
	for _, tt := range []struct {
		c    cognito.OpStats
		want string
	}{
		{cognito.OpStats{Calls: 1, Retries: 1}, "AdminGetUser: 1 call, 1 retry, 0 throttled"},
		{cognito.OpStats{Calls: 2, Retries: 3}, "AdminGetUser: 2 calls, 3 retries, 0 throttled"},
	} {
		var b strings.Builder
		if err := (&Summary{Calls: map[string]cognito.OpStats{"AdminGetUser": tt.c}}).WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("WriteText = %q, want %q", b.String(), tt.want)
		}
	}
}
