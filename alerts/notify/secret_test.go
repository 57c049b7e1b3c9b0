package notify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/swell-pipeline/swell/alerts/notify"
)

func fakeLookup(env map[string]string) notify.Lookup {
	return notify.Lookup{
		Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		ReadFile: func(p string) ([]byte, error) {
			return os.ReadFile(p)
		},
	}
}

func TestResolveSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("from-file-s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lk := fakeLookup(map[string]string{"TOKEN": "env-s3cr3t", "EMPTY": ""})
	tests := []struct {
		name, ref, want, wantErr string
	}{
		{name: "literal value is kept", ref: "plain-s3cr3t", want: "plain-s3cr3t"},
		{name: "whole env reference", ref: "${TOKEN}", want: "env-s3cr3t"},
		{name: "env reference inside a URL", ref: "https://oapi.example/robot/send?access_token=${TOKEN}", want: "https://oapi.example/robot/send?access_token=env-s3cr3t"},
		{name: "set but empty variable", ref: "${EMPTY}", want: ""},
		{name: "file with trailing newline trimmed", ref: "file:" + file, want: "from-file-s3cr3t"},
		{name: "unset variable names the variable", ref: "${MISSING}", wantErr: "environment variable MISSING is not set"},
		{name: "unterminated reference", ref: "${TOKEN", wantErr: "unterminated"},
		{name: "missing file names the path", ref: "file:" + filepath.Join(dir, "nope"), wantErr: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := notify.ResolveSecret(tt.ref, lk)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("error reveals a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Reveal() != tt.want {
				t.Fatalf("Reveal() = %q, want %q", s.Reveal(), tt.want)
			}
		})
	}
	if _, err := notify.ResolveSecret("file:"+filepath.Join(dir, "nope"), lk); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file error %v does not wrap fs.ErrNotExist", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	type cfg struct {
		Name   string        `json:"name" yaml:"name"`
		Secret notify.Secret `json:"secret" yaml:"secret"`
	}
	c := cfg{Name: "r", Secret: notify.NewSecret("s3cr3t-value")}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("config", "secret", c.Secret, "cfg", c)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%s": fmt.Sprintf("%s", c.Secret), "%q": fmt.Sprintf("%q", c.Secret), "%x": fmt.Sprintf("%x", c.Secret),
		"String": c.Secret.String(), "json": string(js), "yaml": string(ym), "slog": logBuf.String(),
	}
	for how, out := range outputs {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("%s reveals the secret: %s", how, out)
		}
		if !strings.Contains(out, notify.Mask) {
			t.Errorf("%s does not show the mask: %s", how, out)
		}
	}
	if !strings.Contains(string(js), `"secret":"xxxxx"`) {
		t.Errorf("json = %s", js)
	}
}

func TestSecretFromYAML(t *testing.T) {
	t.Setenv("SWELL_TEST_NOTIFY_TOKEN", "yaml-s3cr3t")
	var c struct {
		Token notify.Secret `yaml:"token"`
	}
	if err := yaml.Unmarshal([]byte("token: ${SWELL_TEST_NOTIFY_TOKEN}\n"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Token.Reveal() != "yaml-s3cr3t" {
		t.Fatalf("token = %q", c.Token.Reveal())
	}
	err := yaml.Unmarshal([]byte("token: ${SWELL_TEST_NOTIFY_UNSET}\n"), &c)
	if err == nil || !strings.Contains(err.Error(), "SWELL_TEST_NOTIFY_UNSET") {
		t.Fatalf("unset variable: err = %v", err)
	}
}

func TestRedact(t *testing.T) {
	url := notify.NewSecret("http://127.0.0.1:1/robot/send?access_token=tok3n-s3cr3t")
	key := notify.NewSecret("k3y-s3cr3t")
	// A real transport error quotes the URL it was given, with extra query
	// parameters appended, so the whole-URL match alone is not enough.
	req, err := http.NewRequest(http.MethodPost, url.Reveal()+"&timestamp=1&sign=abc", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, sendErr := http.DefaultClient.Do(req.WithContext(t.Context()))
	if sendErr == nil {
		t.Fatal("expected a connection error from port 1")
	}
	tests := []struct {
		name string
		err  error
	}{
		{"transport error with token in query", sendErr},
		{"message quoting a key", fmt.Errorf("sign with %s failed", key.Reveal())},
		{"url path token", fmt.Errorf("POST %s: 404", "https://hooks.example/services/T000/B000/"+"p4th-s3cr3t")},
	}
	path := notify.NewSecret("https://hooks.example/services/T000/B000/p4th-s3cr3t")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			red := notify.Redact(tt.err, url, key, path)
			if strings.Contains(red.Error(), "s3cr3t") {
				t.Fatalf("redacted error still reveals a secret: %s", red)
			}
			if !strings.Contains(red.Error(), notify.Mask) {
				t.Fatalf("nothing masked: %s", red)
			}
			if !errors.Is(red, tt.err) {
				t.Fatal("Redact lost the cause")
			}
		})
	}
	if notify.Redact(nil, key) != nil {
		t.Fatal("Redact(nil) != nil")
	}
}
