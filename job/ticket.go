package job

import (
	"context"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/checkpoint"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// maxTicketUsers bounds the users a ticket lists by line; the others are
// counted (the per-user report lists every one).
const maxTicketUsers = 50

// Ticket is the change-ticket report of a job: what a change board asks
// for (pool, mode, every run with its times, exit code and rates, the
// outcomes, the calls, the users that failed or were rejected, and the rate
// over time), built from the checkpoint and the input. Usernames are
// shortened and phone numbers masked: a ticket is shared more widely than
// the per-user report.
type Ticket struct {
	PoolID      string
	Mode        string
	Input       string
	InputSHA256 string
	Checkpoint  string
	Created     time.Time
	Updated     time.Time
	Rows        int64
	Done        int64
	Outcomes    map[string]int64
	Calls       map[string]cognito.OpStats // the checkpoint's cumulative counters, in the summary's shape
	Runs        []checkpoint.Run
	Users       []TicketUser // the failed and rejected users, in input order, at most maxTicketUsers
	MoreUsers   int64        // failed and rejected users not listed
	Cost        *Cost        // a dry run's estimate of the real run
}

// TicketUser is a user a ticket lists: one that failed or was rejected.
type TicketUser struct {
	Line     int    // line in the input
	Username string // shortened (maskUsername)
	Outcome  string
	Detail   string // the error code or reason, phone numbers masked
}

// LoadTicket reads the checkpoint in store and the input it was made from
// (checked by its SHA-256) and returns the job's ticket. It takes no lock.
func LoadTicket(ctx context.Context, store checkpoint.Store, files Files, in, tmpDir string) (*Ticket, error) {
	data, _, err := store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", store, err)
	}
	st, err := checkpoint.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", store, err)
	}
	open, err := files.Opener(ctx, in)
	if err != nil {
		return nil, err
	}
	opts := input.Options{UsernameColumn: st.Identity.Flags["username-column"]}
	scan, err := input.ScanInput(ctx, open.Open, in, opts, tmpDir)
	if err != nil {
		return nil, err
	}
	defer scan.Close()
	if scan.SHA256 != st.Identity.InputSHA256 {
		return nil, fmt.Errorf("%w: %s is not the input of checkpoint %s (sha256 %s, the checkpoint's is %s)",
			input.ErrInput, in, store, short(scan.SHA256), short(st.Identity.InputSHA256))
	}
	open.Expect(scan.SHA256)
	return newTicket(ctx, st, store.String(), in, open.Open, opts)
}

// newTicket returns the ticket of st, naming the users that failed or were
// rejected from the input that open returns (named in, read with opts).
func newTicket(ctx context.Context, st *checkpoint.State, checkpointName, in string, open func(context.Context) (io.ReadCloser, error), opts input.Options) (*Ticket, error) {
	t := &Ticket{
		PoolID: st.Identity.PoolID, Mode: st.Identity.Mode, Input: in, InputSHA256: st.Identity.InputSHA256,
		Checkpoint: checkpointName, Created: st.Created, Updated: st.Updated, Rows: int64(len(st.Rows)),
		Calls: callsFromStats(st.Stats), Runs: st.Runs,
	}
	var counts tally
	var listed bool
	for _, w := range st.Rows {
		o := rowOutcome(w)
		counts.add(o, 1)
		listed = listed || o == outcomeFailed || o == outcomeRejected
	}
	t.Outcomes, t.Done = counts.byName(), counts.done()
	if t.Mode == "dry-run" {
		r, w := DefaultReadRPS, DefaultWriteRPS
		if n := len(st.Runs); n > 0 && st.Runs[n-1].Figures != nil {
			r, w = st.Runs[n-1].Figures["read_rps_configured"], st.Runs[n-1].Figures["write_rps_configured"]
		}
		t.Cost = dryRunCost(st.Rows, st.Identity.Flags["verify"] == "true", r, w)
	}
	if !listed {
		return t, nil
	}
	f, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := input.NewReader(f, in, opts)
	if err != nil {
		return nil, err
	}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if row.Index >= len(st.Rows) {
			return nil, fmt.Errorf("%w: %s has more rows than the checkpoint", input.ErrInput, in)
		}
		o := rowOutcome(st.Rows[row.Index])
		if o != outcomeFailed && o != outcomeRejected {
			continue
		}
		if len(t.Users) == maxTicketUsers {
			t.MoreUsers++
			continue
		}
		note, _ := splitNote(st.Notes[row.Index])
		t.Users = append(t.Users, TicketUser{Line: row.Line, Username: maskUsername(row.Username), Outcome: o.String(), Detail: maskPhones(printable(note))})
	}
	return t, nil
}

// maskUsername shortens a username for a document shared beyond the
// operators: its first two and last two characters around "…" (a phone
// number is masked first), or "…" alone for a name of 6 characters or
// fewer. The per-user report, by line number, has the full name.
func maskUsername(u string) string {
	r := []rune(printable(maskPhones(u)))
	if len(r) <= 6 {
		return "…"
	}
	return string(r[:2]) + "…" + string(r[len(r)-2:])
}

// ticketRun is a run as the ticket shows it.
type ticketRun struct {
	id, host, version, started, ended, duration, end, exit, rows, read, write, throttles string
}

func (t *Ticket) runRows() []ticketRun {
	out := make([]ticketRun, 0, len(t.Runs))
	for _, r := range t.Runs {
		tr := ticketRun{
			id: r.ID, host: orDash(r.Host), version: orDash(r.Version), started: r.Started.UTC().Format(time.RFC3339),
			ended: "—", duration: "—", end: "no end recorded (running, or it crashed)", exit: "—",
			rows: strconv.FormatInt(r.Processed, 10), read: "—", write: "—", throttles: "—",
		}
		if !r.Ended.IsZero() {
			tr.ended = r.Ended.UTC().Format(time.RFC3339)
			tr.duration = r.Ended.Sub(r.Started).Round(time.Second).String()
			tr.end = describeStop(r.Reason)
		}
		if r.ExitCode != nil {
			tr.exit = strconv.Itoa(*r.ExitCode)
		}
		if f := r.Figures; f != nil {
			tr.read = fmt.Sprintf("%.1f/s of %s", f["read_rps_achieved"], rpsText(f["read_rps_configured"]))
			tr.write = fmt.Sprintf("%.1f/s of %s", f["write_rps_achieved"], rpsText(f["write_rps_configured"]))
			tr.throttles = strconv.FormatFloat(f["read_throttles"]+f["write_throttles"], 'f', 0, 64)
		}
		out = append(out, tr)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// table is a table of a ticket, rendered as markdown or HTML.
type table struct {
	head []string
	rows [][]string
}

func (t *Ticket) summaryTable() table {
	tb := table{head: []string{"", ""}}
	add := func(k, v string) { tb.rows = append(tb.rows, []string{k, v}) }
	add("User pool", t.PoolID)
	add("Mode", t.Mode)
	add("Input", fmt.Sprintf("%s (SHA-256 %s)", t.Input, t.InputSHA256))
	add("Checkpoint", t.Checkpoint)
	add("Created", t.Created.UTC().Format(time.RFC3339))
	add("Last saved", t.Updated.UTC().Format(time.RFC3339))
	pct := 0.0
	if t.Rows > 0 {
		pct = math.Round(1000*float64(t.Done)/float64(t.Rows)) / 10
	}
	add("Rows", fmt.Sprintf("%d: %d done (%.1f%%), %d remaining", t.Rows, t.Done, pct, t.Rows-t.Done))
	add("Runs", strconv.Itoa(len(t.Runs)))
	return tb
}

func (t *Ticket) runsTable() table {
	tb := table{head: []string{"Run", "Host", "Version", "Started (UTC)", "Ended (UTC)", "Duration", "End", "Exit code", "Rows", "Reads", "Writes", "Throttles"}}
	for _, r := range t.runRows() {
		tb.rows = append(tb.rows, []string{r.id, r.host, r.version, r.started, r.ended, r.duration, r.end, r.exit, r.rows, r.read, r.write, r.throttles})
	}
	return tb
}

func (t *Ticket) outcomesTable() table {
	tb := table{head: []string{"Outcome", "Users"}}
	for _, o := range append([]outcome{outcomePending}, allOutcomes()...) {
		if n := t.Outcomes[o.String()]; n > 0 {
			tb.rows = append(tb.rows, []string{o.String(), strconv.FormatInt(n, 10)})
		}
	}
	return tb
}

func (t *Ticket) callsTable() table {
	tb := table{head: []string{"Operation", "Calls", "Requests", "Retries", "Throttled", "Errors"}}
	for op := range cognito.NumOps {
		c, ok := t.Calls[op.String()]
		if !ok {
			continue
		}
		tb.rows = append(tb.rows, []string{op.String(), i64(c.Calls), i64(c.Attempts), i64(c.Retries), i64(c.Throttled), i64(c.Errors)})
	}
	return tb
}

func (t *Ticket) usersTable() table {
	tb := table{head: []string{"Line", "User", "Outcome", "Detail"}}
	for _, u := range t.Users {
		tb.rows = append(tb.rows, []string{strconv.Itoa(u.Line), u.Username, u.Outcome, orDash(u.Detail)})
	}
	return tb
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// costText is the dry run's estimate, or "".
func (t *Ticket) costText() string {
	c := t.Cost
	if c == nil {
		return ""
	}
	s := ""
	if c.Partial {
		s = fmt.Sprintf("Partial estimate: the dry run settled %d of %d rows; the figures are extrapolated from them. ", c.FromRows, c.OfRows)
	}
	return s + fmt.Sprintf("The real run will make about %d AdminGetUser calls (each user read counts as a monthly active user) and %d AdminSetUserMFAPreference calls: about %s at the configured rates, %s at Cognito's full default quota (which production shares).",
		c.AdminGetUserCalls, c.WriteCalls, c.AtConfiguredRates.Text, c.AtFullQuota.Text)
}

// usersNote says how the users are listed.
func (t *Ticket) usersNote() string {
	n := int64(len(t.Users)) + t.MoreUsers
	if n == 0 {
		return "No user failed or was rejected."
	}
	s := fmt.Sprintf("%d users failed or were rejected; usernames are shortened, the per-user report has them in full by line.", n)
	if t.MoreUsers > 0 {
		s += fmt.Sprintf(" The first %d are listed; %d more are in the per-user report.", len(t.Users), t.MoreUsers)
	}
	if t.Outcomes[outcomeFailed.String()] > 0 {
		s += " Failed users are retried by the next run."
	}
	return s
}

// WriteMarkdown writes the ticket as Markdown, with the rate over time as
// an inline SVG chart.
func (t *Ticket) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Legacy SMS MFA migration of %s (%s)\n\n", mdEscape(t.PoolID), t.Mode)
	writeMDTable(&b, t.summaryTable())
	b.WriteString("\n## Runs\n\n")
	writeMDTable(&b, t.runsTable())
	b.WriteString("\n## Outcomes\n\n")
	writeMDTable(&b, t.outcomesTable())
	if c := t.costText(); c != "" {
		b.WriteString("\n" + c + "\n")
	}
	b.WriteString("\n## Calls\n\n")
	if tb := t.callsTable(); len(tb.rows) > 0 {
		writeMDTable(&b, tb)
	} else {
		b.WriteString("No call was made.\n")
	}
	b.WriteString("\n## Rate over time\n\n")
	b.WriteString(t.chart())
	b.WriteString("\n\n## Failed and rejected users\n\n")
	b.WriteString(t.usersNote() + "\n")
	if len(t.Users) > 0 {
		b.WriteString("\n")
		writeMDTable(&b, t.usersTable())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHTML writes the ticket as a standalone HTML page.
func (t *Ticket) WriteHTML(w io.Writer) error {
	var b strings.Builder
	title := fmt.Sprintf("Legacy SMS MFA migration of %s (%s)", t.PoolID, t.Mode)
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n", html.EscapeString(title))
	b.WriteString("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>\n</head>\n<body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(title))
	writeHTMLTable(&b, t.summaryTable())
	b.WriteString("<h2>Runs</h2>\n")
	writeHTMLTable(&b, t.runsTable())
	b.WriteString("<h2>Outcomes</h2>\n")
	writeHTMLTable(&b, t.outcomesTable())
	if c := t.costText(); c != "" {
		fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(c))
	}
	b.WriteString("<h2>Calls</h2>\n")
	if tb := t.callsTable(); len(tb.rows) > 0 {
		writeHTMLTable(&b, tb)
	} else {
		b.WriteString("<p>No call was made.</p>\n")
	}
	b.WriteString("<h2>Rate over time</h2>\n")
	b.WriteString(t.chart() + "\n")
	b.WriteString("<h2>Failed and rejected users</h2>\n")
	fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(t.usersNote()))
	if len(t.Users) > 0 {
		writeHTMLTable(&b, t.usersTable())
	}
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape keeps a value from breaking a Markdown table or being read as
// markup: pipes, backslashes and the characters HTML would interpret are
// escaped, line breaks become spaces.
func mdEscape(s string) string {
	return strings.NewReplacer("\\", "\\\\", "|", "\\|", "<", "&lt;", ">", "&gt;", "&", "&amp;", "\n", " ", "\r", " ", "`", "\\`", "*", "\\*").Replace(s)
}

func writeMDTable(b *strings.Builder, t table) {
	esc := func(row []string) []string {
		out := make([]string, len(row))
		for i, c := range row {
			out[i] = mdEscape(c)
		}
		return out
	}
	b.WriteString("| " + strings.Join(esc(t.head), " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(t.head)) + "\n")
	for _, r := range t.rows {
		b.WriteString("| " + strings.Join(esc(r), " | ") + " |\n")
	}
}

func writeHTMLTable(b *strings.Builder, t table) {
	b.WriteString("<table>\n")
	if slices.ContainsFunc(t.head, func(h string) bool { return h != "" }) {
		b.WriteString("<tr>")
		for _, h := range t.head {
			fmt.Fprintf(b, "<th>%s</th>", html.EscapeString(h))
		}
		b.WriteString("</tr>\n")
	}
	for _, r := range t.rows {
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(b, "<td>%s</td>", html.EscapeString(c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
}
