package alerts

import "fmt"

// InhibitRule mutes target alerts while a source alert fires, as
// Alertmanager's inhibit_rules: a node-down alert mutes the alerts of the
// containers on that node, which would only repeat it.
type InhibitRule struct {
	// Source selects the muting alerts, Target the muted ones; both match
	// on alert labels (alertname included).
	Source, Target []Matcher
	// Equal lists labels whose values must be the same on source and
	// target; a label absent on both counts as equal.
	Equal []string
}

// Validate checks that the rule can match anything safely.
func (r InhibitRule) Validate() error {
	if len(r.Source) == 0 {
		return &FieldError{Field: "source", Err: fmt.Errorf("at least one matcher is required")}
	}
	if len(r.Target) == 0 {
		return &FieldError{Field: "target", Err: fmt.Errorf("at least one matcher is required")}
	}
	return nil
}

// Inhibited returns the fingerprints of the active alerts that an inhibit
// rule mutes. Only firing alerts (WARNING or CRITICAL) inhibit, and an
// alert never inhibits itself. It is a pure function: the notifier calls
// it with the current active set before sending.
func Inhibited(active []Active, rules []InhibitRule) map[string]bool {
	out := make(map[string]bool)
	for _, r := range rules {
		if len(r.Source) == 0 || len(r.Target) == 0 {
			continue
		}
		var sources []*Active
		for i := range active {
			if active[i].State > OK && matchAll(r.Source, active[i].Labels) {
				sources = append(sources, &active[i])
			}
		}
		if len(sources) == 0 {
			continue
		}
		for i := range active {
			t := &active[i]
			if out[t.Fingerprint] || !matchAll(r.Target, t.Labels) {
				continue
			}
			for _, s := range sources {
				if s.Fingerprint != t.Fingerprint && equalOn(r.Equal, s.Labels, t.Labels) {
					out[t.Fingerprint] = true
					break
				}
			}
		}
	}
	return out
}

func equalOn(names []string, a, b map[string]string) bool {
	for _, n := range names {
		if a[n] != b[n] {
			return false
		}
	}
	return true
}
