package dashboards

// Cluster is the overview: nodes, services and their replicas, the events
// that changed them, and what is firing.
func Cluster() Dashboard {
	b := newBoard(UIDCluster, "swell / Cluster",
		"Nodes ready, draining and lost; services with desired, running and healthy replicas; scale, deploy and node events; firing alerts.")
	b.variable("node", "Node", mPipeline, "node", `"component" = 'collector'`)
	b.variable("service", "Service", mContainerStatus, "service", "")
	b.annotation("Scale events", "blue",
		`SELECT "reason", "service", "node" FROM "`+mScaleEvent+`" `+where(match("service", "service")))
	b.annotation("Deploy events", "green",
		`SELECT "reason", "service", "node" FROM "`+mDeployEvent+`" `+where(match("service", "service")))
	b.annotation("Node events", "orange",
		`SELECT "reason", "service", "node" FROM "`+mNodeEvent+`" `+where(match("node", "node")))
	b.annotation("Alert events", "red",
		`SELECT "reason", "service", "node" FROM "`+mAlertEvent+`" WHERE $timeFilter`)

	b.row("Nodes")
	nodeCount := func(field string) Target {
		return table(`SELECT sum("` + field + `") AS "nodes" FROM (SELECT last("` + field + `") AS "` + field + `" FROM "` + mNode + `" ` +
			where(match("node", "node")) + ` GROUP BY "node")`)
	}
	b.add(4, 4, stat("Nodes ready", "none", "Nodes whose agent sends heartbeats and that take new instances.",
		steps("green"), nodeCount("ready")))
	b.add(4, 4, stat("Nodes draining", "none", "Nodes being drained: their instances move elsewhere.",
		steps("green", 1.0, "orange"), nodeCount("draining")))
	b.add(4, 4, stat("Nodes lost", "none", "Nodes silent for longer than the server's --node-timeout; their instances are replaced.",
		steps("green", 1.0, "red"), nodeCount("lost")))
	b.add(4, 4, stat("Agents reporting", "none", "Agents whose collector sent its swell_pipeline point in the time range.",
		steps("green"),
		table(`SELECT count("points_gathered") AS "agents" FROM (SELECT last("points_gathered") AS "points_gathered" FROM "`+mPipeline+`" `+
			where(`"component" = 'collector'`, match("node", "node"))+` GROUP BY "node")`)))
	b.add(8, 4, stat("Firing alerts", "none", "Alert series in WARNING or CRITICAL.",
		steps("green", 1.0, "red"),
		table(`SELECT count("state") AS "firing" FROM (SELECT last("state") AS "state" FROM "`+mAlert+`" WHERE $timeFilter GROUP BY "rule", "service", "node") WHERE "state" > 0`)))
	b.add(24, 6, withLinks(timeline("Node status", "ready, draining or lost over time.", nodeStatusMappings(),
		series(`SELECT last("ready") + last("draining") - last("lost") FROM "`+mNode+`" `+
			where(match("node", "node"))+` GROUP BY time($__interval), "node" fill(previous)`, "$tag_node")),
		dashLink("Host ${__field.labels.node}", UIDHosts, "node", "${__field.labels.node}")))
	b.add(24, 7, tablePanel("Node events", "Registrations, losses, drains and returns, newest first.",
		table(`SELECT "node", "from", "to", "reason" FROM "`+mNodeEvent+`" `+where(match("node", "node"))+` ORDER BY time DESC LIMIT 100`)))

	b.row("Services")
	b.add(12, 8, withLinks(tablePanel("Services", "Replicas per service, as the scheduler sees them now.",
		table(`SELECT last("desired") AS "desired", last("running") AS "running", last("healthy") AS "healthy" FROM "`+mService+`" `+
			where(match("service", "service"))+` GROUP BY "service"`)),
		serviceLink("${__data.fields.service}")))
	b.add(12, 8, withLinks(timeseries("Running replicas", "none", "Running instances per service.",
		series(`SELECT last("running") FROM "`+mService+`" `+where(match("service", "service"))+
			` GROUP BY time($__interval), "service" fill(previous)`, "$tag_service")),
		serviceLink("${__field.labels.service}")))
	b.add(12, 8, tablePanel("Scale events", "Changes of the desired count and why, newest first.",
		table(`SELECT "service", "from", "to", "reason" FROM "`+mScaleEvent+`" `+where(match("service", "service"))+` ORDER BY time DESC LIMIT 100`)))
	b.add(12, 8, tablePanel("Deploy events", "Instances started and stopped by placements, rollouts and drains, newest first.",
		table(`SELECT "service", "node", "from", "to", "reason" FROM "`+mDeployEvent+`" `+where(match("service", "service"))+` ORDER BY time DESC LIMIT 100`)))

	b.row("Alerts")
	b.add(24, 8, withLinks(tablePanel("Firing alerts", "Alert series in WARNING (1) or CRITICAL (2), with their last value.",
		table(`SELECT "state", "value" FROM (SELECT last("state") AS "state", last("value") AS "value" FROM "`+mAlert+
			`" WHERE $timeFilter GROUP BY "rule", "severity", "service", "node") WHERE "state" > 0 GROUP BY "rule", "severity", "service", "node"`)),
		dashLink("Alerts", UIDAlerts, "rule", "${__data.fields.rule}")))
	return b.build()
}
