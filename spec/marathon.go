package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ImportMarathon converts Marathon JSON into swell YAML: one app, a group
// with nested apps and groups (ids resolved against the group ids as
// Marathon does), a {"apps": [...]} list as GET /v2/apps returns it, or a
// JSON array of apps. The YAML is what Load reads. warnings lists what
// could not be carried over (fields swell has no equivalent for, values it
// had to change), one line each; when the result needs hand editing
// before it loads, the last warning says why.
func ImportMarathon(data []byte) (yamlOut []byte, warnings []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, nil, fmt.Errorf("marathon import: not JSON: %w", err)
	}
	im := &importer{}
	switch v := root.(type) {
	case []any:
		for i, a := range v {
			obj, ok := a.(map[string]any)
			if !ok {
				return nil, nil, fmt.Errorf("marathon import: item %d of the array is not an app object", i)
			}
			im.app(obj, "/", nil)
		}
	case map[string]any:
		if _, ok := v["apps"]; ok {
			im.group(v, "/", nil)
		} else if _, ok := v["groups"]; ok {
			im.group(v, "/", nil)
		} else {
			im.app(v, "/", nil)
		}
	default:
		return nil, nil, errors.New("marathon import: want an app or group object, or an array of apps")
	}
	if len(im.services) == 0 {
		return nil, im.warnings, errors.New("marathon import: no apps found")
	}
	var buf bytes.Buffer
	if err := EncodeServices(&buf, im.services); err != nil {
		return nil, im.warnings, fmt.Errorf("marathon import: %w", err)
	}
	if _, err := Load("output", buf.Bytes()); err != nil {
		im.warnings = append(im.warnings, "the YAML needs editing before swell apply:\n"+err.Error())
	}
	return buf.Bytes(), im.warnings, nil
}

type importer struct {
	services []Service
	warnings []string
}

func (im *importer) warn(where, format string, args ...any) {
	im.warnings = append(im.warnings, where+": "+fmt.Sprintf(format, args...))
}

// drop warns about a field swell has no equivalent for, unless its value
// is empty and so changes nothing.
func (im *importer) drop(where, field string, v any) {
	if !meaningful(v) {
		return
	}
	im.warn(where, "dropped field %q (swell has no equivalent)", field)
}

func meaningful(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case json.Number:
		return x.String() != "0" && x.String() != "0.0"
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// statusFields are what Marathon's API adds to an app; they describe a
// running app, not its definition, and are left out without a word.
var statusFields = map[string]bool{
	"version": true, "versionInfo": true, "tasksStaged": true, "tasksRunning": true,
	"tasksHealthy": true, "tasksUnhealthy": true, "deployments": true, "tasks": true,
	"lastTaskFailure": true, "taskStats": true, "readinessCheckResults": true,
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (im *importer) group(g map[string]any, base string, deps []string) {
	id := base
	where := "group " + base
	if raw, ok := g["id"].(string); ok && raw != "" && raw != "/" {
		c, err := CanonicalID(raw, base)
		if err != nil {
			im.warn(where, "id %v; its apps are skipped", err)
			return
		}
		id, where = c, "group "+c
	}
	if raw, ok := g["dependencies"].([]any); ok {
		// A group's dependencies hold for every app in it.
		deps = append(append([]string(nil), deps...), im.ids(where, raw, parentID(id))...)
	}
	for _, k := range sortedKeys(g) {
		switch k {
		case "id", "apps", "groups", "dependencies":
		default:
			if !statusFields[k] {
				im.drop(where, k, g[k])
			}
		}
	}
	if apps, ok := g["apps"].([]any); ok {
		for _, a := range apps {
			if obj, ok := a.(map[string]any); ok {
				im.app(obj, id, deps)
			}
		}
	}
	if groups, ok := g["groups"].([]any); ok {
		for _, sub := range groups {
			if obj, ok := sub.(map[string]any); ok {
				im.group(obj, id, deps)
			}
		}
	}
}

// ids resolves Marathon ids relative to base.
func (im *importer) ids(where string, raw []any, base string) []string {
	var out []string
	for _, r := range raw {
		s, ok := r.(string)
		if !ok {
			im.warn(where, "dependency %v is not a string; left out", r)
			continue
		}
		c, err := CanonicalID(s, base)
		if err != nil {
			im.warn(where, "dependency %v; left out", err)
			continue
		}
		out = append(out, c)
	}
	return out
}

func (im *importer) app(a map[string]any, base string, groupDeps []string) {
	rawID, _ := a["id"].(string)
	id, err := CanonicalID(rawID, base)
	if err != nil {
		im.warn("app "+rawID, "id %v; app skipped", err)
		return
	}
	where := id
	s := NewService(id, "")
	var portDefs []any
	portField := ""
	requirePorts := false
	for _, k := range sortedKeys(a) {
		v := a[k]
		switch k {
		case "id":
		case "cmd":
			if c, ok := v.(string); ok && c != "" {
				s.Cmd = []string{"/bin/sh", "-c", c}
				im.warn(where, "cmd runs through /bin/sh -c, as in Marathon: the image must contain /bin/sh")
			}
		case "args":
			s.Args = im.stringList(where, k, v)
		case "container":
			im.container(where, &s, v)
		case "cpus":
			s.Cpus = im.float(where, k, v, s.Cpus)
		case "mem":
			s.Mem = im.float(where, k, v, s.Mem)
		case "instances":
			s.Instances = im.int(where, k, v, s.Instances)
		case "env":
			s.Env = im.env(where, v)
		case "labels":
			s.Labels = im.stringMap(where, k, v)
		case "constraints":
			s.Constraints = im.constraints(where, v)
		case "healthChecks":
			list, _ := v.([]any)
			for i, h := range list {
				if hc, ok := h.(map[string]any); ok {
					s.HealthChecks = append(s.HealthChecks, im.healthCheck(fmt.Sprintf("%s: healthChecks[%d]", where, i), hc))
				}
			}
		case "upgradeStrategy":
			if u, ok := v.(map[string]any); ok {
				for _, uk := range sortedKeys(u) {
					switch uk {
					case "minimumHealthCapacity":
						s.UpgradeStrategy.MinimumHealthCapacity = im.float(where, "upgradeStrategy."+uk, u[uk], 1)
					case "maximumOverCapacity":
						s.UpgradeStrategy.MaximumOverCapacity = im.float(where, "upgradeStrategy."+uk, u[uk], 1)
					default:
						im.drop(where, "upgradeStrategy."+uk, u[uk])
					}
				}
			}
		case "dependencies":
			raw, _ := v.([]any)
			s.Dependencies = im.ids(where, raw, parentID(id))
		case "killSelection":
			if ks, ok := v.(string); ok {
				s.KillSelection = ks
			}
		case "backoffSeconds":
			s.BackoffSeconds = im.int(where, k, v, s.BackoffSeconds)
		case "backoffFactor":
			s.BackoffFactor = im.float(where, k, v, s.BackoffFactor)
		case "maxLaunchDelaySeconds":
			s.MaxLaunchDelaySeconds = im.int(where, k, v, s.MaxLaunchDelaySeconds)
		case "taskKillGracePeriodSeconds":
			s.TaskKillGracePeriodSeconds = im.killGrace(where, v)
		case "portDefinitions", "ports":
			if list, ok := v.([]any); ok && len(list) > 0 {
				portDefs, portField = list, k
			}
		case "requirePorts":
			requirePorts, _ = v.(bool)
		case "networks":
			if list, ok := v.([]any); ok {
				for _, n := range list {
					if m, ok := n.(map[string]any); ok && m["mode"] == "host" {
						im.warn(where, "host networking becomes Docker's bridge network with published ports")
					}
				}
			}
		default:
			if !statusFields[k] {
				im.drop(where, k, v)
			}
		}
	}
	for _, d := range groupDeps {
		if !contains(s.Dependencies, d) && d != id {
			s.Dependencies = append(s.Dependencies, d)
		}
	}
	if len(s.PortMappings) == 0 && portDefs != nil {
		im.portDefinitions(where, portField, &s, portDefs, requirePorts)
	}
	for i, p := range s.PortMappings {
		if p.ServicePort == 0 {
			im.warn(where, "portMappings[%d] has no servicePort: Marathon picks one at random, swell routes only the servicePorts you set", i)
		}
	}
	if s.Image == "" {
		im.warn(where, "no container.docker.image: set image by hand")
	}
	im.services = append(im.services, s)
}

func (im *importer) container(where string, s *Service, v any) {
	c, ok := v.(map[string]any)
	if !ok {
		return
	}
	var dockerMappings []any
	for _, k := range sortedKeys(c) {
		switch k {
		case "type":
		case "docker":
			d, _ := c[k].(map[string]any)
			for _, dk := range sortedKeys(d) {
				switch dk {
				case "image":
					s.Image, _ = d[dk].(string)
				case "portMappings":
					dockerMappings, _ = d[dk].([]any)
				case "network":
					if d[dk] == "HOST" {
						im.warn(where, "host networking becomes Docker's bridge network with published ports")
					}
				default:
					im.drop(where, "container.docker."+dk, d[dk])
				}
			}
		case "portMappings":
			if list, ok := c[k].([]any); ok {
				im.portMappings(where, "container.portMappings", s, list)
			}
		default:
			im.drop(where, "container."+k, c[k])
		}
	}
	if len(s.PortMappings) == 0 && len(dockerMappings) > 0 {
		im.portMappings(where, "container.docker.portMappings", s, dockerMappings)
	}
}

func (im *importer) portMappings(where, field string, s *Service, list []any) {
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		path := fmt.Sprintf("%s[%d]", field, i)
		pm := PortMapping{Protocol: "tcp"}
		for _, k := range sortedKeys(m) {
			switch k {
			case "containerPort":
				pm.ContainerPort = im.int(where, path+"."+k, m[k], 0)
			case "hostPort":
				pm.HostPort = im.int(where, path+"."+k, m[k], 0)
			case "servicePort":
				pm.ServicePort = im.int(where, path+"."+k, m[k], 0)
			case "protocol":
				pm.Protocol = im.protocol(where, path, m[k])
			case "name":
				pm.Name, _ = m[k].(string)
			default:
				im.drop(where, path+"."+k, m[k])
			}
		}
		if pm.ContainerPort == 0 {
			im.warn(where, "%s: containerPort 0 (the host port) has no swell equivalent: set the port the container listens on", path)
		}
		s.PortMappings = append(s.PortMappings, pm)
	}
}

// portDefinitions maps Marathon's host-network ports. There the app
// listened on $PORT0…; in swell it gets a fixed container port, and the
// PORTn variables are set to it so the app runs unchanged.
func (im *importer) portDefinitions(where, field string, s *Service, list []any, requirePorts bool) {
	for i, item := range list {
		path := fmt.Sprintf("%s[%d]", field, i)
		var port int
		pm := PortMapping{Protocol: "tcp"}
		switch m := item.(type) {
		case json.Number: // the old "ports": [8080]
			port = im.int(where, path, m, 0)
		case map[string]any:
			for _, k := range sortedKeys(m) {
				switch k {
				case "port":
					port = im.int(where, path+".port", m[k], 0)
				case "protocol":
					pm.Protocol = im.protocol(where, path, m[k])
				case "name":
					pm.Name, _ = m[k].(string)
				default:
					im.drop(where, path+"."+k, m[k])
				}
			}
		default:
			continue
		}
		if port == 0 {
			im.warn(where, "%s: port 0 (chosen by Marathon at launch) has no swell equivalent; left out: add a portMapping with the port the app listens on", path)
			continue
		}
		pm.ContainerPort, pm.ServicePort = port, port
		if requirePorts {
			pm.HostPort = port
		}
		s.PortMappings = append(s.PortMappings, pm)
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		names := []string{fmt.Sprintf("PORT%d", i)}
		if i == 0 {
			names = append(names, "PORT")
		}
		for _, name := range names {
			if _, set := s.Env[name]; !set {
				s.Env[name] = fmt.Sprint(port)
			}
		}
	}
	if len(s.PortMappings) > 0 {
		im.warn(where, "host-network ports became portMappings with containerPort = servicePort and PORTn set to it")
	}
}

func (im *importer) protocol(where, path string, v any) string {
	p, _ := v.(string)
	switch p {
	case "tcp", "udp":
		return p
	case "":
		return "tcp"
	}
	im.warn(where, "%s: protocol %q became tcp (swell maps one protocol per port)", path, p)
	return "tcp"
}

func (im *importer) healthCheck(where string, h map[string]any) HealthCheck {
	hc := NewHealthCheck()
	for _, k := range sortedKeys(h) {
		v := h[k]
		switch k {
		case "protocol":
			p, _ := v.(string)
			switch p {
			case "MESOS_HTTP":
				p = ProtocolHTTP
			case "MESOS_HTTPS":
				p = ProtocolHTTPS
			case "MESOS_TCP":
				p = ProtocolTCP
			}
			hc.Protocol = p
		case "path":
			hc.Path, _ = v.(string)
		case "portIndex":
			hc.PortIndex = im.int(where, k, v, 0)
		case "port":
			hc.Port = im.int(where, k, v, 0)
		case "command":
			if m, ok := v.(map[string]any); ok {
				val, _ := m["value"].(string)
				hc.Command = &CommandCheck{Value: val}
			}
		case "gracePeriodSeconds":
			hc.GracePeriodSeconds = im.int(where, k, v, hc.GracePeriodSeconds)
		case "intervalSeconds":
			hc.IntervalSeconds = im.int(where, k, v, hc.IntervalSeconds)
		case "timeoutSeconds":
			hc.TimeoutSeconds = im.int(where, k, v, hc.TimeoutSeconds)
		case "maxConsecutiveFailures":
			hc.MaxConsecutiveFailures = im.int(where, k, v, hc.MaxConsecutiveFailures)
		case "ignoreHttp1xx":
			hc.IgnoreHTTP1xx, _ = v.(bool)
		case "delaySeconds":
			// MESOS_* checks wait delaySeconds before the first probe;
			// swell's grace period covers that.
		case "ipProtocol":
			if v != "IPv4" {
				im.drop(where, k, v)
			}
		default:
			im.drop(where, k, v)
		}
	}
	return hc
}

func (im *importer) constraints(where string, v any) [][]string {
	list, _ := v.([]any)
	var out [][]string
	for i, c := range list {
		switch x := c.(type) {
		case string: // the old "field:OPERATOR:value" form
			out = append(out, strings.SplitN(x, ":", 3))
		case []any:
			var parts []string
			for _, p := range x {
				parts = append(parts, fmt.Sprint(p))
			}
			out = append(out, parts)
		default:
			im.warn(where, "constraints[%d] is neither a list nor a string; left out", i)
		}
	}
	return out
}

func (im *importer) env(where string, v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for _, k := range sortedKeys(m) {
		switch x := m[k].(type) {
		case string:
			out[k] = x
		case json.Number, bool:
			out[k] = fmt.Sprint(x)
		default:
			// Marathon's {"secret": "name"} references.
			im.warn(where, "dropped env %q: secrets have no swell equivalent yet; set it by hand", k)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (im *importer) stringMap(where, field string, v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for _, k := range sortedKeys(m) {
		if s, ok := m[k].(string); ok {
			out[k] = s
		} else {
			im.warn(where, "%s.%s is not a string; left out", field, k)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (im *importer) stringList(where, field string, v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// killGrace converts taskKillGracePeriodSeconds. Null, or a value that is
// not a number, leaves the agent's default; a value outside what swell
// accepts is brought within it, so the output applies.
func (im *importer) killGrace(where string, v any) *int {
	if v == nil {
		return nil
	}
	if _, ok := v.(json.Number); !ok {
		im.warn(where, "taskKillGracePeriodSeconds is not a number; the agent's default is used")
		return nil
	}
	g := im.int(where, "taskKillGracePeriodSeconds", v, 0)
	if c := min(max(g, 0), 3600); c != g {
		im.warn(where, "taskKillGracePeriodSeconds %d is outside 0 to 3600; %d is used", g, c)
		g = c
	}
	return &g
}

func (im *importer) float(where, field string, v any, def float64) float64 {
	n, ok := v.(json.Number)
	if !ok {
		im.warn(where, "%s is not a number; the default %s is used", field, num(def))
		return def
	}
	f, err := n.Float64()
	if err != nil {
		im.warn(where, "%s: %v; the default %s is used", field, err, num(def))
		return def
	}
	return f
}

func (im *importer) int(where, field string, v any, def int) int {
	n, ok := v.(json.Number)
	if !ok {
		im.warn(where, "%s is not a number; the default %d is used", field, def)
		return def
	}
	i, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil {
			im.warn(where, "%s: %v; the default %d is used", field, err, def)
			return def
		}
		i = int64(f)
		im.warn(where, "%s: %s rounded down to %d", field, n, i)
	}
	return int(i)
}
