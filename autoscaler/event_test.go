package autoscaler

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/events"
)

func TestScaleEventJSONAndCommonForm(t *testing.T) {
	e := ScaleEvent{
		Time: time.Date(2026, 11, 23, 8, 0, 1, 0, time.UTC), Service: "/shop/web", From: 2, To: 5,
		Mode: ModePanic, Metric: MetricConcurrency, ObservedStable: 10.33, ObservedPanic: 13.33,
		Ready: 2, Starting: 0, Formula: 5, Limiter: LimitNone, Priority: 100,
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2026-11-23T08:00:01Z","service":"/shop/web","from":2,"to":5,"mode":"panic","metric":"concurrency","observed_stable":10.33,"observed_panic":13.33,"ready":2,"starting":0,"formula":5,"priority":100}`
	if string(b) != want {
		t.Fatalf("json\n%s\nwant\n%s", b, want)
	}
	ev := e.Event()
	if ev.Type != events.Scale || ev.Service != "/shop/web" || ev.From != "2" || ev.To != "5" || !ev.Time.Equal(e.Time) {
		t.Fatalf("event %+v", ev)
	}
	if ev.Subject() != "swell.events.scale._shop_web" {
		t.Fatalf("subject %s", ev.Subject())
	}
	wantReason := "panic mode: scale up from 2 to 5; concurrency 10.33 (stable) 13.33 (panic), formula 5; 2 ready, 0 starting; priority 100"
	if ev.Reason != wantReason {
		t.Fatalf("reason\n%s\nwant\n%s", ev.Reason, wantReason)
	}
	if _, err := ev.Point(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		e    ScaleEvent
		want string
	}{
		{ScaleEvent{From: 5, To: 5, Limiter: LimitFallback}, "no signals: holding 5"},
		{ScaleEvent{From: 5, To: 8, Limiter: LimitFallback}, "no signals: fallback from 5 to 8"},
		{ScaleEvent{From: 16, To: 8, Mode: ModeStable, Metric: "rps", Formula: 2, Limiter: LimitRate}, "stable mode: scale down from 16 to 8; rps 0 (stable) 0 (panic), formula 2, limited by rate"},
	} {
		if got := tc.e.Reason(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("reason %q, want it to start with %q", got, tc.want)
		}
	}
}
