package spec

import (
	"fmt"
	"slices"
	"strings"
)

// crossCheck finds what is wrong between the documents of one file:
// two services with one id, a servicePort used twice, dependencies in a
// cycle.
func crossCheck(docs []Document, lines []map[string]int) []Problem {
	var problems []Problem
	ids := map[string]int{}
	type owner struct {
		id   string
		line int
	}
	servicePorts := map[string]owner{}
	var services []Service
	for di, d := range docs {
		s := d.Service
		if s == nil {
			continue
		}
		ls := lines[di]
		if s.ID != "" {
			if first, dup := ids[s.ID]; dup {
				problems = append(problems, Problem{Line: lineOf(ls, "id", d.Line), Field: "id", Msg: fmt.Sprintf("%s is already defined on line %d", s.ID, first)})
			} else {
				ids[s.ID] = lineOf(ls, "id", d.Line)
			}
		}
		for i, p := range s.PortMappings {
			if p.ServicePort == 0 {
				continue
			}
			path := fmt.Sprintf("portMappings[%d].servicePort", i)
			line := lineOf(ls, path, d.Line)
			key := fmt.Sprintf("%d/%s", p.ServicePort, p.Protocol)
			if o, dup := servicePorts[key]; dup {
				problems = append(problems, Problem{Line: line, Field: path, Msg: fmt.Sprintf("%d is already used by %s on line %d", p.ServicePort, o.id, o.line)})
				continue
			}
			servicePorts[key] = owner{s.ID, line}
		}
		services = append(services, *s)
	}
	// A service naming itself was reported by its own checks already.
	if cycle := findCycle(services); len(cycle) > 2 {
		// Report the cycle at the first of its services in the file.
		line := 0
		for di, d := range docs {
			if d.Service != nil && d.Service.ID == cycle[0] {
				line = lineOf(lines[di], "dependencies", d.Line)
				break
			}
		}
		problems = append(problems, Problem{Line: line, Field: "dependencies", Msg: (&CycleError{Cycle: cycle}).Error()})
	}
	return problems
}

// CycleError says which services depend on each other in a circle. Cycle
// starts and ends with the same id.
type CycleError struct {
	Cycle []string
}

func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(e.Cycle, " → ")
}

// CheckDependencies returns a *CycleError when the services' dependencies
// form a cycle; the server runs it over the stored services plus the ones
// being applied. Dependencies on services not in the list are not an
// error: they may be applied later, and the scheduler waits for them.
func CheckDependencies(all []Service) error {
	if c := findCycle(all); c != nil {
		return &CycleError{Cycle: c}
	}
	return nil
}

// PortConflictError says that two services claim one servicePort.
type PortConflictError struct {
	Port     int
	Protocol string
	Services [2]string
}

func (e *PortConflictError) Error() string {
	return fmt.Sprintf("servicePort %d/%s is used by both %s and %s", e.Port, e.Protocol, e.Services[0], e.Services[1])
}

// CheckServicePorts returns a *PortConflictError when two of the services
// claim the same servicePort and protocol; the server runs it over the
// stored services plus the ones being applied (with the stored copy of an
// applied service left out).
func CheckServicePorts(all []Service) error {
	owner := map[string]string{}
	for _, s := range all {
		for _, p := range s.PortMappings {
			if p.ServicePort == 0 {
				continue
			}
			key := fmt.Sprintf("%d/%s", p.ServicePort, p.Protocol)
			if o, dup := owner[key]; dup {
				return &PortConflictError{Port: p.ServicePort, Protocol: p.Protocol, Services: [2]string{o, s.ID}}
			}
			owner[key] = s.ID
		}
	}
	return nil
}

// findCycle returns one dependency cycle, found from the smallest id so the
// answer does not depend on the input order, or nil.
func findCycle(all []Service) []string {
	deps := map[string][]string{}
	for _, s := range all {
		deps[s.ID] = append(deps[s.ID], s.Dependencies...)
	}
	ids := make([]string, 0, len(deps))
	for id := range deps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(id string) []string
	visit = func(id string) []string {
		switch state[id] {
		case active:
			i := slices.Index(stack, id)
			return append(slices.Clone(stack[i:]), id)
		case done:
			return nil
		}
		state[id] = active
		stack = append(stack, id)
		next := slices.Clone(deps[id])
		slices.Sort(next)
		for _, d := range next {
			if c := visit(d); c != nil {
				return c
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = done
		return nil
	}
	for _, id := range ids {
		if c := visit(id); c != nil {
			return c
		}
	}
	return nil
}
