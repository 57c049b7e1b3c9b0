// Package collectortest helps test collector inputs through the real
// pipeline: it gathers with collector.GatherOnce (so values go through the
// same conversion and encoding as in production) and decodes the line
// protocol back into points to assert on.
package collectortest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/swell-pipeline/swell/collector"
)

// Point is one decoded line of line protocol.
type Point struct {
	Measurement string
	Tags        map[string]string
	// Fields hold int64, uint64, float64, string or bool values.
	Fields map[string]any
	Time   time.Time
}

// Gather gathers in once with collector.GatherOnce under the name "test"
// and returns the decoded points and the gather's error. A decoding failure
// fails the test: the collector must never produce bad line protocol.
func Gather(t testing.TB, in collector.Input) ([]Point, error) {
	t.Helper()
	return GatherContext(t, t.Context(), in)
}

// GatherContext is Gather with an explicit context.
func GatherContext(t testing.TB, ctx context.Context, in collector.Input) ([]Point, error) {
	t.Helper()
	var buf bytes.Buffer
	err := collector.GatherOnce(ctx, []collector.ConfiguredInput{{Name: "test", Input: in}}, nil, &buf)
	points, derr := Decode(buf.Bytes())
	if derr != nil {
		t.Fatalf("collector produced undecodable line protocol: %v\n%s", derr, buf.Bytes())
	}
	return points, err
}

// Decode parses line protocol with nanosecond timestamps.
func Decode(data []byte) ([]Point, error) {
	dec := lineprotocol.NewDecoderWithBytes(data)
	var points []Point
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil {
			return nil, fmt.Errorf("point %d: measurement: %w", len(points)+1, err)
		}
		p := Point{Measurement: string(m), Tags: map[string]string{}, Fields: map[string]any{}}
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				return nil, fmt.Errorf("point %d (%s): tag: %w", len(points)+1, p.Measurement, err)
			}
			if k == nil {
				break
			}
			p.Tags[string(k)] = string(v)
		}
		for {
			k, v, err := dec.NextField()
			if err != nil {
				return nil, fmt.Errorf("point %d (%s): field: %w", len(points)+1, p.Measurement, err)
			}
			if k == nil {
				break
			}
			p.Fields[string(k)] = v.Interface()
		}
		ts, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("point %d (%s): time: %w", len(points)+1, p.Measurement, err)
		}
		p.Time = ts
		points = append(points, p)
	}
	return points, nil
}

// Filter returns the points of one measurement.
func Filter(points []Point, measurement string) []Point {
	var out []Point
	for _, p := range points {
		if p.Measurement == measurement {
			out = append(out, p)
		}
	}
	return out
}

// RequireFields fails the test unless p has every field in want with the
// given line protocol kind.
func RequireFields(t testing.TB, p Point, want map[string]lineprotocol.ValueKind) {
	t.Helper()
	for name, kind := range want {
		v, ok := p.Fields[name]
		if !ok {
			t.Errorf("%s %v: missing field %q", p.Measurement, p.Tags, name)
			continue
		}
		if got := kindOf(v); got != kind {
			t.Errorf("%s %v: field %q is %s (%v), want %s", p.Measurement, p.Tags, name, got, v, kind)
		}
	}
}

// RequireTagKeys fails the test unless p's tag keys are exactly want.
func RequireTagKeys(t testing.TB, p Point, want ...string) {
	t.Helper()
	if len(p.Tags) != len(want) {
		t.Errorf("%s: tags %v, want exactly the keys %v", p.Measurement, p.Tags, want)
		return
	}
	for _, k := range want {
		if _, ok := p.Tags[k]; !ok {
			t.Errorf("%s: tags %v, want exactly the keys %v", p.Measurement, p.Tags, want)
			return
		}
	}
}

func kindOf(v any) lineprotocol.ValueKind {
	switch v.(type) {
	case int64:
		return lineprotocol.Int
	case uint64:
		return lineprotocol.Uint
	case float64:
		return lineprotocol.Float
	case string:
		return lineprotocol.String
	case bool:
		return lineprotocol.Bool
	}
	return lineprotocol.Unknown
}
