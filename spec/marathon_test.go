package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportMarathonFixtures(t *testing.T) {
	for _, path := range files(t, "testdata/marathon/*.json") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, warnings, err := ImportMarathon(data)
			if err != nil {
				t.Fatal(err)
			}
			stem := strings.TrimSuffix(path, ".json")
			golden(t, stem+".yaml", out)
			golden(t, stem+".warnings", []byte(strings.Join(warnings, "\n")+"\n"))

			// What the importer writes, Load reads, and Encode writes back
			// unchanged.
			docs, err := Load(filepath.Base(stem)+".yaml", out)
			if err != nil {
				t.Fatalf("imported YAML does not load:\n%v", err)
			}
			var again bytes.Buffer
			if err := Encode(&again, docs); err != nil {
				t.Fatal(err)
			}
			if again.String() != string(out) {
				t.Errorf("load + encode changed the imported YAML:\n%s", again.String())
			}
		})
	}
}

func TestImportMarathonMapping(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		want  []string // lines the YAML must contain
		warns []string // substrings of some warning
	}{
		{
			name: "cmd string runs through a shell",
			json: `{"id": "a", "cmd": "echo hi", "container": {"docker": {"image": "x:1"}}}`,
			want: []string{"id: /a", "cmd: [/bin/sh, -c, echo hi]"},
		},
		{
			name: "mesos health check protocols become swell's",
			json: `{"id": "/a", "container": {"docker": {"image": "x:1"}, "portMappings": [{"containerPort": 80, "servicePort": 10000}]},
				"healthChecks": [{"protocol": "MESOS_HTTP"}, {"protocol": "MESOS_TCP"}, {"protocol": "MESOS_HTTPS"}]}`,
			want: []string{"  - protocol: HTTP", "  - protocol: TCP", "  - protocol: HTTPS"},
		},
		{
			name:  "old string constraints",
			json:  `{"id": "/a", "container": {"docker": {"image": "x:1"}}, "constraints": ["hostname:UNIQUE", "rack:GROUP_BY:3"]}`,
			want:  []string{`constraints: [[hostname, UNIQUE], [rack, GROUP_BY, "3"]]`},
			warns: nil,
		},
		{
			name:  "unknown fields are dropped with a warning",
			json:  `{"id": "/a", "container": {"docker": {"image": "x:1"}}, "fetch": [{"uri": "http://x"}], "disk": 0, "gpus": 1}`,
			warns: []string{`/a: dropped field "fetch"`, `/a: dropped field "gpus"`},
		},
		{
			name:  "relative dependencies in nested groups",
			json:  `{"id": "/g", "groups": [{"id": "sub", "apps": [{"id": "x", "dependencies": ["../y", "z"], "container": {"docker": {"image": "x:1"}}}]}]}`,
			want:  []string{"id: /g/sub/x", "dependencies: [/g/y, /g/sub/z]"},
			warns: nil,
		},
		{
			name:  "output that cannot load says so",
			json:  `{"id": "/a", "container": {"docker": {"image": "x:1"}, "portMappings": [{"containerPort": 0, "servicePort": 10000}]}}`,
			warns: []string{"containerPort 0", "the YAML needs editing before swell apply:\noutput:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, warnings, err := ImportMarathon([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains("\n"+string(out), "\n"+w+"\n") {
					t.Errorf("output lacks line %q:\n%s", w, out)
				}
			}
			all := strings.Join(warnings, "\n")
			for _, w := range tt.warns {
				if !strings.Contains(all, w) {
					t.Errorf("warnings lack %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestImportMarathonRejectsWhatIsNotMarathon(t *testing.T) {
	for _, in := range []string{`not json`, `42`, `{"apps": []}`, `[1]`} {
		if _, _, err := ImportMarathon([]byte(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}
