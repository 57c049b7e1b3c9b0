package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/swell-pipeline/swell/internal/bus"
	"github.com/swell-pipeline/swell/spec"
)

// ServiceRecord is a service in swell_services, key ServiceKey(id).
type ServiceRecord struct {
	Spec spec.Service `json:"spec"`
	// Version identifies what the instances run (SpecVersion of Spec): a
	// new version means a rolling upgrade; a new instance count does not.
	Version   string    `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Traffic, when set, splits the routers' requests between versions
	// (blue/green and canary rollouts); nil shares them among every ready
	// instance.
	Traffic *Traffic `json:"traffic,omitempty"`
	// Rollout, when set, is a blue/green or canary rollout in progress:
	// the old version keeps running beside the new one until the switch
	// (and soak) or the promotion.
	Rollout *Rollout `json:"rollout,omitempty"`
}

// Rollout strategies and phases.
const (
	StrategyBlueGreen = "bluegreen"
	StrategyCanary    = "canary"

	// PhaseStarting: blue/green's new instances start; traffic stays on
	// the old version.
	PhaseStarting = "starting"
	// PhaseSwitched: every new instance is healthy and all traffic goes
	// to them; the old ones stop once the soak has passed.
	PhaseSwitched = "switched"
	// PhaseCanary: Weight percent of the traffic goes to the new version
	// until swell rollout promote or abort.
	PhaseCanary = "canary"
)

// Rollout is a blue/green or canary rollout from one version of a service
// to another.
type Rollout struct {
	Strategy string `json:"strategy"`
	Phase    string `json:"phase"`
	// From and To are the versions; FromSpec is the old spec, for abort.
	From     string       `json:"from"`
	To       string       `json:"to"`
	FromSpec spec.Service `json:"fromSpec"`
	// Weight is the canary's share of requests, in percent.
	Weight int `json:"weight,omitempty"`
	// Soak is how long blue/green's old instances stay after the switch,
	// to switch back to at once.
	Soak       spec.Duration `json:"soak,omitempty"`
	StartedAt  time.Time     `json:"startedAt"`
	SwitchedAt time.Time     `json:"switchedAt,omitzero"`
}

// CanaryInstances is how many instances of the new version a canary of
// weight percent runs beside instances of the old: the weight's share,
// at least one.
func CanaryInstances(instances, weight int) int {
	return max(1, (instances*weight+99)/100)
}

// Traffic splits a service's requests between versions of its spec: each
// version gets Weights[version] / (sum of the weights of the versions that
// have a ready instance). A version not listed gets nothing while a listed
// one has a ready instance; with no weights, or none of the listed
// versions ready, every ready instance shares the traffic. Blue/green is
// {new: 1}; a 10% canary is {old: 90, new: 10}.
type Traffic struct {
	Weights map[string]int `json:"weights,omitempty"`
}

// ServiceKey is a service's key in swell_services.
func ServiceKey(id string) string { return bus.Token(id) }

// SpecVersion is a short hash of everything in s that its containers run
// with. The instance count, the autoscale policy, priority and the
// upgrade strategy and the routers' settings are left out: changing them scales or re-ranks the
// service but does not replace its instances.
func SpecVersion(s spec.Service) string {
	s.Instances = 0
	s.Autoscale = nil
	s.Priority = 0
	s.UpgradeStrategy = spec.UpgradeStrategy{}
	s.KillSelection = ""
	// How routers proxy to the instances does not change the instances.
	s.Protocol, s.ContainerConcurrency = "", 0
	s.TaskKillGracePeriodSeconds = nil // only read when an instance stops
	b, _ := json.Marshal(s)            // a struct of plain fields always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}
