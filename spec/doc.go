// Package spec reads and writes swell's YAML formats: multi-document files
// where each document has a kind (today Service; AlertRule, Receiver and
// Route are known names that later versions load).
//
//	bytes ─► yaml.Node per document ─► decoder (types, unknown fields, lines)
//	      ─► validateService (ranges, enums, constraints, ids)
//	      ─► crossCheck (duplicate ids, servicePorts, dependency cycles)
//	      ─► []Document, or one *Error listing every problem of the file
//
// Parsing is strict and positional: decoding walks yaml.Node rather than
// unmarshalling, so every problem names the file, line and field. Encode
// writes the same structs back as YAML with a stable field order, and the
// structs marshal to JSON with the same field names for the API.
// ImportMarathon converts Marathon app and group JSON into this format.
package spec
