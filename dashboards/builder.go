package dashboards

import (
	"fmt"
	"strings"
)

// gridWidth is Grafana's grid: 24 columns.
const gridWidth = 24

// board builds one dashboard: it numbers panels and flows them left to
// right, top to bottom, so no dashboard file places a panel by hand.
type board struct {
	d      Dashboard
	nextID int
	x, y   int
	rowH   int // height of the tallest panel on the current line
}

func newBoard(uid, title, description string) *board {
	return &board{d: Dashboard{
		UID:           uid,
		Title:         title,
		Description:   description,
		Tags:          []string{"swell"},
		Timezone:      "browser",
		Editable:      true,
		GraphTooltip:  1, // shared crosshair
		Refresh:       "10s",
		SchemaVersion: SchemaVersion,
		Version:       1,
		Time:          TimeRange{From: "now-1h", To: "now"},
		Templating:    Templating{List: []Variable{}},
		Annotations: Annotations{List: []Annotation{{
			// Grafana's own annotations (made by hand in the UI).
			Name:       "Annotations & Alerts",
			Datasource: DatasourceRef{Type: "grafana", UID: "-- Grafana --"},
			Enable:     true, Hide: true, BuiltIn: 1, Type: "dashboard",
			IconColor: "rgba(0, 211, 255, 1)",
		}}},
		Links: []Link{{
			Title: "swell", Type: "dashboards", Tags: []string{"swell"},
			AsDropdown: true, IncludeVars: true, KeepTime: true, Icon: "external link",
		}},
		Panels: []Panel{},
	}}
}

// variable adds a query variable over the tag key of measurement. Every
// variable is multi-value with "All", so queries always match it as a
// regex (`=~ /^$name$/`), which Grafana fills with `(a|b)`.
func (b *board) variable(name, label, measurement, key, where string) {
	q := fmt.Sprintf(`SHOW TAG VALUES FROM %q WITH KEY = %q`, measurement, key)
	if where != "" {
		q += " WHERE " + where
	}
	b.d.Templating.List = append(b.d.Templating.List, Variable{
		Name: name, Label: label, Type: "query", Datasource: swellDS,
		Query: q, Definition: q,
		Refresh: 2, // on time range change: new nodes and services appear
		Multi:   true, IncludeAll: true, Sort: 1,
		Current: VariableValue{Selected: true, Text: []string{"All"}, Value: []string{"$__all"}},
		Options: []any{},
	})
}

// annotation adds an annotation query over one of swell's event
// measurements (fields from, to, reason; tags service, node).
func (b *board) annotation(name, color, query string) {
	b.d.Annotations.List = append(b.d.Annotations.List, Annotation{
		Name: name, Datasource: swellDS, Enable: true, IconColor: color,
		Query: query, TextColumn: "reason", TagsColumn: "service,node",
		Target: &AnnotationTarget{RefID: "Anno", Query: query, RawQuery: true, ResultFormat: "table"},
	})
}

// row starts a new full-width row header.
func (b *board) row(title string) {
	b.newline()
	collapsed := false
	b.nextID++
	b.d.Panels = append(b.d.Panels, Panel{
		ID: b.nextID, Type: "row", Title: title, Collapsed: &collapsed,
		GridPos: GridPos{H: 1, W: gridWidth, X: 0, Y: b.y},
	})
	b.y++
}

func (b *board) newline() {
	if b.x > 0 {
		b.y += b.rowH
		b.x, b.rowH = 0, 0
	}
}

// add places p w columns wide and h high after the previous panel,
// wrapping to a new line when it does not fit.
func (b *board) add(w, h int, p Panel) {
	if b.x+w > gridWidth {
		b.newline()
	}
	b.nextID++
	p.ID = b.nextID
	p.GridPos = GridPos{H: h, W: w, X: b.x, Y: b.y}
	ds := swellDS
	p.Datasource = &ds
	for i := range p.Targets {
		p.Targets[i].RefID = string(rune('A' + i))
		p.Targets[i].Datasource = swellDS
	}
	b.d.Panels = append(b.d.Panels, p)
	b.x += w
	b.rowH = max(b.rowH, h)
}

func (b *board) build() Dashboard { return b.d }

// series is a time-series target: GROUP BY time($__interval) queries.
func series(query, alias string) Target {
	return Target{Query: query, RawQuery: true, ResultFormat: "time_series", Alias: alias}
}

// table is a target whose rows become a table (GROUP BY tags become
// columns).
func table(query string) Target {
	return Target{Query: query, RawQuery: true, ResultFormat: "table"}
}

// timeseries is a line chart.
func timeseries(title, unit, description string, targets ...Target) Panel {
	return Panel{
		Type: "timeseries", Title: title, Description: description, Targets: targets,
		FieldConfig: &FieldConfig{
			Defaults: FieldDefaults{
				Unit: unit,
				Custom: map[string]any{
					"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
					"spanNulls": true, "showPoints": "never",
				},
			},
			Overrides: []Override{},
		},
		Options: map[string]any{
			"legend":  map[string]any{"displayMode": "table", "placement": "bottom", "showLegend": true, "calcs": []string{"mean", "max", "lastNotNull"}},
			"tooltip": map[string]any{"mode": "multi", "sort": "desc"},
		},
	}
}

// stat is a single big number.
func stat(title, unit, description string, th *Thresholds, targets ...Target) Panel {
	return Panel{
		Type: "stat", Title: title, Description: description, Targets: targets,
		FieldConfig: &FieldConfig{
			Defaults:  FieldDefaults{Unit: unit, Thresholds: th, Color: map[string]any{"mode": "thresholds"}},
			Overrides: []Override{},
		},
		Options: map[string]any{
			"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
			"colorMode":     "value", "graphMode": "area", "textMode": "auto", "justifyMode": "auto",
		},
	}
}

// tablePanel shows table targets.
func tablePanel(title, description string, targets ...Target) Panel {
	return Panel{
		Type: "table", Title: title, Description: description, Targets: targets,
		FieldConfig: &FieldConfig{Defaults: FieldDefaults{Custom: map[string]any{"filterable": true}}, Overrides: []Override{}},
		Options:     map[string]any{"showHeader": true, "footer": map[string]any{"show": false}},
	}
}

// timeline is a state timeline: one band per series, coloured by value.
func timeline(title, description string, mappings []any, targets ...Target) Panel {
	return Panel{
		Type: "state-timeline", Title: title, Description: description, Targets: targets,
		FieldConfig: &FieldConfig{
			Defaults:  FieldDefaults{Mappings: mappings, Color: map[string]any{"mode": "thresholds"}},
			Overrides: []Override{},
		},
		Options: map[string]any{"mergeValues": true, "showValue": "auto", "rowHeight": 0.9},
	}
}

// withLinks adds data links to p.
func withLinks(p Panel, links ...DataLink) Panel {
	p.FieldConfig.Defaults.Links = append(p.FieldConfig.Defaults.Links, links...)
	return p
}

// withMinMax pins p's axis.
func withMinMax(p Panel, lo, hi *float64) Panel {
	p.FieldConfig.Defaults.Min, p.FieldConfig.Defaults.Max = lo, hi
	return p
}

// stacked stacks p's series.
func stacked(p Panel) Panel {
	p.FieldConfig.Defaults.Custom["stacking"] = map[string]any{"mode": "normal", "group": "A"}
	return p
}

// dashed draws the fields whose name matches re as dashed lines (limits
// and targets against the values they bound).
func dashed(p Panel, re string) Panel {
	p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, Override{
		Matcher: Matcher{ID: "byRegexp", Options: re},
		Properties: []Property{
			{ID: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
			{ID: "custom.fillOpacity", Value: 0},
		},
	})
	return p
}

func num(v float64) *float64 { return &v }

// steps are thresholds: green below the first value, then each colour.
func steps(colors ...any) *Thresholds {
	th := &Thresholds{Mode: "absolute", Steps: []ThresholdStep{{Color: colors[0].(string)}}}
	for i := 1; i+1 < len(colors); i += 2 {
		th.Steps = append(th.Steps, ThresholdStep{Value: num(colors[i].(float64)), Color: colors[i+1].(string)})
	}
	return th
}

// match is the filter `"tag" =~ /^$variable$/`.
func match(tag, variable string) string {
	return fmt.Sprintf(`%q =~ /^$%s$/`, tag, variable)
}

// where joins conditions after $timeFilter.
func where(conds ...string) string {
	return "WHERE $timeFilter" + strings.Join(append([]string{""}, conds...), " AND ")
}

// dashLink links to another swell dashboard with one variable set from
// the clicked series or row; from is the Grafana expression of the value.
func dashLink(title, uid, variable, from string) DataLink {
	return DataLink{
		Title: title,
		URL:   "/d/" + uid + "?var-" + variable + "=" + from + "&${__url_time_range}",
	}
}
