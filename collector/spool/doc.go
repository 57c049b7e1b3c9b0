// Package spool is a bounded, append-only FIFO of records on disk. The NATS
// output keeps batches here while NATS cannot take them and replays them in
// order once it can.
//
// Records are appended to segment files named after the sequence number of
// their first record (<seq as 16 hex digits>.seg). A reader looks at the
// oldest records with Front or Peek and removes them with Pop or PopThrough
// only after it has delivered them, so a crash between delivery and removal
// replays a record rather than losing it. The position of the oldest
// undelivered record is kept in the file "cursor"; a segment whose records
// have all been delivered is deleted.
//
// When an append would push the files past the size cap, the oldest segment
// is deleted whole and its undelivered records and points are counted as
// dropped. Segments are about an eighth of the cap, so a full spool sheds
// roughly the oldest eighth of its contents at a time.
//
// Each record is written with one write system call and no user-space
// buffer, so a record that Append returned nil for survives a crash of the
// process: the kernel's page cache holds it. Against power loss the spool
// fsyncs a segment when it is finished (rotation), on Sync (the NATS output
// calls it every second) and on Close; a power failure can therefore lose
// the records appended since the last of those, about a second's worth.
// Open truncates a torn or corrupt record at the tail of a segment (what a
// power failure or a full disk leaves behind), counts it, and carries on.
//
// A spool directory is locked (flock) while open, so two processes never
// share it.
package spool
