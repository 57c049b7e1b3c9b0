package dashboards

// The types below are the part of Grafana's dashboard JSON model (schema
// version 39) that swell's dashboards use. Only what a dashboard needs is
// modelled; Grafana fills in the rest with its defaults when it loads one.

// SchemaVersion is the dashboard schema version the JSON is written in.
const SchemaVersion = 39

// DatasourceRef points a panel, target, variable or annotation at a
// datasource by uid.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// swellDS is the reference to swell's InfluxDB datasource.
var swellDS = DatasourceRef{Type: "influxdb", UID: DatasourceUID}

// Dashboard is one Grafana dashboard.
type Dashboard struct {
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	Description   string      `json:"description,omitempty"`
	Tags          []string    `json:"tags"`
	Timezone      string      `json:"timezone"`
	Editable      bool        `json:"editable"`
	GraphTooltip  int         `json:"graphTooltip"`
	Refresh       string      `json:"refresh"`
	SchemaVersion int         `json:"schemaVersion"`
	Version       int         `json:"version"`
	Time          TimeRange   `json:"time"`
	Templating    Templating  `json:"templating"`
	Annotations   Annotations `json:"annotations"`
	Links         []Link      `json:"links"`
	Panels        []Panel     `json:"panels"`
}

// TimeRange is the dashboard's default time range.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Templating holds the dashboard's variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a query variable whose values come from InfluxDB.
type Variable struct {
	Name        string        `json:"name"`
	Label       string        `json:"label"`
	Type        string        `json:"type"`
	Datasource  DatasourceRef `json:"datasource"`
	Query       string        `json:"query"`
	Definition  string        `json:"definition"`
	Refresh     int           `json:"refresh"`
	Multi       bool          `json:"multi"`
	IncludeAll  bool          `json:"includeAll"`
	Sort        int           `json:"sort"`
	Current     VariableValue `json:"current"`
	Options     []any         `json:"options"`
	Hide        int           `json:"hide"`
	SkipURLSync bool          `json:"skipUrlSync"`
}

// VariableValue is a variable's selection; "All" until someone picks.
type VariableValue struct {
	Selected bool     `json:"selected"`
	Text     []string `json:"text"`
	Value    []string `json:"value"`
}

// Annotations holds the dashboard's annotation queries.
type Annotations struct {
	List []Annotation `json:"list"`
}

// Annotation is an annotation query. InfluxDB annotations read their text
// and tags from columns of a raw InfluxQL query.
type Annotation struct {
	Name        string            `json:"name"`
	Datasource  DatasourceRef     `json:"datasource"`
	Enable      bool              `json:"enable"`
	Hide        bool              `json:"hide"`
	IconColor   string            `json:"iconColor"`
	BuiltIn     int               `json:"builtIn,omitempty"`
	Type        string            `json:"type,omitempty"`
	Query       string            `json:"query,omitempty"`
	TextColumn  string            `json:"textColumn,omitempty"`
	TagsColumn  string            `json:"tagsColumn,omitempty"`
	TitleColumn string            `json:"titleColumn,omitempty"`
	Target      *AnnotationTarget `json:"target,omitempty"`
}

// AnnotationTarget is the newer form of an annotation's query, which
// Grafana 10+ reads; Query above serves older versions.
type AnnotationTarget struct {
	RefID    string `json:"refId"`
	Query    string `json:"query"`
	RawQuery bool   `json:"rawQuery"`
	// ResultFormat "table" gives the annotation its text and tag columns.
	ResultFormat string `json:"resultFormat"`
}

// Link is a dashboard link: here, to the other swell dashboards, keeping
// the time range and the variables.
type Link struct {
	Title       string   `json:"title"`
	Type        string   `json:"type"`
	Tags        []string `json:"tags,omitempty"`
	URL         string   `json:"url,omitempty"`
	AsDropdown  bool     `json:"asDropdown"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
	TargetBlank bool     `json:"targetBlank"`
	Icon        string   `json:"icon"`
	Tooltip     string   `json:"tooltip"`
}

// GridPos places a panel on the dashboard's 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Panel is one panel: a time series, stat, table, state timeline or a
// row header.
type Panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	GridPos     GridPos        `json:"gridPos"`
	Datasource  *DatasourceRef `json:"datasource,omitempty"`
	Targets     []Target       `json:"targets,omitempty"`
	FieldConfig *FieldConfig   `json:"fieldConfig,omitempty"`
	Options     map[string]any `json:"options,omitempty"`
	// Collapsed applies to rows.
	Collapsed *bool `json:"collapsed,omitempty"`
	// Panels of a row are empty: swell's rows are never collapsed, so
	// their panels follow them at the top level.
	Panels          []Panel          `json:"panels,omitempty"`
	Transformations []Transformation `json:"transformations,omitempty"`
}

// Target is one query of a panel: always raw InfluxQL.
type Target struct {
	RefID        string        `json:"refId"`
	Datasource   DatasourceRef `json:"datasource"`
	Query        string        `json:"query"`
	RawQuery     bool          `json:"rawQuery"`
	ResultFormat string        `json:"resultFormat"`
	Alias        string        `json:"alias,omitempty"`
}

// FieldConfig sets units, ranges, thresholds and data links of a panel's
// fields.
type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []Override    `json:"overrides"`
}

// FieldDefaults apply to every field of a panel.
type FieldDefaults struct {
	Unit       string         `json:"unit,omitempty"`
	Min        *float64       `json:"min,omitempty"`
	Max        *float64       `json:"max,omitempty"`
	Decimals   *int           `json:"decimals,omitempty"`
	Color      map[string]any `json:"color,omitempty"`
	Thresholds *Thresholds    `json:"thresholds,omitempty"`
	Mappings   []any          `json:"mappings,omitempty"`
	Links      []DataLink     `json:"links,omitempty"`
	Custom     map[string]any `json:"custom,omitempty"`
}

// Thresholds colour values by step.
type Thresholds struct {
	Mode  string          `json:"mode"`
	Steps []ThresholdStep `json:"steps"`
}

// ThresholdStep is one step; the first has a nil value (from -∞).
type ThresholdStep struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

// Override changes properties of the fields a matcher selects.
type Override struct {
	Matcher    Matcher    `json:"matcher"`
	Properties []Property `json:"properties"`
}

// Matcher selects fields by name or regex.
type Matcher struct {
	ID      string `json:"id"`
	Options string `json:"options"`
}

// Property is one overridden property.
type Property struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

// DataLink links a value to another dashboard, filled from the series'
// labels.
type DataLink struct {
	Title       string `json:"title"`
	URL         string `json:"url"`
	TargetBlank bool   `json:"targetBlank"`
}

// Transformation reshapes query results before display.
type Transformation struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}
