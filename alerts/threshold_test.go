package alerts

import (
	"errors"
	"testing"
)

func TestParseCondition(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Condition
	}{
		{"greater with space", "> 80", Condition{OpGT, 80}},
		{"greater without space", ">80", Condition{OpGT, 80}},
		{"greater or equal", ">= 80", Condition{OpGE, 80}},
		{"greater or equal without space", ">=80", Condition{OpGE, 80}},
		{"less", "< 5", Condition{OpLT, 5}},
		{"less or equal", "<=5", Condition{OpLE, 5}},
		{"equal", "== 0", Condition{OpEQ, 0}},
		{"not equal", "!= 0", Condition{OpNE, 0}},
		{"negative and fractional", "< -0.5", Condition{OpLT, -0.5}},
		{"surrounding spaces", "  >   1e3  ", Condition{OpGT, 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCondition(tt.in)
			if err != nil {
				t.Fatalf("ParseCondition(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseCondition(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			back, err := ParseCondition(got.String())
			if err != nil || back != got {
				t.Fatalf("round trip of %q via %q = %+v, %v", tt.in, got.String(), back, err)
			}
		})
	}
}

func TestParseConditionRejects(t *testing.T) {
	tests := []struct {
		name, in, msg string
		nan           bool
	}{
		{"word operand", "> eighty", `"> eighty": not a number`, true},
		{"NaN operand", "> NaN", `"> NaN": not a number`, true},
		{"infinite operand", "< Inf", `"< Inf": not a number`, true},
		{"missing operand", ">=", `">=": missing number after ">="`, false},
		{"no operator", "80", `"80": unknown operator (want >, >=, <, <=, == or !=)`, false},
		{"single equals", "= 3", `"= 3": unknown operator (want >, >=, <, <=, == or !=)`, false},
		{"empty", " ", `" ": empty condition (want for example "> 80")`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCondition(tt.in)
			if err == nil {
				t.Fatalf("ParseCondition(%q) accepted", tt.in)
			}
			if err.Error() != tt.msg {
				t.Errorf("error = %q, want %q", err, tt.msg)
			}
			if errors.Is(err, ErrNotANumber) != tt.nan {
				t.Errorf("errors.Is(err, ErrNotANumber) = %v, want %v", !tt.nan, tt.nan)
			}
		})
	}
}

func TestConditionMatch(t *testing.T) {
	tests := []struct {
		cond string
		v    float64
		want bool
	}{
		{"> 80", 80, false}, {"> 80", 80.1, true},
		{">= 80", 80, true}, {">= 80", 79.9, false},
		{"< 5", 5, false}, {"< 5", 4, true},
		{"<= 5", 5, true}, {"<= 5", 6, false},
		{"== 0", 0, true}, {"== 0", 1, false},
		{"!= 0", 0, false}, {"!= 0", -1, true},
	}
	for _, tt := range tests {
		if got := MustCondition(tt.cond).Match(tt.v); got != tt.want {
			t.Errorf("%q.Match(%v) = %v, want %v", tt.cond, tt.v, got, tt.want)
		}
	}
	if (Condition{}).Match(0) {
		t.Error("an unset condition matched")
	}
}
