package dashboards

// Service shows one or more services: load per instance against the
// autoscale target, requests and latency from the router, replicas with
// the scale events that changed them, health checks, CPU and memory.
func Service() Dashboard {
	b := newBoard(UIDService, "swell / Service",
		"In-flight requests per instance against the autoscale target, requests/s, latency, replicas with scale events and their reasons, health checks, CPU and memory per instance.")
	b.variable("service", "Service", mContainerStatus, "service", "")
	b.variable("instance", "Instance", mContainerStatus, "instance", match("service", "service"))
	b.annotation("Scale events", "blue",
		`SELECT "reason", "service", "node" FROM "`+mScaleEvent+`" `+where(match("service", "service")))
	b.annotation("Deploy events", "green",
		`SELECT "reason", "service", "node" FROM "`+mDeployEvent+`" `+where(match("service", "service")))
	b.annotation("Alert events", "red",
		`SELECT "reason", "service", "node" FROM "`+mAlertEvent+`" `+where(match("service", "service")))

	svc := match("service", "service")
	inst := match("instance", "instance")

	b.row("Load")
	b.add(12, 8, dashed(timeseries("In-flight per instance", "none",
		"Time-weighted mean of in-flight requests per instance, as the router counts them; the dashed line is the autoscale target per instance.",
		series(`SELECT mean("in_flight") FROM "`+mConcurrency+`" `+where(svc, inst)+` GROUP BY time($__interval), "instance" fill(null)`, "$tag_instance"),
		series(`SELECT last("target") FROM "`+mService+`" `+where(svc)+` GROUP BY time($__interval), "service" fill(previous)`, "target $tag_service"),
	), "^target "))
	b.add(12, 8, stacked(timeseries("Requests/s", "reqps", "Requests per second per instance, through the router.",
		series(`SELECT mean("rps") FROM "`+mConcurrency+`" `+where(svc, inst)+` GROUP BY time($__interval), "instance" fill(null)`, "$tag_instance"))))
	b.add(12, 8, timeseries("Latency", "ms", "Router latency per instance: p50 and p99.",
		series(`SELECT mean("p50_ms") AS "p50", max("p99_ms") AS "p99" FROM "`+mConcurrency+`" `+where(svc, inst)+
			` GROUP BY time($__interval), "instance" fill(null)`, "$tag_instance $col")))
	b.add(12, 8, timeseries("Peak in-flight", "none", "Largest number of requests in flight at once per instance.",
		series(`SELECT max("in_flight_max") FROM "`+mConcurrency+`" `+where(svc, inst)+` GROUP BY time($__interval), "instance" fill(null)`, "$tag_instance")))

	b.row("Replicas")
	b.add(12, 8, dashed(timeseries("Replicas", "none", "Desired (dashed), running and healthy instances; scale events are the blue annotations.",
		series(`SELECT last("desired") AS "desired", last("running") AS "running", last("healthy") AS "healthy" FROM "`+mService+`" `+
			where(svc)+` GROUP BY time($__interval), "service" fill(previous)`, "$tag_service $col"),
	), " desired$"))
	b.add(12, 8, tablePanel("Scale events", "Every change of the desired count, with its reason, newest first.",
		table(`SELECT "service", "from", "to", "reason" FROM "`+mScaleEvent+`" `+where(svc)+` ORDER BY time DESC LIMIT 100`)))

	b.row("Health")
	b.add(12, 8, timeline("Health checks", "Combined result of each instance's health checks.",
		[]any{map[string]any{"type": "value", "options": map[string]any{
			"true":  map[string]any{"text": "healthy", "color": "green", "index": 0},
			"false": map[string]any{"text": "unhealthy", "color": "red", "index": 1},
		}}},
		series(`SELECT last("healthy") FROM "`+mHealth+`" `+where(svc, inst)+` GROUP BY time($__interval), "instance" fill(previous)`, "$tag_instance")))
	b.add(12, 8, timeseries("Consecutive failed checks", "none", "The agent restarts an instance when this reaches maxConsecutiveFailures.",
		series(`SELECT max("consecutive_failures") FROM "`+mHealth+`" `+where(svc, inst)+` GROUP BY time($__interval), "instance" fill(null)`, "$tag_instance")))

	b.row("Resources")
	b.add(12, 8, timeseries("CPU per instance", "percent", "Container CPU in percent of one CPU.",
		series(`SELECT mean("usage_percent") FROM "`+mContainerCPU+`" `+where(`"cpu" = 'cpu-total'`, svc, inst)+
			` GROUP BY time($__interval), "instance" fill(null)`, "$tag_instance")))
	b.add(12, 8, dashed(timeseries("Memory per instance", "bytes", "Working set (what the OOM killer tracks) against the limit (dashed).",
		series(`SELECT mean("working_set") FROM "`+mContainerMem+`" `+where(svc, inst)+` GROUP BY time($__interval), "instance" fill(null)`, "$tag_instance"),
		series(`SELECT max("limit") FROM "`+mContainerMem+`" `+where(svc, inst)+` GROUP BY time($__interval), "instance" fill(null)`, "$tag_instance limit"),
	), " limit$"))
	return b.build()
}
