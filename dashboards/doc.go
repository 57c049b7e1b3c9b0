// Package dashboards builds swell's Grafana dashboards in Go — Cluster,
// Service, Hosts, Containers, Alerts and Pipeline — from typed models
// (model.go) and a layout builder (builder.go), one file per dashboard.
// Every panel is raw InfluxQL over the measurements listed in schema.go.
//
// The dashboards leave the package two ways: WriteProvisioning writes
// Grafana provisioning files (datasource, dashboard provider, JSON), which
// `swell up` and `swell dashboards export` use; Push creates or updates the
// folder, datasource and dashboards in a running Grafana through its HTTP
// API, for `swell dashboards push`.
package dashboards
