// Package spec reads and writes swell's YAML formats: multi-document files
// where each document has a kind: Service, AlertRule, Receiver or Route.
//
//	bytes ─► yaml.Node per document ─► decoder (types, unknown fields, lines)
//	      ─► validateService (ranges, enums, constraints, ids)
//	         or alerts.Rule / alerts.Route Validate, or the receiver type's
//	         factory (receivers.Builtin), errors placed at their lines
//	      ─► crossCheck (duplicate ids, servicePorts, dependency cycles,
//	         duplicate rule, route and receiver names)
//	      ─► []Document, or one *Error listing every problem of the file
//
// Receiver secrets (${ENV}, file:/path) are resolved when a Receiver is
// loaded, in the loading process: the server. Only documents an operator
// applies are to be trusted with that.
//
// Parsing is strict and positional: decoding walks yaml.Node rather than
// unmarshalling, so every problem names the file, line and field. Encode
// writes the same structs back as YAML with a stable field order, and the
// structs marshal to JSON with the same field names for the API.
// ImportMarathon converts Marathon app and group JSON into this format.
package spec
