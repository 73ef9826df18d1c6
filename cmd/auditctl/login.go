package main

import (
	"os"
	"os/user"
)

// loginName is the account auditctl runs as: the reader's identity when
// Elasticsearch cannot tell (the archive, a cluster without security).
// The account database first: $USER is whatever the shell says.
func loginName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if v := os.Getenv("USER"); v != "" {
		return v
	}
	return "unknown"
}
