package bus_test

import (
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/internal/bus"
)

func TestTokenMakesOneValidSubjectToken(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain name is kept", "node-1", "node-1"},
		{"dots would split the token", "web.eu.example", "web_eu_example"},
		{"star wildcard", "a*b", "a_b"},
		{"greater-than wildcard", "a>", "a_"},
		{"spaces and tabs", "my node\tone", "my_node_one"},
		{"line breaks", "a\r\nb", "a__b"},
		{"slashes in service ids", "/shop/web", "_shop_web"},
		{"empty becomes a placeholder", "", "_"},
		{"non-ASCII is kept", "nœud-é", "nœud-é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := bus.Token(tc.in)
			if got != tc.want {
				t.Errorf("Token(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got == "" || strings.ContainsAny(got, ".*> \t\r\n") {
				t.Errorf("Token(%q) = %q is not one valid subject token", tc.in, got)
			}
			if subj, want := bus.MetricsSubject(tc.in), "swell.metrics."+tc.want; subj != want {
				t.Errorf("MetricsSubject(%q) = %q, want %q", tc.in, subj, want)
			}
		})
	}
}
