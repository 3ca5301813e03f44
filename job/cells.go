package job

import "strings"

// formulaStart holds the characters that make a spreadsheet evaluate a cell
// (OWASP, "CSV Injection"): = + - @, and tab and carriage return, which some
// spreadsheets strip before looking.
const formulaStart = "=+-@\t\r"

// neutralize returns s as a spreadsheet shows it literally: a cell starting
// with one of formulaStart is prefixed with a single quote, as OWASP
// recommends. Valid Cognito usernames such as =HYPERLINK(...), +cmd|'/C
// calc'!A0, @SUM(1+1) or -1+1 would otherwise run as formulas when an
// operator opens the report. Other cells are returned unchanged.
func neutralize(s string) string {
	if s != "" && strings.IndexByte(formulaStart, s[0]) >= 0 {
		return "'" + s
	}
	return s
}
