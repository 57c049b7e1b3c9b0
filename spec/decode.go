package spec

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node into a Go value by reflection, so every
// problem it finds, and every field it sets, is tied to a line. It never
// stops at the first problem: a person fixing a file wants all of them.
type decoder struct {
	problems []Problem
	// lines maps a field path ("healthChecks[0].path") to the line it was
	// written on, for the checks that run after decoding.
	lines map[string]int
	bad   map[string]bool
}

type defaulter interface{ defaults() }

// nodeDecoder is a type that reads its own node (matchers written as a
// mapping or a list), still reporting through the decoder.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

var durationType = reflect.TypeFor[Duration]()

// fail records a value that could not be decoded; the field keeps its
// default, and bad keeps later checks from complaining about that default.
func (d *decoder) fail(line int, field, format string, args ...any) {
	d.problems = append(d.problems, Problem{Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	d.bad[field] = true
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// decode fills v from n. anyScalar lets string fields take numbers and
// booleans as their text (env values, constraint values), where YAML's
// typing would otherwise trip people who write `PORT: 8080`.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, anyScalar bool) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.lines[path] = n.Line
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // not given: the default stays
	}
	if v.Type() == durationType {
		d.duration(n, v, path)
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, path)
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			if df, ok := v.Interface().(defaulter); ok {
				df.defaults()
			}
		}
		d.decode(n, v.Elem(), path, anyScalar)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n.Line, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			e := s.Index(i)
			if df, ok := e.Addr().Interface().(defaulter); ok {
				df.defaults()
			}
			d.decode(item, e, fmt.Sprintf("%s[%d]", path, i), anyScalar)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n.Line, path, "want a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		explicit := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				// Merged keys are defaults: keys written here win.
				for _, mm := range merged(val) {
					base := reflect.New(v.Type()).Elem()
					d.decode(mm, base, path, anyScalar)
					for _, key := range base.MapKeys() {
						if !explicit[key.String()] {
							m.SetMapIndex(key, base.MapIndex(key))
						}
					}
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				d.fail(k.Line, path, "keys must be plain strings")
				continue
			}
			if explicit[k.Value] {
				d.fail(k.Line, join(path, k.Value), "given twice")
				continue
			}
			explicit[k.Value] = true
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, e, join(path, k.Value), anyScalar)
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || (!anyScalar && n.Tag != "!!str") {
			d.fail(n.Line, path, "want a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		i, ok := d.integer(n, path)
		if ok {
			v.SetInt(i)
		}
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			d.fail(n.Line, path, "want a number, got %s", describe(n))
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n.Line, path, "want a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.fail(n.Line, path, "want true or false, got %s", describe(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.fail(n.Line, path, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		panic(fmt.Sprintf("spec: decoder has no case for %s", v.Type()))
	}
}

func (d *decoder) integer(n *yaml.Node, path string) (int64, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!float" {
		d.fail(n.Line, path, "want a whole number, got %s", n.Value)
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.fail(n.Line, path, "want a whole number, got %s", describe(n))
		return 0, false
	}
	var i int64
	if err := n.Decode(&i); err != nil || i < math.MinInt32 || i > math.MaxInt32 {
		d.fail(n.Line, path, "%s is out of range", n.Value)
		return 0, false
	}
	return i, true
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		hint := ""
		if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
			hint = fmt.Sprintf(" (write %ss for seconds)", n.Value)
		}
		d.fail(n.Line, path, "want a duration like 60s, got %s%s", describe(n), hint)
		return
	}
	t, err := time.ParseDuration(n.Value)
	if err != nil {
		d.fail(n.Line, path, "%q is not a duration (want e.g. 500ms, 60s, 5m, 1h30m)", n.Value)
		return
	}
	v.SetInt(int64(t))
}

// merged returns the mappings a YAML merge key (<<: *base) brings in.
func merged(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.SequenceNode {
		var out []*yaml.Node
		for _, c := range n.Content {
			out = append(out, merged(c)...)
		}
		return out
	}
	return []*yaml.Node{n}
}

// fieldsOf maps YAML names to struct field indexes.
func fieldsOf(t reflect.Type) (map[string]reflect.StructField, []string) {
	m := map[string]reflect.StructField{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = f
		names = append(names, name)
	}
	return m, names
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "want a mapping of fields, got %s", describe(n))
		return
	}
	fields, names := fieldsOf(v.Type())
	// Merged mappings (<<: *base) first, so the keys written here win
	// wherever they stand.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Tag == "!!merge" {
			for _, m := range merged(n.Content[i+1]) {
				d.structure(m, v, path)
			}
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if (path == "" && k.Value == "kind") || k.Tag == "!!merge" {
			continue // kind is read by Load
		}
		f, ok := fields[k.Value]
		if !ok || k.Kind != yaml.ScalarNode {
			msg := fmt.Sprintf("unknown field %q", k.Value)
			if s := suggest(k.Value, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.problems = append(d.problems, Problem{Line: k.Line, Field: path, Msg: msg})
			continue
		}
		fp := join(path, k.Value)
		if seen[k.Value] {
			d.fail(k.Line, fp, "given twice")
			continue
		}
		seen[k.Value] = true
		d.decode(val, v.FieldByIndex(f.Index), fp, f.Tag.Get("spec") == "anyscalar")
		// The key's line is where a person looks for the field.
		d.lines[fp] = k.Line
	}
}

// describe names what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return strconv.Quote(n.Value)
		case "!!null":
			return "nothing"
		}
		return n.Value
	}
	return "something else"
}

// synonyms are names people bring from other tools, mapped to swell's.
var synonyms = map[string]string{
	"memory": "mem", "cpu": "cpus", "replicas": "instances", "command": "cmd",
	"environment": "env", "ports": "portMappings", "healthcheck": "healthChecks",
	"dependson": "dependencies", "name": "id",
}

// suggest returns the known name closest to an unknown one, or "".
func suggest(unknown string, known []string) string {
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	u := norm(unknown)
	has := func(s string) bool { return contains(known, s) }
	if s, ok := synonyms[u]; ok && has(s) {
		return s
	}
	best, bestDist := "", 0
	for _, k := range known {
		kn := norm(k)
		if kn == u {
			return k
		}
		dist := levenshtein(u, kn)
		limit := max(1, len(kn)/3)
		// A known name that starts the unknown one (memory_mb → mem), or
		// that the unknown one starts (interval → intervalSeconds),
		// counts as close.
		if (len(kn) >= 3 && strings.HasPrefix(u, kn)) || (len(u) >= 4 && strings.HasPrefix(kn, u)) {
			dist = limit
		}
		if dist <= limit && (best == "" || dist < bestDist) {
			best, bestDist = k, dist
		}
	}
	return best
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// levenshtein is the edit distance, counting a swap of neighbours as one
// edit (optimal string alignment).
func levenshtein(a, b string) int {
	before := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			// Two swapped letters (paht → path) are one slip, not two.
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(b)]
}
