// Package configdir carries the directory of the collector's config file
// from the command line to the components that read files named in it.
// The collector gives a component no way to know where its configuration
// came from (neither its Settings nor confmap.Conf carries the origin), so
// the distribution's command line records it here (internal/collectorcmd).
package configdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

var (
	mu  sync.Mutex
	dir string
)

// Set records d as the config file's directory; "" forgets it.
func Set(d string) {
	mu.Lock()
	defer mu.Unlock()
	dir = d
}

// Dir is the config file's directory, "" when it is not known: in tests,
// with a config from a provider other than a file, or with config files in
// different directories.
func Dir() string {
	mu.Lock()
	defer mu.Unlock()
	return dir
}

// scheme matches a confmap URI scheme ("file:", "yaml:", "env:",
// "https:"); two letters at least, so a Windows drive is a path.
var scheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+):`)

// FromURIs is the directory of the files among the collector's --config
// values (a plain path or file:PATH), made absolute; "" when none is a
// file or the files are in different directories.
func FromURIs(uris []string) string {
	found := ""
	for _, u := range uris {
		path := u
		if m := scheme.FindStringSubmatch(u); m != nil {
			if m[1] != "file" {
				continue
			}
			path = u[len(m[0]):]
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return ""
		}
		d := filepath.Dir(abs)
		if found != "" && found != d {
			return ""
		}
		found = d
	}
	return found
}

// Resolve names the file a config path refers to. An absolute path is
// itself. A relative one is read from the config file's directory when the
// file is there, and otherwise from the working directory, where earlier
// releases read every relative path.
func Resolve(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	if d := Dir(); d != "" {
		c := filepath.Join(d, path)
		if _, err := os.Stat(c); !errors.Is(err, fs.ErrNotExist) {
			return c
		}
	}
	return path
}
