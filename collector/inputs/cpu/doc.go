// Package cpu is the collector's `cpu` input: per-CPU and total CPU usage in
// percent, computed between two gathers from the kernel's cumulative CPU
// times, with Telegraf's measurement, tag and field names.
package cpu
