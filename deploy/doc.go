// Package deploy holds no code: it holds swell's deployment files — the
// docker-compose.yml of the full stack, the Dockerfile of the swell image,
// systemd units with their settings, and a three-node NATS cluster — and
// the tests that keep them valid. The flags they give swell are checked
// against swell's commands in cmd/swell.
package deploy
