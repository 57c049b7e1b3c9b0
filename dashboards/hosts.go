package dashboards

// Hosts shows the host inputs with Telegraf's measurements and its `host`
// tag, so hosts that run Telegraf instead of a swell agent show up too.
// The variable is called node, like on the other dashboards, so links keep
// the selection.
func Hosts() Dashboard {
	b := newBoard(UIDHosts, "swell / Hosts",
		"CPU, memory, disk, disk I/O, network and load per host; Telegraf-compatible, so hosts running Telegraf appear too.")
	b.variable("node", "Host", mSystem, "host", "")
	h := match("host", "node")
	byHost := ` GROUP BY time($__interval), "host" fill(null)`

	b.row("CPU and load")
	b.add(12, 8, withMinMax(stacked(timeseries("CPU", "percent", "Share of all CPUs by mode (cpu-total).",
		series(`SELECT mean("usage_user") AS "user", mean("usage_system") AS "system", mean("usage_iowait") AS "iowait", mean("usage_steal") AS "steal" FROM "`+
			mCPU+`" `+where(`"cpu" = 'cpu-total'`, h)+byHost, "$tag_host $col"))), num(0), nil))
	b.add(12, 8, dashed(timeseries("Load", "short", "Load averages; the dashed line is the number of CPUs.",
		series(`SELECT mean("load1") AS "load1", mean("load5") AS "load5", mean("load15") AS "load15" FROM "`+mSystem+`" `+where(h)+byHost, "$tag_host $col"),
		series(`SELECT last("n_cpus") FROM "`+mSystem+`" `+where(h)+byHost, "$tag_host cpus"),
	), " cpus$"))

	b.row("Memory")
	b.add(12, 8, withMinMax(timeseries("Memory used", "percent", "Used memory in percent of total.",
		series(`SELECT mean("used_percent") FROM "`+mMem+`" `+where(h)+byHost, "$tag_host")), num(0), num(100)))
	b.add(12, 8, timeseries("Memory", "bytes", "Used, cached, buffered and available memory.",
		series(`SELECT mean("used") AS "used", mean("cached") AS "cached", mean("buffered") AS "buffered", mean("available") AS "available" FROM "`+
			mMem+`" `+where(h)+byHost, "$tag_host $col")))

	b.row("Disk")
	b.add(12, 8, withMinMax(timeseries("Disk used", "percent", "Used space per mounted filesystem.",
		series(`SELECT last("used_percent") FROM "`+mDisk+`" `+where(h)+` GROUP BY time($__interval), "host", "path" fill(previous)`, "$tag_host $tag_path")), num(0), num(100)))
	b.add(12, 8, timeseries("Disk I/O", "Bps", "Bytes read and written per second per device.",
		series(`SELECT non_negative_derivative(last("read_bytes"), 1s) AS "read", non_negative_derivative(last("write_bytes"), 1s) AS "write" FROM "`+
			mDiskIO+`" `+where(h)+` GROUP BY time($__interval), "host", "name" fill(null)`, "$tag_host $tag_name $col")))
	b.add(12, 8, timeseries("Disk operations", "iops", "Reads and writes per second per device.",
		series(`SELECT non_negative_derivative(last("reads"), 1s) AS "reads", non_negative_derivative(last("writes"), 1s) AS "writes" FROM "`+
			mDiskIO+`" `+where(h)+` GROUP BY time($__interval), "host", "name" fill(null)`, "$tag_host $tag_name $col")))
	b.add(12, 8, withMinMax(timeseries("Disk busy", "percentunit", "Share of time each device had I/O in flight.",
		series(`SELECT non_negative_derivative(last("io_time"), 1s) / 1000 FROM "`+
			mDiskIO+`" `+where(h)+` GROUP BY time($__interval), "host", "name" fill(null)`, "$tag_host $tag_name")), num(0), nil))

	b.row("Network")
	nic := `"interface" != 'lo'`
	b.add(12, 8, timeseries("Network traffic", "bps", "Bits received and sent per second per interface (loopback left out).",
		series(`SELECT non_negative_derivative(last("bytes_recv"), 1s) * 8 AS "in", non_negative_derivative(last("bytes_sent"), 1s) * 8 AS "out" FROM "`+
			mNet+`" `+where(h, nic)+` GROUP BY time($__interval), "host", "interface" fill(null)`, "$tag_host $tag_interface $col")))
	b.add(12, 8, timeseries("Network errors and drops", "pps", "Errors and dropped packets per second per interface.",
		series(`SELECT non_negative_derivative(last("err_in"), 1s) AS "err in", non_negative_derivative(last("err_out"), 1s) AS "err out", `+
			`non_negative_derivative(last("drop_in"), 1s) AS "drop in", non_negative_derivative(last("drop_out"), 1s) AS "drop out" FROM "`+
			mNet+`" `+where(h, nic)+` GROUP BY time($__interval), "host", "interface" fill(null)`, "$tag_host $tag_interface $col")))
	b.add(24, 6, tablePanel("Uptime", "Seconds since each host booted.",
		table(`SELECT last("uptime") AS "uptime", last("n_cpus") AS "cpus" FROM "`+mSystem+`" `+where(h)+` GROUP BY "host"`)))
	return b.build()
}
