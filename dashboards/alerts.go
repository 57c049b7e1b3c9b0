package dashboards

// Alerts shows what fires now, how alert states changed, and whether
// notifications reach their receivers.
func Alerts() Dashboard {
	b := newBoard(UIDAlerts, "swell / Alerts",
		"Active alerts, the history of state changes, and notifications sent and failed per receiver.")
	b.variable("rule", "Rule", mAlert, "rule", "")
	b.variable("receiver", "Receiver", mNotification, "receiver", "")
	b.annotation("Alert events", "red", `SELECT "reason", "service", "node" FROM "`+mAlertEvent+`" WHERE $timeFilter`)
	r := match("rule", "rule")
	last := func(cond string) string {
		return `SELECT count("state") AS "alerts" FROM (SELECT last("state") AS "state" FROM "` + mAlert + `" ` + where(r) +
			` GROUP BY "rule", "service", "node") WHERE ` + cond
	}

	b.row("Now")
	b.add(6, 5, stat("Critical", "none", "Alert series in CRITICAL.", steps("green", 1.0, "red"), table(last(`"state" = 2`))))
	b.add(6, 5, stat("Warning", "none", "Alert series in WARNING.", steps("green", 1.0, "orange"), table(last(`"state" = 1`))))
	b.add(12, 5, stat("Failed notifications", "none", "Notifications that could not be delivered in the time range, all receivers.",
		steps("green", 1.0, "red"),
		table(`SELECT sum("failed") AS "failed" FROM (SELECT spread("failed") AS "failed" FROM "`+mNotification+`" `+
			where(match("receiver", "receiver"))+` GROUP BY "receiver")`)))
	b.add(24, 8, tablePanel("Active alerts", "Series in WARNING (1) or CRITICAL (2), with their last value.",
		table(`SELECT "state", "value" FROM (SELECT last("state") AS "state", last("value") AS "value" FROM "`+mAlert+`" `+where(r)+
			` GROUP BY "rule", "severity", "service", "node") WHERE "state" > 0 GROUP BY "rule", "severity", "service", "node"`)))

	b.row("History")
	b.add(24, 8, timeline("Alert states", "State of each alert series over time; gaps are OK.", alertStateMappings(),
		series(`SELECT max("state") FROM "`+mAlert+`" `+where(r)+` GROUP BY time($__interval), "rule", "service", "node" fill(null)`,
			"$tag_rule $tag_service $tag_node")))
	b.add(24, 8, tablePanel("State changes", "Every transition with its reason, newest first.",
		table(`SELECT "service", "node", "from", "to", "reason" FROM "`+mAlertEvent+`" WHERE $timeFilter ORDER BY time DESC LIMIT 200`)))

	b.row("Notifications")
	rc := match("receiver", "receiver")
	b.add(12, 8, stacked(timeseries("Sent", "short", "Notifications delivered per receiver and interval.",
		series(`SELECT non_negative_difference(last("sent")) FROM "`+mNotification+`" `+where(rc)+` GROUP BY time($__interval), "receiver" fill(null)`, "$tag_receiver"))))
	b.add(12, 8, stacked(timeseries("Failed", "short", "Notifications that failed after their retries, per receiver and interval.",
		series(`SELECT non_negative_difference(last("failed")) FROM "`+mNotification+`" `+where(rc)+` GROUP BY time($__interval), "receiver" fill(null)`, "$tag_receiver"))))
	return b.build()
}
