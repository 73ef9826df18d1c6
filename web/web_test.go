package web

import (
	"errors"
	"io/fs"
	"os"
	"testing"
)

// Built agrees with dist/index.html on disk (the test binary embeds dist as
// it is now), and Assets is rooted at dist.
func TestBuiltMatchesDist(t *testing.T) {
	_, err := os.Stat("dist/index.html")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	onDisk := err == nil
	if Built() != onDisk {
		t.Fatalf("Built() = %v, but dist/index.html on disk: %v", Built(), onDisk)
	}
	if _, err := fs.Stat(Assets(), "README.md"); err != nil {
		t.Fatalf("Assets() is not rooted at dist: %v", err)
	}
	_, err = fs.Stat(Assets(), "index.html")
	if (err == nil) != onDisk {
		t.Fatalf("Assets() has index.html: %v, on disk: %v", err == nil, onDisk)
	}
}
