package dashboards

// Containers shows every container on the selected nodes, swell's or not,
// from Telegraf's docker measurements.
func Containers() Dashboard {
	b := newBoard(UIDContainers, "swell / Containers",
		"CPU, memory (usage and working set against the limit), network and block I/O per container.")
	b.variable("node", "Node", mContainerStatus, "node", "")
	b.variable("container", "Container", mContainerStatus, "container_name", match("node", "node"))
	c := []string{match("node", "node"), match("container_name", "container")}
	by := ` GROUP BY time($__interval), "container_name" fill(null)`

	b.row("CPU and memory")
	b.add(12, 8, timeseries("CPU", "percent", "Container CPU in percent of one CPU.",
		series(`SELECT mean("usage_percent") FROM "`+mContainerCPU+`" `+where(append([]string{`"cpu" = 'cpu-total'`}, c...)...)+by, "$tag_container_name")))
	b.add(12, 8, timeseries("CPU throttling", "ns", "Time the kernel held each container back because of its CPU limit, per second.",
		series(`SELECT non_negative_derivative(last("throttling_throttled_time"), 1s) FROM "`+mContainerCPU+`" `+
			where(append([]string{`"cpu" = 'cpu-total'`}, c...)...)+by, "$tag_container_name")))
	b.add(12, 8, dashed(timeseries("Memory against limit", "bytes",
		"Usage (Telegraf's: without page cache), working set (what the OOM killer tracks) and the limit (dashed).",
		series(`SELECT mean("usage") AS "usage", mean("working_set") AS "working set" FROM "`+mContainerMem+`" `+where(c...)+by, "$tag_container_name $col"),
		series(`SELECT max("limit") FROM "`+mContainerMem+`" `+where(c...)+by, "$tag_container_name limit"),
	), " limit$"))
	b.add(12, 8, withMinMax(timeseries("Memory in percent of limit", "percent", "usage / limit.",
		series(`SELECT mean("usage_percent") FROM "`+mContainerMem+`" `+where(c...)+by, "$tag_container_name")), num(0), num(100)))

	b.row("Network and block I/O")
	b.add(12, 8, timeseries("Network", "Bps", "Bytes received and sent per second, all interfaces of the container.",
		series(`SELECT non_negative_derivative(last("rx_bytes"), 1s) AS "rx", non_negative_derivative(last("tx_bytes"), 1s) AS "tx" FROM "`+
			mContainerNet+`" `+where(append([]string{`"network" = 'total'`}, c...)...)+by, "$tag_container_name $col")))
	b.add(12, 8, timeseries("Block I/O", "Bps", "Bytes read and written per second, all devices.",
		series(`SELECT non_negative_derivative(last("io_service_bytes_recursive_read"), 1s) AS "read", `+
			`non_negative_derivative(last("io_service_bytes_recursive_write"), 1s) AS "write" FROM "`+
			mContainerBlkio+`" `+where(append([]string{`"device" = 'total'`}, c...)...)+by, "$tag_container_name $col")))

	b.row("Status")
	b.add(24, 8, withLinks(tablePanel("Containers", "Last known state of each container; service and instance are set on swell's.",
		table(`SELECT last("restart_count") AS "restarts", last("exitcode") AS "exit code", last("oomkilled") AS "oom killed" FROM "`+
			mContainerStatus+`" `+where(c...)+` GROUP BY "container_name", "container_image", "container_status", "service", "instance", "node"`)),
		serviceLink("${__data.fields.service}")))
	return b.build()
}
