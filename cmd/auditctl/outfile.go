package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// outFile is an export's --file: written to a temporary file beside it and
// renamed into place only when the export succeeds, so a failed or
// interrupted export leaves no partial file and an earlier file at the
// path as it was. The file is private to its owner (0600): an export is
// audit data.
type outFile struct {
	*os.File
	path string
}

func createOutput(path string) (*outFile, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("--file %s is a directory; name a file", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	return &outFile{File: f, path: path}, nil
}

// commit flushes the file to disk and moves it to its path.
func (o *outFile) commit() error {
	err := errors.Join(o.Sync(), o.Close())
	if err == nil {
		err = os.Rename(o.Name(), o.path)
	}
	if err != nil {
		os.Remove(o.Name())
		return fmt.Errorf("--file %s: %w", o.path, err)
	}
	return nil
}

// abort removes the temporary file; it is a no-op after commit.
func (o *outFile) abort() {
	o.Close()
	os.Remove(o.Name())
}
