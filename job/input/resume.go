package input

import (
	"bytes"
	"context"
	"fmt"
	"io"
)

// MarkEvery is how many records apart ScanInput records the Marks of a
// file: 76 marks for 5,000,000 rows.
const MarkEvery = 1 << 16

// Mark is a place where a Reader can start reading a file: the record
// numbered Index begins at byte Offset (counted from the start of the file,
// byte order mark included; blank lines before the record may follow it)
// on line Line.
type Mark struct {
	Index  int
	Offset int64
	Line   int
}

// Offset returns the byte offset in the file where the next record begins
// (blank lines before it included), and true; or false for a Cognito
// import file, whose records this Reader does not locate.
func (r *Reader) Offset() (int64, bool) {
	if r.importDialect || r.cr == nil {
		return 0, false
	}
	return r.bom + r.cr.InputOffset(), true
}

// NewReaderAt returns a Reader of the file that open (called with ctx) returns which starts
// at the record m marks, as if the records before it had been read: its
// rows have the Index and Line they have in the whole file. m must come
// from the Marks of a Scan of this very file with the same opts. The
// header is read from the start of the file; the rest is skipped with Seek
// when the opened file supports it, or read and discarded otherwise (an
// S3 object). The caller closes the returned io.Closer when done.
//
// NewReaderAt returns the errors of NewReader, and a *Error if the file is
// shorter than m says.
func NewReaderAt(ctx context.Context, open func(context.Context) (io.ReadCloser, error), name string, opts Options, m Mark) (*Reader, io.Closer, error) {
	rc, err := open(ctx)
	if err != nil {
		return nil, nil, &Error{File: name, Msg: "cannot open", Err: err}
	}
	head, err := NewReader(rc, name, opts)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	hdrEnd, ok := head.Offset()
	rc.Close()
	if !ok || m.Offset < hdrEnd || m.Index < 0 || m.Line < 1 {
		return nil, nil, &Error{File: name, Msg: fmt.Sprintf("cannot start reading at record %d (offset %d): not a place in this file", m.Index, m.Offset)}
	}

	rc, err = open(ctx)
	if err != nil {
		return nil, nil, &Error{File: name, Msg: "cannot open", Err: err}
	}
	hdr := make([]byte, hdrEnd)
	_, err = io.ReadFull(rc, hdr)
	if err == nil {
		if s, ok := rc.(io.Seeker); ok {
			_, err = s.Seek(m.Offset, io.SeekStart)
		} else {
			_, err = io.CopyN(io.Discard, rc, m.Offset-hdrEnd)
		}
	}
	if err != nil {
		rc.Close()
		return nil, nil, &Error{File: name, Msg: fmt.Sprintf("cannot skip to record %d (offset %d): was the file shortened?", m.Index, m.Offset), Err: err}
	}
	rd, err := NewReader(io.MultiReader(bytes.NewReader(hdr), rc), name, opts)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	rd.index, rd.wantLine = m.Index, m.Line
	return rd, rc, nil
}
