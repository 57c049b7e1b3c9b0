package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/spec"
)

// Defaults of a blue/green or canary rollout.
const (
	DefaultSoak         = 30 * time.Second
	DefaultCanaryWeight = 10
)

// startRollout begins a blue/green or canary rollout of the service to the
// spec in the body (POST /v1/services/{id}/rollout?strategy=…&weight=…&soak=…).
func (h *services) startRollout(w http.ResponseWriter, r *http.Request, id string) {
	q := r.URL.Query()
	strategy := q.Get("strategy")
	ro := state.Rollout{Strategy: strategy, StartedAt: h.o.Now().UTC()}
	switch strategy {
	case state.StrategyBlueGreen:
		ro.Phase, ro.Soak = state.PhaseStarting, spec.Duration(DefaultSoak)
		if v := q.Get("soak"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > 24*time.Hour {
				httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("rollout: soak %q: want a duration from 0s to 24h, e.g. 30s", v))
				return
			}
			ro.Soak = spec.Duration(d)
		}
	case state.StrategyCanary:
		ro.Phase, ro.Weight = state.PhaseCanary, DefaultCanaryWeight
		if v := q.Get("weight"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 99 {
				httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("rollout: weight %q: want the percent of requests for the new version, 1 to 99", v))
				return
			}
			ro.Weight = n
		}
	default:
		httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("rollout: strategy %q: want bluegreen or canary (a plain 'swell apply' rolls out with the service's upgradeStrategy)", strategy))
		return
	}
	file := q.Get("file")
	if file == "" {
		file = "request"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxApplyBytes+1))
	if err != nil || len(body) > MaxApplyBytes {
		httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("rollout: read %s: want at most %d MiB", file, MaxApplyBytes>>20))
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
	if len(docs) != 1 || docs[0].Service == nil || docs[0].Service.ID != id {
		httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("rollout: %s must hold exactly one kind: Service document with id %s", file, id))
		return
	}
	kv, ok := h.kv(w, r.Context(), bus.BucketServices)
	if !ok {
		return
	}
	rec, rev, err := state.GetService(r.Context(), kv, id)
	if errors.Is(err, state.ErrNotFound) {
		httpd.WriteError(w, http.StatusNotFound, fmt.Sprintf("service %s not found: a blue/green or canary rollout replaces a running service; create it with swell apply first", id))
		return
	}
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if rec.Rollout != nil {
		httpd.WriteError(w, http.StatusConflict, fmt.Sprintf("service %s is in a %s rollout to version %s: swell rollout promote or abort it first", id, rec.Rollout.Strategy, rec.Rollout.To))
		return
	}
	stored, err := state.Services(r.Context(), kv)
	if err != nil {
		httpd.WriteError(w, http.StatusServiceUnavailable, "cannot read the stored services: "+err.Error())
		return
	}
	if p := crossCheck(docs, stored); p != nil {
		httpd.WriteJSON(w, http.StatusBadRequest, ApplyErrorBody{Error: (&spec.Error{File: file, Problems: []spec.Problem{*p}}).Error(), File: file, Problems: []spec.Problem{*p}})
		return
	}
	next := *docs[0].Service
	if rec.Spec.Autoscale != nil && next.Autoscale != nil {
		next.Instances = min(max(rec.Spec.Instances, next.Autoscale.Min), next.Autoscale.Max)
	}
	version := state.SpecVersion(next)
	if version == rec.Version {
		httpd.WriteError(w, http.StatusBadRequest, fmt.Sprintf("rollout: %s already runs version %s: nothing in %s changes its containers (use swell apply for other changes)", id, version, file))
		return
	}
	ro.From, ro.To, ro.FromSpec = rec.Version, version, rec.Spec
	traffic := map[string]int{ro.From: 1}
	if strategy == state.StrategyCanary {
		traffic = map[string]int{ro.From: 100 - ro.Weight, ro.To: ro.Weight}
	}
	out := state.ServiceRecord{Spec: next, Version: version, CreatedAt: rec.CreatedAt, UpdatedAt: h.o.Now().UTC(),
		Traffic: &state.Traffic{Weights: traffic}, Rollout: &ro}
	if err := state.PutService(r.Context(), kv, out, rev); err != nil {
		httpd.WriteError(w, http.StatusConflict, fmt.Sprintf("service %s changed meanwhile: start the rollout again (%v)", id, err))
		return
	}
	why := fmt.Sprintf("blue/green rollout to version %s started: its instances start beside the old ones; traffic switches when all are healthy, the old ones stop %s later", version, ro.Soak)
	if strategy == state.StrategyCanary {
		why = fmt.Sprintf("canary of version %s started with %d%% of the requests; swell rollout promote or abort decides", version, ro.Weight)
	}
	h.event(r.Context(), events.Event{Type: events.Deploy, Service: id, From: ro.From, To: ro.To, Reason: why})
	httpd.WriteJSON(w, http.StatusOK, RolloutView{ID: id, Version: version, Instances: next.Instances, Strategy: ro.Strategy, Phase: ro.Phase, From: ro.From, Weight: ro.Weight})
}

// endRollout promotes or aborts a rollout in progress.
func (h *services) endRollout(w http.ResponseWriter, r *http.Request, id, verb string) {
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
	ro := rec.Rollout
	if ro == nil {
		httpd.WriteError(w, http.StatusConflict, fmt.Sprintf("service %s has no blue/green or canary rollout in progress", id))
		return
	}
	var why string
	switch verb {
	case "promote":
		if ro.Strategy == state.StrategyBlueGreen && ro.Phase == state.PhaseStarting {
			httpd.WriteError(w, http.StatusConflict, fmt.Sprintf("blue/green rollout of %s: the new instances are not all healthy yet, so traffic has not switched; wait, or abort", id))
			return
		}
		why = fmt.Sprintf("%s rollout to version %s promoted: the new version takes every request and replaces the old instances", ro.Strategy, ro.To)
	default:
		rec.Spec, rec.Version = ro.FromSpec, ro.From
		why = fmt.Sprintf("%s rollout to version %s aborted: version %s takes every request again and the new instances stop", ro.Strategy, ro.To, ro.From)
	}
	rec.Rollout, rec.Traffic, rec.UpdatedAt = nil, nil, h.o.Now().UTC()
	if err := state.PutService(r.Context(), kv, rec, rev); err != nil {
		httpd.WriteError(w, http.StatusConflict, fmt.Sprintf("service %s changed meanwhile: %s again (%v)", id, verb, err))
		return
	}
	h.event(r.Context(), events.Event{Type: events.Deploy, Service: id, From: ro.From, To: ro.To, Reason: why})
	httpd.WriteJSON(w, http.StatusOK, RolloutView{ID: id, Version: rec.Version, Instances: rec.Spec.Instances})
}
