package scheduler

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Operator is a Marathon placement constraint operator.
type Operator string

// The operators, with Marathon's meaning.
const (
	// Unique: at most one instance per value of the field.
	Unique Operator = "UNIQUE"
	// Cluster: every instance on nodes with the given value (or, without a
	// value, all on one value of the field).
	Cluster Operator = "CLUSTER"
	// GroupBy: spread instances evenly over the field's values; the optional
	// value is how many values to expect.
	GroupBy Operator = "GROUP_BY"
	// Like: the field matches the regular expression.
	Like Operator = "LIKE"
	// Unlike: the field does not match the regular expression.
	Unlike Operator = "UNLIKE"
	// MaxPer: at most value instances per value of the field.
	MaxPer Operator = "MAX_PER"
	// Is: the field equals the value.
	Is Operator = "IS"
)

// FieldHostname is the constraint field that names the node itself; every
// other field is a node label.
const FieldHostname = "hostname"

// Constraint is one parsed placement constraint.
type Constraint struct {
	Field    string
	Operator Operator
	// Value is the raw value ("" when the operator takes none).
	Value string
	// N is the numeric value of GROUP_BY and MAX_PER (0 when absent).
	N int
	// Re is the compiled, fully anchored pattern of LIKE and UNLIKE.
	Re *regexp.Regexp
}

// String renders the constraint as Marathon writes it.
func (c Constraint) String() string {
	if c.Value == "" {
		return fmt.Sprintf("%s %s", c.Field, c.Operator)
	}
	return fmt.Sprintf("%s %s %s", c.Field, c.Operator, c.Value)
}

// ParseConstraint parses Marathon's ["field", "OPERATOR", "value"] form.
// The error says what is wrong with which part, for the YAML loader to put
// a file and line in front of.
func ParseConstraint(parts []string) (Constraint, error) {
	if len(parts) < 2 || len(parts) > 3 {
		return Constraint{}, fmt.Errorf("constraint %q: want [field, OPERATOR] or [field, OPERATOR, value]", parts)
	}
	c := Constraint{Field: strings.TrimSpace(parts[0]), Operator: Operator(strings.ToUpper(strings.TrimSpace(parts[1])))}
	if len(parts) == 3 {
		c.Value = parts[2]
	}
	if c.Field == "" {
		return Constraint{}, fmt.Errorf("constraint %q: empty field", parts)
	}
	needValue := func() error {
		if c.Value == "" {
			return fmt.Errorf("constraint %q: %s needs a value", parts, c.Operator)
		}
		return nil
	}
	number := func(min int) error {
		n, err := strconv.Atoi(c.Value)
		if err != nil || n < min {
			return fmt.Errorf("constraint %q: %s value %q must be a whole number of at least %d", parts, c.Operator, c.Value, min)
		}
		c.N = n
		return nil
	}
	switch c.Operator {
	case Unique:
		if c.Value != "" {
			return Constraint{}, fmt.Errorf("constraint %q: UNIQUE takes no value", parts)
		}
	case Cluster:
	case GroupBy:
		if c.Value != "" {
			if err := number(1); err != nil {
				return Constraint{}, err
			}
		}
	case MaxPer:
		if err := needValue(); err != nil {
			return Constraint{}, err
		}
		if err := number(1); err != nil {
			return Constraint{}, err
		}
	case Like, Unlike:
		if err := needValue(); err != nil {
			return Constraint{}, err
		}
		re, err := regexp.Compile("^(?:" + c.Value + ")$")
		if err != nil {
			return Constraint{}, fmt.Errorf("constraint %q: bad pattern: %w", parts, err)
		}
		c.Re = re
	case Is:
		if err := needValue(); err != nil {
			return Constraint{}, err
		}
	default:
		return Constraint{}, fmt.Errorf("constraint %q: unknown operator %q (want UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER or IS)", parts, parts[1])
	}
	return c, nil
}
