package autoscaler

import (
	"strings"
	"testing"
	"time"
)

func TestCronNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04 Mon", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct{ expr, from, want string }{
		{"0 8 * * 1-5", "2026-11-21 12:00 Sat", "2026-11-23 08:00 Mon"},
		{"0 8 * * 1-5", "2026-11-23 08:00 Mon", "2026-11-24 08:00 Tue"},
		{"*/15 * * * *", "2026-11-23 08:01 Mon", "2026-11-23 08:15 Mon"},
		{"5/20 * * * *", "2026-11-23 08:26 Mon", "2026-11-23 08:45 Mon"},
		{"0 0 1 jan *", "2026-11-23 08:00 Mon", "2027-01-01 00:00 Fri"},
		{"0 9 * * sun", "2026-11-23 08:00 Mon", "2026-11-29 09:00 Sun"},
		{"0 9 * * 7", "2026-11-23 08:00 Mon", "2026-11-29 09:00 Sun"},
		{"0 0 13 * fri", "2026-11-23 08:00 Mon", "2026-11-27 00:00 Fri"}, // either day field
		{"@hourly", "2026-11-23 08:30 Mon", "2026-11-23 09:00 Mon"},
		{"@daily", "2026-11-23 08:30 Mon", "2026-11-24 00:00 Tue"},
		{"0 0 29 2 *", "2026-03-01 00:00 Sun", "2028-02-29 00:00 Tue"},
	}
	for _, tc := range tests {
		t.Run(tc.expr+" from "+tc.from, func(t *testing.T) {
			c, err := ParseCron(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Next(at(tc.from)); !got.Equal(at(tc.want)) {
				t.Fatalf("next %s, want %s", got.Format("2006-01-02 15:04 Mon"), tc.want)
			}
		})
	}
	c, _ := ParseCron("0 0 30 2 *")
	if got := c.Next(at(tc0)); !got.IsZero() {
		t.Fatalf("February 30th fired at %s", got)
	}
}

const tc0 = "2026-11-23 08:00 Mon"

func TestParseCronErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"0 8 * *":      "want 5 fields",
		"61 8 * * *":   `minute "61" is not between 0 and 59`,
		"0 8 * * 5-1":  "range 5-1 goes backwards",
		"0 8 * * */0":  `step "0"`,
		"0 8 * foo *":  `month "foo"`,
		"@fortnightly": "want 5 fields",
	} {
		if _, err := ParseCron(expr); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", expr, err, want)
		}
	}
}

func TestFloorAt(t *testing.T) {
	c, _ := ParseCron("0 8 * * 1-5")
	f := Floor{Cron: c, Min: 10, For: 90 * time.Minute}
	tests := []struct {
		at     time.Time
		active bool
		until  time.Time
	}{
		{monday8.Add(-time.Minute), false, monday8},
		{monday8, true, monday8.Add(time.Minute)},
		{monday8.Add(89*time.Minute + 30*time.Second), true, monday8.Add(90 * time.Minute)},
		{monday8.Add(90 * time.Minute), false, monday8.Add(24 * time.Hour)},
	}
	for _, tc := range tests {
		active, until := floorAt(f, tc.at)
		if active != tc.active || !until.Equal(tc.until) {
			t.Errorf("at %s: %v until %s, want %v until %s", tc.at.Format(time.TimeOnly), active, until, tc.active, tc.until)
		}
	}
}
