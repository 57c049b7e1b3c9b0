package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strings"
)

// Mask is what a Secret prints as, wherever it is printed.
const Mask = "xxxxx"

// Secret is a credential (token, key, password, or a URL that carries one).
// Its value is reachable only through Reveal; every printing path (String,
// fmt verbs, JSON, YAML, slog) shows Mask, so a config dump or a log line
// cannot leak it by accident.
type Secret struct {
	value string
}

// NewSecret wraps a literal value.
func NewSecret(value string) Secret { return Secret{value: value} }

// Lookup finds environment variables and reads files while resolving
// secret references; tests pass a fake one.
type Lookup struct {
	Env      func(name string) (string, bool)
	ReadFile func(path string) ([]byte, error)
}

// OSLookup reads the process environment and the file system.
func OSLookup() Lookup { return Lookup{Env: os.LookupEnv, ReadFile: os.ReadFile} }

// ResolveSecret turns a reference into a Secret: "file:/path" reads the file
// (one trailing newline trimmed, as editors and `echo` add one), every
// "${NAME}" is replaced by that environment variable, anything else is the
// literal value. An unset variable or unreadable file is an error that names
// the variable or path but never a value.
func ResolveSecret(ref string, lk Lookup) (Secret, error) {
	if path, ok := strings.CutPrefix(ref, "file:"); ok {
		b, err := lk.ReadFile(path)
		if err != nil {
			return Secret{}, fmt.Errorf("secret file %s: %w", path, err)
		}
		s := strings.TrimSuffix(string(b), "\n")
		s = strings.TrimSuffix(s, "\r")
		return Secret{value: s}, nil
	}
	var b strings.Builder
	rest := ref
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.Index(rest[i:], "}")
		if j < 0 {
			return Secret{}, errors.New("secret reference: unterminated ${")
		}
		name := rest[i+2 : i+j]
		if name == "" {
			return Secret{}, errors.New("secret reference: empty ${}")
		}
		v, ok := lk.Env(name)
		if !ok {
			return Secret{}, fmt.Errorf("secret reference: environment variable %s is not set", name)
		}
		b.WriteString(rest[:i])
		b.WriteString(v)
		rest = rest[i+j+1:]
	}
	return Secret{value: b.String()}, nil
}

// Reveal returns the value, for the one place that must send it.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no value was given.
func (s Secret) IsZero() bool { return s.value == "" }

// String returns Mask (or "" for an empty secret, so "not set" stays visible).
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return Mask
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `notify.Secret("` + s.String() + `")` }

// Format makes every fmt verb print the mask.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalJSON writes the mask.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText writes the mask (YAML and other text encoders use it).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText resolves a reference from configuration with OSLookup.
func (s *Secret) UnmarshalText(b []byte) error {
	v, err := ResolveSecret(string(b), OSLookup())
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// fragments returns the strings that must not appear in output: the value
// and, for a URL, its parts that carry credentials on their own (query
// values such as access_token or key, the user password, and the path,
// where Slack, Feishu and Telegram put their tokens).
func (s Secret) fragments() []string {
	if s.value == "" {
		return nil
	}
	out := []string{s.value}
	u, err := url.Parse(s.value)
	if err != nil || u.Host == "" {
		return out
	}
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p, url.QueryEscape(p))
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 4 {
				out = append(out, v, url.QueryEscape(v))
			}
		}
	}
	if len(u.Path) > 1 {
		out = append(out, u.EscapedPath())
	}
	if q := u.RawQuery; q != "" {
		out = append(out, q)
	}
	return out
}

// RedactedError is an error whose message had secret values replaced by
// Mask. Unwrap still reaches the cause so errors.Is works for timeouts and
// cancellation; callers print the RedactedError, never the cause.
type RedactedError struct {
	msg   string
	cause error
}

func (e *RedactedError) Error() string { return e.msg }

// Unwrap returns the original error.
func (e *RedactedError) Unwrap() error { return e.cause }

// Redact returns err with every fragment of the given secrets masked in its
// message (longest first, so a URL is masked whole before its parts). Nil
// stays nil.
func Redact(err error, secrets ...Secret) error {
	if err == nil {
		return nil
	}
	return &RedactedError{msg: RedactString(err.Error(), secrets...), cause: err}
}

// RedactString masks every fragment of the given secrets in s.
func RedactString(s string, secrets ...Secret) string {
	var frags []string
	for _, sec := range secrets {
		frags = append(frags, sec.fragments()...)
	}
	sort.Slice(frags, func(i, j int) bool { return len(frags[i]) > len(frags[j]) })
	for _, f := range frags {
		if f != "" {
			s = strings.ReplaceAll(s, f, Mask)
		}
	}
	return s
}
