package spec

import (
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// strictProblems loads one Service document and runs the strict autoscale
// checks on it, returning every problem as "file:line: field: message".
func strictProblems(t *testing.T, doc string) []string {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	d, lines, problems := loadDocument("web.yaml", n.Content[0])
	if d == nil || d.Service == nil || d.Service.Autoscale == nil {
		t.Fatalf("not a service with autoscale: %v", problems)
	}
	v := &validator{lines: lines, docLine: d.Line}
	v.autoscaleStrict(d.Service.Autoscale)
	// Once validateService calls autoscaleStrict, loadDocument's problems
	// hold these already: keep each once, in line order as Load does.
	var out []string
	seen := map[string]bool{}
	all := append(problems, v.problems...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
	for _, p := range all {
		if s := p.format("web.yaml"); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func TestAutoscaleStrict(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			name: "defaults and a full valid block",
			doc: `kind: Service
id: /shop/web
image: web:1
autoscale:
  target: 10
  min: 2
  max: 40
  stableWindow: 90s
  scaleUp: {maxRate: 10, policies: [{type: Pods, value: 4, period: 15s}]}
  schedule: [{cron: "0 8 * * 1-5", min: 10, for: 10h}]
  fallback: {after: 20s, instances: 3}
`,
		},
		{
			name: "sub-second durations",
			doc: `kind: Service
id: /shop/web
image: web:1
autoscale:
  target: 10
  max: 40
  stableWindow: 60500ms
  panicWindow: 6.5s
  scaleDown: {maxRate: 2, stabilization: 10.25s, policies: [{type: Percent, value: 50, period: 1500ms}]}
  scaleDownDelay: 2.5s
  fallback: {after: 10.5s}
`,
			want: []string{
				`web.yaml:7: autoscale.stableWindow: 1m0.5s is not a whole number of seconds (the autoscaler decides once a second)`,
				`web.yaml:8: autoscale.panicWindow: 6.5s is not a whole number of seconds (the autoscaler decides once a second)`,
				`web.yaml:9: autoscale.scaleDown.stabilization: 10.25s is not a whole number of seconds (the autoscaler decides once a second)`,
				`web.yaml:9: autoscale.scaleDown.policies[0].period: 1.5s is not a whole number of seconds (the autoscaler decides once a second)`,
				`web.yaml:10: autoscale.scaleDownDelay: 2.5s is not a whole number of seconds (the autoscaler decides once a second)`,
				`web.yaml:11: autoscale.fallback.after: 10.5s is not a whole number of seconds (the autoscaler decides once a second)`,
			},
		},
		{
			name: "settings that never take effect",
			doc: `kind: Service
id: /shop/web
image: web:1
autoscale:
  target: 10
  min: 3
  max: 40
  scaleToZero: {enabled: true}
  schedule:
    - {cron: "0 8 * * 1-5", min: 2, for: 10h}
    - {cron: "0 20 * * *", min: 0, for: 1h}
  fallback: {instances: 1}
`,
			want: []string{
				`web.yaml:8: autoscale.scaleToZero.enabled: has no effect while min is 3 (set min: 0 to let the service reach zero)`,
				`web.yaml:10: autoscale.schedule[0].min: 2 is below min (3): a floor only raises the count (lower min, and raise it with a schedule instead)`,
				`web.yaml:11: autoscale.schedule[1].min: 0 is below min (3): a floor only raises the count (lower min, and raise it with a schedule instead)`,
				`web.yaml:12: autoscale.fallback.instances: 1 is less than min (3); the count never goes below min`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := strictProblems(t, tc.doc)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
