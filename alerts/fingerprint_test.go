package alerts

import (
	"regexp"
	"testing"
)

func TestFingerprintIsStable(t *testing.T) {
	// Pinned values, computed independently (FNV-1a 64 in Python over the
	// same bytes): a change here changes every alert key stored in KV
	// and would re-notify every active alert after an upgrade.
	tests := []struct {
		name   string
		rule   string
		labels map[string]string
		want   string
	}{
		{"no labels", "node-lost", nil, "f1ecdd27d8121d91"},
		{"one label", "node-lost", map[string]string{"node": "n1"}, "2eed46dde69f76a0"},
		{"two labels", "container-memory", map[string]string{"service": "/shop/web", "instance": "web.1"}, "50c4e423a790e4d0"},
	}
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fingerprint(tt.rule, tt.labels)
			if !hex16.MatchString(got) {
				t.Fatalf("Fingerprint = %q, want 16 hex digits", got)
			}
			if got != tt.want {
				t.Errorf("Fingerprint = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFingerprintDistinguishes(t *testing.T) {
	base := Fingerprint("r", map[string]string{"a": "bc"})
	for name, fp := range map[string]string{
		"shifted boundary": Fingerprint("r", map[string]string{"ab": "c"}),
		"other rule":       Fingerprint("s", map[string]string{"a": "bc"}),
		"extra label":      Fingerprint("r", map[string]string{"a": "bc", "d": ""}),
		"value in name":    Fingerprint("r", map[string]string{"a": "b", "c": ""}),
	} {
		if fp == base {
			t.Errorf("%s: same fingerprint %s", name, fp)
		}
	}
	for range 20 { // map iteration order is random; the hash must not be
		if got := Fingerprint("r", map[string]string{"z": "1", "a": "bc", "m": "x"}); got != Fingerprint("r", map[string]string{"m": "x", "a": "bc", "z": "1"}) {
			t.Fatal("fingerprint depends on map order")
		}
	}
	if Fingerprint("r", map[string]string{LabelAlertName: "other", "a": "bc"}) != base {
		t.Error("an alertname label changed the fingerprint; the rule name must win")
	}
}
