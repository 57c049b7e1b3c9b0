package bus

import "strings"

// Stream and subject names shared by every component.
const (
	// StreamMetrics holds metric batches until ingest has written them.
	StreamMetrics = "SWELL_METRICS"
	// SubjectMetricsPrefix is the prefix of every metrics subject.
	SubjectMetricsPrefix = "swell.metrics"
	// SubjectMetricsAll matches every node's metrics.
	SubjectMetricsAll = SubjectMetricsPrefix + ".>"

	// StreamDeadLetter keeps what ingest could not write, with the reason.
	StreamDeadLetter = "SWELL_DEADLETTER"
	// SubjectDeadLetterMetrics receives rejected metric lines.
	SubjectDeadLetterMetrics = "swell.deadletter.metrics"
	// SubjectDeadLetterAll matches every dead-letter subject.
	SubjectDeadLetterAll = "swell.deadletter.>"

	// HeaderDeadLetterReason carries why a dead-lettered line was rejected.
	HeaderDeadLetterReason = "Swell-Reason"
	// HeaderDeadLetterSource names the subject the rejected line came from.
	HeaderDeadLetterSource = "Swell-Source-Subject"

	// StreamEvents keeps swell's decisions as JSON (internal/events).
	StreamEvents = "SWELL_EVENTS"
	// SubjectEventsAll matches every event subject, swell.events.<type>.<about>.
	SubjectEventsAll = "swell.events.>"

	// ConsumerIngest is the durable consumer shared by ingest workers.
	ConsumerIngest = "swell-ingest"
)

// MetricsSubject is the subject a node publishes its metric batches on.
// Characters that NATS treats specially in a token are replaced by '_'.
func MetricsSubject(node string) string {
	return SubjectMetricsPrefix + "." + Token(node)
}

// Token turns a name (a node, a service id) into one valid subject token.
func Token(name string) string {
	if name == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n', '/':
			return '_'
		}
		return r
	}, name)
}
