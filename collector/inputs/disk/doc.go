// Package disk is the collector's `disk` input: space and inodes per mounted
// filesystem, with Telegraf's measurement, tag and field names. Pseudo
// filesystems are skipped by default, as in Telegraf. Mounts are read from
// HOST_PROC (gopsutil) and, for an agent in a container with the host's root
// mounted at HOST_MOUNT_PREFIX, stat'ed below that prefix and reported
// without it.
package disk
