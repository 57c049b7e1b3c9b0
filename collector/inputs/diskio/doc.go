// Package diskio is the collector's `diskio` input: per block device I/O
// counters from /proc/diskstats (through gopsutil, honouring HOST_PROC), with
// Telegraf's measurement, tag and field names, plus the await, service time
// and utilisation Telegraf derives between two gathers.
package diskio
