package spec

import (
	"fmt"
	"time"
)

// autoscaleStrict adds the checks of an autoscale block that need to know
// how the autoscaler works, beyond the ranges validateService checks:
// it keeps 1 s buckets and decides once a second, so sub-second durations
// mean nothing; and settings that can never take effect are mistakes, not
// preferences. It runs after (*validator).autoscale.
func (v *validator) autoscaleStrict(a *Autoscale) {
	p := "autoscale."
	whole := func(path string, d Duration) {
		if d.D()%time.Second != 0 {
			v.add(path, "%s is not a whole number of seconds (the autoscaler decides once a second)", d)
		}
	}
	whole(p+"stableWindow", a.StableWindow)
	whole(p+"panicWindow", a.PanicWindow)
	whole(p+"scaleUp.stabilization", a.ScaleUp.Stabilization)
	whole(p+"scaleDown.stabilization", a.ScaleDown.Stabilization)
	for i, pol := range a.ScaleUp.Policies {
		whole(fmt.Sprintf("%sscaleUp.policies[%d].period", p, i), pol.Period)
	}
	for i, pol := range a.ScaleDown.Policies {
		whole(fmt.Sprintf("%sscaleDown.policies[%d].period", p, i), pol.Period)
	}
	whole(p+"scaleDownDelay", a.ScaleDownDelay)
	whole(p+"scaleToZero.grace", a.ScaleToZero.Grace)
	if a.ScaleToZero.Enabled && a.Min > 0 {
		v.add(p+"scaleToZero.enabled", "has no effect while min is %d (set min: 0 to let the service reach zero)", a.Min)
	}
	for i, sc := range a.Schedule {
		if sc.Min >= 0 && sc.Min < a.Min {
			v.add(fmt.Sprintf("%sschedule[%d].min", p, i), "%d is below min (%d): a floor only raises the count (lower min, and raise it with a schedule instead)", sc.Min, a.Min)
		}
	}
	if f := a.Fallback; f != nil {
		whole(p+"fallback.after", f.After)
		if f.Instances != nil && *f.Instances >= 0 && *f.Instances < a.Min {
			v.add(p+"fallback.instances", "%d is less than min (%d); the count never goes below min", *f.Instances, a.Min)
		}
	}
}
