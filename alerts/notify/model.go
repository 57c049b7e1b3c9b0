package notify

import (
	"context"
	"time"
)

// Status is the state of an alert or of a whole notification.
type Status string

// The two states a notification reports, as Alertmanager names them.
const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Severity ranks an alert; CRITICAL alerts skip groupWait and may escalate.
type Severity string

// Severities an alert rule can raise.
const (
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Alert is one series of one rule, as receivers see it.
type Alert struct {
	Status       Status
	Labels       map[string]string
	Annotations  map[string]string
	StartsAt     time.Time
	EndsAt       time.Time // zero while firing
	GeneratorURL string
	Fingerprint  string
	Severity     Severity
	Value        float64
}

// Alerts is a list of alerts with filters the templates use.
type Alerts []Alert

// Firing returns the alerts still firing.
func (as Alerts) Firing() Alerts { return as.with(StatusFiring) }

// Resolved returns the alerts that resolved.
func (as Alerts) Resolved() Alerts { return as.with(StatusResolved) }

func (as Alerts) with(s Status) Alerts {
	out := Alerts{}
	for _, a := range as {
		if a.Status == s {
			out = append(out, a)
		}
	}
	return out
}

// Notification is one group of alerts sent to one receiver.
type Notification struct {
	Receiver          string
	GroupKey          string
	Status            Status // firing when any alert fires
	GroupLabels       map[string]string
	CommonLabels      map[string]string
	CommonAnnotations map[string]string
	ExternalURL       string
	Alerts            Alerts
	// Folded counts the notifications merged into this one by the rate
	// limiter; 0 for an ordinary notification.
	Folded int
}

// Notifier sends a notification to one provider. The consumer (the pipeline)
// owns the interface; each receiver package implements it.
//
// retryable reports whether the same request may succeed later (5xx,
// timeouts, provider rate limits); a false with a non-nil error means
// retrying is pointless (bad token, malformed request).
type Notifier interface {
	Notify(ctx context.Context, n Notification) (retryable bool, err error)
}

// NewNotification builds a notification for alerts, filling Status and the
// common labels and annotations the way Alertmanager does: a pair is common
// when every alert carries it with the same value.
func NewNotification(receiver, groupKey string, groupLabels map[string]string, alerts []Alert) Notification {
	n := Notification{
		Receiver:    receiver,
		GroupKey:    groupKey,
		Status:      StatusResolved,
		GroupLabels: groupLabels,
		Alerts:      alerts,
	}
	if n.GroupLabels == nil {
		n.GroupLabels = map[string]string{}
	}
	labels := make([]map[string]string, len(alerts))
	annotations := make([]map[string]string, len(alerts))
	for i, a := range alerts {
		if a.Status == StatusFiring {
			n.Status = StatusFiring
		}
		labels[i], annotations[i] = a.Labels, a.Annotations
	}
	n.CommonLabels = common(labels)
	n.CommonAnnotations = common(annotations)
	return n
}

func common(ms []map[string]string) map[string]string {
	out := map[string]string{}
	if len(ms) == 0 {
		return out
	}
	for k, v := range ms[0] {
		shared := true
		for _, m := range ms[1:] {
			if w, ok := m[k]; !ok || w != v {
				shared = false
				break
			}
		}
		if shared {
			out[k] = v
		}
	}
	return out
}
