package input

import (
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/gocarina/gocsv"
)

// ExportRecord is one user in the export CSV, FormatExport. The csv tags give
// the header: username,mfa_options,has_phone,user_status,enabled.
type ExportRecord struct {
	// Username is the user's Cognito username.
	Username string `csv:"username"`
	// MFAOptions lists the user's legacy MFAOptions as
	// DeliveryMedium:AttributeName entries joined by ";", such as
	// "SMS:phone_number". "" means the user has none, which a Reader
	// reports as LegacyNone.
	MFAOptions string `csv:"mfa_options"`
	// HasPhone reports whether the user has a phone_number attribute.
	HasPhone bool `csv:"has_phone"`
	// UserStatus is the user's status, such as CONFIRMED.
	UserStatus string `csv:"user_status"`
	// Enabled reports whether the user is enabled.
	Enabled bool `csv:"enabled"`
}

// ExportWriter writes the export CSV: a header, then one RFC 4180 record per
// ExportRecord, booleans as true and false. Output is buffered; call Flush
// at the end. It is made by NewExportWriter and is not safe for concurrent
// use.
type ExportWriter struct {
	cw  *csv.Writer
	one []ExportRecord
}

// bufferedCSV is the gocsv.CSVWriter the ExportWriter hands to gocsv. gocsv
// flushes after every call, which would write to the file once per record;
// here Flush does nothing and ExportWriter.Flush flushes.
type bufferedCSV struct{ *csv.Writer }

func (bufferedCSV) Flush() {}

// ExportOrigin says where an export came from. It is written as a comment
// line before the CSV header (see NewExportWriterFrom) and read back by
// Reader.Origin, so that a run refuses an export of another pool.
type ExportOrigin struct {
	// PoolID is the user pool the users were listed from.
	PoolID string
	// Exported is when the listing started.
	Exported time.Time
}

// originPrefix starts the comment line of an export's origin.
const originPrefix = "# cognito-mfa-migrate export"

var originPool = regexp.MustCompile(`\buser_pool_id=([\w-]+_[0-9a-zA-Z]+)`)

// originLine returns the comment line written before the header.
func (o ExportOrigin) line() string {
	return fmt.Sprintf("%s: user_pool_id=%s exported_at=%s; usernames are data: to open this file in a spreadsheet, import it with every column as text (see the README)\n",
		originPrefix, o.PoolID, o.Exported.UTC().Format(time.RFC3339))
}

// NewExportWriter returns an ExportWriter that writes to w, and writes the
// header. It returns an error only if the header cannot be encoded; errors
// writing to w show at a later Write or at Flush.
func NewExportWriter(w io.Writer) (*ExportWriter, error) {
	return NewExportWriterFrom(w, ExportOrigin{})
}

// NewExportWriterFrom is NewExportWriter, first writing origin (unless its
// PoolID is "") as a comment line: "# cognito-mfa-migrate export:
// user_pool_id=... exported_at=...". A Reader skips it and reports the pool
// through Origin.
func NewExportWriterFrom(w io.Writer, origin ExportOrigin) (*ExportWriter, error) {
	ew := &ExportWriter{cw: csv.NewWriter(w), one: make([]ExportRecord, 1)}
	if origin.PoolID != "" {
		if _, err := io.WriteString(w, origin.line()); err != nil {
			return nil, err
		}
	}
	// gocsv writes the header, and nothing else, for an empty slice.
	if err := gocsv.MarshalCSV([]ExportRecord{}, bufferedCSV{ew.cw}); err != nil {
		return nil, err
	}
	return ew, nil
}

// Write writes one record. Errors writing to the underlying writer may show
// only at a later Write or at Flush.
func (w *ExportWriter) Write(rec ExportRecord) error {
	w.one[0] = rec
	return gocsv.MarshalCSVWithoutHeaders(w.one, bufferedCSV{w.cw})
}

// Flush writes any buffered data to the underlying writer and returns the
// first error met writing.
func (w *ExportWriter) Flush() error {
	w.cw.Flush()
	return w.cw.Error()
}
