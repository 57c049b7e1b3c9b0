package collector

import (
	"fmt"
	"strings"
)

// ParseTags parses a `key=value,key2=value2` list, as given to the --labels
// and --tags flags, into a map. Spaces around keys and values are trimmed;
// an empty string gives an empty map. Each pair needs a key and a value that
// line protocol can carry, and a key may appear only once.
func ParseTags(s string) (map[string]string, error) {
	tags := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return tags, nil
	}
	for i, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			return nil, fmt.Errorf("tags %q: pair %d is empty; remove the extra comma", s, i+1)
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("tags %q: pair %d (%q) has no '='; write key=value", s, i+1, pair)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if err := validateTag(k, v); err != nil {
			return nil, fmt.Errorf("tags %q: pair %d: %w", s, i+1, err)
		}
		if _, dup := tags[k]; dup {
			return nil, fmt.Errorf("tags %q: key %q is given twice", s, k)
		}
		tags[k] = v
	}
	return tags, nil
}

// validateTag checks that a configured tag can be written as line protocol
// and stored by InfluxDB 1.x and 2.x.
func validateTag(k, v string) error {
	switch {
	case k == "":
		return fmt.Errorf("tag with value %q has an empty key", v)
	case v == "":
		return fmt.Errorf("tag %q has an empty value (InfluxDB drops empty tags)", k)
	case !validKey(k):
		return fmt.Errorf("tag key %q has control characters, invalid UTF-8 or a trailing backslash", k)
	case !validKey(v):
		return fmt.Errorf("tag %q: value %q has control characters, invalid UTF-8 or a trailing backslash", k, v)
	case k == "time" || k == "_measurement" || k == "_field":
		return fmt.Errorf("tag key %q is reserved by InfluxDB; pick another", k)
	}
	return nil
}
