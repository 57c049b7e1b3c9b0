package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/alerts"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/spec"
)

// Applied alert documents live in KV swell_alerts beside the runner's
// state, under def.<kind>.<name>. The leader's Supervisor watches them and
// runs the rules, routes and receivers they hold.
const (
	keyDefPrefix      = "def."
	keyDefRulePrefix  = keyDefPrefix + "rule."
	keyDefRoutePrefix = keyDefPrefix + "route."
	keyDefRecvPrefix  = keyDefPrefix + "receiver."
)

// Kinds of stored definitions, as `swell delete` names them.
const (
	DefRule     = "rule"
	DefRoute    = "route"
	DefReceiver = "receiver"
)

// DefKey is the KV key of a stored definition of kind (DefRule, DefRoute,
// DefReceiver).
func DefKey(kind, name string) string { return keyDefPrefix + kind + "." + escapeKey(name) }

// StoredRoute is a route with its place in the routing order: routes are
// tried in the order they were first applied.
type StoredRoute struct {
	Order int64      `json:"order"`
	Route spec.Route `json:"route"`
}

// Defs are the stored alert documents.
type Defs struct {
	Rules     []spec.AlertRule
	Routes    []StoredRoute
	Receivers []spec.Receiver
}

// Names lists the names of one kind.
func (d Defs) Names(kind string) []string {
	var out []string
	switch kind {
	case DefRule:
		for _, r := range d.Rules {
			out = append(out, r.Name)
		}
	case DefRoute:
		for _, r := range d.Routes {
			out = append(out, r.Route.Name)
		}
	case DefReceiver:
		for _, r := range d.Receivers {
			out = append(out, r.Name)
		}
	}
	return out
}

// LoadDefs reads every stored definition: rules and receivers by name,
// routes in routing order.
func LoadDefs(ctx context.Context, kv jetstream.KeyValue) (Defs, error) {
	var d Defs
	keys, err := kv.ListKeysFiltered(ctx, keyDefPrefix+">")
	if err != nil {
		return d, fmt.Errorf("alerts: list definitions in %s: %w", bus.BucketAlerts, err)
	}
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return d, fmt.Errorf("alerts: read %s: %w", k, err)
		}
		if err := d.add(k, e.Value()); err != nil {
			return d, err
		}
	}
	d.sort()
	return d, nil
}

func (d *Defs) add(key string, b []byte) error {
	var err error
	switch {
	case strings.HasPrefix(key, keyDefRulePrefix):
		var r spec.AlertRule
		if err = json.Unmarshal(b, &r); err == nil {
			d.Rules = append(d.Rules, r)
		}
	case strings.HasPrefix(key, keyDefRoutePrefix):
		var r StoredRoute
		if err = json.Unmarshal(b, &r); err == nil {
			d.Routes = append(d.Routes, r)
		}
	case strings.HasPrefix(key, keyDefRecvPrefix):
		var r spec.Receiver
		if err = json.Unmarshal(b, &r); err == nil {
			d.Receivers = append(d.Receivers, r)
		}
	}
	if err != nil {
		return fmt.Errorf("alerts: definition %s is not readable: %w", key, err)
	}
	return nil
}

func (d *Defs) sort() {
	slices.SortFunc(d.Rules, func(a, b spec.AlertRule) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(d.Routes, func(a, b StoredRoute) int {
		if a.Order != b.Order {
			return int(max(-1, min(1, a.Order-b.Order)))
		}
		return strings.Compare(a.Route.Name, b.Route.Name)
	})
	slices.SortFunc(d.Receivers, func(a, b spec.Receiver) int { return strings.Compare(a.Name, b.Name) })
}

// StoreDefs writes the alert documents of one applied file. A route that
// exists keeps its place in the order; new ones go after every stored one,
// in file order. It returns, per document, "created", "updated" or
// "unchanged".
func StoreDefs(ctx context.Context, kv jetstream.KeyValue, docs []spec.Document, order int64) ([]string, error) {
	var actions []string
	for i, doc := range docs {
		var (
			key string
			v   any
		)
		switch {
		case doc.AlertRule != nil:
			key, v = DefKey(DefRule, doc.AlertRule.Name), doc.AlertRule
		case doc.Receiver != nil:
			key, v = DefKey(DefReceiver, doc.Receiver.Name), doc.Receiver
		case doc.Route != nil:
			sr := StoredRoute{Order: order + int64(i), Route: *doc.Route}
			key = DefKey(DefRoute, doc.Route.Name)
			if e, err := kv.Get(ctx, key); err == nil {
				var old StoredRoute
				if json.Unmarshal(e.Value(), &old) == nil {
					sr.Order = old.Order
				}
			}
			v = sr
		default:
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return actions, fmt.Errorf("alerts: encode %s: %w", key, err)
		}
		action := "created"
		if e, err := kv.Get(ctx, key); err == nil {
			action = "updated"
			if string(e.Value()) == string(b) {
				actions = append(actions, "unchanged")
				continue
			}
		}
		if _, err := kv.Put(ctx, key, b); err != nil {
			return actions, fmt.Errorf("alerts: store %s in %s: %w", key, bus.BucketAlerts, err)
		}
		actions = append(actions, action)
	}
	return actions, nil
}

// DeleteDef removes a stored definition; it reports false when there was
// none.
func DeleteDef(ctx context.Context, kv jetstream.KeyValue, kind, name string) (bool, error) {
	key := DefKey(kind, name)
	if _, err := kv.Get(ctx, key); errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("alerts: read %s: %w", key, err)
	}
	if err := kv.Delete(ctx, key); err != nil {
		return false, fmt.Errorf("alerts: delete %s: %w", key, err)
	}
	return true, nil
}

// Config turns stored definitions into what a Runner runs: the built-in
// rules (a stored rule of the same name replaces one), the stored rules,
// routes in order, and the receivers built now — secrets resolved in this
// process. A receiver that cannot be built is reported in the returned
// errors and left out; the rest still runs.
func (d Defs) Config(builtin []alerts.Rule) (rules []alerts.Rule, routes []alerts.Route, recv []*spec.Receiver, errs []error) {
	user := map[string]bool{}
	for _, r := range d.Rules {
		ar, err := r.Rule()
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Name, err))
			continue
		}
		user[r.Name] = true
		rules = append(rules, ar)
	}
	for _, b := range builtin {
		if !user[b.Name] {
			rules = append(rules, b)
		}
	}
	for _, sr := range d.Routes {
		rt, err := sr.Route.AlertsRoute()
		if err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", sr.Route.Name, err))
			continue
		}
		routes = append(routes, rt)
	}
	for i := range d.Receivers {
		r := d.Receivers[i]
		recv = append(recv, &r)
	}
	return rules, routes, recv, errs
}
