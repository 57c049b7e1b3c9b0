package scheduler

import "fmt"

// Draining a node is a rollout whose "old" instances are the ones on that
// node: replacements start elsewhere first (the node takes nothing new), and
// the node's instances stop only as far as minimumHealthCapacity allows, so
// the same Step arithmetic moves both upgrades and drains.

// retireReason says why an active instance must be replaced by one of the
// service's current version on another node, or "" when it may stay.
func (s *Snapshot) retireReason(svc *ServiceReq, in *Instance) string {
	if ni := s.nodeIndex(in.Node); ni >= 0 && s.nodes[ni].draining {
		return fmt.Sprintf("node %s is draining", in.Node)
	}
	if in.Version != svc.Version {
		return fmt.Sprintf("upgrade from version %s to %s", in.Version, svc.Version)
	}
	return ""
}

// Drained reports whether no instance is active or stopping on the node
// any more, so swell drain can say the node is empty.
func Drained(s *Snapshot, node string) bool {
	for _, in := range s.all {
		if in.Node == node && in.State.holdsResources() {
			return false
		}
	}
	return true
}
