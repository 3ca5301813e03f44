package input

import (
	"bytes"
	"fmt"
)

// importSplitter splits records of Cognito's user-import CSV, in either of
// the two ways such files are written:
//
//   - the AWS way (GetCSVHeader's documentation): values are not quoted, a
//     comma inside a value is written `\,`, and spaces and tabs around a
//     value are trimmed. A backslash before anything but a comma, and a `"`
//     inside a value, are ordinary characters.
//   - RFC 4180, as a spreadsheet or Python's csv module writes it: a value
//     that holds a comma, a quote or a line break is quoted ("comma,user",
//     "quote""user"), and a quote inside it is doubled. A quoted value may
//     span lines; inside it, commas, backslashes and line breaks are
//     ordinary and nothing is trimmed.
//
// A value whose first character (after spaces and tabs) is `"` is a quoted
// value; any other value is read the AWS way. The two agree on every value
// that neither escapes nor quotes. A quoted value followed by anything but
// spaces, tabs, a comma or the end of the record is malformed (the row is
// invalid, never guessed).
//
// The zero value is ready to use; its buffers are reused from record to
// record.
type importSplitter struct {
	buf    []byte
	fields [][]byte
}

// split returns the values of rec, which has no final line ending (it may
// hold line breaks inside a quoted value). The values point into the
// splitter's buffer and are valid until the next call. open reports that
// rec ends inside a quoted value: the caller appends the next line and
// splits again. bad, when not "", says why the record's quoting is
// malformed.
func (s *importSplitter) split(rec []byte) (fields [][]byte, open bool, bad string) {
	// Unquoting and unescaping never lengthen a record, so appends below
	// never reallocate and the field slices stay valid.
	if cap(s.buf) < len(rec) {
		s.buf = make([]byte, 0, len(rec))
	}
	buf := s.buf[:0]
	s.fields = s.fields[:0]
	line := rec
	for col := 1; ; col++ {
		start := len(buf)
		rest := bytes.TrimLeft(line, " \t")
		if len(rest) > 0 && rest[0] == '"' {
			// RFC 4180 quoted value.
			rest = rest[1:]
			for {
				i := bytes.IndexByte(rest, '"')
				if i < 0 {
					return nil, true, ""
				}
				buf = append(buf, rest[:i]...)
				rest = rest[i+1:]
				if len(rest) > 0 && rest[0] == '"' {
					buf = append(buf, '"')
					rest = rest[1:]
					continue
				}
				break
			}
			s.fields = append(s.fields, buf[start:])
			rest = bytes.TrimLeft(rest, " \t")
			switch {
			case len(rest) == 0:
				s.buf = buf
				return s.fields, false, bad
			case rest[0] == ',':
				line = rest[1:]
				continue
			}
			if bad == "" {
				bad = fmt.Sprintf(`malformed CSV: text after the closing quote of a quoted value (column %d)`, col)
			}
			// Skip to the next comma, to keep counting fields.
			if j := bytes.IndexByte(rest, ','); j >= 0 {
				line = rest[j+1:]
				continue
			}
			s.buf = buf
			return s.fields, false, bad
		}
		// The AWS way: up to the next comma not preceded by a backslash.
		for {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				buf = append(buf, line...)
				line = nil
				break
			}
			if i > 0 && line[i-1] == '\\' {
				buf = append(buf, line[:i-1]...)
				buf = append(buf, ',')
				line = line[i+1:]
				continue
			}
			buf = append(buf, line[:i]...)
			line = line[i+1:]
			break
		}
		s.fields = append(s.fields, trimValue(buf[start:]))
		if line == nil {
			s.buf = buf
			return s.fields, false, bad
		}
	}
}

func trimValue(b []byte) []byte { return bytes.Trim(b, " \t") }
