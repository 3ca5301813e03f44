package input

import "bytes"

// importSplitter splits lines of Cognito's user-import CSV. Values are not
// quoted (a `"` is an ordinary character), a comma inside a value is written
// `\,`, and spaces and tabs around a value are trimmed. A backslash before
// anything but a comma is an ordinary character; the format has no way to
// write a value that ends in a backslash followed by another value.
//
// The zero value is ready to use; its buffers are reused from line to line.
type importSplitter struct {
	buf    []byte
	fields [][]byte
}

// split returns the values of line, which has no line ending. The values
// point into the splitter's buffer and are valid until the next call.
func (s *importSplitter) split(line []byte) [][]byte {
	// Unescaping never lengthens a line, so appends below never reallocate
	// and the field slices stay valid.
	if cap(s.buf) < len(line) {
		s.buf = make([]byte, 0, len(line))
	}
	buf := s.buf[:0]
	s.fields = s.fields[:0]
	start := 0
	for {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			buf = append(buf, line...)
			break
		}
		if i > 0 && line[i-1] == '\\' {
			buf = append(buf, line[:i-1]...)
			buf = append(buf, ',')
			line = line[i+1:]
			continue
		}
		buf = append(buf, line[:i]...)
		s.fields = append(s.fields, trimValue(buf[start:]))
		start = len(buf)
		line = line[i+1:]
	}
	s.fields = append(s.fields, trimValue(buf[start:]))
	s.buf = buf
	return s.fields
}

func trimValue(b []byte) []byte { return bytes.Trim(b, " \t") }
