package runner

import (
	"fmt"
	"strings"
)

// KV keys in bus.BucketAlerts.
const (
	keyRouter        = "router"
	keyRulePrefix    = "rule."
	keySilencePrefix = "silence."
)

// RuleKey is the KV key of a rule's snapshot. Characters a KV key cannot
// hold (and '.', which separates key tokens) are written as =XX, which no
// rule name contains, so two names never share a key.
func RuleKey(rule string) string { return keyRulePrefix + escapeKey(rule) }

// SilenceKey is the KV key of a silence.
func SilenceKey(id string) string { return keySilencePrefix + escapeKey(id) }

func escapeKey(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}
