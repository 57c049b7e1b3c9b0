package bus

import (
	"net/url"
	"strings"
)

// redactURL hides passwords and tokens embedded in server URLs so they never
// reach logs or errors.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOneURL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// redactOneURL redacts one server URL. It parses the URL the way nats.go
// does (a missing scheme means nats://), because "user:pw@host:4222" without
// a scheme is accepted by nats.go yet has no user info for url.Parse.
func redactOneURL(p string) string {
	full, schemeAdded := withScheme(p)
	u, err := url.Parse(full)
	if err != nil {
		// A URL that does not parse may still carry a password; hide all
		// that could be user info rather than guess where it ends.
		at := strings.LastIndex(p, "@")
		if at < 0 {
			return p
		}
		start := 0
		if k := strings.Index(p, "://"); k >= 0 && k < at {
			start = k + len("://")
		}
		return p[:start] + "xxxxx" + p[at:]
	}
	if u.User == nil {
		return p
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	} else {
		u.User = url.User("xxxxx")
	}
	out := u.String()
	if schemeAdded {
		out = strings.TrimPrefix(out, "nats://")
	}
	return out
}

// withScheme adds nats:// to a URL without a scheme, as nats.go does.
func withScheme(p string) (string, bool) {
	if strings.Contains(p, "://") {
		return p, false
	}
	return "nats://" + p, true
}
