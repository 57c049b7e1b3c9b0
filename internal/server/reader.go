package server

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/state"
)

// Reader serves the API's read side from JetStream once Run has connected.
func (s *Server) Reader() api.StateReader { return reader{s} }

type reader struct{ s *Server }

var (
	_ api.StateReader  = reader{}
	_ api.CordonReader = reader{}
)

var errNotConnected = errors.New("the server is not connected to NATS yet")

func (r reader) js() (jetstream.JetStream, error) {
	js := r.s.js.Load()
	if js == nil {
		return nil, errNotConnected
	}
	return *js, nil
}

func (r reader) Nodes(ctx context.Context) ([]state.Node, error) {
	js, err := r.js()
	if err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, bus.BucketNodes)
	if err != nil {
		return nil, err
	}
	return state.Nodes(ctx, kv)
}

func (r reader) Instances(ctx context.Context) ([]state.Instance, error) {
	js, err := r.js()
	if err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, bus.BucketInstances)
	if err != nil {
		return nil, err
	}
	return state.Instances(ctx, kv)
}

func (r reader) Events(ctx context.Context, f events.Filter) ([]events.Event, error) {
	js, err := r.js()
	if err != nil {
		return nil, err
	}
	return events.List(ctx, js, f)
}

func (r reader) Cordons(ctx context.Context) (map[string]state.Cordon, error) {
	js, err := r.js()
	if err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, bus.BucketNodes)
	if err != nil {
		return nil, err
	}
	return state.Cordons(ctx, kv)
}
