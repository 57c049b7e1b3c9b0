// Package dashboards builds swell's Grafana provisioning: the InfluxDB
// datasource now, the dashboards themselves as they land. `swell up` writes
// it under its data dir so a local Grafana can be pointed at it.
package dashboards
