// Package receivers lists the built-in notification receivers in one
// explicit map. Each receiver lives in its own folder below this one with
// its README, tests and golden request bodies; adding one means adding a
// line to Builtin.
package receivers
