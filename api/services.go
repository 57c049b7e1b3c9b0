package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/alerts/runner"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/scheduler"
	"github.com/swell-pipeline/swell/scheduler/controller"
	"github.com/swell-pipeline/swell/spec"
)

// MaxApplyBytes bounds the body of POST /v1/apply.
const MaxApplyBytes = 4 << 20

// ServicesOptions configures the service routes.
type ServicesOptions struct {
	// JS returns the JetStream context once the server has connected.
	JS func() (jetstream.JetStream, error)
	// NodeTimeout must be the scheduler's, so counts and explanations
	// agree with its decisions (default controller.DefaultNodeTimeout).
	NodeTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// ApplyResult says what apply did with one document.
type ApplyResult struct {
	// Kind is the document's kind (Service, AlertRule, Receiver, Route).
	Kind string `json:"kind"`
	// ID is the service id, or the name of an alert document.
	ID string `json:"id"`
	// Action is created, updated or unchanged.
	Action  string `json:"action"`
	Version string `json:"version"`
	// Rollout is true when the update replaces the running instances.
	Rollout bool `json:"rollout,omitempty"`
}

// ApplyErrorBody is the 400 answer of POST /v1/apply: Error is the text
// to show, File and Problems the same as a *spec.Error.
type ApplyErrorBody struct {
	Error    string         `json:"error"`
	File     string         `json:"file"`
	Problems []spec.Problem `json:"problems"`
}

// ServiceView is a service as GET /v1/services returns it.
type ServiceView struct {
	state.ServiceRecord
	// Desired is the instance count wanted; Running and Healthy count the
	// instances reported so (any version).
	Desired int `json:"desired"`
	Running int `json:"running"`
	Healthy int `json:"healthy"`
	// Invalid says why the scheduler cannot place the service, if so.
	Invalid string `json:"invalid,omitempty"`
}

// ScaleRequest is the body of POST /v1/services/{id}/scale.
type ScaleRequest struct {
	Instances *int `json:"instances"`
}

// ScaleResult is its answer.
type ScaleResult struct {
	ID   string `json:"id"`
	From int    `json:"from"`
	To   int    `json:"to"`
}

// CordonResult is the answer of drain and uncordon.
type CordonResult struct {
	Node     string `json:"node"`
	Cordoned bool   `json:"cordoned"`
	// Changed is false when the node already was as asked.
	Changed bool `json:"changed"`
	// Instances are the node's active instances (to be moved off, when
	// draining).
	Instances int `json:"instances"`
}

// ExplainView says where a service stands and why instances wait.
type ExplainView struct {
	ID       string `json:"id"`
	Desired  int    `json:"desired"`
	Active   int    `json:"active"`
	Running  int    `json:"running"`
	Healthy  int    `json:"healthy"`
	Nodes    int    `json:"nodes"`
	Ready    int    `json:"ready"`
	Draining int    `json:"draining"`
	// Fit says whether one more instance would fit, and why nodes refuse
	// it: "0/3 nodes fit: 2 insufficient memory, 1 constraint hostname UNIQUE".
	Fit string `json:"fit"`
	// Pending is why instances could not be placed; Waiting why a change
	// is held back (dependencies, surplus); both empty when all is placed.
	Pending string `json:"pending,omitempty"`
	Waiting string `json:"waiting,omitempty"`
	Invalid string `json:"invalid,omitempty"`
	// Autoscale is the policy in words and LastScale the latest scale
	// event (the autoscaler's decision, or swell scale), when there are.
	Autoscale string        `json:"autoscale,omitempty"`
	LastScale *events.Event `json:"lastScale,omitempty"`
}

// RolloutView is a service's rollout progress. Old instances are those to
// be replaced: another version, or on a draining node.
type RolloutView struct {
	ID          string `json:"id"`
	Version     string `json:"version"`
	Instances   int    `json:"instances"`
	Old         int    `json:"old"`
	OldHealthy  int    `json:"oldHealthy"`
	New         int    `json:"new"`
	NewHealthy  int    `json:"newHealthy"`
	Stopping    int    `json:"stopping"`
	MinHealthy  int    `json:"minHealthy"`
	MaxCapacity int    `json:"maxCapacity"`
	Done        bool   `json:"done"`
	Waiting     string `json:"waiting,omitempty"`
	Pending     string `json:"pending,omitempty"`
	// Strategy is bluegreen or canary during such a rollout ("" for a
	// rolling upgrade); Phase, From, Weight and SwitchedAt are its state.
	Strategy   string    `json:"strategy,omitempty"`
	Phase      string    `json:"phase,omitempty"`
	From       string    `json:"from,omitempty"`
	Weight     int       `json:"weight,omitempty"`
	SwitchedAt time.Time `json:"switchedAt,omitzero"`
}

type services struct {
	o ServicesOptions
}

// RegisterServices adds the routes that change and explain services and
// nodes: POST /v1/apply, GET/DELETE /v1/services/{id}, POST
// /v1/services/{id}/scale, GET /v1/services/{id}/explain and /rollout, POST
// /v1/nodes/{name}/drain and /uncordon.
func RegisterServices(s *httpd.Server, o ServicesOptions) {
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = controller.DefaultNodeTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &services{o: o}
	s.Handle("POST /v1/apply", http.HandlerFunc(h.apply))
	s.Handle("GET /v1/services", http.HandlerFunc(h.list))
	// ServeMux cannot match a suffix after {id...}, so the verbs that act
	// on one service are told apart by their last segment.
	s.Handle("GET /v1/services/{id...}", http.HandlerFunc(h.getOne))
	s.Handle("POST /v1/services/{id...}", http.HandlerFunc(h.postOne))
	s.Handle("DELETE /v1/services/{id...}", http.HandlerFunc(h.deleteOne))
	s.Handle("POST /v1/nodes/{name}/drain", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.cordon(w, r, true) }))
	s.Handle("POST /v1/nodes/{name}/uncordon", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.cordon(w, r, false) }))
}

// kv opens a state bucket, answering 503 when it cannot.
func (h *services) kv(w http.ResponseWriter, ctx context.Context, bucket string) (jetstream.KeyValue, bool) {
	js, err := h.o.JS()
	if err == nil {
		var kv jetstream.KeyValue
		if kv, err = js.KeyValue(ctx, bucket); err == nil {
			return kv, true
		}
	}
	httpd.WriteError(w, http.StatusServiceUnavailable, fmt.Sprintf("cannot open %s: %v (is NATS up? see the server's log)", bucket, err))
	return nil, false
}

func (h *services) apply(w http.ResponseWriter, r *http.Request) {
	file := r.URL.Query().Get("file")
	if file == "" {
		file = "request"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxApplyBytes+1))
	if err != nil {
		httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("read %s: %v", file, err))
		return
	}
	if len(body) > MaxApplyBytes {
		httpd.WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s is larger than %d MiB: split it into several files", file, MaxApplyBytes>>20))
		return
	}
	docs, err := spec.Load(file, body)
	var se *spec.Error
	if errors.As(err, &se) {
		httpd.WriteJSON(w, http.StatusBadRequest, ApplyErrorBody{Error: se.Error(), File: se.File, Problems: se.Problems})
		return
	}
	if err != nil {
		httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("%s: %v", file, err))
		return
	}
	if len(docs) == 0 {
		httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("%s holds no documents", file))
		return
	}
	var svcDocs, alertDocs []spec.Document
	for _, d := range docs {
		if d.Service != nil {
			svcDocs = append(svcDocs, d)
		} else {
			alertDocs = append(alertDocs, d)
		}
	}
	// Everything is checked before anything is stored, so a file is
	// applied whole or not at all.
	kv, ok := h.kv(w, r.Context(), bus.BucketServices)
	if !ok {
		return
	}
	stored, err := state.Services(r.Context(), kv)
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, "cannot read the stored services: "+err.Error())
		return
	}
	var akv jetstream.KeyValue
	if len(alertDocs) > 0 {
		if akv, ok = h.kv(w, r.Context(), bus.BucketAlerts); !ok {
			return
		}
	}
	p := crossCheck(svcDocs, stored)
	if p == nil && len(alertDocs) > 0 {
		defs, err := runner.LoadDefs(r.Context(), akv)
		if err != nil {
			httpd.WriteError(w, http.StatusServiceUnavailable, "cannot read the stored alert definitions: "+err.Error())
			return
		}
		p = checkReceivers(alertDocs, defs.Names(runner.DefReceiver))
	}
	if p != nil {
		httpd.WriteJSON(w, http.StatusBadRequest, ApplyErrorBody{Error: (&spec.Error{File: file, Problems: []spec.Problem{*p}}).Error(), File: file, Problems: []spec.Problem{*p}})
		return
	}
	results, ok := h.applyServices(w, r, file, kv, svcDocs)
	if !ok {
		return
	}
	if len(alertDocs) > 0 {
		actions, err := runner.StoreDefs(r.Context(), akv, alertDocs, h.o.Now().UnixNano())
		for i, a := range actions {
			results = append(results, ApplyResult{Kind: alertDocs[i].Kind, ID: docName(alertDocs[i]), Action: a})
		}
		if err != nil {
			httpd.WriteError(w, http.StatusServiceUnavailable, fmt.Sprintf("%v (applied so far: %s)", err, applied(results)))
			return
		}
	}
	httpd.WriteJSON(w, http.StatusOK, results)
}

// docName is the name of an alert document.
func docName(d spec.Document) string {
	switch {
	case d.AlertRule != nil:
		return d.AlertRule.Name
	case d.Route != nil:
		return d.Route.Name
	case d.Receiver != nil:
		return d.Receiver.Name
	}
	return ""
}

// checkReceivers finds a rule or route naming a receiver that is neither in
// the file nor stored.
func checkReceivers(docs []spec.Document, stored []string) *spec.Problem {
	known := map[string]bool{}
	for _, n := range stored {
		known[n] = true
	}
	for _, d := range docs {
		if d.Receiver != nil {
			known[d.Receiver.Name] = true
		}
	}
	for _, d := range docs {
		var names []string
		field := ""
		switch {
		case d.AlertRule != nil:
			names, field = d.AlertRule.Notify, "notify"
		case d.Route != nil:
			names, field = d.Route.Receivers, "receivers"
		}
		for _, n := range names {
			if !known[n] {
				return &spec.Problem{Line: d.Line, Field: field, Msg: fmt.Sprintf("receiver %q is not defined: apply a kind: Receiver named %s first, or in the same file", n, n)}
			}
		}
	}
	return nil
}

// applyServices stores the services of an applied file; on failure it has
// written the error.
func (h *services) applyServices(w http.ResponseWriter, r *http.Request, file string, kv jetstream.KeyValue, docs []spec.Document) ([]ApplyResult, bool) {
	now := h.o.Now().UTC()
	var results []ApplyResult
	for _, d := range docs {
		s := *d.Service
		res := ApplyResult{Kind: spec.KindService, ID: s.ID, Version: state.SpecVersion(s)}
		old, rev, err := state.GetService(r.Context(), kv, s.ID)
		if err == nil && old.Rollout != nil && !sameSpec(old.Spec, s) {
			httpd.WriteError(w, http.StatusConflict, fmt.Sprintf("service %s is in a %s rollout to version %s: swell rollout promote or abort it before applying changes (applied so far: %s)", s.ID, old.Rollout.Strategy, old.Rollout.To, applied(results)))
			return nil, false
		}
		if err == nil && old.Spec.Autoscale != nil && s.Autoscale != nil {
			// The autoscaler owns an autoscaled service's count: an apply
			// keeps it, within the new bounds.
			s.Instances = min(max(old.Spec.Instances, s.Autoscale.Min), s.Autoscale.Max)
		}
		rec := state.ServiceRecord{Spec: s, Version: res.Version, CreatedAt: now, UpdatedAt: now}
		switch {
		case errors.Is(err, state.ErrNotFound):
			res.Action = "created"
		case err != nil:
			httpd.WriteError(w, http.StatusServiceUnavailable, fmt.Sprintf("cannot read service %s: %v (applied so far: %s)", s.ID, err, applied(results)))
			return nil, false
		case sameSpec(old.Spec, s):
			res.Action = "unchanged"
			results = append(results, res)
			continue
		default:
			res.Action, res.Rollout = "updated", old.Version != res.Version
			rec.CreatedAt = old.CreatedAt
			if !res.Rollout {
				// A traffic split names versions; it holds while they do.
				rec.Traffic = old.Traffic
			}
		}
		if err := state.PutService(r.Context(), kv, rec, rev); err != nil {
			status := http.StatusServiceUnavailable
			if errors.Is(err, jetstream.ErrKeyExists) || strings.Contains(err.Error(), "wrong last sequence") {
				status = http.StatusConflict
			}
			httpd.WriteError(w, status, fmt.Sprintf("service %s changed while it was applied: apply %s again (applied so far: %s): %v", s.ID, file, applied(results), err))
			return nil, false
		}
		results = append(results, res)
	}
	return results, true
}

func applied(rs []ApplyResult) string {
	if len(rs) == 0 {
		return "none"
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return strings.Join(ids, ", ")
}

func sameSpec(a, b spec.Service) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// crossCheck runs the checks that span files over the stored services with
// the applied ones in place of their stored copies, and puts the problem
// at the line of the applied document involved.
func crossCheck(docs []spec.Document, stored []state.ServiceRecord) *spec.Problem {
	line := map[string]int{}
	var all []spec.Service
	for _, d := range docs {
		line[d.Service.ID] = d.Line
		all = append(all, *d.Service)
	}
	for _, r := range stored {
		if _, replaced := line[r.Spec.ID]; !replaced {
			all = append(all, r.Spec)
		}
	}
	at := func(ids ...string) int {
		for _, id := range ids {
			if l, ok := line[id]; ok {
				return l
			}
		}
		return 1
	}
	var ce *spec.CycleError
	if err := spec.CheckDependencies(all); errors.As(err, &ce) {
		return &spec.Problem{Line: at(ce.Cycle...), Field: "dependencies", Msg: err.Error() + " (with the stored services)"}
	}
	var pe *spec.PortConflictError
	if err := spec.CheckServicePorts(all); errors.As(err, &pe) {
		return &spec.Problem{Line: at(pe.Services[1], pe.Services[0]), Field: "portMappings", Msg: err.Error() + " (with the stored services)"}
	}
	return nil
}

// serviceID turns the {id...} wildcard into a service id and the verb
// after it (scale, explain, rollout, or "").
func serviceID(r *http.Request, verbs ...string) (id, verb string) {
	p := strings.Trim(r.PathValue("id"), "/")
	for _, v := range verbs {
		if rest, ok := strings.CutSuffix(p, "/"+v); ok {
			p, verb = rest, v
			break
		}
	}
	return "/" + p, verb
}

// view reads the cluster and derives what the scheduler sees.
func (h *services) view(w http.ResponseWriter, ctx context.Context) (*controller.View, bool) {
	js, err := h.o.JS()
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return nil, false
	}
	in, err := ReadCluster(ctx, js)
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, "cannot read the cluster state: "+err.Error())
		return nil, false
	}
	in.Now, in.NodeTimeout = h.o.Now(), h.o.NodeTimeout
	return controller.Build(in), true
}

// ReadCluster reads the state buckets into a controller.Input (without
// Now and NodeTimeout).
func ReadCluster(ctx context.Context, js jetstream.JetStream) (controller.Input, error) {
	var in controller.Input
	open := func(b string) (jetstream.KeyValue, error) { return js.KeyValue(ctx, b) }
	kv, err := open(bus.BucketServices)
	if err == nil {
		in.Services, err = state.Services(ctx, kv)
	}
	if err == nil {
		if kv, err = open(bus.BucketNodes); err == nil {
			if in.Nodes, err = state.Nodes(ctx, kv); err == nil {
				in.Cordons, err = state.Cordons(ctx, kv)
			}
		}
	}
	if err == nil {
		if kv, err = open(bus.BucketPlacements); err == nil {
			in.Placements, err = state.Placements(ctx, kv)
		}
	}
	if err == nil {
		if kv, err = open(bus.BucketInstances); err == nil {
			in.Instances, err = state.Instances(ctx, kv)
		}
	}
	return in, err
}

func (h *services) list(w http.ResponseWriter, r *http.Request) {
	v, ok := h.view(w, r.Context())
	if !ok {
		return
	}
	out := []ServiceView{}
	for _, rec := range h.records(v) {
		out = append(out, serviceView(v, rec))
	}
	httpd.WriteJSON(w, http.StatusOK, out)
}

// records are the stored services, valid or not, sorted by id.
func (h *services) records(v *controller.View) []state.ServiceRecord {
	var out []state.ServiceRecord
	for _, rec := range v.Records {
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b state.ServiceRecord) int { return strings.Compare(a.Spec.ID, b.Spec.ID) })
	return out
}

func serviceView(v *controller.View, rec state.ServiceRecord) ServiceView {
	sv := ServiceView{ServiceRecord: rec, Desired: rec.Spec.Instances, Invalid: v.Invalid[rec.Spec.ID]}
	for _, in := range v.Instances {
		if in.Service != rec.Spec.ID || in.State != scheduler.StateRunning {
			continue
		}
		sv.Running++
		if in.Healthy {
			sv.Healthy++
		}
	}
	return sv
}

func notFound(w http.ResponseWriter, id string) {
	httpd.WriteError(w, http.StatusNotFound, fmt.Sprintf("service %s not found (see swell get services)", id))
}

func (h *services) getOne(w http.ResponseWriter, r *http.Request) {
	id, verb := serviceID(r, "explain", "rollout")
	v, ok := h.view(w, r.Context())
	if !ok {
		return
	}
	rec, ok := v.Records[id]
	if !ok {
		notFound(w, id)
		return
	}
	switch verb {
	case "explain":
		e := explain(v, rec, h.o.Now())
		if js, err := h.o.JS(); err == nil {
			if evs, err := events.List(r.Context(), js, events.Filter{Type: events.Scale, Service: id, Limit: 1}); err == nil && len(evs) > 0 {
				e.LastScale = &evs[len(evs)-1]
			}
		}
		httpd.WriteJSON(w, http.StatusOK, e)
	case "rollout":
		httpd.WriteJSON(w, http.StatusOK, rollout(v, rec, h.o.Now()))
	default:
		httpd.WriteJSON(w, http.StatusOK, serviceView(v, rec))
	}
}

func requirement(v *controller.View, id string) (scheduler.ServiceReq, bool) {
	for _, s := range v.Services {
		if s.ID == id {
			return s, true
		}
	}
	return scheduler.ServiceReq{}, false
}

// AutoscaleText is a policy in a few words: "concurrency 10 per instance
// at 70%, 2–40 instances"; "" without one.
func AutoscaleText(a *spec.Autoscale) string {
	if a == nil {
		return ""
	}
	t := fmt.Sprintf("%s %g per instance at %g%%, %d–%d instances", a.Metric, a.Target, a.TargetUtilization*100, a.Min, a.Max)
	if a.ScaleToZero.Enabled {
		t += fmt.Sprintf(", to zero after %s idle", a.ScaleToZero.Grace)
	}
	return t
}

func explain(v *controller.View, rec state.ServiceRecord, now time.Time) ExplainView {
	id := rec.Spec.ID
	sv := serviceView(v, rec)
	e := ExplainView{ID: id, Desired: sv.Desired, Running: sv.Running, Healthy: sv.Healthy, Nodes: len(v.Nodes), Invalid: v.Invalid[id],
		Autoscale: AutoscaleText(rec.Spec.Autoscale)}
	for _, n := range v.Nodes {
		if n.Ready {
			e.Ready++
		}
		if n.Draining {
			e.Draining++
		}
	}
	for _, in := range v.Instances {
		if in.Service == id && in.State.Active() {
			e.Active++
		}
	}
	req, ok := requirement(v, id)
	if !ok {
		return e
	}
	snap := v.Snapshot()
	e.Fit = scheduler.Explain(snap, req)
	plan := scheduler.Reconcile(snap, v.Services, now)
	e.Pending, e.Waiting = plan.Pending[id], plan.Waiting[id]
	return e
}

func rollout(v *controller.View, rec state.ServiceRecord, now time.Time) RolloutView {
	id := rec.Spec.ID
	us := rec.Spec.UpgradeStrategy
	lim := scheduler.Limits(rec.Spec.Instances, us.MinimumHealthCapacity, us.MaximumOverCapacity)
	rv := RolloutView{ID: id, Version: rec.Version, Instances: rec.Spec.Instances, MinHealthy: lim.MinHealthy, MaxCapacity: lim.MaxCapacity}
	draining := map[string]bool{}
	for _, n := range v.Nodes {
		draining[n.Name] = n.Draining
	}
	for _, in := range v.Instances {
		if in.Service != id {
			continue
		}
		if in.State == scheduler.StateStopping {
			rv.Stopping++
			continue
		}
		if !in.State.Active() {
			continue
		}
		healthy := in.State == scheduler.StateRunning && in.Healthy
		if in.Version != rec.Version || draining[in.Node] {
			rv.Old++
			if healthy {
				rv.OldHealthy++
			}
		} else {
			rv.New++
			if healthy {
				rv.NewHealthy++
			}
		}
	}
	rv.Done = rv.Old == 0 && rv.NewHealthy >= rv.Instances && rv.Stopping == 0 && rec.Rollout == nil
	if ro := rec.Rollout; ro != nil {
		rv.Strategy, rv.Phase, rv.From, rv.Weight, rv.SwitchedAt = ro.Strategy, ro.Phase, ro.From, ro.Weight, ro.SwitchedAt
	}
	if _, ok := requirement(v, id); ok {
		plan := scheduler.Reconcile(v.Snapshot(), v.Services, now)
		rv.Waiting, rv.Pending = plan.Waiting[id], plan.Pending[id]
	}
	return rv
}

func (h *services) postOne(w http.ResponseWriter, r *http.Request) {
	id, verb := serviceID(r, "scale", "rollout", "promote", "abort")
	switch verb {
	case "scale":
	case "rollout":
		h.startRollout(w, r, id)
		return
	case "promote", "abort":
		h.endRollout(w, r, id, verb)
		return
	default:
		httpd.WriteError(w, http.StatusNotFound, fmt.Sprintf("POST %s: unknown action (want /v1/services/<id>/scale, /rollout, /promote or /abort)", r.URL.Path))
		return
	}
	var req ScaleRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Instances == nil {
		httpd.WriteError(w, http.StatusBadRequest, `scale: want a JSON body {"instances": N}`)
		return
	}
	n := *req.Instances
	if n < 0 || n > 100000 {
		httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("scale: instances %d: want 0 to 100000", n))
		return
	}
	kv, ok := h.kv(w, r.Context(), bus.BucketServices)
	if !ok {
		return
	}
	rec, rev, err := state.GetService(r.Context(), kv, id)
	if errors.Is(err, state.ErrNotFound) {
		notFound(w, id)
		return
	}
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	res := ScaleResult{ID: id, From: rec.Spec.Instances, To: n}
	if a := rec.Spec.Autoscale; a != nil {
		// The autoscaler writes its own count back within a tick.
		httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("scale: %s is autoscaled between %d and %d, and the autoscaler sets its count: change autoscale.min/max with swell apply instead", id, a.Min, a.Max))
		return
	}
	if res.From != n {
		rec.Spec.Instances, rec.UpdatedAt = n, h.o.Now().UTC()
		if err := state.PutService(r.Context(), kv, rec, rev); err != nil {
			httpd.WriteError(w, http.StatusConflict, fmt.Sprintf("service %s changed meanwhile: scale again (%v)", id, err))
			return
		}
		h.event(r.Context(), events.Event{Type: events.Scale, Service: id, From: fmt.Sprint(res.From), To: fmt.Sprint(n), Reason: "swell scale"})
	}
	httpd.WriteJSON(w, http.StatusOK, res)
}

func (h *services) deleteOne(w http.ResponseWriter, r *http.Request) {
	id, _ := serviceID(r)
	kv, ok := h.kv(w, r.Context(), bus.BucketServices)
	if !ok {
		return
	}
	if _, _, err := state.GetService(r.Context(), kv, id); errors.Is(err, state.ErrNotFound) {
		notFound(w, id)
		return
	} else if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if err := kv.Delete(r.Context(), state.ServiceKey(id)); err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, fmt.Sprintf("delete service %s: %v", id, err))
		return
	}
	h.event(r.Context(), events.Event{Type: events.Deploy, Service: id, To: "deleted", Reason: "swell delete service: its instances stop"})
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
}

func (h *services) cordon(w http.ResponseWriter, r *http.Request, on bool) {
	name := r.PathValue("name")
	v, ok := h.view(w, r.Context())
	if !ok {
		return
	}
	var names []string
	found := false
	for _, n := range v.Nodes {
		names = append(names, n.Name)
		found = found || n.Name == name
	}
	if !found {
		httpd.WriteError(w, http.StatusNotFound, fmt.Sprintf("node %q is not registered (known: %s)", name, strings.Join(names, ", ")))
		return
	}
	kv, ok := h.kv(w, r.Context(), bus.BucketNodes)
	if !ok {
		return
	}
	res := CordonResult{Node: name, Cordoned: on}
	for _, in := range v.Instances {
		if in.Node == name && in.State.Active() {
			res.Instances++
		}
	}
	if on {
		was := false
		for _, n := range v.Nodes {
			was = was || (n.Name == name && n.Draining)
		}
		res.Changed = !was
		if !was {
			if err := state.PutCordon(r.Context(), kv, state.Cordon{Node: name, Reason: "swell drain", At: h.o.Now().UTC()}); err != nil {
				httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
				return
			}
			h.event(r.Context(), events.Event{Type: events.Node, Node: name, From: "ready", To: "draining",
				Reason: fmt.Sprintf("swell drain: %d instances move to other nodes", res.Instances)})
		}
	} else {
		was, err := state.DeleteCordon(r.Context(), kv, name)
		if err != nil {
			httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		res.Changed = was
		if was {
			h.event(r.Context(), events.Event{Type: events.Node, Node: name, From: "draining", To: "ready", Reason: "swell uncordon: the node takes new instances"})
		}
	}
	httpd.WriteJSON(w, http.StatusOK, res)
}

// event publishes a person's change; the change stands even when the
// event cannot be stored.
func (h *services) event(ctx context.Context, e events.Event) {
	js, err := h.o.JS()
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, _ = events.NewPublisher(js, h.o.Now).Publish(pctx, e)
}
