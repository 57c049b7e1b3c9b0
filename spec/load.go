package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The kinds of document swell knows.
const (
	KindService   = "Service"
	KindAlertRule = "AlertRule"
	KindReceiver  = "Receiver"
	KindRoute     = "Route"
)

// Kinds returns every kind swell knows, supported or not yet.
func Kinds() []string { return []string{KindService, KindAlertRule, KindReceiver, KindRoute} }

// supported says which kinds this version can load; the others are known
// names (so a typo is told apart from a kind that comes later).
func supported(kind string) bool { return contains(Kinds(), kind) }

// Document is one document of a file.
type Document struct {
	Kind string `json:"kind"`
	// File and Line say where the document starts.
	File string `json:"-"`
	Line int    `json:"-"`
	// Service is set when Kind is Service.
	Service *Service `json:"service,omitempty"`
	// AlertRule, Receiver and Route are set for their kinds.
	AlertRule *AlertRule `json:"alertRule,omitempty"`
	Receiver  *Receiver  `json:"receiver,omitempty"`
	Route     *Route     `json:"route,omitempty"`
}

// Problem is one thing wrong in a file.
type Problem struct {
	Line int `json:"line"`
	// Field is the path of the field ("healthChecks[0].path"); "" for the
	// document itself.
	Field string `json:"field,omitempty"`
	Msg   string `json:"message"`
}

// Error is everything wrong with one file. Its text has one problem per
// line, in file order: "web.yaml:5: unknown field "memory_mb"".
type Error struct {
	File     string    `json:"file"`
	Problems []Problem `json:"problems"`
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.format(e.File))
	}
	return b.String()
}

func (p Problem) format(file string) string {
	if p.Field == "" {
		return fmt.Sprintf("%s:%d: %s", file, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", file, p.Line, p.Field, p.Msg)
}

// Load parses every document of a YAML (or JSON) file. filename is used in
// errors only. When anything is wrong, Load returns an *Error listing every
// problem of the file and no documents: a file is applied whole or not at
// all.
func Load(filename string, data []byte) ([]Document, error) {
	var (
		docs     []Document
		problems []Problem
		lines    []map[string]int
	)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			problems = append(problems, syntaxProblem(err))
			break
		}
		if len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue // an empty document between two ---
		}
		doc, ls, ps := loadDocument(filename, root)
		problems = append(problems, ps...)
		if doc != nil {
			docs = append(docs, *doc)
			lines = append(lines, ls)
		}
	}
	problems = append(problems, crossCheck(docs, lines)...)
	problems = append(problems, crossCheckAlerts(docs, lines)...)
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
		return nil, &Error{File: filename, Problems: problems}
	}
	return docs, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxProblem(err error) Problem {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{Line: line, Msg: "YAML syntax: " + m[2]}
	}
	return Problem{Line: 1, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

func loadDocument(file string, root *yaml.Node) (*Document, map[string]int, []Problem) {
	if root.Kind != yaml.MappingNode {
		return nil, nil, []Problem{{Line: root.Line, Msg: fmt.Sprintf("a document must be a mapping with a kind, got %s", describe(root))}}
	}
	kind, kindLine := "", root.Line
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "kind" {
			v := root.Content[i+1]
			kind, kindLine = v.Value, v.Line
			if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
				return nil, nil, []Problem{{Line: v.Line, Field: "kind", Msg: fmt.Sprintf("want one of %s, got %s", strings.Join(Kinds(), ", "), describe(v))}}
			}
		}
	}
	switch {
	case kind == "":
		return nil, nil, []Problem{{Line: root.Line, Msg: fmt.Sprintf("missing kind (want one of %s)", strings.Join(Kinds(), ", "))}}
	case !contains(Kinds(), kind):
		msg := fmt.Sprintf("unknown kind %q", kind)
		if s := suggest(kind, Kinds()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, nil, []Problem{{Line: kindLine, Field: "kind", Msg: msg + "; known kinds: " + strings.Join(Kinds(), ", ")}}
	case !supported(kind):
		return nil, nil, []Problem{{Line: kindLine, Msg: fmt.Sprintf("kind %s is not supported yet by this swell version", kind)}}
	}
	switch kind {
	case KindAlertRule:
		return loadAlertRule(file, root)
	case KindReceiver:
		return loadReceiver(file, root)
	case KindRoute:
		return loadRoute(file, root)
	}
	d := &decoder{lines: map[string]int{}, bad: map[string]bool{}}
	var s Service
	s.defaults()
	d.decode(root, reflect.ValueOf(&s).Elem(), "", false)
	problems := d.problems
	// A field that could not be decoded holds its default; checking that
	// value too would only repeat the problem ("image: required").
	for _, p := range validateService(&s, d.lines, root.Line) {
		if !d.bad[p.Field] {
			problems = append(problems, p)
		}
	}
	return &Document{Kind: kind, File: file, Line: root.Line, Service: &s}, d.lines, problems
}

// lineOf finds the line of a field, or of its nearest written parent.
func lineOf(lines map[string]int, path string, fallback int) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return fallback
}
