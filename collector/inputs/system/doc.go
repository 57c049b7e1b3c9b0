// Package system is the collector's `system` input: load averages, CPU
// count, logged-in users and uptime, with Telegraf's measurement and field
// names. Like current Telegraf it writes no uptime_format string field
// (deprecated since Telegraf 1.10); dashboards format `uptime` themselves.
package system
