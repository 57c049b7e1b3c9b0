package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/alerts/notify"
	"github.com/swell-pipeline/swell/alerts/runner"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/spec"
)

// AlertView is a firing alert as GET /v1/alerts returns it.
type AlertView struct {
	Rule   string            `json:"rule"`
	State  string            `json:"state"`
	Since  time.Time         `json:"since"`
	Value  float64           `json:"value"`
	Labels map[string]string `json:"labels"`
	// Silenced names the silences that hold it.
	Silenced []string `json:"silenced,omitempty"`
}

// SilenceRequest is the body of POST /v1/silences.
type SilenceRequest struct {
	// Matchers are label matchers: name=value, name!=value, name=~regex,
	// name!~regex.
	Matchers  []string      `json:"matchers"`
	Duration  time.Duration `json:"duration"`
	Comment   string        `json:"comment,omitempty"`
	CreatedBy string        `json:"createdBy,omitempty"`
}

// SilenceView is a silence as the API returns it.
type SilenceView struct {
	ID        string    `json:"id"`
	Matchers  []string  `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	// State is active, pending or expired.
	State string `json:"state"`
}

// AlertDefsView lists the applied alert documents; receivers have their
// literal secrets masked.
type AlertDefsView struct {
	Rules []spec.AlertRule `json:"rules"`
	// Builtin names the built-in rules no applied rule replaces.
	Builtin   []string        `json:"builtin"`
	Routes    []spec.Route    `json:"routes"`
	Receivers []spec.Receiver `json:"receivers"`
}

// TestResult is the answer of POST /v1/receivers/{name}/test.
type TestResult struct {
	Receiver string `json:"receiver"`
	Type     string `json:"type"`
	// Status is the provider's HTTP status (0 when it speaks no HTTP).
	Status int `json:"status,omitempty"`
	// Answer is the start of what the provider answered.
	Answer string `json:"answer,omitempty"`
	Error  string `json:"error,omitempty"`
}

type alertsAPI struct {
	o ServicesOptions
	h *services
}

// RegisterAlerts adds GET /v1/alerts, GET/POST /v1/silences, DELETE
// /v1/silences/{id}, GET /v1/alerting, DELETE /v1/alerting/{kind}/{name}
// and POST /v1/receivers/{name}/test.
func RegisterAlerts(s *httpd.Server, o ServicesOptions) {
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &alertsAPI{o: o, h: &services{o: o}}
	s.Handle("GET /v1/alerts", http.HandlerFunc(a.list))
	s.Handle("GET /v1/silences", http.HandlerFunc(a.silences))
	s.Handle("POST /v1/silences", http.HandlerFunc(a.silence))
	s.Handle("DELETE /v1/silences/{id}", http.HandlerFunc(a.expire))
	s.Handle("GET /v1/alerting", http.HandlerFunc(a.defs))
	s.Handle("DELETE /v1/alerting/{kind}/{name}", http.HandlerFunc(a.deleteDef))
	s.Handle("POST /v1/receivers/{name}/test", http.HandlerFunc(a.test))
}

func (a *alertsAPI) kv(w http.ResponseWriter, ctx context.Context) (jetstream.KeyValue, bool) {
	return a.h.kv(w, ctx, bus.BucketAlerts)
}

// list reads the alerts from the rules' checkpoints in KV, so any server
// answers, not only the leader that evaluates them.
func (a *alertsAPI) list(w http.ResponseWriter, r *http.Request) {
	kv, ok := a.kv(w, r.Context())
	if !ok {
		return
	}
	snaps, err := runner.Snapshots(r.Context(), kv)
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	sils, err := runner.Silences(r.Context(), kv)
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	now := a.o.Now()
	out := []AlertView{}
	for _, snap := range snaps {
		for _, s := range snap.Series {
			if s.State == alerts.OK {
				continue
			}
			labels := maps.Clone(s.Tags)
			if labels == nil {
				labels = map[string]string{}
			}
			labels[alerts.LabelAlertName] = snap.Rule
			v := AlertView{Rule: snap.Rule, State: s.State.String(), Since: s.Since, Value: s.Value, Labels: labels}
			for _, si := range sils {
				if si.Active(now) && alerts.MatchAll(si.Matchers, labels) {
					v.Silenced = append(v.Silenced, si.ID)
				}
			}
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(x, y AlertView) int {
		if c := strings.Compare(y.State, x.State); c != 0 { // CRITICAL before WARNING
			return c
		}
		return strings.Compare(x.Rule, y.Rule)
	})
	httpd.WriteJSON(w, http.StatusOK, out)
}

func silenceView(s alerts.Silence, now time.Time) SilenceView {
	v := SilenceView{ID: s.ID, StartsAt: s.StartsAt, EndsAt: s.EndsAt, CreatedBy: s.CreatedBy, Comment: s.Comment, Matchers: []string{}}
	for _, m := range s.Matchers {
		v.Matchers = append(v.Matchers, m.String())
	}
	switch {
	case s.Expired(now):
		v.State = "expired"
	case s.Active(now):
		v.State = "active"
	default:
		v.State = "pending"
	}
	return v
}

func (a *alertsAPI) silences(w http.ResponseWriter, r *http.Request) {
	kv, ok := a.kv(w, r.Context())
	if !ok {
		return
	}
	sils, err := runner.Silences(r.Context(), kv)
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	now := a.o.Now()
	out := []SilenceView{}
	for _, s := range sils {
		out = append(out, silenceView(s, now))
	}
	httpd.WriteJSON(w, http.StatusOK, out)
}

func (a *alertsAPI) silence(w http.ResponseWriter, r *http.Request) {
	var req SilenceRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		httpd.WriteError(w, http.StatusBadRequest, "silence: body is not JSON: "+err.Error())
		return
	}
	if len(req.Matchers) == 0 {
		httpd.WriteError(w, http.StatusBadRequest, "silence: no matchers: give at least one, e.g. --match alertname=node-lost")
		return
	}
	if req.Duration <= 0 {
		httpd.WriteError(w, http.StatusBadRequest, "silence: the duration must be positive, e.g. --for 2h")
		return
	}
	ms, err := spec.Matchers(req.Matchers).Parse()
	if err != nil {
		httpd.WriteError(w, http.StatusBadRequest, "silence: "+err.Error())
		return
	}
	kv, ok := a.kv(w, r.Context())
	if !ok {
		return
	}
	now := a.o.Now().UTC()
	var id [8]byte
	_, _ = rand.Read(id[:])
	s := alerts.Silence{ID: hex.EncodeToString(id[:]), Matchers: ms, StartsAt: now, EndsAt: now.Add(req.Duration), Comment: req.Comment, CreatedBy: req.CreatedBy}
	if err := runner.PutSilence(r.Context(), kv, s); err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, silenceView(s, now))
}

func (a *alertsAPI) expire(w http.ResponseWriter, r *http.Request) {
	kv, ok := a.kv(w, r.Context())
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := runner.ExpireSilence(r.Context(), kv, id, a.o.Now().UTC()); err != nil {
		status := http.StatusServiceUnavailable
		if strings.Contains(err.Error(), "no silence") {
			status = http.StatusNotFound
			err = fmt.Errorf("no silence %s: list them with 'swell alerts silences'", id)
		}
		httpd.WriteError(w, status, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *alertsAPI) defs(w http.ResponseWriter, r *http.Request) {
	kv, ok := a.kv(w, r.Context())
	if !ok {
		return
	}
	d, err := runner.LoadDefs(r.Context(), kv)
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	out := AlertDefsView{Rules: d.Rules, Routes: []spec.Route{}, Receivers: []spec.Receiver{}, Builtin: []string{}}
	if out.Rules == nil {
		out.Rules = []spec.AlertRule{}
	}
	applied := map[string]bool{}
	for _, r := range d.Rules {
		applied[r.Name] = true
	}
	for _, b := range alerts.Builtin(alerts.DefaultBuiltinOptions()) {
		if !applied[b.Name] {
			out.Builtin = append(out.Builtin, b.Name)
		}
	}
	for _, sr := range d.Routes {
		out.Routes = append(out.Routes, sr.Route)
	}
	for i := range d.Receivers {
		out.Receivers = append(out.Receivers, d.Receivers[i].Redacted())
	}
	httpd.WriteJSON(w, http.StatusOK, out)
}

// kinds maps the kinds `swell delete` accepts to stored definition kinds.
var defKinds = map[string]string{
	"rule": runner.DefRule, "alertrule": runner.DefRule,
	"route": runner.DefRoute, "receiver": runner.DefReceiver,
}

func (a *alertsAPI) deleteDef(w http.ResponseWriter, r *http.Request) {
	kind, ok := defKinds[strings.ToLower(r.PathValue("kind"))]
	if !ok {
		httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("unknown kind %q: want rule, route or receiver", r.PathValue("kind")))
		return
	}
	kv, ok := a.kv(w, r.Context())
	if !ok {
		return
	}
	name := r.PathValue("name")
	found, err := runner.DeleteDef(r.Context(), kv, kind, name)
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if !found {
		httpd.WriteError(w, http.StatusNotFound, fmt.Sprintf("no %s %s: list them with 'swell get %ss'", kind, name, kind))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// test builds a stored receiver in this process and sends it a test
// notification, reporting what the provider answered.
func (a *alertsAPI) test(w http.ResponseWriter, r *http.Request) {
	kv, ok := a.kv(w, r.Context())
	if !ok {
		return
	}
	name := r.PathValue("name")
	d, err := runner.LoadDefs(r.Context(), kv)
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	i := slices.IndexFunc(d.Receivers, func(x spec.Receiver) bool { return x.Name == name })
	if i < 0 {
		httpd.WriteError(w, http.StatusNotFound, fmt.Sprintf("no receiver %s: apply a kind: Receiver document named %s first", name, name))
		return
	}
	recv := d.Receivers[i]
	res := TestResult{Receiver: name, Type: recv.Type}
	n, err := recv.Build()
	if err != nil {
		res.Error = err.Error()
		httpd.WriteJSON(w, http.StatusUnprocessableEntity, res)
		return
	}
	now := a.o.Now().UTC()
	alert := notify.Alert{
		Status:      notify.StatusFiring,
		Labels:      map[string]string{alerts.LabelAlertName: "swell-test", "receiver": name},
		Annotations: map[string]string{"summary": "swell test notification", "description": "A test sent by 'swell alerts test " + name + "'; nothing is wrong."},
		StartsAt:    now, Fingerprint: "test", Severity: notify.SeverityWarning,
	}
	note := notify.NewNotification(name, "{}:{alertname=\"swell-test\"}", map[string]string{alerts.LabelAlertName: "swell-test"}, []notify.Alert{alert})
	var mu sync.Mutex
	ctx := notify.WithAnswer(r.Context(), func(resp notify.Response) {
		mu.Lock()
		defer mu.Unlock()
		res.Status = resp.Status
		res.Answer = strings.TrimSpace(string(resp.Body[:min(len(resp.Body), 2048)]))
	})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = n.Notify(ctx, note)
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		res.Error = err.Error()
		httpd.WriteJSON(w, http.StatusBadGateway, res)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, res)
}
