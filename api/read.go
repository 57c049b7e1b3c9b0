package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/internal/httpd"
	"github.com/swell-pipeline/swell/internal/state"
)

// StateReader is what the read side of the API needs. The server implements
// it on JetStream; tests may use anything that follows the same contract.
type StateReader interface {
	Nodes(ctx context.Context) ([]state.Node, error)
	Instances(ctx context.Context) ([]state.Instance, error)
	Events(ctx context.Context, f events.Filter) ([]events.Event, error)
}

// NodeStatus is a node's status as the API reports it.
type NodeStatus string

// Node statuses: ready (heartbeating), lost (silent for the node timeout).
const (
	NodeReady NodeStatus = "ready"
	NodeLost  NodeStatus = "lost"
)

// NodeView is a node as GET /v1/nodes returns it.
type NodeView struct {
	state.Node
	Status NodeStatus `json:"status"`
	// Cordoned is true from swell drain until swell uncordon.
	Cordoned bool `json:"cordoned"`
}

// CordonReader is what a StateReader also implements when it can tell
// which nodes are cordoned.
type CordonReader interface {
	Cordons(ctx context.Context) (map[string]state.Cordon, error)
}

// ReadOptions configures the read routes.
type ReadOptions struct {
	// NodeTimeout is how long a node may be silent before it is lost (default 10s).
	NodeTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// RegisterRead adds GET /v1/nodes, /v1/instances and /v1/events.
func RegisterRead(s *httpd.Server, r StateReader, o ReadOptions) {
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s.Handle("GET /v1/nodes", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		nodes, err := r.Nodes(req.Context())
		if err != nil {
			httpd.WriteError(w, http.StatusServiceUnavailable, "cannot read nodes: "+err.Error())
			return
		}
		var cordons map[string]state.Cordon
		if cr, ok := r.(CordonReader); ok {
			if cordons, err = cr.Cordons(req.Context()); err != nil {
				httpd.WriteError(w, http.StatusServiceUnavailable, "cannot read cordons: "+err.Error())
				return
			}
		}
		now := o.Now()
		out := make([]NodeView, len(nodes))
		for i, n := range nodes {
			_, cordoned := cordons[n.Name]
			out[i] = NodeView{Node: n, Status: NodeLost, Cordoned: cordoned}
			if n.Alive(now, o.NodeTimeout) {
				out[i].Status = NodeReady
			}
		}
		httpd.WriteJSON(w, http.StatusOK, out)
	}))
	s.Handle("GET /v1/instances", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ins, err := r.Instances(req.Context())
		if err != nil {
			httpd.WriteError(w, http.StatusServiceUnavailable, "cannot read instances: "+err.Error())
			return
		}
		if ins == nil {
			ins = []state.Instance{}
		}
		httpd.WriteJSON(w, http.StatusOK, ins)
	}))
	s.Handle("GET /v1/events", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		f, err := eventFilter(req)
		if err != nil {
			httpd.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		evs, err := r.Events(req.Context(), f)
		if err != nil {
			httpd.WriteError(w, http.StatusServiceUnavailable, "cannot read events: "+err.Error())
			return
		}
		if evs == nil {
			evs = []events.Event{}
		}
		httpd.WriteJSON(w, http.StatusOK, evs)
	}))
}

func eventFilter(req *http.Request) (events.Filter, error) {
	q := req.URL.Query()
	f := events.Filter{Type: events.Type(q.Get("type")), Service: q.Get("service"), Node: q.Get("node")}
	if f.Type != "" && !f.Type.Valid() {
		return f, fmt.Errorf("type %q: want scale, deploy, node, instance or alert", f.Type)
	}
	if f.Service != "" && f.Type == "" {
		return f, fmt.Errorf("service filter needs a type (e.g. type=deploy)")
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return f, fmt.Errorf("limit %q: want a number from 1 to 10000", s)
		}
		f.Limit = n
	}
	return f, nil
}
