package runner

import (
	"fmt"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/swell-pipeline/swell/alerts"
)

// decodeBatch calls fn for every point of a line-protocol batch. The tag
// and field maps are reused between points: fn must not keep them (the
// evaluators copy what they keep). Lines that do not parse are skipped
// and counted; the first error is returned with the count.
func decodeBatch(data []byte, now time.Time, fn func(alerts.Point)) (points, bad int, err error) {
	dec := lineprotocol.NewDecoderWithBytes(data)
	p := alerts.Point{Tags: map[string]string{}, Fields: map[string]any{}}
	for dec.Next() {
		clear(p.Tags)
		clear(p.Fields)
		if e := decodeLine(dec, &p, now); e != nil {
			bad++
			if err == nil {
				err = e
			}
			continue
		}
		points++
		fn(p)
	}
	return points, bad, err
}

func decodeLine(dec *lineprotocol.Decoder, p *alerts.Point, now time.Time) error {
	m, err := dec.Measurement()
	if err != nil {
		return fmt.Errorf("measurement: %w", err)
	}
	p.Measurement = string(m)
	for {
		k, v, err := dec.NextTag()
		if err != nil {
			return fmt.Errorf("%s: tag: %w", p.Measurement, err)
		}
		if k == nil {
			break
		}
		p.Tags[string(k)] = string(v)
	}
	for {
		k, v, err := dec.NextField()
		if err != nil {
			return fmt.Errorf("%s: field: %w", p.Measurement, err)
		}
		if k == nil {
			break
		}
		p.Fields[string(k)] = v.Interface()
	}
	t, err := dec.Time(lineprotocol.Nanosecond, now)
	if err != nil {
		return fmt.Errorf("%s: time: %w", p.Measurement, err)
	}
	p.Time = t
	return nil
}
