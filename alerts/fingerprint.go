package alerts

import (
	"hash/fnv"
	"slices"
	"strconv"
)

// LabelAlertName is the label that carries the rule name on every alert,
// as in Alertmanager, so routes and inhibit rules can match on it.
const LabelAlertName = "alertname"

// Fingerprint identifies an alert: the rule name and the series labels,
// hashed with FNV-1a 64 and written as 16 hex digits. It depends only on
// the label set, not on map order or the process, so it is the key of the
// alert in KV and in notifications across restarts. A label named
// "alertname" in labels is ignored in favour of rule.
func Fingerprint(rule string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != LabelAlertName {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	h := fnv.New64a()
	// 0xff cannot occur in UTF-8 text, so it separates names and values
	// without ambiguity ("a"+"bc" differs from "ab"+"c").
	sep := []byte{0xff}
	write := func(s string) {
		_, _ = h.Write([]byte(s))
		_, _ = h.Write(sep)
	}
	write(LabelAlertName)
	write(rule)
	for _, k := range keys {
		write(k)
		write(labels[k])
	}
	s := strconv.FormatUint(h.Sum64(), 16)
	for len(s) < 16 {
		s = "0" + s
	}
	return s
}
