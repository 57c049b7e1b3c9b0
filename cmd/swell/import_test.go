//go:build !swellnode

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/spec"
)

func TestImportMarathonPrintsYAMLAndWarnsOnStderr(t *testing.T) {
	app := `{"id": "/shop/web", "cmd": "web", "container": {"docker": {"image": "web:1"},
		"portMappings": [{"containerPort": 8080, "servicePort": 10001}]},
		"fetch": [{"uri": "http://x/y.tgz"}]}`
	path := filepath.Join(t.TempDir(), "app.json")
	if err := os.WriteFile(path, []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "import", "marathon", path)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	docs, err := spec.Load("stdout", []byte(out))
	if err != nil {
		t.Fatalf("stdout is not loadable YAML: %v\n%s", err, out)
	}
	if len(docs) != 1 || docs[0].Service.ID != "/shop/web" || docs[0].Service.Image != "web:1" {
		t.Errorf("unexpected documents: %+v", docs)
	}
	if !strings.Contains(stderr, `# swell import: /shop/web: dropped field "fetch"`) {
		t.Errorf("stderr lacks the dropped-field warning:\n%s", stderr)
	}
	if strings.Contains(out, "swell import:") {
		t.Errorf("warnings leaked into stdout:\n%s", out)
	}
}

func TestImportMarathonReadsStdin(t *testing.T) {
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetIn(strings.NewReader(`{"id": "a", "container": {"docker": {"image": "a:1"}}}`))
	root.SetArgs([]string{"import", "marathon", "-"})
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("%v; stderr:\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "id: /a\n") {
		t.Errorf("stdout:\n%s", out.String())
	}
}

func TestImportMarathonErrors(t *testing.T) {
	code, _, stderr := runCLI(t, "import", "marathon", filepath.Join(t.TempDir(), "missing.json"))
	if code == 0 || !strings.Contains(stderr, "missing.json") {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "import", "marathon", bad)
	if code == 0 || !strings.Contains(stderr, "not JSON") {
		t.Errorf("bad JSON: exit %d, stderr %q", code, stderr)
	}
}
