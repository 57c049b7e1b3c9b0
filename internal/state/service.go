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
}

// ServiceKey is a service's key in swell_services.
func ServiceKey(id string) string { return bus.Token(id) }

// SpecVersion is a short hash of everything in s that its containers run
// with. The instance count, the autoscale policy, priority and the
// upgrade strategy are left out: changing them scales or re-ranks the
// service but does not replace its instances.
func SpecVersion(s spec.Service) string {
	s.Instances = 0
	s.Autoscale = nil
	s.Priority = 0
	s.UpgradeStrategy = spec.UpgradeStrategy{}
	s.KillSelection = ""
	b, _ := json.Marshal(s) // a struct of plain fields always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}
