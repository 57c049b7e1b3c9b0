// Package processes is the collector's `processes` input: the number of
// processes by state and the number of threads, read straight from
// /proc/<pid>/stat (HOST_PROC when set) as Telegraf does on Linux, with
// Telegraf's measurement and field names. It is Linux-only.
package processes
