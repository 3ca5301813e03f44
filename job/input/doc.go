// Package input reads the CSV files of users that cognito-mfa-migrate
// works through, writes the export CSV it makes from ListUsers, and scans an
// input before a run (SHA-256, row count, duplicate usernames).
//
// Everything streams: a Reader holds one record at a time in buffers a few
// times Options.MaxRecordBytes, and ScanInput finds duplicates through
// temporary files, so neither grows with the file.
//
// # Formats
//
// The format is detected from the header, whose names are compared trimmed
// and case-insensitively. A UTF-8 byte order mark, CRLF or LF line endings,
// and blank lines (which are not records) are accepted in every format.
//
//   - FormatCognitoImport: Cognito's user-import CSV (the GetCSVHeader
//     columns, cognito:username among them). Recognised by a
//     cognito:username header name. It is read whichever way it was
//     written: the AWS way (values not quoted, a comma inside a value
//     written `\,`, spaces and tabs around values trimmed, a `"` inside a
//     value an ordinary character), or RFC 4180 as a spreadsheet or
//     Python's csv module writes it (a value starting with `"` is quoted,
//     may hold commas and line breaks, and doubles its quotes). A quoted
//     value followed by other text makes the row invalid; one left open to
//     the end of the file is fatal. Other columns, including
//     cognito:mfa_enabled, are not needed and not checked.
//   - FormatExport: the CSV ExportWriter writes, with username and
//     mfa_options columns. Rows carry Legacy: LegacyNone when mfa_options is
//     empty, so the job can skip reading the user, LegacyPresent otherwise.
//   - FormatPlain: RFC 4180 CSV with a username column.
//   - FormatCustom: Options.UsernameColumn names another column.
//
// Lines starting with # before the header are comments and are skipped
// (their lines still count); an export's first line is one, naming the pool
// it was made from (Reader.Origin). An export with a header and no rows is
// valid: its pool has nothing to migrate.
//
// Row.Index numbers the data records from 0 and is the checkpoint key;
// Row.Line is the line where a record starts. Spaces and tabs around a
// username are removed (usernames cannot contain whitespace); what remains
// must pass ValidateUsername.
//
// # Fatal or per row
//
// A problem confined to one record makes that row invalid: Row.Invalid says
// what and which field, the job records the row as invalid_input, and
// reading goes on. A problem that makes the file, or the rest of it,
// unusable is fatal: NewReader, Next or ScanInput returns a *Error naming
// file, line and column, which matches ErrInput (exit code 2).
//
//	problem                                              result
//	---------------------------------------------------  -------------------------------------
//	missing or unreadable file, read error               fatal
//	empty file (or only a BOM, or only blank lines)      fatal, line 0
//	UTF-16, gzip or ZIP file                             fatal, line 0, says what to do
//	header with a NUL byte or invalid UTF-8              fatal at the header line
//	header only, no data rows (but FormatExport)         fatal at the header line
//	username column missing, or named twice              fatal, names the column, lists the header
//	lines ending in a lone CR (classic Mac)              fatal: the header is one long line, column missing
//	custom column (UsernameColumn) missing               fatal, names the column
//	malformed quoting in the header                      fatal at the header line
//	record or header longer than MaxRecordBytes          fatal at its line (no safe way to resynchronise)
//	quoted field still open at end of file,              fatal at the line the field starts
//	  after swallowing following lines
//	file changed between ScanInput's two passes          fatal
//	wrong number of fields                               row: "has 3 fields, header has 2"
//	empty username, or only spaces and tabs              row: "username: empty"
//	username over 128 characters (runes, not bytes)      row: "username: longer than 128 characters (129)"
//	whitespace inside a username (space, tab, NBSP, …)   row: "username: contains whitespace (U+0020) at character 4"
//	line break inside a quoted username                  row: "username: contains a line break (U+000A) …"
//	NUL or other control character in the username       row: "username: contains a control character (U+0000) …"
//	invalid UTF-8 in the username                        row: "username: not valid UTF-8 (byte 0xff at byte 4)"
//	format characters (U+200B, U+FEFF …) in the username row: "username: contains a character that is not …"
//	bare or stray quote (RFC 4180 formats)               row: "malformed CSV: bare \" in non-quoted-field (column 3)"
//	quoted field open at end of file on its own line     row: "malformed CSV: extraneous or missing \" …"
//	duplicate username                                   valid row; ScanInput reports it in Scan.Duplicates
//	unknown extra columns; bad values in other columns   ignored
//
// A lone CR is not a line ending (as in encoding/csv): inside a username it
// makes the row invalid. A 128-character username of multi-byte characters
// is valid.
package input
