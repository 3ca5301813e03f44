package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"golang.org/x/term"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job"
)

// Logging rules (the operator's view of a run):
//
//   - JSON lines when stderr is not a terminal (ECS with awslogs: one
//     CloudWatch event per line), text on a terminal; --log-format forces
//     either.
//   - Every line of a run carries run_id and pool_id.
//   - At info: the input scan, the start, each rate-limiter change, the end
//     of the run (or slice), a progress line every --progress-interval when
//     there is no bar, fatal errors and the summary; never a line per user.
//   - Phone numbers are masked and credentials redacted in every message and
//     value (scrub), whatever the level. The AWS SDK's own logger goes
//     through the same handler, and its request, response and signing logs
//     are switched off (ClientLogMode 0), so no header or body is ever
//     printed.

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	if c, ok := w.(*console); ok {
		w = c.w
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// logFormat resolves the --log-format "auto" to "json" or "text" for w.
func logFormat(w io.Writer, format string) string {
	if format != "auto" && format != "" {
		return format
	}
	if isTerminal(w) {
		return "text"
	}
	return "json"
}

// newLogger returns the logger of a command: JSON when w is not a terminal
// (CloudWatch through awslogs reads one JSON object per line), text on a
// terminal, unless format forces one. Every message and value is passed
// through scrub, so a phone number or a credential cannot reach the logs.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	isJSON := logFormat(w, format) == "json"
	if isJSON {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(maskingHandler{next: h, json: isJSON})
}

// scrub masks phone numbers and redacts credentials in s (job.Scrub).
func scrub(s string) string { return job.Scrub(s) }

// maskingHandler scrubs messages and attribute values before the next
// handler formats them. Structured values (maps, structs) are scrubbed
// string by string, so numbers stay numbers; json tells whether the next
// handler writes JSON.
type maskingHandler struct {
	next slog.Handler
	json bool
}

func (h maskingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h maskingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.maskAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h maskingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = h.maskAttr(a)
	}
	return maskingHandler{next: h.next.WithAttrs(masked), json: h.json}
}

func (h maskingHandler) WithGroup(name string) slog.Handler {
	return maskingHandler{next: h.next.WithGroup(name), json: h.json}
}

func (h maskingHandler) maskAttr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, scrub(a.Value.String()))
	case slog.KindGroup:
		g := a.Value.Group()
		masked := make([]any, len(g))
		for i, ga := range g {
			masked[i] = h.maskAttr(ga)
		}
		return slog.Group(a.Key, masked...)
	case slog.KindAny:
		v := a.Value.Any()
		if err, ok := v.(error); ok {
			return slog.String(a.Key, scrub(err.Error()))
		}
		if !h.json {
			if g, ok := mapGroup(a.Key, v); ok {
				return h.maskAttr(g)
			}
			return slog.String(a.Key, scrub(fmt.Sprintf("%+v", v)))
		}
		js, err := json.Marshal(v)
		if err != nil {
			return slog.String(a.Key, scrub(fmt.Sprintf("%+v", v)))
		}
		return slog.Any(a.Key, json.RawMessage(scrubJSON(js)))
	}
	return a
}

// mapGroup turns a map with string keys into a group of attributes sorted
// by key, which the text handler prints as key.name=value rather than Go's
// map[name:value]. It reports false for any other value.
func mapGroup(key string, v any) (slog.Attr, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return slog.Attr{}, false
	}
	keys := make([]string, 0, rv.Len())
	for _, k := range rv.MapKeys() {
		keys = append(keys, k.String())
	}
	slices.Sort(keys)
	attrs := make([]any, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(scrub(k), rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface()))
	}
	return slog.Group(key, attrs...), true
}

// scrubJSON scrubs every string (keys included) of the JSON document js
// and returns it re-encoded; numbers are kept exactly. A document that does
// not decode is returned as a scrubbed JSON string.
func scrubJSON(js []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		s, _ := json.Marshal(scrub(string(js)))
		return s
	}
	out, err := json.Marshal(scrubValue(v))
	if err != nil {
		s, _ := json.Marshal(scrub(string(js)))
		return s
	}
	return out
}

func scrubValue(v any) any {
	switch v := v.(type) {
	case string:
		return scrub(v)
	case []any:
		for i := range v {
			v[i] = scrubValue(v[i])
		}
		return v
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[scrub(k)] = scrubValue(e)
		}
		return m
	}
	return v
}

// sdkLogger sends the AWS SDK's log entries (warnings, and debug entries
// such as a skipped checksum validation) to the command's logger, so that
// they are scrubbed and, in JSON mode, stay JSON.
type sdkLogger struct{ log *slog.Logger }

// Logf logs one SDK entry at warn or debug level.
func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	lv := slog.LevelDebug
	if c == logging.Warn {
		lv = slog.LevelWarn
	}
	l.log.Log(context.Background(), lv, fmt.Sprintf(format, v...), "source", "aws-sdk")
}

// sdkLogOptions are the AWS configuration options every command loads
// with: the SDK logs through log (discarded when log is nil) and never logs
// requests, responses, retries or signing (ClientLogMode 0), which would
// print headers such as Authorization and X-Amz-Security-Token, and user
// attributes such as phone numbers.
func sdkLogOptions(log *slog.Logger) []func(*config.LoadOptions) error {
	var l logging.Logger = logging.Nop{}
	if log != nil {
		l = sdkLogger{log}
	}
	return []func(*config.LoadOptions) error{
		config.WithLogger(l),
		config.WithClientLogMode(aws.ClientLogMode(0)),
	}
}

// console is a command's stderr shared by log lines and a progress bar.
// The bar draws through BarWriter; a log line written while a bar line is
// on screen first blanks that line, and the bar draws itself again at its
// next update, below the log line. Both go through one lock, so they never
// interleave. The zero value is not usable: w must be set.
type console struct {
	w        io.Writer
	mu       sync.Mutex
	barWidth int // characters of the bar line on screen; 0 when there is none
}

// Write writes p, one log line, below a blanked bar line.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.barWidth > 0 {
		if _, err := io.WriteString(c.w, "\r"+strings.Repeat(" ", c.barWidth)+"\r"); err != nil {
			return 0, err
		}
		c.barWidth = 0
	}
	return c.w.Write(p)
}

// columns returns the width of the terminal the console writes to, or 0
// when it is not a terminal or does not say.
func (c *console) columns() int {
	f, ok := c.w.(*os.File)
	if !ok {
		return 0
	}
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return w
}

// barWriter returns the writer the progress bar draws through.
func (c *console) barWriter() io.Writer { return barOutput{c} }

// barOutput is the progress bar's side of a console: it keeps track of
// the width of the bar line on screen.
type barOutput struct{ c *console }

func (b barOutput) Write(p []byte) (int, error) {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	if i := bytes.LastIndexAny(p, "\r\n"); i >= 0 {
		b.c.barWidth = 0
		if p[i] == '\r' {
			b.c.barWidth = utf8.RuneCount(p[i+1:])
		}
	} else {
		b.c.barWidth += utf8.RuneCount(p)
	}
	return b.c.w.Write(p)
}

// shownError is an error the command has already shown to the operator
// (logged once), so that run does not print it again. Its exit code is the
// wrapped error's.
type shownError struct{ err error }

func (e shownError) Error() string { return e.err.Error() }
func (e shownError) Unwrap() error { return e.err }

// isShown reports whether err was already shown.
func isShown(err error) bool {
	var s shownError
	return errors.As(err, &s)
}

// textSummary is a summary that can be printed for a person: job.Summary
// or job.ExportSummary.
type textSummary interface{ WriteText(io.Writer) error }

// endRun shows how a run ended, once. In text mode it prints the human
// summary to w; in JSON mode it logs the summary as one record, so that
// CloudWatch gets one event and stderr holds nothing but JSON lines. A
// fatal or usage error (exit 1 or 2) is logged once at level ERROR, with
// its fix as a separate attribute. It returns err, marked as shown unless
// run still has to print the hint of a text-mode stop (exit 3 or 4).
func endRun(log *slog.Logger, w io.Writer, format string, sum *job.Summary, err error) error {
	var ts textSummary
	if sum != nil {
		ts = sum
	}
	return endCommand(log, w, format, ts, err, endMessages{summary: "summary", failed: "run failed", stopped: "run stopped"})
}

// endMessages are the log messages of endCommand. In JSON mode a stop
// (exit 3 or 4) is logged with stopped when there is no summary record to
// say so, or always when alwaysStopped is set.
type endMessages struct {
	summary, failed, stopped string
	alwaysStopped            bool
}

// endCommand is endRun for any command.
func endCommand(log *slog.Logger, w io.Writer, format string, sum textSummary, err error, m endMessages) error {
	if sum != nil {
		if format == "text" {
			_ = sum.WriteText(w)
		} else {
			log.Info(m.summary, "summary", sum)
		}
	}
	if err == nil {
		return nil
	}
	switch code := job.ExitCode(err); {
	case code == 1 || code == 2:
		msg, fix, _ := strings.Cut(err.Error(), "\n  fix: ")
		attrs := []any{"error", msg, "exit_code", code}
		if fix != "" {
			attrs = append(attrs, "fix", fix)
		}
		log.Error(m.failed, attrs...)
		return shownError{err}
	case format == "text":
		return err
	case sum == nil || m.alwaysStopped:
		// Stopped before the command could make a summary (a signal while
		// starting), or a stop the summary record alone would understate.
		log.Warn(m.stopped, "error", err.Error(), "exit_code", code)
		return shownError{err}
	default:
		return shownError{err}
	}
}
