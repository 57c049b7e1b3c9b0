package collector

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// Reasons a field or point is dropped; they label the dropped counters.
const (
	reasonNonFinite   = "non_finite"  // NaN or ±Inf float field
	reasonUnsupported = "unsupported" // field value of a type line protocol has no kind for
	reasonNoFields    = "no_fields"   // point left without a field
	reasonInvalid     = "invalid"     // measurement or key line protocol cannot carry
	reasonLate        = "late"        // added after its gather had ended
	reasonOversize    = "oversize"    // one line longer than MaxBatchBytes
	reasonWriteError  = "write_error" // the Output returned an error for its batch
)

// maxKeptErrors bounds the errors one gather keeps for logging; the count
// stays exact.
const maxKeptErrors = 20

// accumulator is the collector's Accumulator for one gather of one input. It
// encodes each point as it arrives, so a gather's memory is its line
// protocol and nothing more.
type accumulator struct {
	mu        sync.Mutex
	now       time.Time // stamp for points added with a zero time
	precision time.Duration
	global    []tag

	enc    lineEncoder
	keys   []string // scratch for sorting field keys
	fields []field  // scratch for converted fields

	closed bool
	res    gatherResult
}

// gatherResult is what one gather produced.
type gatherResult struct {
	input string
	// data holds one line per point; ends[i] is where line i ends.
	data []byte
	ends []int
	// errs are the first errors reported, errCount all of them.
	errs     []error
	errCount int
	// fieldsDropped and pointsDropped count by reason.
	fieldsDropped map[string]int
	pointsDropped map[string]int
}

func (r *gatherResult) points() int { return len(r.ends) }

var _ Accumulator = (*accumulator)(nil)

func newAccumulator(input string, now time.Time, precision time.Duration, global []tag) *accumulator {
	return &accumulator{
		now:       now,
		precision: precision,
		global:    global,
		res: gatherResult{
			input:         input,
			fieldsDropped: map[string]int{},
			pointsDropped: map[string]int{},
		},
	}
}

// AddFields converts, tags and encodes one point.
func (a *accumulator) AddFields(measurement string, fields map[string]any, tags map[string]string, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		// An input that ignored its context may still be running; its
		// points belong to a gather that has already been shipped.
		a.res.pointsDropped[reasonLate]++
		return
	}
	a.keys = a.keys[:0]
	for k := range fields {
		a.keys = append(a.keys, k)
	}
	slices.Sort(a.keys)
	a.fields = a.fields[:0]
	for _, k := range a.keys {
		if !validKey(k) {
			a.res.fieldsDropped[reasonInvalid]++
			a.addErrorLocked(fmt.Errorf("%s: field key %q cannot be written as line protocol", measurement, k))
			continue
		}
		v, reason := fieldValue(fields[k])
		switch reason {
		case "":
			a.fields = append(a.fields, field{k, v})
		case reasonUnsupported:
			a.res.fieldsDropped[reason]++
			a.addErrorLocked(fmt.Errorf("%s: field %q has unsupported type %T", measurement, k, fields[k]))
		default:
			a.res.fieldsDropped[reason]++
		}
	}
	if len(a.fields) == 0 {
		a.res.pointsDropped[reasonNoFields]++
		return
	}
	if t.IsZero() {
		t = a.now
	}
	if a.precision > 0 {
		t = t.Truncate(a.precision)
	}
	a.enc.tags = mergeTags(a.enc.tags, tags, a.global)
	if err := a.enc.encode(measurement, a.enc.tags, a.fields, t); err != nil {
		a.res.pointsDropped[reasonInvalid]++
		a.addErrorLocked(err)
	}
}

// AddError records a problem the input could work around.
func (a *accumulator) AddError(err error) {
	if err == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.addErrorLocked(err)
}

func (a *accumulator) addErrorLocked(err error) {
	if a.closed {
		return
	}
	a.res.errCount++
	if len(a.res.errs) < maxKeptErrors {
		a.res.errs = append(a.res.errs, err)
	}
}

// finish closes the accumulator to further points and returns the result.
// gatherErr, when not nil, is counted as one more error.
func (a *accumulator) finish(gatherErr error) gatherResult {
	a.mu.Lock()
	defer a.mu.Unlock()
	if gatherErr != nil {
		a.addErrorLocked(gatherErr)
	}
	a.closed = true
	res := a.res
	res.data, res.ends = a.enc.take()
	a.res = gatherResult{input: res.input, fieldsDropped: map[string]int{}, pointsDropped: map[string]int{}}
	return res
}

// fieldValue converts a Go value to a line protocol value. The reason is
// empty when the conversion worked.
func fieldValue(v any) (lineprotocol.Value, string) {
	switch x := v.(type) {
	case float64:
		return floatValue(x)
	case float32:
		return floatValue(float64(x))
	case int:
		return lineprotocol.IntValue(int64(x)), ""
	case int64:
		return lineprotocol.IntValue(x), ""
	case int32:
		return lineprotocol.IntValue(int64(x)), ""
	case int16:
		return lineprotocol.IntValue(int64(x)), ""
	case int8:
		return lineprotocol.IntValue(int64(x)), ""
	case uint:
		return uintValue(uint64(x)), ""
	case uint64:
		return uintValue(x), ""
	case uint32:
		return lineprotocol.IntValue(int64(x)), ""
	case uint16:
		return lineprotocol.IntValue(int64(x)), ""
	case uint8:
		return lineprotocol.IntValue(int64(x)), ""
	case bool:
		return lineprotocol.BoolValue(x), ""
	case string:
		s, _ := lineprotocol.StringValue(strings.ToValidUTF8(x, "\uFFFD"))
		return s, ""
	}
	return lineprotocol.Value{}, reasonUnsupported
}

func floatValue(f float64) (lineprotocol.Value, string) {
	v, ok := lineprotocol.FloatValue(f)
	if !ok {
		return v, reasonNonFinite
	}
	return v, ""
}

// uintValue writes unsigned values as signed integers, clamping at
// MaxInt64, because InfluxDB 1.x rejects the unsigned kind and Telegraf does
// the same by default (a counter that large has wrapped long ago anyway).
func uintValue(u uint64) lineprotocol.Value {
	if u > math.MaxInt64 {
		return lineprotocol.IntValue(math.MaxInt64)
	}
	return lineprotocol.IntValue(int64(u))
}
