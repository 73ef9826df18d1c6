package verify

import (
	"bufio"
	"errors"
	"io"
)

// lines reads lines of at most max bytes; a longer one is consumed and
// reported without being held (as auditctl's archive reader does).
type lines struct {
	r   *bufio.Reader
	max int
	buf []byte
}

func newLines(r io.Reader, max int) *lines {
	return &lines{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

func (l *lines) next() (line []byte, tooLong bool, err error) {
	l.buf = l.buf[:0]
	n := 0
	for {
		chunk, err := l.r.ReadSlice('\n')
		n += len(chunk)
		content := chunk
		if len(content) > 0 && content[len(content)-1] == '\n' {
			content = content[:len(content)-1]
		}
		if !tooLong {
			if len(l.buf)+len(content) > l.max {
				tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = append(l.buf, content...)
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
