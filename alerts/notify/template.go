package notify

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Lang selects the default texts.
type Lang string

// Languages with default templates.
const (
	LangEN Lang = "en"
	LangZH Lang = "zh"
)

// Format is the markup a provider renders.
type Format string

// Formats the default templates exist in.
const (
	FormatText     Format = "text"
	FormatMarkdown Format = "markdown"
	// FormatSMS is one short line per notification: SMS is billed per
	// 70/160-character segment and read on a lock screen.
	FormatSMS Format = "sms"
)

// Template renders a notification into a title and a body.
type Template struct {
	title *template.Template
	body  *template.Template
}

// TemplateOptions overrides the defaults; empty fields keep them.
type TemplateOptions struct {
	Lang   Lang   // en (default) or zh
	Format Format // text (default) or markdown
	Title  string // Go text/template source
	Body   string
}

// NewTemplate parses the title and body, falling back to the default texts
// for the language and format.
func NewTemplate(o TemplateOptions) (*Template, error) {
	if o.Lang == "" {
		o.Lang = LangEN
	}
	if o.Format == "" {
		o.Format = FormatText
	}
	def, ok := defaults[o.Lang]
	if !ok {
		return nil, fmt.Errorf("template: unknown lang %q (want en or zh)", o.Lang)
	}
	if _, ok := def.body[o.Format]; !ok {
		return nil, fmt.Errorf("template: unknown format %q (want text, markdown or sms)", o.Format)
	}
	if o.Title == "" {
		o.Title = def.title
	}
	if o.Body == "" {
		o.Body = def.body[o.Format]
	}
	funcs := Funcs(o.Lang)
	title, err := template.New("title").Funcs(funcs).Option("missingkey=zero").Parse(o.Title)
	if err != nil {
		return nil, fmt.Errorf("template: title: %w", err)
	}
	body, err := template.New("body").Funcs(funcs).Option("missingkey=zero").Parse(o.Body)
	if err != nil {
		return nil, fmt.Errorf("template: body: %w", err)
	}
	return &Template{title: title, body: body}, nil
}

// Title renders the one-line title.
func (t *Template) Title(n Notification) (string, error) {
	var b strings.Builder
	if err := t.title.Execute(&b, n); err != nil {
		return "", fmt.Errorf("template: title: %w", err)
	}
	return strings.TrimSpace(b.String()), nil
}

// Body renders the message body.
func (t *Template) Body(n Notification) (string, error) {
	var b strings.Builder
	if err := t.body.Execute(&b, n); err != nil {
		return "", fmt.Errorf("template: body: %w", err)
	}
	return strings.TrimSpace(b.String()), nil
}

// Funcs are the helpers available to every template: sorted label pairs,
// number and time formatting, and words in the chosen language.
func Funcs(lang Lang) template.FuncMap {
	words := dictionary[lang]
	if words == nil {
		words = dictionary[LangEN]
	}
	return template.FuncMap{
		"upper": strings.ToUpper,
		// json quotes a value for templated JSON bodies (SMS gateways).
		"json": func(v any) (string, error) {
			b, err := EncodeJSON(v)
			return string(b), err
		},
		"lower": strings.ToLower,
		"join":  strings.Join,
		// pairs renders a label set as "k=v, k=v" in key order, so output is
		// stable.
		"pairs": func(m map[string]string) string {
			keys := slices.Sorted(maps.Keys(m))
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = k + "=" + m[k]
			}
			return strings.Join(parts, ", ")
		},
		"sortedKeys": func(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) },
		"value": func(f float64) string {
			return strconv.FormatFloat(f, 'f', -1, 64)
		},
		"humanize": humanize,
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05 MST")
		},
		"duration": func(from, to time.Time) string {
			return to.Sub(from).Round(time.Second).String()
		},
		"truncate": func(n int, s string) string {
			r := []rune(s)
			if len(r) <= n {
				return s
			}
			return string(r[:n]) + "…"
		},
		// tr translates a fixed word (status, severity, headings).
		"tr": func(s any) string {
			k := fmt.Sprint(s)
			if w, ok := words[k]; ok {
				return w
			}
			return k
		},
	}
}

// humanize shortens large and small numbers (1.5k, 2.3M, 0.001) so chat
// messages stay readable.
func humanize(f float64) string {
	abs := f
	if abs < 0 {
		abs = -abs
	}
	for _, u := range []struct {
		v float64
		s string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if abs >= u.v {
			v := strconv.FormatFloat(f/u.v, 'f', 2, 64)
			v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
			return v + u.s
		}
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

var dictionary = map[Lang]map[string]string{
	LangEN: {
		"firing": "FIRING", "resolved": "RESOLVED",
		"warning": "WARNING", "critical": "CRITICAL",
		"Firing": "Firing", "Resolved": "Resolved", "since": "since", "value": "value",
		"ended": "ended", "digest": "notifications folded into this digest (rate limit)",
	},
	LangZH: {
		"firing": "告警", "resolved": "已恢复",
		"warning": "警告", "critical": "严重",
		"Firing": "告警中", "Resolved": "已恢复", "since": "开始于", "value": "当前值",
		"ended": "结束于", "digest": "条通知因限流合并为此摘要",
	},
}

type defaultTexts struct {
	title string
	body  map[Format]string
}

// The defaults share one shape across languages; only the words differ, so
// they are built from the same source with tr.
const (
	defaultTitle = `[{{tr .Status}}{{if eq .Status "firing"}}:{{len .Alerts.Firing}}{{end}}] {{or .CommonLabels.alertname .GroupKey}}`

	defaultText = `{{if .Folded}}{{.Folded}} {{tr "digest"}}
{{end}}{{range .Alerts}}[{{tr .Status}}] {{if .Severity}}{{tr .Severity}} {{end}}{{or .Annotations.summary .Labels.alertname}}
{{- if .Annotations.description}}
{{.Annotations.description}}{{end}}
{{tr "value"}}: {{value .Value}}  {{tr "since"}}: {{time .StartsAt}}{{if eq .Status "resolved"}}  {{tr "ended"}}: {{time .EndsAt}}{{end}}
{{pairs .Labels}}

{{end}}{{if .ExternalURL}}{{.ExternalURL}}{{end}}`

	defaultMarkdown = `{{if .Folded}}> {{.Folded}} {{tr "digest"}}

{{end}}{{range .Alerts}}**[{{tr .Status}}]** {{if .Severity}}{{tr .Severity}} {{end}}{{or .Annotations.summary .Labels.alertname}}
{{- if .Annotations.description}}

{{.Annotations.description}}{{end}}

- {{tr "value"}}: {{value .Value}}
- {{tr "since"}}: {{time .StartsAt}}{{if eq .Status "resolved"}}
- {{tr "ended"}}: {{time .EndsAt}}{{end}}
- {{pairs .Labels}}

{{end}}{{if .ExternalURL}}[{{.ExternalURL}}]({{.ExternalURL}}){{end}}`

	defaultSMS = `{{range $i, $a := .Alerts}}{{if $i}}; {{end}}{{if eq .Status "resolved"}}[{{tr .Status}}] {{end}}{{or .Annotations.summary .Labels.alertname}}{{end}}`
)

var defaults = map[Lang]defaultTexts{
	LangEN: {title: defaultTitle, body: map[Format]string{FormatText: defaultText, FormatMarkdown: defaultMarkdown, FormatSMS: defaultSMS}},
	LangZH: {title: defaultTitle, body: map[Format]string{FormatText: defaultText, FormatMarkdown: defaultMarkdown, FormatSMS: defaultSMS}},
}

// TextTemplate is a single Go text/template with the notification
// helpers, for the small templated fields receivers have (a gateway body,
// SMS template parameters, a mail subject).
type TextTemplate struct {
	t *template.Template
}

// NewTextTemplate parses src; name appears in errors.
func NewTextTemplate(name, src string, lang Lang) (*TextTemplate, error) {
	if lang == "" {
		lang = LangEN
	}
	if _, ok := defaults[lang]; !ok {
		return nil, fmt.Errorf("template %s: unknown lang %q (want en or zh)", name, lang)
	}
	t, err := template.New(name).Funcs(Funcs(lang)).Option("missingkey=zero").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return &TextTemplate{t: t}, nil
}

// Execute renders the template with data.
func (t *TextTemplate) Execute(data any) (string, error) {
	var b strings.Builder
	if err := t.t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template %s: %w", t.t.Name(), err)
	}
	return b.String(), nil
}

// Clip shortens s to at most n characters, ending in "…" when cut.
func Clip(s string, n int) string {
	r := []rune(s)
	if n < 1 || len(r) <= n {
		return s
	}
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}

// TemplateConfig is the template part of a receiver's configuration,
// inlined into each receiver's Config.
type TemplateConfig struct {
	Lang  Lang   `yaml:"lang,omitempty" json:"lang,omitempty"`   // en (default) or zh
	Title string `yaml:"title,omitempty" json:"title,omitempty"` // overrides the default title
	Body  string `yaml:"body,omitempty" json:"body,omitempty"`   // overrides the default body
}

// Template parses the configured texts for format f.
func (c TemplateConfig) Template(f Format) (*Template, error) {
	return NewTemplate(TemplateOptions{Lang: c.Lang, Format: f, Title: c.Title, Body: c.Body})
}

// Render is Title and Body in one call.
func (t *Template) Render(n Notification) (title, body string, err error) {
	if title, err = t.Title(n); err != nil {
		return "", "", err
	}
	body, err = t.Body(n)
	return title, body, err
}
