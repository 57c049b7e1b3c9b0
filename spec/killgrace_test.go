package spec

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// taskKillGracePeriodSeconds is the one field whose default is not filled
// in: absent stays nil (the agent's default), 0 stays 0 (kill at once),
// and both survive encoding as YAML and JSON.
func TestTaskKillGracePeriodSecondsKeepsAbsentApartFromZero(t *testing.T) {
	tests := []struct {
		name string
		line string
		want *int
	}{
		{"absent: the agent's default", "", nil},
		{"null: the agent's default", "taskKillGracePeriodSeconds: null\n", nil},
		{"0: kill at once", "taskKillGracePeriodSeconds: 0\n", new(0)},
		{"3600: the most", "taskKillGracePeriodSeconds: 3600\n", new(3600)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "kind: Service\nid: /g\nimage: g:1\n" + tt.line
			docs, err := Load("g.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			check := func(how string, got *int) {
				t.Helper()
				if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
					t.Errorf("%s: taskKillGracePeriodSeconds %v, want %v", how, deref(got), deref(tt.want))
				}
			}
			check("loaded", docs[0].Service.TaskKillGracePeriodSeconds)

			var y bytes.Buffer
			if err := Encode(&y, docs); err != nil {
				t.Fatal(err)
			}
			again, err := Load("again.yaml", y.Bytes())
			if err != nil {
				t.Fatalf("encoded YAML does not load: %v\n%s", err, y.Bytes())
			}
			check("after YAML", again[0].Service.TaskKillGracePeriodSeconds)
			if tt.want == nil && strings.Contains(y.String(), "taskKillGracePeriodSeconds") {
				t.Errorf("an unset grace is written out:\n%s", y.Bytes())
			}

			b, err := json.Marshal(docs[0].Service)
			if err != nil {
				t.Fatal(err)
			}
			var s Service
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			check("after JSON", s.TaskKillGracePeriodSeconds)
		})
	}
}

func deref(p *int) any {
	if p == nil {
		return "unset"
	}
	return *p
}
