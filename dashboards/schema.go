package dashboards

// Measurements the dashboards read. Telegraf's names come from the
// collector's inputs (collector/inputs/*); swell's own are listed with their
// tags and fields, since the dashboards, the docs and the producers must
// agree on them.
const (
	// Host inputs, Telegraf's schema; tag host (and node, which swell adds).
	mCPU    = "cpu"    // tag cpu (cpu-total); usage_user, usage_system, usage_iowait, usage_idle, …
	mMem    = "mem"    // used, available, total, used_percent, cached, buffered
	mDisk   = "disk"   // tags path, device, fstype; used_percent, used, free
	mDiskIO = "diskio" // tag name; read_bytes, write_bytes, reads, writes, io_time (counters)
	mNet    = "net"    // tag interface; bytes_recv, bytes_sent, err_in, err_out, drop_in, drop_out (counters)
	mSystem = "system" // load1, load5, load15, n_cpus, uptime

	// Container input, Telegraf's docker schema; tags node, service,
	// instance, container_name, container_image.
	mContainerCPU    = "docker_container_cpu"    // tag cpu (cpu-total); usage_percent
	mContainerMem    = "docker_container_mem"    // usage, working_set, limit, usage_percent
	mContainerNet    = "docker_container_net"    // tag network (total); rx_bytes, tx_bytes, rx_errors, tx_errors (counters)
	mContainerBlkio  = "docker_container_blkio"  // tag device (total); io_service_bytes_recursive_read/_write (counters)
	mContainerStatus = "docker_container_status" // restart_count, oomkilled, exitcode, uptime_ns

	// mPipeline is the collector's (component=collector: points_gathered,
	// points_published, points_spooled, points_dropped, spool_bytes,
	// publish_errors, write_errors) and ingest's (component=ingest:
	// points_written, messages_acked, deadletter_lines, write_errors,
	// lag_messages) cumulative self-metrics, tagged node.
	mPipeline = "swell_pipeline"

	// mHealth is an instance's combined health-check result, written by the
	// agent on every check: tags service, instance, node; fields healthy
	// (bool), consecutive_failures.
	mHealth = "swell_health"

	// Events (internal/events): tags service and node, string fields from,
	// to and reason.
	mScaleEvent  = "swell_scale_event"
	mDeployEvent = "swell_deploy_event"
	mNodeEvent   = "swell_node_event"
	mAlertEvent  = "swell_alert_event"

	// mConcurrency is the router's per-instance load: tags service,
	// instance, node; fields in_flight (time-weighted mean), in_flight_max,
	// rps, p50_ms, p99_ms.
	mConcurrency = "swell_concurrency"

	// mService is per service: tag service; fields desired, running,
	// healthy (replica counts) and target (the autoscale target per
	// instance, when the service has a policy).
	mService = "swell_service"

	// mNode is per node: tag node; fields ready, draining, lost, each 1 or
	// 0 (a node is ready and draining at once while it drains).
	mNode = "swell_node"

	// mAlert is per alert series: tags rule, severity (warning|critical
	// when firing) and the alert's service/node labels; fields state (0 OK,
	// 1 WARNING, 2 CRITICAL) and value, written on every evaluation that
	// finds the series not OK and on every state change.
	mAlert = "swell_alert"

	// mNotification is per receiver: tag receiver; cumulative fields sent
	// and failed.
	mNotification = "swell_alert_notification"
)

// NotYetProduced returns the measurements the dashboards query that no
// swell component writes yet; docs/dashboards.md says so, and their panels
// stay empty until the producers land.
func NotYetProduced() []string {
	return []string{mConcurrency}
}
