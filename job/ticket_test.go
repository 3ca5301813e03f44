package job

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// update (-update) is declared in report_golden_test.go.

// ticketState is a job of three runs: a slice stopped at --max-duration
// with throttles, a run that crashed (no end recorded), and the run that
// finished it, with users that failed and were rejected.
func ticketState() (*checkpoint.State, string) {
	in := "username\nalice.smith@example.com\nbob\n+14155550123\ncarol.jones@example.com\n\"dave|<b>*evil*</b>\"\nerin.x@example.com\n"
	migrated := encodeRow(outcomeMigrated, &userState{Found: true, Enabled: true, LegacySMS: true, Phone: "+14155550100", SMS: false})
	st := &checkpoint.State{
		Identity: checkpoint.Identity{PoolID: "us-east-1_AbC123", InputSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Mode: "apply"},
		Rows: []uint32{
			migrated,
			encodeRow(outcomeAlreadyMigrated, &userState{Found: true, Enabled: true, SMS: true, Phone: "+14155550101"}),
			encodeRow(outcomeFailed, nil),
			encodeRow(outcomeRejected, &userState{Found: true, Enabled: true, LegacySMS: true, Phone: "+14155550102"}),
			encodeRow(outcomeFailed, nil),
			migrated,
		},
		Notes:   map[int]string{2: "InternalErrorException", 3: "InvalidParameterException: phone +1******0102", 4: "TooManyRequestsException"},
		Stats:   map[string]int64{"AdminGetUser.calls": 6, "AdminGetUser.attempts": 9, "AdminGetUser.throttled": 2, "AdminGetUser.errors": 1, "AdminSetUserMFAPreference.calls": 3, "AdminSetUserMFAPreference.attempts": 3},
		Created: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		Updated: time.Date(2026, 11, 2, 13, 30, 5, 0, time.UTC),
	}
	exit4, exit3 := 4, 3
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	st.Runs = []checkpoint.Run{
		{ID: "20261101T020000Z-a12b3c4d5e6f", Host: "ecs-task-1", Version: "v1.2.0", Started: start, Ended: start.Add(3*time.Minute + 10*time.Second),
			Reason: StopMaxDuration, ExitCode: &exit4, Processed: 3,
			Figures: map[string]float64{"read_rps_achieved": 9.5, "read_rps_configured": 10, "write_rps_achieved": 4.2, "write_rps_configured": 5, "read_throttles": 2},
			Series:  []checkpoint.Point{{Start: 0, Seconds: 60, Reads: 540, Writes: 240}, {Start: 60, Seconds: 60, Reads: 600, Writes: 300, Throttles: 2}, {Start: 120, Seconds: 60, Reads: 480, Writes: 270}, {Start: 180, Seconds: 10, Reads: 50, Writes: 20}}},
		{ID: "20261101T040000Z-b23c4d5e6f7a", Host: "ecs-task-2", Version: "v1.2.0", Started: start.Add(2 * time.Hour), Processed: 1,
			Series: []checkpoint.Point{{Start: 0, Seconds: 60, Reads: 300, Writes: 120}}},
		{ID: "20261101T060000Z-c34d5e6f7a8b", Host: "ecs-task-3", Version: "v1.2.1", Started: start.Add(4 * time.Hour), Ended: start.Add(4*time.Hour + 2*time.Minute),
			Reason: StopCompleted, ExitCode: &exit3, Processed: 2,
			Figures: map[string]float64{"read_rps_achieved": 10, "read_rps_configured": 10, "write_rps_achieved": 5, "write_rps_configured": 5},
			Series:  []checkpoint.Point{{Start: 0, Seconds: 60, Reads: 600, Writes: 300}, {Start: 60, Seconds: 60, Reads: 420, Writes: 180}}},
		{ID: "4d5e6f7a8b9c0d1e", Host: "laptop", Started: start.Add(4*time.Hour + 30*time.Minute)}, // from before the series
	}
	return st, in
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file %s (go test -run %s -update rewrites it after review):\n%s", t.Name(), path, t.Name(), got)
	}
}

// TestTicketGolden renders the change-ticket report of ticketState as
// Markdown (with its SVG chart) and HTML and compares them with
// testdata/ticket.md.golden and testdata/ticket.html.golden.
func TestTicketGolden(t *testing.T) {
	st, in := ticketState()
	open := func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(in)), nil }
	tk, err := newTicket(t.Context(), st, "s3://bucket/users.checkpoint", "s3://bucket/users.csv", open, input.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var md, htm bytes.Buffer
	if err := tk.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := tk.WriteHTML(&htm); err != nil {
		t.Fatal(err)
	}
	golden(t, "ticket.md.golden", md.Bytes())
	golden(t, "ticket.html.golden", htm.Bytes())
	for _, secret := range []string{"alice.smith", "4155550123", "4155550102", "<b>"} {
		if bytes.Contains(md.Bytes(), []byte(secret)) || bytes.Contains(htm.Bytes(), []byte(secret)) {
			t.Errorf("the ticket holds %q: usernames are shortened, phones masked, markup escaped", secret)
		}
	}
}

// TestTicketUsersBounded checks that a ticket lists at most maxTicketUsers
// users and counts the others.
func TestTicketUsersBounded(t *testing.T) {
	const n = maxTicketUsers + 7
	var b strings.Builder
	b.WriteString("username\n")
	st := &checkpoint.State{Identity: checkpoint.Identity{Mode: "apply"}, Rows: make([]uint32, n)}
	for i := range n {
		b.WriteString("user-number-" + string(rune('a'+i%26)) + "\n")
		st.Rows[i] = encodeRow(outcomeFailed, nil)
	}
	tk, err := newTicket(t.Context(), st, "cp", "in.csv", func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(b.String())), nil }, input.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tk.Users) != maxTicketUsers || tk.MoreUsers != 7 {
		t.Errorf("ticket lists %d users and %d more, want %d and 7", len(tk.Users), tk.MoreUsers, maxTicketUsers)
	}
}

// TestDryRunCostPartial checks the cost of a dry run stopped halfway: it is
// marked partial and extrapolated from the rows it settled.
func TestDryRunCostPartial(t *testing.T) {
	would := encodeRow(outcomeWouldMigrate, &userState{Found: true, Enabled: true, LegacySMS: true, Phone: "+14155550100"})
	none := encodeRow(outcomeNoLegacyMFA, &userState{Found: true, Enabled: true})
	rows := []uint32{would, none, 0, 0}
	c := dryRunCost(rows, false, 10, 5)
	if !c.Partial || c.FromRows != 2 || c.OfRows != 4 || c.AdminGetUserCalls != 4 || c.WriteCalls != 2 {
		t.Errorf("dryRunCost(half done) = %+v, want partial, from 2 of 4 rows, 4 reads and 2 writes", c)
	}
	full := dryRunCost([]uint32{would, none}, false, 10, 5)
	if full.Partial || full.AdminGetUserCalls != 2 || full.WriteCalls != 1 {
		t.Errorf("dryRunCost(done) = %+v, want not partial, 2 reads and 1 write", full)
	}
	var b strings.Builder
	_ = (&Summary{Cost: c}).WriteText(&b)
	if !strings.Contains(b.String(), "partial estimate: the dry run stopped after 2 of 4 rows") {
		t.Errorf("summary text = %q, want the cost labelled partial", b.String())
	}
}

// TestTicketChartOddSeries draws a chart from series this program would not
// write (an empty interval, negative counts): they are left out, and no
// NaN or infinity reaches the SVG.
func TestTicketChartOddSeries(t *testing.T) {
	tk := &Ticket{Runs: []checkpoint.Run{{ID: "r", Series: []checkpoint.Point{
		{Start: 0, Seconds: 0, Reads: 5}, {Start: 0, Seconds: 60, Reads: -3}, {Start: 60, Seconds: 60, Reads: 120},
	}}}}
	svg := tk.chart()
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") || !strings.Contains(svg, "<polyline") {
		t.Errorf("chart = %s; want a line and no NaN or Inf", svg)
	}
	if got := (&Ticket{Runs: []checkpoint.Run{{ID: "r", Series: []checkpoint.Point{{Seconds: 0}}}}}).chart(); !strings.Contains(got, "No rate over time") {
		t.Errorf("chart of nothing drawable = %s, want the explanation", got)
	}
}
