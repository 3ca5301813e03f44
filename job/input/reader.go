package input

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gocarina/gocsv"
)

// Header names the formats are detected by, in their normalized (trimmed,
// lower-case) form.
const (
	columnUsername       = "username"
	columnMFAOptions     = "mfa_options"
	columnImportUsername = "cognito:username"
)

// minBufferSize is the smallest read buffer a Reader uses, whatever
// Options.MaxRecordBytes says.
const minBufferSize = 4096

var utf8BOM = []byte("\xef\xbb\xbf")

// Row is one data record of an input file.
type Row struct {
	// Index is the 0-based ordinal of the record among the data records,
	// counting invalid ones; blank lines are not records. It is the
	// checkpoint key: the same bytes always give the same indexes.
	Index int
	// Line is the 1-based line where the record starts.
	Line int
	// Username is the value of the username column with leading and
	// trailing spaces and tabs removed. In an invalid row it is whatever
	// could be read, possibly "" or not valid UTF-8.
	Username string
	// Legacy is what the file says about the user's legacy MFAOptions:
	// LegacyNone or LegacyPresent in FormatExport, LegacyUnknown otherwise.
	Legacy Legacy
	// Invalid is "" for a usable row. Otherwise it says what is wrong and
	// in which field, naming the username column by its lower-case header
	// name, such as "username: contains whitespace (U+0020) at character 4"
	// or "has 3 fields, header has 2"; the job records the row as
	// invalid_input.
	Invalid string
}

// csvRecord is what gocsv fills from an RFC 4180 record. The header is
// renormalized so that exactly the chosen columns carry these names.
type csvRecord struct {
	Username   string `csv:"username"`
	MFAOptions string `csv:"mfa_options"`
}

// Reader reads the data records of one input file, one at a time, in
// bounded memory: its buffers are a few times Options.MaxRecordBytes,
// whatever the size of the file.
//
// A Reader is made by NewReader; the zero value is not usable. It is not
// safe for concurrent use.
type Reader struct {
	name     string
	format   Format
	maxBytes int
	guard    *guard
	br       *bufio.Reader

	column     string // normalized name of the username column
	userCol    int
	mfaCol     int // -1 unless FormatExport
	nfields    int
	headerLine int

	// RFC 4180 dialect (plain, export, custom).
	cr *csv.Reader
	um *gocsv.Unmarshaller

	// Cognito import dialect.
	importDialect bool
	lineNo        int // lines consumed so far
	line          []byte
	rec           []byte // a record spanning lines (a quoted value with line breaks)
	split         importSplitter

	// Comment lines before the header: the bytes and lines up to the end
	// of the last one, and the pool an export's origin line names.
	skipBytes, skipLines int
	origin               string

	index    int
	lastLine int   // Line of the last row returned
	err      error // sticky: io.EOF or a fatal *Error

	// Starting mid-file (NewReaderAt, resume.go).
	bom       int64 // length of the byte order mark skipped, for Offset
	wantLine  int   // the Line the first row must get; 0 when not resumed
	lineDelta int   // added to the lines the stream counts
}

// NewReader reads the header of the input r, whose name is used in errors,
// and returns a Reader positioned at the first data record. It accepts a
// UTF-8 byte order mark and CRLF or LF line endings, and skips blank lines
// before the header.
//
// The format is detected from the header names, compared trimmed and
// case-insensitively: an unquoted cognito:username column means
// FormatCognitoImport; username and mfa_options columns mean FormatExport;
// a username column means FormatPlain. Options.UsernameColumn overrides the
// column (see Options).
//
// NewReader returns a *Error (matching ErrInput) if the file is empty or
// unreadable, does not look like CSV text (binary, compressed, UTF-16), has
// a malformed or over-long header, or lacks the username column or has it
// twice.
func NewReader(r io.Reader, name string, opts Options) (*Reader, error) {
	maxBytes := opts.maxRecordBytes()
	size := max(maxBytes, minBufferSize)
	// The guard sits under the read buffer, so it may see up to one buffer
	// of read-ahead beyond a record; the exact limit is checked per record.
	g := &guard{r: r, limit: int64(maxBytes) + 2*int64(size)}
	rd := &Reader{
		name:     name,
		maxBytes: maxBytes,
		guard:    g,
		br:       bufio.NewReaderSize(g, size),
		mfaCol:   -1,
	}
	if err := rd.readHeader(opts.UsernameColumn); err != nil {
		return nil, err
	}
	return rd, nil
}

// Format returns the detected format of the file.
func (r *Reader) Format() Format { return r.format }

// Origin returns the user pool ID named by an export's origin comment line
// (see NewExportWriterFrom), or "" if the file has none.
func (r *Reader) Origin() string { return r.origin }

// Next returns the next data record. Problems confined to the record (wrong
// field count, invalid username, malformed quoting) are reported in
// Row.Invalid, and Next goes on with the next record. Next returns io.EOF
// after the last record, and a *Error (matching ErrInput) for a problem that
// makes the rest of the file unusable: no data rows at all, a record longer
// than Options.MaxRecordBytes, a quoted field left open to the end of the
// file, or a read error. After io.EOF or a *Error, Next returns the same
// error again.
func (r *Reader) Next() (Row, error) {
	if r.err != nil {
		return Row{}, r.err
	}
	var row Row
	var err error
	if r.importDialect {
		row, err = r.nextImport()
	} else {
		row, err = r.nextCSV()
	}
	if err == io.EOF && r.index == 0 && r.format != FormatExport {
		// An export with no rows is valid: the pool has nothing to migrate.
		err = r.fail(r.headerLine, "", "no data rows after the header", nil)
	}
	if err != nil {
		r.err = err
		return Row{}, err
	}
	row.Index = r.index
	r.index++
	if r.wantLine > 0 {
		r.lineDelta, r.wantLine = r.wantLine-row.Line, 0
	}
	row.Line += r.lineDelta
	r.lastLine = row.Line
	return row, nil
}

// readErr turns a read error into a *Error; one that already is a *Error
// (an input that changed under a pinned opener) is returned as it is, so
// its cause is not printed twice.
func (r *Reader) readErr(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	return r.fail(0, "", "cannot read", err)
}

func (r *Reader) fail(line int, field, msg string, err error) *Error {
	if line > 0 {
		line += r.lineDelta
	}
	return &Error{File: r.name, Line: line, Field: field, Msg: msg, Err: err}
}

// guardErr turns a trip of the guard under the read buffer into a *Error.
func (r *Reader) guardErr() error {
	switch {
	case r.guard.err == nil:
		return nil
	case r.guard.err == errTooLong:
		// The limit was passed inside the record, maybe far from its start.
		err := r.tooLong(r.guard.tripLine)
		if r.lastLine > 0 {
			err.Msg += fmt.Sprintf(" (the record before it starts at line %d)", r.lastLine)
		}
		return err
	default:
		return r.readErr(r.guard.err)
	}
}

func (r *Reader) tooLong(line int) *Error {
	if r.importDialect {
		return r.fail(line, "", fmt.Sprintf("line is longer than %d bytes (MaxRecordBytes)", r.maxBytes), nil)
	}
	return r.fail(line, "", fmt.Sprintf("record is longer than %d bytes (MaxRecordBytes): a line that long, or a quote left open", r.maxBytes), nil)
}

func (r *Reader) readHeader(column string) error {
	line, prefix, hdr, err := r.findHeader()
	if err != nil {
		return err
	}
	r.headerLine = line

	// The import dialect is recognised by a cognito:username column, quoted
	// (a spreadsheet quoting every value) or not.
	fields, _, _ := r.split.split(trimEOL(hdr))
	for _, f := range fields {
		if headerName(string(f)) == columnImportUsername {
			r.importDialect = true
		}
	}
	if r.importDialect {
		header := make([]string, len(fields))
		for i, f := range fields {
			header[i] = string(f)
		}
		_, _ = r.br.Discard(prefix + len(hdr)) // already buffered: cannot fail
		r.lineNo = line
		return r.useHeader(header, column)
	}

	// encoding/csv reads from r.br directly (bufio.NewReader returns a
	// *bufio.Reader that is large enough), so nothing is read ahead of it.
	// It does not see the comment lines (its own Comment option would also
	// skip a data row whose username starts with #), so its line numbers
	// are offset by them.
	_, _ = r.br.Discard(r.skipBytes) // already buffered: cannot fail
	prefix -= r.skipBytes
	r.cr = csv.NewReader(r.br)
	r.cr.ReuseRecord = true
	um, err := gocsv.NewUnmarshaller(r.cr, &csvRecord{})
	if gerr := r.guardErr(); gerr != nil {
		return gerr
	}
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		return r.fail(pe.StartLine+r.skipLines, "", "malformed header: "+pe.Err.Error(), nil)
	case err == io.EOF: // the "header" was a lone CR at the end of the file
		return r.fail(0, "", "file has no header: it has only blank lines", nil)
	case err != nil:
		return r.fail(line, "", "cannot read the header", err)
	case r.cr.InputOffset() > int64(prefix+r.maxBytes): // a quoted header spanning lines
		return r.headerTooLong(line)
	}
	r.um = um
	return r.useHeader(um.Headers, column)
}

// findHeader looks at the start of the file, in the read buffer, without
// consuming it except for a byte order mark. It returns the 1-based line of
// the header, the length of the blank lines before it, and the header line
// with its line ending; or a *Error if there is no usable header.
func (r *Reader) findHeader() (line, prefix int, hdr []byte, err error) {
	head, err := r.br.Peek(r.br.Size())
	atEOF := err == io.EOF
	if err != nil && !atEOF {
		return 0, 0, nil, r.fail(0, "", "cannot read", err)
	}
	if bytes.HasPrefix(head, utf8BOM) {
		_, _ = r.br.Discard(len(utf8BOM)) // already buffered: cannot fail
		r.bom = int64(len(utf8BOM))
		head = head[len(utf8BOM):]
	}
	if len(head) == 0 {
		return 0, 0, nil, r.fail(0, "", "file is empty", nil)
	}
	if msg := sniffBinary(head); msg != "" {
		return 0, 0, nil, r.fail(0, "", msg, nil)
	}

	// Skip blank lines, as encoding/csv does, and comment lines (starting
	// with #) before the header, such as the origin line of an export.
	line, rest := 1, head
	for {
		if bytes.HasPrefix(rest, []byte("\n")) {
			rest = rest[1:]
		} else if bytes.HasPrefix(rest, []byte("\r\n")) {
			rest = rest[2:]
		} else if bytes.HasPrefix(rest, []byte("#")) {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break // the "header"; reported missing its column below
			}
			if m := originPool.FindSubmatch(rest[:i]); m != nil && bytes.HasPrefix(rest, []byte(originPrefix)) && r.origin == "" {
				r.origin = string(m[1])
			}
			rest = rest[i+1:]
			r.skipBytes, r.skipLines = len(head)-len(rest), line
		} else {
			break
		}
		line++
	}
	prefix = len(head) - len(rest)
	if msg := sniffJSON(rest); msg != "" {
		return 0, 0, nil, r.fail(line, "", msg, nil)
	}
	switch {
	case len(rest) == 0 && atEOF:
		return 0, 0, nil, r.fail(0, "", "file has no header: it has only blank lines", nil)
	case len(rest) == 0:
		return 0, 0, nil, r.fail(line, "", fmt.Sprintf("no header in the first %d bytes, only blank lines", len(head)), nil)
	}
	hdr = rest
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		hdr = rest[:i+1]
	} else if !atEOF {
		return 0, 0, nil, r.headerTooLong(line)
	}
	if len(hdr) > r.maxBytes {
		return 0, 0, nil, r.headerTooLong(line)
	}
	if bytes.IndexByte(hdr, 0) >= 0 || !utf8.Valid(hdr) {
		return 0, 0, nil, r.fail(line, "", "header is not UTF-8 text (NUL byte or invalid UTF-8): the file is not a CSV of users", nil)
	}
	return line, prefix, hdr, nil
}

func (r *Reader) headerTooLong(line int) *Error {
	return r.fail(line, "", fmt.Sprintf("header is longer than %d bytes (MaxRecordBytes)", r.maxBytes), nil)
}

// useHeader finds the username column (and mfa_options for FormatExport) in
// header and sets the format.
func (r *Reader) useHeader(header []string, column string) error {
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = headerName(h)
	}
	r.nfields = len(header)
	detected := columnUsername
	switch {
	case r.importDialect:
		r.format, detected = FormatCognitoImport, columnImportUsername
	case slices.Contains(names, columnUsername) && slices.Contains(names, columnMFAOptions):
		r.format = FormatExport
	default:
		r.format = FormatPlain
	}
	r.column = headerName(column)
	if r.column == "" {
		r.column = detected
	} else if r.column != detected {
		r.format = FormatCustom
	}

	// Say, when the column is missing, what is most likely wrong.
	var hint string
	switch {
	case slices.ContainsFunc(header, func(h string) bool { return strings.Contains(h, "\r") }):
		hint = "; lines end with a lone carriage return (classic Mac), which is not a line ending here: save the file with LF or CRLF line endings"
	case r.format == FormatPlain && slices.Contains(names, columnImportUsername):
		hint = "; cognito:username is quoted, so the file is read as RFC 4180 CSV, not as a Cognito import file: remove the quotes or use --username-column cognito:username"
	case r.format == FormatPlain && len(header) == 1 && column == "":
		hint = fmt.Sprintf("; if the file is a list of usernames without a header, add a first line that says %s (the first user, %s, is being read as the header)",
			columnUsername, strconv.Quote(strings.TrimSpace(header[0])))
	case r.format == FormatPlain:
		hint = "; use --username-column to name the column that holds usernames"
	}
	var err error
	if r.userCol, err = r.findColumn(header, names, r.column, hint); err != nil {
		return err
	}
	if r.format == FormatExport {
		if r.mfaCol, err = r.findColumn(header, names, columnMFAOptions, ""); err != nil {
			return err
		}
	}
	if r.um == nil {
		return nil
	}
	// Map the chosen columns to csvRecord's tags and hide every other one,
	// so a second column that happens to be called "username" cannot leak
	// into the record.
	return r.um.RenormalizeHeaders(func(h []string) []string {
		out := make([]string, len(h))
		for i := range out {
			switch i {
			case r.userCol:
				out[i] = columnUsername
			case r.mfaCol:
				out[i] = columnMFAOptions
			}
		}
		return out
	})
}

// findColumn returns the index of the one column named want.
func (r *Reader) findColumn(header, names []string, want, hint string) (int, error) {
	var at []int
	for i, n := range names {
		if n == want {
			at = append(at, i)
		}
	}
	switch len(at) {
	case 1:
		return at[0], nil
	case 0:
		return 0, r.fail(r.headerLine, want, "not found (header has: "+listNames(header)+")"+hint, nil)
	}
	cols := make([]string, len(at))
	for i, c := range at {
		cols[i] = strconv.Itoa(c + 1)
	}
	return 0, r.fail(r.headerLine, want, "appears more than once (columns "+strings.Join(cols, ", ")+")", nil)
}

func (r *Reader) nextCSV() (Row, error) {
	r.guard.mark()
	start := r.cr.InputOffset()
	// The columns were found from the header (gocsv validated the
	// mapping); each record is split by encoding/csv, which also returns
	// the fields of a record with the wrong number of them.
	rec, err := r.cr.Read()
	if gerr := r.guardErr(); gerr != nil {
		return Row{}, gerr
	}
	if err == io.EOF {
		return Row{}, io.EOF
	}
	var pe *csv.ParseError
	if err != nil && !errors.As(err, &pe) {
		return Row{}, r.readErr(err)
	}
	var line int
	if pe != nil {
		line = pe.StartLine + r.skipLines
	} else {
		line, _ = r.cr.FieldPos(0)
		line += r.skipLines
	}
	if r.cr.InputOffset()-start > int64(r.maxBytes) {
		return Row{}, r.tooLong(line)
	}
	if pe != nil {
		return r.parseErrorRow(pe, rec)
	}
	row := Row{Line: line}
	r.setUsername(&row, rec[r.userCol])
	if r.mfaCol >= 0 {
		row.Legacy = LegacyPresent
		if strings.TrimSpace(rec[r.mfaCol]) == "" {
			row.Legacy = LegacyNone
		}
	}
	return row, nil
}

// parseErrorRow turns a record encoding/csv could not parse into an invalid
// row, or into a fatal error when the damage is not confined to the record.
func (r *Reader) parseErrorRow(pe *csv.ParseError, rec []string) (Row, error) {
	row := Row{Line: pe.StartLine + r.skipLines}
	switch {
	case pe.Err == csv.ErrFieldCount:
		if r.userCol < len(rec) {
			// Say who the row was, though it is invalid.
			r.setUsername(&row, rec[r.userCol])
		}
		row.Invalid = fieldCountReason(len(rec), r.nfields)
		return row, nil
	case pe.Err == csv.ErrQuote && pe.Line > pe.StartLine && r.atEOF():
		// An opening quote never closed: the field swallowed every line
		// after it, which would otherwise go unread without a trace.
		return Row{}, r.fail(row.Line, "", "quoted field is not closed before the end of the file", nil)
	}
	row.Invalid = "malformed CSV: " + pe.Err.Error()
	if pe.Line != pe.StartLine {
		row.Invalid += fmt.Sprintf(" (line %d, column %d)", pe.Line+r.skipLines, pe.Column)
	} else {
		row.Invalid += fmt.Sprintf(" (column %d)", pe.Column)
	}
	return row, nil
}

func fieldCountReason(n, header int) string {
	if n == 1 {
		return fmt.Sprintf("has 1 field, header has %d", header)
	}
	return fmt.Sprintf("has %d fields, header has %d", n, header)
}

func (r *Reader) atEOF() bool {
	_, err := r.br.Peek(1)
	return err == io.EOF
}

func (r *Reader) nextImport() (Row, error) {
	for {
		r.guard.mark()
		line, err := r.readLine()
		if err != nil {
			return Row{}, err
		}
		if len(line) == 0 {
			continue // blank line, skipped as encoding/csv does
		}
		row := Row{Line: r.lineNo}
		fields, open, bad := r.split.split(line)
		if open {
			// A quoted value spans lines: gather the record.
			r.rec = append(r.rec[:0], line...)
			for open {
				next, err := r.readLine()
				if err == io.EOF {
					return Row{}, r.fail(row.Line, "", "quoted value is not closed before the end of the file", nil)
				}
				if err != nil {
					return Row{}, err
				}
				r.rec = append(append(r.rec, '\n'), next...)
				if len(r.rec) > r.maxBytes {
					return Row{}, r.tooLong(row.Line)
				}
				fields, open, bad = r.split.split(r.rec)
			}
		}
		if r.userCol < len(fields) {
			// Even in a row that is invalid for another reason, say who it was.
			r.setUsername(&row, string(fields[r.userCol]))
		}
		switch {
		case bad != "":
			row.Invalid = bad
		case len(fields) != r.nfields:
			row.Invalid = fieldCountReason(len(fields), r.nfields)
		}
		return row, nil
	}
}

// readLine returns the next line without its line ending, valid until the
// next call. Lines longer than maxBytes are fatal.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		frag, err := r.br.ReadSlice('\n')
		if gerr := r.guardErr(); gerr != nil {
			return nil, gerr
		}
		if len(r.line)+len(frag) > r.maxBytes {
			return nil, r.tooLong(r.lineNo + 1)
		}
		switch {
		case err == bufio.ErrBufferFull:
			r.line = append(r.line, frag...)
			continue
		case err == io.EOF && len(frag) == 0 && len(r.line) == 0:
			return nil, io.EOF
		case err != nil && err != io.EOF:
			return nil, r.readErr(err)
		}
		r.lineNo++
		if len(r.line) > 0 {
			r.line = append(r.line, frag...)
			frag = r.line
		}
		return trimEOL(frag), nil
	}
}

func (r *Reader) setUsername(row *Row, raw string) {
	row.Username = strings.Trim(raw, " \t")
	if reason := ValidateUsername(row.Username); reason != "" {
		row.Invalid = r.column + ": " + reason
	}
}

// trimEOL removes a trailing LF, then a trailing CR, as encoding/csv does.
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

func headerName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// listNames lists header names for an error message, quoting odd ones.
func listNames(header []string) string {
	const most = 20
	var b strings.Builder
	for i, h := range header {
		if i == most {
			fmt.Fprintf(&b, ", … (%d more)", len(header)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		h = strings.TrimSpace(h)
		if h == "" || strings.ContainsAny(h, `,"`) || strings.IndexFunc(h, func(r rune) bool { return !unicode.IsGraphic(r) }) >= 0 {
			h = strconv.Quote(h)
		}
		b.WriteString(h)
	}
	return b.String()
}

// sniffJSON recognises a JSON document, such as the output of
// aws cognito-idp list-users, given where a CSV header was expected.
func sniffJSON(head []byte) string {
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return ""
	}
	what := "JSON"
	if bytes.Contains(head, []byte(`"Users"`)) || bytes.Contains(head, []byte(`"Username"`)) {
		what = "JSON, like the output of aws cognito-idp list-users"
	}
	return "not a CSV file: it is " + what + "; write the CSV this tool reads with: cognito-mfa-migrate export --user-pool-id POOL_ID --output users.csv (ListUsers, no MAU cost)"
}

// sniffBinary recognises files that are clearly not CSV text by their first
// bytes, and says what to do about them.
func sniffBinary(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}), bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return "not a CSV file: it is UTF-16 text; save it as UTF-8"
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "not a CSV file: it is gzip-compressed; decompress it first"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "not a CSV file: it is a ZIP archive (a spreadsheet?); save it as CSV"
	}
	return ""
}

// errTooLong is what the guard returns once a record has run past its limit.
var errTooLong = errors.New("record too long")

// guard sits between the input and the read buffer and stops a record from
// growing without bound: encoding/csv would otherwise buffer a 1 GB line, or
// a quote left open, in full. It also keeps the first read error, which
// encoding/csv may report as a parse error instead.
type guard struct {
	r        io.Reader
	limit    int64 // bytes allowed between marks
	n        int64 // bytes delivered since the last mark
	lines    int   // line feeds delivered
	tripLine int   // line where the limit was passed
	err      error // sticky: errTooLong or the first read error
}

// mark starts a new record.
func (g *guard) mark() { g.n = 0 }

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.n >= g.limit {
		g.err, g.tripLine = errTooLong, g.lines+1
		return 0, g.err
	}
	if rem := g.limit - g.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	g.lines += bytes.Count(p[:n], []byte("\n"))
	if err != nil && err != io.EOF {
		g.err = err
	}
	return n, err
}
