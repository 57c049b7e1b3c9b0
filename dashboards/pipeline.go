package dashboards

// Pipeline shows swell's own metrics path: what each agent gathers,
// publishes, spools and drops, and what ingest writes to InfluxDB, how far
// it lags, and what it dead-letters.
func Pipeline() Dashboard {
	b := newBoard(UIDPipeline, "swell / Pipeline",
		"Points gathered, published, spooled and dropped per agent; ingest rate and lag; dead letters; InfluxDB write errors.")
	b.variable("node", "Agent", mPipeline, "node", `"component" = 'collector'`)
	col := []string{`"component" = 'collector'`, match("node", "node")}
	ing := []string{`"component" = 'ingest'`}
	byNode := ` GROUP BY time($__interval), "node" fill(null)`
	rate := func(f string) string { return `non_negative_derivative(last("` + f + `"), 1s) AS "` + f + `"` }
	diff := func(f string) string { return `non_negative_difference(last("` + f + `")) AS "` + f + `"` }

	b.row("Agents")
	b.add(12, 8, timeseries("Points per second", "short", "Gathered by the inputs, published to NATS, spooled to disk while NATS was away, dropped.",
		series(`SELECT `+rate("points_gathered")+`, `+rate("points_published")+`, `+rate("points_spooled")+`, `+rate("points_dropped")+
			` FROM "`+mPipeline+`" `+where(col...)+byNode, "$tag_node $col")))
	b.add(12, 8, timeseries("Spool", "bytes", "Bytes waiting on disk for NATS; grows during an outage, drains after it.",
		series(`SELECT last("spool_bytes") FROM "`+mPipeline+`" `+where(col...)+byNode, "$tag_node")))
	b.add(12, 8, timeseries("Agent errors", "short", "Gather errors, publish errors and failed output writes per interval.",
		series(`SELECT `+diff("gather_errors")+`, `+diff("publish_errors")+`, `+diff("write_errors")+
			` FROM "`+mPipeline+`" `+where(col...)+byNode, "$tag_node $col")))
	b.add(12, 8, timeseries("Bytes per second", "Bps", "Line protocol handed to the output.",
		series(`SELECT `+rate("batch_bytes")+` FROM "`+mPipeline+`" `+where(col...)+byNode, "$tag_node")))

	b.row("Ingest")
	b.add(6, 5, stat("Points written", "short", "Points ingest wrote to InfluxDB in the time range, all servers.", steps("green"),
		table(`SELECT sum("written") AS "written" FROM (SELECT spread("points_written") AS "written" FROM "`+mPipeline+`" `+where(ing...)+` GROUP BY "node")`)))
	b.add(6, 5, stat("Lag", "short", "Messages waiting in the metrics stream, now.", steps("green", 10000.0, "orange", 100000.0, "red"),
		table(`SELECT sum("lag") AS "lag" FROM (SELECT last("lag_messages") AS "lag" FROM "`+mPipeline+`" `+where(ing...)+` GROUP BY "node")`)))
	b.add(12, 5, stat("Dead letters", "short", "Lines InfluxDB or the parser rejected in the time range (swell.deadletter.metrics).",
		steps("green", 1.0, "red"),
		table(`SELECT sum("dead") AS "dead" FROM (SELECT spread("deadletter_lines") AS "dead" FROM "`+mPipeline+`" `+where(ing...)+` GROUP BY "node")`)))
	b.add(12, 8, timeseries("Ingest rate", "short", "Points written to InfluxDB per second, per server.",
		series(`SELECT `+rate("points_written")+` FROM "`+mPipeline+`" `+where(ing...)+byNode, "$tag_node")))
	b.add(12, 8, timeseries("Ingest lag", "short", "Messages pending or awaiting ack in the metrics stream.",
		series(`SELECT last("lag_messages") FROM "`+mPipeline+`" `+where(ing...)+byNode, "$tag_node")))
	b.add(12, 8, timeseries("Dead letters", "short", "Lines dead-lettered per interval.",
		series(`SELECT `+diff("deadletter_lines")+` FROM "`+mPipeline+`" `+where(ing...)+byNode, "$tag_node")))
	b.add(12, 8, timeseries("InfluxDB write errors", "short", "Failed write requests per interval; the messages stay in the stream and are retried.",
		series(`SELECT `+diff("write_errors")+` FROM "`+mPipeline+`" `+where(ing...)+byNode, "$tag_node")))
	return b.build()
}
