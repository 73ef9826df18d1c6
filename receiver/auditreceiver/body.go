package auditreceiver

import (
	"errors"
	"io"
	"os"
	"time"
)

var (
	errTooSlow  = errors.New("the request body arrived too slowly")
	errCanceled = errors.New("the request was canceled")
)

// pacedBody is the request body as sent (before decompression). Each read
// moves the read deadline on by what min_body_rate allows, and stops once
// the request's context is done (shutdown, or the client went away).
type pacedBody struct {
	io.ReadCloser
	st *reqState
}

func (b *pacedBody) Read(p []byte) (int, error) {
	st := b.st
	if st.ctx.Err() != nil {
		return 0, errCanceled
	}
	st.mu.Lock()
	read := st.read
	st.asked = true
	st.mu.Unlock()
	st.setReadDeadline(read)
	st.keepWriting(false)
	n, err := b.ReadCloser.Read(p)
	st.mu.Lock()
	st.read += int64(n)
	switch {
	case err == nil:
	case st.shutdown.Err() != nil:
		err = errCanceled
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The server cancels the request's context on this too.
		st.tooSlow = true
		err = errTooSlow
	case st.ctx.Err() != nil:
		err = errCanceled
	case errors.Is(err, io.EOF):
		// No deadline for the server's read behind the handler, which
		// cancels the request's context when it fails.
		if st.rc != nil {
			_ = st.rc.SetReadDeadline(time.Time{})
		}
	}
	st.mu.Unlock()
	return n, err
}

var errImportTooLarge = errors.New("the upload is too large once decompressed")

// sizeCap bounds a decompressed upload as it is read, so a small
// compressed body cannot make the receiver decompress and spool a large one.
type sizeCap struct {
	r    io.Reader
	left int64
	hit  bool
}

func (c *sizeCap) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if int64(n) <= c.left {
		c.left -= int64(n)
		return n, err
	}
	n, c.left, c.hit = int(c.left), 0, true
	return n, errImportTooLarge
}
