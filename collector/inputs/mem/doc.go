// Package mem is the collector's `mem` input: system memory from
// /proc/meminfo (through gopsutil, honouring HOST_PROC), with Telegraf's
// measurement and field names; sizes are bytes.
package mem
