package autoscaler

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cron is a parsed five-field cron expression (minute hour day-of-month
// month day-of-week), the syntax spec accepts for schedule floors: names
// for months and days, lists, ranges, steps, 7 as Sunday, and the
// @hourly-style shortcuts. Times are UTC. When both day fields are
// restricted a day matches either, as in cron(8).
type Cron struct {
	expr                       string
	minute, hour, dom, month   uint64
	dow                        uint64
	domRestricted, dowRestrict bool
}

var cronShortcuts = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

type cronField struct {
	name     string
	min, max int
	names    []string
}

var cronFieldSpecs = [5]cronField{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{"day of week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// ParseCron parses expr.
func ParseCron(expr string) (*Cron, error) {
	full := expr
	if s, ok := cronShortcuts[strings.TrimSpace(expr)]; ok {
		full = s
	}
	f := strings.Fields(full)
	if len(f) != 5 {
		return nil, fmt.Errorf("cron %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", expr, len(f))
	}
	var bits [5]uint64
	for i, field := range f {
		b, err := parseCronField(field, cronFieldSpecs[i])
		if err != nil {
			return nil, fmt.Errorf("cron %q: %w", expr, err)
		}
		bits[i] = b
	}
	if bits[4]&(1<<7) != 0 { // 7 is Sunday too
		bits[4] |= 1
	}
	return &Cron{
		expr: expr, minute: bits[0], hour: bits[1], dom: bits[2], month: bits[3], dow: bits[4],
		domRestricted: f[2] != "*", dowRestrict: f[4] != "*",
	}, nil
}

func parseCronField(field string, cf cronField) (uint64, error) {
	value := func(s string) (int, error) {
		for j, n := range cf.names {
			if strings.EqualFold(s, n) {
				return j + cf.min, nil
			}
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < cf.min || n > cf.max {
			return 0, fmt.Errorf("%s %q is not between %d and %d", cf.name, s, cf.min, cf.max)
		}
		return n, nil
	}
	var bits uint64
	for _, item := range strings.Split(field, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("%s step %q is not a positive number", cf.name, stepText)
			}
			step = n
		}
		lo, hi := cf.min, cf.max
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = value(a); err != nil {
				return 0, err
			}
			hi = lo
			if isRange {
				if hi, err = value(b); err != nil {
					return 0, err
				}
				if hi < lo {
					return 0, fmt.Errorf("%s range %s goes backwards", cf.name, rng)
				}
			} else if hasStep {
				hi = cf.max // "5/15" is 5, 20, 35, 50
			}
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << uint(v)
		}
	}
	return bits, nil
}

// String returns the expression as written.
func (c *Cron) String() string { return c.expr }

func (c *Cron) dayMatches(t time.Time) bool {
	dom := c.dom&(1<<uint(t.Day())) != 0
	dow := c.dow&(1<<uint(t.Weekday())) != 0
	if c.domRestricted && c.dowRestrict {
		return dom || dow
	}
	return dom && dow
}

// Next returns the first time the cron fires strictly after t (UTC), or
// the zero time when it never fires within five years (February 30th).
func (c *Cron) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		switch {
		case c.month&(1<<uint(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case c.hour&(1<<uint(t.Hour())) == 0:
			t = t.Truncate(time.Hour).Add(time.Hour)
		case c.minute&(1<<uint(t.Minute())) == 0:
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}

// floorAt tells whether a floor holds at now, and until when that answer
// stays true, so the core re-evaluates crons only when something can change.
func floorAt(f Floor, now time.Time) (active bool, until time.Time) {
	a := f.Cron.Next(now.Add(-f.For))
	if a.IsZero() {
		return false, now.Add(24 * time.Hour)
	}
	if a.After(now) {
		return false, a // nothing fired in (now-For, now]; the next firing starts it
	}
	// Active since a; a later firing may extend it, which can only begin on
	// a minute boundary.
	return true, minTime(a.Add(f.For), now.Truncate(time.Minute).Add(time.Minute))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
