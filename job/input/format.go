package input

import "fmt"

// Format is the kind of input file, detected from its header.
type Format int

const (
	// FormatPlain is a CSV (RFC 4180) file with a username column; other
	// columns are ignored.
	FormatPlain Format = iota
	// FormatExport is the CSV this package's ExportWriter writes: it has
	// username and mfa_options columns, so each Row carries Legacy.
	FormatExport
	// FormatCognitoImport is Cognito's user-import CSV: a cognito:username
	// column, values not quoted and commas inside values escaped as `\,`
	// (the AWS way), or quoted as RFC 4180 where needed (a spreadsheet's way).
	FormatCognitoImport
	// FormatCustom is a file whose username column was named by
	// Options.UsernameColumn and differs from the detected format's own.
	FormatCustom
)

// String returns the format's name for logs: "plain", "export",
// "cognito-import" or "custom".
func (f Format) String() string {
	switch f {
	case FormatPlain:
		return "plain"
	case FormatExport:
		return "export"
	case FormatCognitoImport:
		return "cognito-import"
	case FormatCustom:
		return "custom"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Legacy says what the input knows about a user's legacy MFAOptions.
type Legacy uint8

const (
	// LegacyUnknown means the input does not say; the job must read the user.
	LegacyUnknown Legacy = iota
	// LegacyNone means the export listed no legacy MFAOptions for the user.
	LegacyNone
	// LegacyPresent means the export listed at least one legacy MFAOption.
	LegacyPresent
)

// String returns "unknown", "none" or "present".
func (l Legacy) String() string {
	switch l {
	case LegacyUnknown:
		return "unknown"
	case LegacyNone:
		return "none"
	case LegacyPresent:
		return "present"
	}
	return fmt.Sprintf("Legacy(%d)", uint8(l))
}

// DefaultMaxRecordBytes is the record size limit used when
// Options.MaxRecordBytes is zero or negative. Cognito's own import format
// allows rows of up to 16,000 characters, which fit.
const DefaultMaxRecordBytes = 64 << 10

// Options configures a Reader. The zero value detects the format from the
// header and uses DefaultMaxRecordBytes.
type Options struct {
	// UsernameColumn names the column that holds usernames, matched like
	// header names (case-insensitive, spaces around it ignored). When it is
	// "" the column comes from the detected format. When it names another
	// column than the detected format's, the format is FormatCustom and the
	// file is still split by its detected dialect (backslash escapes for a
	// header with an unquoted cognito:username column, RFC 4180 otherwise).
	UsernameColumn string

	// MaxRecordBytes bounds one record, in bytes, line endings included;
	// for the RFC 4180 formats, blank lines just before a record count
	// towards it. A longer record is fatal. It also bounds the header and
	// the Reader's memory, which is a few times MaxRecordBytes. Zero or
	// negative means DefaultMaxRecordBytes.
	MaxRecordBytes int
}

func (o Options) maxRecordBytes() int {
	if o.MaxRecordBytes <= 0 {
		return DefaultMaxRecordBytes
	}
	return o.MaxRecordBytes
}
