package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/scheduler"
)

// validator collects the problems of one document, placing each at the
// line its field was written on.
type validator struct {
	lines    map[string]int
	docLine  int
	problems []Problem
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Line: lineOf(v.lines, path, v.docLine), Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) given(path string) bool { _, ok := v.lines[path]; return ok }

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (v *validator) atLeast(path string, n, min int) {
	if n < min {
		v.add(path, "%d is not allowed (want %d or more)", n, min)
	}
}

func (v *validator) port(path string, p, min int) {
	if p < min || p > 65535 {
		v.add(path, "%d is not a port (want %d to 65535)", p, min)
	}
}

func (v *validator) fraction(path string, f float64) {
	if f < 0 || f > 1 {
		v.add(path, "%s is not between 0 and 1", num(f))
	}
}

func (v *validator) oneOf(path, got string, want ...string) {
	if !contains(want, got) {
		v.add(path, "%q is not %s", got, orList(want))
	}
}

func (v *validator) durationIn(path string, d Duration, min, max time.Duration) {
	switch {
	case d.D() < 0:
		v.add(path, "%s is negative", d)
	case d.D() < min:
		v.add(path, "%s is too short (want at least %s)", d, Duration(min))
	case d.D() > max:
		v.add(path, "%s is too long (want at most %s)", d, Duration(max))
	}
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// validateService checks the values of a decoded service and makes its ids
// absolute.
func validateService(s *Service, lines map[string]int, docLine int) []Problem {
	v := &validator{lines: lines, docLine: docLine}
	if s.ID == "" {
		v.add("id", "required (a path like /shop/web)")
	} else if id, err := CanonicalID(s.ID, "/"); err != nil {
		v.add("id", "%v", err)
	} else {
		s.ID = id
	}
	switch {
	case s.Image == "":
		v.add("image", "required (the container image, like registry.local/web:1.4.2)")
	case strings.ContainsAny(s.Image, " \t\n"):
		v.add("image", "%q contains white space", s.Image)
	}
	if len(s.Cmd) > 0 && len(s.Args) > 0 {
		v.add("args", "cmd and args cannot both be given (cmd replaces the image's entrypoint; args are given to it)")
	}
	for _, k := range sortedMapKeys(s.Env) {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			v.add(strings.TrimSuffix("env."+k, "."), "%q is not a valid environment variable name", k)
		}
	}
	v.atLeast("instances", s.Instances, 0)
	if s.Cpus < 0.001 {
		v.add("cpus", "%s is too small (want at least 0.001)", num(s.Cpus))
	}
	if s.Mem < 6 {
		v.add("mem", "%s MiB is too small (Docker needs at least 6)", num(s.Mem))
	}
	v.portMappings(s)
	for i, c := range s.Constraints {
		if _, err := scheduler.ParseConstraint(c); err != nil {
			v.add(fmt.Sprintf("constraints[%d]", i), "%v", err)
		}
	}
	for i := range s.HealthChecks {
		v.healthCheck(fmt.Sprintf("healthChecks[%d]", i), &s.HealthChecks[i], len(s.PortMappings))
	}
	v.fraction("upgradeStrategy.minimumHealthCapacity", s.UpgradeStrategy.MinimumHealthCapacity)
	v.fraction("upgradeStrategy.maximumOverCapacity", s.UpgradeStrategy.MaximumOverCapacity)
	v.dependencies(s)
	if _, empty := s.Labels[""]; empty {
		v.add("labels", "a label needs a name")
	}
	v.oneOf("killSelection", s.KillSelection, KillYoungestFirst, KillOldestFirst)
	v.atLeast("backoffSeconds", s.BackoffSeconds, 0)
	if s.BackoffFactor < 1 {
		v.add("backoffFactor", "%s is too small (want 1 or more)", num(s.BackoffFactor))
	}
	v.atLeast("maxLaunchDelaySeconds", s.MaxLaunchDelaySeconds, 0)
	if g := s.TaskKillGracePeriodSeconds; g != nil && (*g < 0 || *g > 3600) {
		v.add("taskKillGracePeriodSeconds", "%d is not allowed (want 0 to 3600 seconds)", *g)
	}
	v.oneOf("strategy", s.Strategy, StrategySpread, StrategyBinpack)
	if s.Protocol != "" {
		v.oneOf("protocol", s.Protocol, ProtocolModeHTTP, ProtocolModeH2C, ProtocolModeTCP)
	}
	v.atLeast("containerConcurrency", s.ContainerConcurrency, 0)
	if s.Autoscale != nil {
		v.autoscale(s.Autoscale)
	}
	return v.problems
}

var portName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func (v *validator) portMappings(s *Service) {
	names := map[string]bool{}
	hostPorts := map[string]bool{}
	for i, p := range s.PortMappings {
		path := fmt.Sprintf("portMappings[%d]", i)
		v.port(path+".containerPort", p.ContainerPort, 1)
		v.port(path+".hostPort", p.HostPort, 0)
		v.port(path+".servicePort", p.ServicePort, 0)
		v.oneOf(path+".protocol", p.Protocol, "tcp", "udp")
		if p.Name != "" {
			if !portName.MatchString(p.Name) {
				v.add(path+".name", "%q is not a valid port name (lower-case letters, digits and -)", p.Name)
			}
			if names[p.Name] {
				v.add(path+".name", "%q is used by another port mapping", p.Name)
			}
			names[p.Name] = true
		}
		if p.HostPort != 0 {
			key := fmt.Sprintf("%d/%s", p.HostPort, p.Protocol)
			if hostPorts[key] {
				v.add(path+".hostPort", "%d is used by another port mapping", p.HostPort)
			}
			hostPorts[key] = true
		}
	}
}

func (v *validator) healthCheck(path string, h *HealthCheck, ports int) {
	v.oneOf(path+".protocol", h.Protocol, ProtocolHTTP, ProtocolHTTPS, ProtocolTCP, ProtocolCommand)
	web := h.Protocol == ProtocolHTTP || h.Protocol == ProtocolHTTPS
	if web && h.Path == "" {
		h.Path = "/"
	}
	if h.Path != "" && !web {
		v.add(path+".path", "is only for HTTP and HTTPS checks")
	} else if web && !strings.HasPrefix(h.Path, "/") {
		v.add(path+".path", "%q must start with /", h.Path)
	}
	if h.IgnoreHTTP1xx && !web {
		v.add(path+".ignoreHttp1xx", "is only for HTTP and HTTPS checks")
	}
	if h.Protocol == ProtocolCommand {
		if h.Command == nil || strings.TrimSpace(h.Command.Value) == "" {
			v.add(path+".command", "a COMMAND check needs command: {value: \"…\"}")
		}
		if h.Port != 0 || h.PortIndex != 0 {
			v.add(path, "port and portIndex are not for COMMAND checks")
		}
	} else {
		if h.Command != nil {
			v.add(path+".command", "is only for COMMAND checks")
		}
		switch {
		case h.Port != 0:
			v.port(path+".port", h.Port, 1)
			if h.PortIndex != 0 {
				v.add(path+".portIndex", "give port or portIndex, not both")
			}
		case h.PortIndex < 0:
			v.add(path+".portIndex", "%d is not allowed (want 0 or more)", h.PortIndex)
		case ports == 0:
			v.add(path, "%s %s check needs a port: add portMappings or set port", article(h.Protocol), h.Protocol)
		case h.PortIndex >= ports:
			v.add(path+".portIndex", "%d is out of range: the service has %d port mapping(s)", h.PortIndex, ports)
		}
	}
	v.atLeast(path+".gracePeriodSeconds", h.GracePeriodSeconds, 0)
	v.atLeast(path+".intervalSeconds", h.IntervalSeconds, 1)
	v.atLeast(path+".timeoutSeconds", h.TimeoutSeconds, 1)
	if h.TimeoutSeconds > h.IntervalSeconds && h.IntervalSeconds >= 1 {
		v.add(path+".timeoutSeconds", "%d is longer than intervalSeconds (%d)", h.TimeoutSeconds, h.IntervalSeconds)
	}
	v.atLeast(path+".maxConsecutiveFailures", h.MaxConsecutiveFailures, 0)
}

func (v *validator) dependencies(s *Service) {
	base := parentID(s.ID)
	seen := map[string]bool{}
	for i, d := range s.Dependencies {
		path := fmt.Sprintf("dependencies[%d]", i)
		id, err := CanonicalID(d, base)
		if err != nil {
			v.add(path, "%v", err)
			continue
		}
		switch {
		case id == s.ID:
			v.add(path, "a service cannot depend on itself")
		case seen[id]:
			v.add(path, "%s is listed twice", id)
		}
		seen[id] = true
		s.Dependencies[i] = id
	}
}

func (v *validator) autoscale(a *Autoscale) {
	p := "autoscale."
	v.oneOf(p+"metric", a.Metric, MetricConcurrency, MetricRPS, MetricCPU, MetricConnections)
	if a.Target <= 0 {
		if v.given(p + "target") {
			v.add(p+"target", "%s is not allowed (want more than 0)", num(a.Target))
		} else {
			v.add(p+"target", "required: the wanted %s per instance", a.Metric)
		}
	}
	seen := map[string]bool{a.Metric: true}
	for i, m := range a.Metrics {
		mp := fmt.Sprintf("%smetrics[%d]", p, i)
		v.oneOf(mp+".metric", m.Metric, MetricConcurrency, MetricRPS, MetricCPU, MetricConnections)
		if seen[m.Metric] {
			v.add(mp+".metric", "%s is given twice (each metric once, with its target)", m.Metric)
		}
		seen[m.Metric] = true
		if m.Target <= 0 {
			v.add(mp+".target", "%s is not allowed (want more than 0: the wanted %s per instance)", num(m.Target), m.Metric)
		}
	}
	if a.TargetUtilization <= 0 || a.TargetUtilization > 1 {
		v.add(p+"targetUtilization", "%s is not between 0 (excluded) and 1", num(a.TargetUtilization))
	}
	v.atLeast(p+"min", a.Min, 0)
	if a.Min == 0 && !a.ScaleToZero.Enabled {
		v.add(p+"min", "0 needs scaleToZero: {enabled: true}")
	}
	switch {
	case !v.given(p + "max"):
		v.add(p+"max", "required: the most instances the autoscaler may run")
	case a.Max < 1:
		v.add(p+"max", "%d is not allowed (want 1 or more)", a.Max)
	case a.Max < a.Min:
		v.add(p+"max", "%d is less than min (%d)", a.Max, a.Min)
	}
	v.durationIn(p+"stableWindow", a.StableWindow, 6*time.Second, time.Hour)
	v.durationIn(p+"panicWindow", a.PanicWindow, time.Second, time.Hour)
	if a.PanicWindow > a.StableWindow {
		v.add(p+"panicWindow", "%s is longer than stableWindow (%s)", a.PanicWindow, a.StableWindow)
	}
	if a.PanicThreshold <= 1 {
		v.add(p+"panicThreshold", "%s is not allowed (want more than 1: panic when load reaches this many times the target)", num(a.PanicThreshold))
	}
	v.scaleRule(p+"scaleUp", a.ScaleUp)
	v.scaleRule(p+"scaleDown", a.ScaleDown)
	v.durationIn(p+"scaleDownDelay", a.ScaleDownDelay, 0, time.Hour)
	if a.Tolerance < 0 || a.Tolerance >= 1 {
		v.add(p+"tolerance", "%s is not between 0 and 1 (excluded)", num(a.Tolerance))
	}
	v.durationIn(p+"scaleToZero.grace", a.ScaleToZero.Grace, 0, time.Hour)
	for i, sc := range a.Schedule {
		sp := fmt.Sprintf("%sschedule[%d]", p, i)
		if err := checkCron(sc.Cron); err != nil {
			v.add(sp+".cron", "%v", err)
		}
		v.atLeast(sp+".min", sc.Min, 0)
		if a.Max >= 1 && sc.Min > a.Max {
			v.add(sp+".min", "%d is more than max (%d)", sc.Min, a.Max)
		}
		if sc.For <= 0 {
			v.add(sp+".for", "required: how long the floor holds, like 10h")
		} else {
			v.durationIn(sp+".for", sc.For, time.Minute, 7*24*time.Hour)
		}
	}
	if f := a.Fallback; f != nil {
		v.durationIn(p+"fallback.after", f.After, time.Second, time.Hour)
		if f.Instances != nil {
			v.atLeast(p+"fallback.instances", *f.Instances, 0)
			if a.Max >= 1 && *f.Instances > a.Max {
				v.add(p+"fallback.instances", "%d is more than max (%d)", *f.Instances, a.Max)
			}
		}
	}
	v.autoscaleStrict(a)
}

func (v *validator) scaleRule(path string, r ScaleRule) {
	if r.MaxRate <= 1 {
		v.add(path+".maxRate", "%s is not allowed (want more than 1: the largest factor of change per decision)", num(r.MaxRate))
	}
	v.durationIn(path+".stabilization", r.Stabilization, 0, time.Hour)
	if t := r.Tolerance; t != nil && (*t < 0 || *t >= 1) {
		v.add(path+".tolerance", "%s is not between 0 and 1 (excluded)", num(*t))
	}
	for i, pol := range r.Policies {
		pp := fmt.Sprintf("%s.policies[%d]", path, i)
		v.oneOf(pp+".type", pol.Type, "Pods", "Percent")
		v.atLeast(pp+".value", pol.Value, 1)
		v.durationIn(pp+".period", pol.Period, time.Second, 30*time.Minute)
	}
}

// segment is Marathon's rule for one part of an id.
var segment = regexp.MustCompile(`^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$`)

// CanonicalID resolves a Marathon id against base (a group id such as
// "/shop") the way Marathon does: "web" and "./web" are base/web, "../db"
// is a sibling of base, "/x" is absolute. Each part must be lower-case
// letters, digits, '-' and '.', starting and ending with a letter or digit.
func CanonicalID(id, base string) (string, error) {
	if id == "" || id == "/" {
		return "", fmt.Errorf("%q is not a service id (want a path like /shop/web)", id)
	}
	full := id
	if !strings.HasPrefix(id, "/") {
		full = strings.TrimSuffix(base, "/") + "/" + id
	}
	var parts []string
	for _, p := range strings.Split(strings.TrimSuffix(full, "/"), "/")[1:] {
		switch p {
		case ".":
		case "..":
			if len(parts) == 0 {
				return "", fmt.Errorf("%q goes above the root", id)
			}
			parts = parts[:len(parts)-1]
		default:
			if !segment.MatchString(p) {
				return "", fmt.Errorf("%q is not a valid id: part %q must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit", id, p)
			}
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("%q is not a service id (want a path like /shop/web)", id)
	}
	return "/" + strings.Join(parts, "/"), nil
}

// parentID is the group an id lives in ("/shop/web" → "/shop").
func parentID(id string) string {
	i := strings.LastIndex(id, "/")
	if i <= 0 {
		return "/"
	}
	return id[:i]
}

// cron field ranges: minute, hour, day of month, month, day of week.
var cronFields = []struct {
	name     string
	min, max int
	names    []string
}{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{"day of week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// checkCron accepts the five-field cron syntax (with names for months and
// days, lists, ranges and steps) and the @daily-style shortcuts.
func checkCron(expr string) error {
	switch expr {
	case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
		return nil
	}
	f := strings.Fields(expr)
	if len(f) != 5 {
		return fmt.Errorf("%q: want 5 fields (minute hour day-of-month month day-of-week), got %d", expr, len(f))
	}
	for i, field := range f {
		cf := cronFields[i]
		value := func(s string) (int, error) {
			for j, n := range cf.names {
				if strings.EqualFold(s, n) {
					return j + cf.min, nil
				}
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < cf.min || n > cf.max {
				return 0, fmt.Errorf("%q: %s %q is not between %d and %d", expr, cf.name, s, cf.min, cf.max)
			}
			return n, nil
		}
		for _, item := range strings.Split(field, ",") {
			rng, step, hasStep := strings.Cut(item, "/")
			if hasStep {
				if n, err := strconv.Atoi(step); err != nil || n < 1 {
					return fmt.Errorf("%q: %s step %q is not a positive number", expr, cf.name, step)
				}
			}
			if rng == "*" {
				continue
			}
			lo, hi, isRange := strings.Cut(rng, "-")
			a, err := value(lo)
			if err != nil {
				return err
			}
			if isRange {
				b, err := value(hi)
				if err != nil {
					return err
				}
				if b < a {
					return fmt.Errorf("%q: %s range %s goes backwards", expr, cf.name, rng)
				}
			}
		}
	}
	return nil
}

func sortedMapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func article(word string) string {
	if word != "" && strings.ContainsRune("AEFHILMNORSX", rune(word[0])) {
		return "an" // letters whose names start with a vowel sound: an HTTP, an SSH
	}
	return "a"
}
