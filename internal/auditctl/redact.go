package auditctl

import (
	"net/url"
	"strings"
)

// Credentials in a URL (http://user:password@host) would end up wherever
// the URL is shown: error messages, terminals, the audit_log_accessed
// event in the audit log itself. Every URL auditctl prints or records goes
// through SplitUserinfo or RedactURL first.

// SplitUserinfo returns raw without its userinfo, and the user and
// password it held (ok reports whether it held any).
func SplitUserinfo(raw string) (clean, user, password string, ok bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", false, err
	}
	if u.User == nil {
		return raw, "", "", false, nil
	}
	user = u.User.Username()
	password, _ = u.User.Password()
	u.User = nil
	return u.String(), user, password, true, nil
}

// RedactURL returns raw without its userinfo, for messages. A string that
// does not parse loses everything up to its last '@' as well.
func RedactURL(raw string) string {
	if clean, _, _, _, err := SplitUserinfo(raw); err == nil {
		return Printable(clean)
	}
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		scheme, _, found := strings.Cut(raw[:i], "://")
		if !found {
			scheme = ""
		} else {
			scheme += "://"
		}
		raw = scheme + "…@" + raw[i+1:]
	}
	return Printable(raw)
}
