package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Notification is one alert of a webhook notification the sink received.
type Notification struct {
	At       time.Time
	Status   string // firing or resolved
	Alert    string
	Severity string
	Summary  string
	// Fingerprint identifies the alert across its firing and resolve.
	Fingerprint string
}

// sink is the demo's webhook receiver: an HTTP server on 127.0.0.1 that
// takes the webhook receiver's JSON (Alertmanager's version 4), prints
// each alert it carries and keeps it for the summary.
type sink struct {
	p   *printer
	ln  net.Listener
	srv *http.Server

	mu   sync.Mutex
	got  []Notification
	open map[string]bool // fingerprints firing, not yet resolved
	done chan struct{}
}

// webhookBody is the part of the webhook receiver's body the sink reads.
type webhookBody struct {
	Status string `json:"status"`
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		Fingerprint string            `json:"fingerprint"`
	} `json:"alerts"`
}

func startSink(p *printer) (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: webhook sink: %w", err)
	}
	s := &sink{p: p, ln: ln, open: map[string]bool{}, done: make(chan struct{})}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

func (s *sink) url() string { return "http://" + s.ln.Addr().String() + "/alerts" }

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ns, err := parseWebhook(data, time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	for _, n := range ns {
		s.got = append(s.got, n)
		if n.Status == "resolved" {
			delete(s.open, n.Fingerprint)
		} else {
			s.open[n.Fingerprint] = true
		}
	}
	s.mu.Unlock()
	for _, n := range ns {
		s.p.event("ALERT", "%-8s %s (%s) — webhook sink received: %s", strings.ToUpper(n.Status), n.Alert, n.Severity, n.Summary)
	}
	w.WriteHeader(http.StatusOK)
}

// parseWebhook reads a webhook receiver's body into one Notification per
// alert.
func parseWebhook(data []byte, at time.Time) ([]Notification, error) {
	var b webhookBody
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("sink: not a webhook notification: %w", err)
	}
	if len(b.Alerts) == 0 {
		return nil, errors.New("sink: a notification without alerts")
	}
	out := make([]Notification, 0, len(b.Alerts))
	for _, a := range b.Alerts {
		if a.Status != "firing" && a.Status != "resolved" {
			return nil, fmt.Errorf("sink: alert status %q: want firing or resolved", a.Status)
		}
		out = append(out, Notification{
			At: at, Status: a.Status, Alert: a.Labels["alertname"], Severity: a.Labels["severity"],
			Summary: a.Annotations["summary"], Fingerprint: a.Fingerprint,
		})
	}
	return out, nil
}

// notifications returns what the sink received so far.
func (s *sink) notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// firing reports how many alerts were told firing and not yet resolved.
func (s *sink) firing() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

func (s *sink) close() {
	_ = s.srv.Close()
	<-s.done
}
