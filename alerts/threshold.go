package alerts

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Op is a comparison operator of a Condition.
type Op uint8

// The operators a condition accepts. OpNone marks an unset condition, so
// that a zero Condition means "no threshold".
const (
	OpNone Op = iota
	OpGT
	OpGE
	OpLT
	OpLE
	OpEQ
	OpNE
)

var opText = [...]string{OpNone: "", OpGT: ">", OpGE: ">=", OpLT: "<", OpLE: "<=", OpEQ: "==", OpNE: "!="}

// String returns the operator as written in a rule.
func (o Op) String() string {
	if int(o) < len(opText) {
		return opText[o]
	}
	return fmt.Sprintf("Op(%d)", o)
}

// Condition is a threshold such as "> 80". The zero value is unset and
// matches nothing.
type Condition struct {
	Op    Op
	Value float64
}

// ErrNotANumber is wrapped by ParseCondition when the operand is not a
// finite number.
var ErrNotANumber = errors.New("not a number")

// ParseCondition parses ">  80", ">=80", "< 5", "<= 5", "== 0" or "!= 0".
// Errors quote the input so a loader can prefix the file, line and field.
func ParseCondition(s string) (Condition, error) {
	t := strings.TrimSpace(s)
	// Two-character operators first, so ">=" is not read as ">" then "=".
	for _, op := range []Op{OpGE, OpLE, OpEQ, OpNE, OpGT, OpLT} {
		rest, ok := strings.CutPrefix(t, op.String())
		if !ok {
			continue
		}
		num := strings.TrimSpace(rest)
		if num == "" {
			return Condition{}, fmt.Errorf("%q: missing number after %q", s, op.String())
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Condition{}, fmt.Errorf("%q: %w", s, ErrNotANumber)
		}
		return Condition{Op: op, Value: v}, nil
	}
	if t == "" {
		return Condition{}, fmt.Errorf("%q: empty condition (want for example \"> 80\")", s)
	}
	return Condition{}, fmt.Errorf("%q: unknown operator (want >, >=, <, <=, == or !=)", s)
}

// MustCondition is ParseCondition for constants in Go code; it panics on a
// malformed condition.
func MustCondition(s string) Condition {
	c, err := ParseCondition(s)
	if err != nil {
		panic(err)
	}
	return c
}

// IsSet reports whether the condition has an operator.
func (c Condition) IsSet() bool { return c.Op != OpNone }

// Match reports whether v satisfies the condition. An unset condition
// matches nothing.
func (c Condition) Match(v float64) bool {
	switch c.Op {
	case OpGT:
		return v > c.Value
	case OpGE:
		return v >= c.Value
	case OpLT:
		return v < c.Value
	case OpLE:
		return v <= c.Value
	case OpEQ:
		return v == c.Value
	case OpNE:
		return v != c.Value
	}
	return false
}

// String returns the condition as a rule would write it, "> 80".
func (c Condition) String() string {
	if !c.IsSet() {
		return ""
	}
	return c.Op.String() + " " + strconv.FormatFloat(c.Value, 'g', -1, 64)
}

// MarshalText writes the condition as its rule text.
func (c Condition) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses the rule text; an empty text is an unset condition.
func (c *Condition) UnmarshalText(b []byte) error {
	if strings.TrimSpace(string(b)) == "" {
		*c = Condition{}
		return nil
	}
	v, err := ParseCondition(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
