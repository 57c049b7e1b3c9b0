package dashboards

// UIDs of swell's dashboards. They never change, so links, bookmarks and
// `swell dashboards push` (which overwrites by uid) keep working across
// versions.
const (
	UIDCluster    = "swell-cluster"
	UIDService    = "swell-service"
	UIDHosts      = "swell-hosts"
	UIDContainers = "swell-containers"
	UIDAlerts     = "swell-alerts"
	UIDPipeline   = "swell-pipeline"
)

// All returns swell's dashboards, in the order they are listed.
func All() []Dashboard {
	return []Dashboard{Cluster(), Service(), Hosts(), Containers(), Alerts(), Pipeline()}
}

// Value mappings shared by several panels.
func nodeStatusMappings() []any {
	return []any{map[string]any{"type": "value", "options": map[string]any{
		"1":  map[string]any{"text": "ready", "color": "green", "index": 0},
		"2":  map[string]any{"text": "draining", "color": "orange", "index": 1},
		"-1": map[string]any{"text": "lost", "color": "red", "index": 2},
		"0":  map[string]any{"text": "unknown", "color": "text", "index": 3},
	}}}
}

func alertStateMappings() []any {
	return []any{map[string]any{"type": "value", "options": map[string]any{
		"0": map[string]any{"text": "OK", "color": "green", "index": 0},
		"1": map[string]any{"text": "WARNING", "color": "orange", "index": 1},
		"2": map[string]any{"text": "CRITICAL", "color": "red", "index": 2},
	}}}
}

// serviceLink opens the Service dashboard for the series' service.
func serviceLink(from string) DataLink {
	return dashLink("Service ${__value.text}", UIDService, "service", from)
}
