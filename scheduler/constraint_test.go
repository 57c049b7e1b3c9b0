package scheduler

import (
	"strings"
	"testing"
)

func TestParseConstraint(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    Constraint
		wantErr string
	}{
		{"unique on hostname", []string{"hostname", "UNIQUE"}, Constraint{Field: "hostname", Operator: Unique}, ""},
		{"operator case is ignored", []string{"rack", "group_by", "3"}, Constraint{Field: "rack", Operator: GroupBy, Value: "3", N: 3}, ""},
		{"group by without count", []string{"rack", "GROUP_BY"}, Constraint{Field: "rack", Operator: GroupBy}, ""},
		{"max per", []string{"zone", "MAX_PER", "2"}, Constraint{Field: "zone", Operator: MaxPer, Value: "2", N: 2}, ""},
		{"is", []string{"disk", "IS", "ssd"}, Constraint{Field: "disk", Operator: Is, Value: "ssd"}, ""},
		{"cluster with value", []string{"rack", "CLUSTER", "r1"}, Constraint{Field: "rack", Operator: Cluster, Value: "r1"}, ""},
		{"unknown operator", []string{"rack", "NEAR", "x"}, Constraint{}, `unknown operator "NEAR"`},
		{"unique with value", []string{"hostname", "UNIQUE", "x"}, Constraint{}, "UNIQUE takes no value"},
		{"max per without value", []string{"zone", "MAX_PER"}, Constraint{}, "MAX_PER needs a value"},
		{"max per zero", []string{"zone", "MAX_PER", "0"}, Constraint{}, "at least 1"},
		{"group by not a number", []string{"rack", "GROUP_BY", "two"}, Constraint{}, "whole number"},
		{"bad pattern", []string{"rack", "LIKE", "r[1"}, Constraint{}, "bad pattern"},
		{"too short", []string{"rack"}, Constraint{}, "want [field, OPERATOR]"},
		{"empty field", []string{" ", "UNIQUE"}, Constraint{}, "empty field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConstraint(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Re = nil
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLikeIsAnchored(t *testing.T) {
	c, err := ParseConstraint([]string{"rack", "LIKE", "r[12]"})
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]bool{"r1": true, "r2": true, "r12": false, "xr1": false} {
		if got := c.Re.MatchString(v); got != want {
			t.Errorf("LIKE r[12] on %q = %v, want %v", v, got, want)
		}
	}
}
