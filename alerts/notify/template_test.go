package notify_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func sample() notify.Notification {
	start := time.Date(2026, 3, 1, 11, 58, 0, 0, time.UTC)
	return notify.NewNotification("oncall", `{}:{alertname="container-memory"}`, map[string]string{"alertname": "container-memory"}, []notify.Alert{
		{
			Status: notify.StatusFiring, Severity: notify.SeverityCritical, Value: 97.5,
			Labels:      map[string]string{"alertname": "container-memory", "node": "n1", "service": "web"},
			Annotations: map[string]string{"summary": "web memory at 97.5%", "description": "above 95% for 1m"},
			StartsAt:    start, Fingerprint: "a1b2c3d4e5f60718",
		},
		{
			Status: notify.StatusResolved, Severity: notify.SeverityWarning, Value: 41,
			Labels:      map[string]string{"alertname": "container-memory", "node": "n2", "service": "web"},
			Annotations: map[string]string{"summary": "web memory back to 41%"},
			StartsAt:    start.Add(-10 * time.Minute), EndsAt: start.Add(time.Minute), Fingerprint: "0f1e2d3c4b5a6978",
		},
	})
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Fatalf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestDefaultTemplates(t *testing.T) {
	for _, lang := range []notify.Lang{notify.LangEN, notify.LangZH} {
		for _, format := range []notify.Format{notify.FormatText, notify.FormatMarkdown, notify.FormatSMS} {
			t.Run(string(lang)+"_"+string(format), func(t *testing.T) {
				tpl, err := notify.NewTemplate(notify.TemplateOptions{Lang: lang, Format: format})
				if err != nil {
					t.Fatal(err)
				}
				n := sample()
				n.ExternalURL = "http://swell.example:8080"
				title, err := tpl.Title(n)
				if err != nil {
					t.Fatal(err)
				}
				body, err := tpl.Body(n)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, "template_"+string(lang)+"_"+string(format)+".txt", []byte(title+"\n---\n"+body+"\n"))
			})
		}
	}
}

func TestTemplateOptions(t *testing.T) {
	tests := []struct {
		name    string
		o       notify.TemplateOptions
		want    string
		wantErr string
	}{
		{name: "custom body with helpers", o: notify.TemplateOptions{Body: `{{range .Alerts.Firing}}{{humanize 1532000}} {{pairs .Labels}}{{end}}`}, want: "1.53M alertname=container-memory, node=n1, service=web"},
		{name: "json quoting", o: notify.TemplateOptions{Body: `{"s":{{json (index .Alerts 0).Annotations.summary}},"l":{{json .GroupLabels}}}`}, want: `{"s":"web memory at 97.5%","l":{"alertname":"container-memory"}}`},
		{name: "chinese words", o: notify.TemplateOptions{Lang: notify.LangZH, Body: `{{tr "critical"}}/{{tr .Status}}`}, want: "严重/告警"},
		{name: "unknown lang", o: notify.TemplateOptions{Lang: "fr"}, wantErr: `unknown lang "fr"`},
		{name: "unknown format", o: notify.TemplateOptions{Format: "html"}, wantErr: `unknown format "html"`},
		{name: "parse error names the part", o: notify.TemplateOptions{Body: "{{.Nope"}, wantErr: "template: body:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := notify.NewTemplate(tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Body(sample())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("body = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewNotificationCommonLabels(t *testing.T) {
	n := sample()
	if n.Status != notify.StatusFiring {
		t.Errorf("status = %s, want firing while one alert fires", n.Status)
	}
	if got := n.CommonLabels; len(got) != 2 || got["alertname"] != "container-memory" || got["service"] != "web" {
		t.Errorf("common labels = %v", got)
	}
	if len(n.CommonAnnotations) != 0 {
		t.Errorf("common annotations = %v, want none (summaries differ)", n.CommonAnnotations)
	}
	if len(n.Alerts.Firing()) != 1 || len(n.Alerts.Resolved()) != 1 {
		t.Errorf("firing/resolved split wrong")
	}
	r := notify.NewNotification("x", "k", nil, []notify.Alert{{Status: notify.StatusResolved}})
	if r.Status != notify.StatusResolved {
		t.Errorf("all resolved: status = %s", r.Status)
	}
}
