package alerts

import "time"

// Names of the built-in rules; a user rule with the same name replaces the
// built-in one.
const (
	RuleServiceDegraded     = "service-degraded"
	RuleServiceSurplus      = "service-surplus"
	RuleNodeLost            = "node-lost"
	RuleAgentSilent         = "agent-silent"
	RulePipelineLag         = "pipeline-lag"
	RulePipelineUnreachable = "pipeline-unreachable"
)

// Measurements and tags the built-in rules read.
const (
	// MeasurementService carries per service the fields desired, running
	// and healthy (replica counts), tagged service.
	MeasurementService = "swell_service"
	// MeasurementNode carries per node the field ready (1 ready, 0 lost
	// after --node-timeout without heartbeat), tagged node.
	MeasurementNode = "swell_node"
	// MeasurementPipeline is the collector's and ingest's self-metrics,
	// tagged component and node.
	MeasurementPipeline = "swell_pipeline"
)

// BuiltinOptions adjusts the built-in rules; zero fields take the
// defaults of DefaultBuiltinOptions.
type BuiltinOptions struct {
	// ServiceDegradedFor is how long a service may have fewer healthy
	// instances than desired (a rollout or a restart) before CRITICAL.
	ServiceDegradedFor time.Duration
	// ServiceSurplusFor is how long it may have more, which rollouts with
	// maximumOverCapacity do on purpose, before WARNING.
	ServiceSurplusFor time.Duration
	// AgentSilentAfter is the deadman of the collectors' swell_pipeline
	// point, sent every collector interval (10 s by default).
	AgentSilentAfter time.Duration
	// PipelineLagWarn and PipelineLagCrit are ingest's pending messages.
	PipelineLagWarn, PipelineLagCrit float64
	PipelineLagFor                   time.Duration
	// Notify is given to every built-in rule.
	Notify []string
}

// DefaultBuiltinOptions returns the defaults of the built-in rules.
func DefaultBuiltinOptions() BuiltinOptions {
	return BuiltinOptions{
		ServiceDegradedFor: 30 * time.Second,
		ServiceSurplusFor:  5 * time.Minute,
		AgentSilentAfter:   time.Minute,
		PipelineLagWarn:    10_000,
		PipelineLagCrit:    100_000,
		PipelineLagFor:     time.Minute,
	}
}

// Builtin returns the built-in rules, on by default.
func Builtin(o BuiltinOptions) []Rule {
	d := DefaultBuiltinOptions()
	dur := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return v
	}
	num := func(v, def float64) float64 {
		if v == 0 {
			return def
		}
		return v
	}
	notify := func() []string { return append([]string(nil), o.Notify...) }
	return []Rule{
		{
			Name:        RuleServiceDegraded,
			Measurement: MeasurementService,
			Field:       "healthy - desired",
			GroupBy:     []string{"service"},
			Crit:        Condition{OpLT, 0},
			For:         dur(o.ServiceDegradedFor, d.ServiceDegradedFor),
			Labels:      map[string]string{"builtin": "true"},
			Annotations: map[string]string{
				"summary":     "{{.Labels.service}}: fewer healthy instances than desired",
				"description": "{{.Labels.service}} has fewer healthy instances than desired (healthy minus desired: {{.Value}}).",
			},
			Notify: notify(),
		},
		{
			Name:        RuleServiceSurplus,
			Measurement: MeasurementService,
			Field:       "healthy - desired",
			GroupBy:     []string{"service"},
			Warn:        Condition{OpGT, 0},
			For:         dur(o.ServiceSurplusFor, d.ServiceSurplusFor),
			Labels:      map[string]string{"builtin": "true"},
			Annotations: map[string]string{
				"summary":     "{{.Labels.service}}: more healthy instances than desired",
				"description": "{{.Labels.service}} has more healthy instances than desired (healthy minus desired: {{.Value}}): resources are wasted.",
			},
			Notify: notify(),
		},
		{
			Name:        RuleNodeLost,
			Measurement: MeasurementNode,
			Field:       "ready",
			GroupBy:     []string{"node"},
			Crit:        Condition{OpEQ, 0},
			Labels:      map[string]string{"builtin": "true"},
			Annotations: map[string]string{
				"summary":     "node {{.Labels.node}} lost",
				"description": "Node {{.Labels.node}} stopped sending heartbeats; its instances are being replaced elsewhere.",
			},
			Notify: notify(),
		},
		{
			Name:        RuleAgentSilent,
			Measurement: MeasurementPipeline,
			Where:       []Matcher{{Name: "component", Type: MatchEqual, Value: "collector"}},
			GroupBy:     []string{"node"},
			Deadman:     dur(o.AgentSilentAfter, d.AgentSilentAfter),
			Labels:      map[string]string{"builtin": "true"},
			Annotations: map[string]string{
				"summary":     "agent on {{.Labels.node}} silent",
				"description": "No collector point from {{.Labels.node}} arrived for a while: the agent is down or cut off from NATS.",
			},
			Notify: notify(),
		},
		{
			Name:        RulePipelineLag,
			Measurement: MeasurementPipeline,
			Field:       "lag_messages",
			Where:       []Matcher{{Name: "component", Type: MatchEqual, Value: "ingest"}},
			GroupBy:     []string{"node"},
			Warn:        Condition{OpGT, num(o.PipelineLagWarn, d.PipelineLagWarn)},
			Crit:        Condition{OpGT, num(o.PipelineLagCrit, d.PipelineLagCrit)},
			For:         dur(o.PipelineLagFor, d.PipelineLagFor),
			Labels:      map[string]string{"builtin": "true"},
			Annotations: map[string]string{
				"summary":     "ingest lag growing on {{.Labels.node}}",
				"description": "{{.Value}} messages wait in the metrics stream: InfluxDB is slow or down.",
			},
			Notify: notify(),
		},
		{
			Name:        RulePipelineUnreachable,
			Measurement: MeasurementPipeline,
			Field:       "up",
			Where:       []Matcher{MustMatcher("component", MatchRegexp, "influxdb|nats")},
			GroupBy:     []string{"component"},
			Crit:        Condition{OpEQ, 0},
			For:         10 * time.Second,
			Labels:      map[string]string{"builtin": "true"},
			Annotations: map[string]string{
				"summary":     "{{.Labels.component}} unreachable",
				"description": "swell cannot reach {{.Labels.component}}; deadman rules are held until it is back.",
			},
			Notify: notify(),
		},
	}
}

// BuiltinInhibitRules returns the built-in inhibitions: a lost node mutes
// every other alert that carries its node label.
func BuiltinInhibitRules() []InhibitRule {
	return []InhibitRule{{
		Source: []Matcher{{Name: LabelAlertName, Type: MatchEqual, Value: RuleNodeLost}},
		Target: []Matcher{
			{Name: LabelAlertName, Type: MatchNotEqual, Value: RuleNodeLost},
			{Name: "node", Type: MatchNotEqual, Value: ""},
		},
		Equal: []string{"node"},
	}}
}

// PipelineOutage reports whether a pipeline-unreachable alert fires in
// active; it is the usual EvalOptions.Outage of deadman rules.
func PipelineOutage(active []Active) bool {
	for _, a := range active {
		if a.Rule == RulePipelineUnreachable && a.State > OK {
			return true
		}
	}
	return false
}
