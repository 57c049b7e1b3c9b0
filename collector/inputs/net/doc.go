// Package net is the collector's `net` input: per network interface byte,
// packet, error and drop counters from /proc/net/dev (through gopsutil,
// honouring HOST_PROC), with Telegraf's measurement, tag and field names.
//
// Like Telegraf, it skips loopback and interfaces that are down unless told
// which interfaces to report. Unlike Telegraf it does not add the
// protocol-wide counters of /proc/net/snmp under interface=all: Telegraf
// deprecated them in favour of its nstat input.
//
// /proc/net/dev shows the reading process's network namespace, so an agent in
// a container must share the host's network (--network host) to see the
// host's interfaces.
package net
