package auditctl

import (
	"bufio"
	"errors"
	"io"
)

// lineReader reads lines of at most max bytes: a longer line is consumed
// and reported as too long without being held, so memory stays at max
// plus the bufio buffer whatever the input.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
	// read counts the bytes consumed, line ends included: the progress.
	read int64
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its line end, valid until the next
// call; tooLong reports a line over max, whose bytes are dropped. It
// returns io.EOF after the last line.
func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	l.buf = l.buf[:0]
	n := 0
	for {
		chunk, err := l.r.ReadSlice('\n')
		n += len(chunk)
		l.read += int64(len(chunk))
		content := chunk
		if len(content) > 0 && content[len(content)-1] == '\n' {
			content = content[:len(content)-1]
		}
		if !tooLong {
			if len(l.buf)+len(content) > l.max {
				tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = l.append(content)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && n > 0:
			err = nil
		}
		if err != nil {
			return nil, false, err
		}
		if tooLong {
			return nil, true, nil
		}
		line = l.buf
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		return line, false, nil
	}
}

// append grows buf no further than max, where append would double it.
func (l *lineReader) append(b []byte) []byte {
	if need := len(l.buf) + len(b); need > cap(l.buf) {
		grown := make([]byte, len(l.buf), min(max(2*cap(l.buf), need, 4096), l.max))
		copy(grown, l.buf)
		l.buf = grown
	}
	return append(l.buf, b...)
}

// LineReader is the bounded line reader for other packages' files (the
// digests verify reads).
type LineReader struct{ l *lineReader }

// NewLineReader reads lines of at most max bytes from r.
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{newLineReader(r, max)}
}

// Next is lineReader.next.
func (x *LineReader) Next() (line []byte, tooLong bool, err error) { return x.l.next() }
