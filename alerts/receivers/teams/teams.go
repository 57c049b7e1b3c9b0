package teams

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
)

// maxAlerts keeps the card well below the 28 KB Teams accepts.
const maxAlerts = 20

// Config is a Teams Workflows receiver's settings.
type Config struct {
	// URL is the workflow's HTTP trigger URL (it carries a sig= credential).
	URL                   notify.Secret `yaml:"url" json:"url"`
	notify.TemplateConfig `yaml:",inline" json:",inline"`

	Timeout    time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	HTTPClient *http.Client  `yaml:"-" json:"-"`
}

// Receiver posts to one Teams workflow.
type Receiver struct {
	cfg    Config
	tpl    *notify.Template
	funcs  map[string]any
	client *http.Client
}

var _ notify.Notifier = (*Receiver)(nil)

// New validates c.
func New(c Config) (*Receiver, error) {
	_, err := notify.CheckURL("teams", "url", c.URL)
	if err != nil {
		return nil, err
	}
	tpl, err := c.Template(notify.FormatText)
	if err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	lang := c.Lang
	if lang == "" {
		lang = notify.LangEN
	}
	return &Receiver{cfg: c, tpl: tpl, funcs: notify.Funcs(lang), client: client}, nil
}

type envelope struct {
	Type        string       `json:"type"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	ContentType string  `json:"contentType"`
	ContentURL  *string `json:"contentUrl"`
	Content     card    `json:"content"`
}

type card struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"`
	Version string         `json:"version"`
	MSTeams map[string]any `json:"msteams"`
	Body    []element      `json:"body"`
	Actions []action       `json:"actions,omitempty"`
}

// element is the subset of Adaptive Card elements used: TextBlock,
// Container and FactSet.
type element struct {
	Type      string    `json:"type"`
	Text      string    `json:"text,omitempty"`
	Weight    string    `json:"weight,omitempty"`
	Size      string    `json:"size,omitempty"`
	Color     string    `json:"color,omitempty"`
	Wrap      bool      `json:"wrap,omitempty"`
	Separator bool      `json:"separator,omitempty"`
	Items     []element `json:"items,omitempty"`
	Facts     []fact    `json:"facts,omitempty"`
}

type fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

func color(s notify.Status, sev notify.Severity) string {
	switch {
	case s == notify.StatusResolved:
		return "Good"
	case sev == notify.SeverityCritical:
		return "Attention"
	default:
		return "Warning"
	}
}

// Body renders n as a Workflows message with one Adaptive Card. With a
// custom body template the card holds that text instead of the per-alert
// containers.
func (r *Receiver) Body(n notify.Notification) ([]byte, error) {
	title, err := r.tpl.Title(n)
	if err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	sev := notify.SeverityWarning
	for _, a := range n.Alerts.Firing() {
		if a.Severity == notify.SeverityCritical {
			sev = notify.SeverityCritical
		}
	}
	body := []element{{Type: "TextBlock", Text: title, Weight: "Bolder", Size: "Large", Color: color(n.Status, sev), Wrap: true}}
	tr := r.funcs["tr"].(func(any) string)
	tm := r.funcs["time"].(func(time.Time) string)
	if r.cfg.Body != "" {
		text, err := r.tpl.Body(n)
		if err != nil {
			return nil, fmt.Errorf("teams: %w", err)
		}
		body = append(body, element{Type: "TextBlock", Text: text, Wrap: true})
	} else {
		for i, a := range n.Alerts {
			if i == maxAlerts {
				body = append(body, element{Type: "TextBlock", Text: fmt.Sprintf("+%d more", len(n.Alerts)-i), Wrap: true})
				break
			}
			head := "[" + tr(a.Status) + "] "
			if a.Severity != "" {
				head += tr(a.Severity) + " "
			}
			head += cmpOr(a.Annotations["summary"], a.Labels["alertname"])
			items := []element{{Type: "TextBlock", Text: head, Weight: "Bolder", Color: color(a.Status, a.Severity), Wrap: true}}
			if d := a.Annotations["description"]; d != "" {
				items = append(items, element{Type: "TextBlock", Text: d, Wrap: true})
			}
			facts := []fact{{Title: tr("value"), Value: strconv.FormatFloat(a.Value, 'f', -1, 64)}, {Title: tr("since"), Value: tm(a.StartsAt)}}
			if a.Status == notify.StatusResolved {
				facts = append(facts, fact{Title: tr("ended"), Value: tm(a.EndsAt)})
			}
			for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
				facts = append(facts, fact{Title: k, Value: a.Labels[k]})
			}
			items = append(items, element{Type: "FactSet", Facts: facts})
			body = append(body, element{Type: "Container", Separator: true, Items: items})
		}
	}
	c := card{
		Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
		MSTeams: map[string]any{"width": "Full"}, Body: body,
	}
	if n.ExternalURL != "" {
		c.Actions = []action{{Type: "Action.OpenUrl", Title: "swell", URL: n.ExternalURL}}
	}
	b, err := notify.EncodeJSON(envelope{Type: "message", Attachments: []attachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: c}}})
	if err != nil {
		return nil, fmt.Errorf("teams: encode: %w", err)
	}
	return b, nil
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

// Notify sends n. Workflows answers 202 Accepted (200 from some tenants);
// 429, 5xx and transport errors are retryable, other 4xx are not.
func (r *Receiver) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	body, err := r.Body(n)
	if err != nil {
		return false, err
	}
	req, err := notify.NewJSONRequest(r.cfg.URL.Reveal(), body)
	if err != nil {
		return false, r.fail(err)
	}
	resp, retryable, err := notify.Send(ctx, r.client, req)
	if err != nil {
		return retryable, r.fail(err)
	}
	if resp.Status/100 != 2 {
		return notify.RetryableStatus(resp.Status), r.fail(notify.StatusError(resp))
	}
	return false, nil
}

func (r *Receiver) fail(err error) error {
	return notify.Redact(fmt.Errorf("teams: POST %s: %w", notify.SafeURL(r.cfg.URL), err), r.cfg.URL)
}
