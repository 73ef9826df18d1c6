package main

import (
	"fmt"
	"io"
)

// statusLine is stderr with a progress bar redrawn in place (\r): a
// message written while the bar is shown starts on a line of its own.
type statusLine struct {
	w    io.Writer
	open bool // the bar is on the current line
}

// bar redraws the bar.
func (s *statusLine) bar(text string) {
	fmt.Fprintf(s.w, "\r%s", text)
	s.open = true
}

// end closes the bar's line.
func (s *statusLine) end() {
	if s.open {
		fmt.Fprintln(s.w)
		s.open = false
	}
}

func (s *statusLine) Write(p []byte) (int, error) {
	s.end()
	return s.w.Write(p)
}
