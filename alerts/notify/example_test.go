package notify_test

import (
	"context"
	"fmt"
	"time"

	"github.com/swell-pipeline/swell/alerts/notify"
)

// printer stands in for a receiver: it prints what it would send.
type printer struct{ tpl *notify.Template }

func (p printer) Notify(_ context.Context, n notify.Notification) (bool, error) {
	title, _ := p.tpl.Title(n)
	fmt.Println(title)
	return false, nil
}

func ExamplePipeline() {
	tpl, err := notify.NewTemplate(notify.TemplateOptions{Lang: notify.LangZH})
	if err != nil {
		panic(err)
	}
	p, err := notify.NewPipeline(notify.PipelineOptions{
		Receiver:  "oncall",
		Notifier:  printer{tpl},
		Retry:     notify.RetryPolicy{Initial: time.Second, MaxAttempts: 5},
		RateLimit: notify.RateLimit{Burst: 20, Per: time.Minute},
	})
	if err != nil {
		panic(err)
	}
	n := notify.NewNotification("oncall", "{}:{alertname=\"NodeDown\"}", nil, []notify.Alert{{
		Status: notify.StatusFiring, Severity: notify.SeverityCritical,
		Labels: map[string]string{"alertname": "NodeDown", "node": "n3"},
	}})
	r := p.Notify(context.Background(), n)
	fmt.Println(r.Outcome, r.Attempts)
	// Output:
	// [告警:1] NodeDown
	// sent 1
}
