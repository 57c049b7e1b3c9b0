package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// line is one entry ready to write, or a whole message when every entry in
// it was valid and timestamped (the common case, written as received).
type line struct {
	data   []byte
	points int
	// entry is the entry's 1-based index in its message, lineNo its
	// physical line (0 if unknown); both 0 for a whole message.
	entry  int
	lineNo int64
}

// badLine is an entry the parser refused.
type badLine struct {
	text   []byte
	lineNo int64
	reason string
}

// parsed is a message after validation.
type parsed struct {
	lines  []line
	points int
	bad    []badLine
}

// parse validates every entry of a message's line protocol. With split
// false and nothing to fix, the result is the message itself as one line;
// otherwise each valid entry is re-encoded on its own, entries without a
// timestamp get stamp (the message's stream time, so a retry writes the
// same point again instead of a new one), and invalid entries come back in
// bad with the decoder's reason.
func parse(data []byte, stamp time.Time, split bool) parsed {
	var p parsed
	if !split {
		clean := true
		dec := lineprotocol.NewDecoderWithBytes(data)
		for dec.Next() {
			hasTime, err := validEntry(dec)
			if err != nil || !hasTime {
				clean = false
				break
			}
			p.points++
		}
		if clean {
			if p.points > 0 {
				p.lines = []line{{data: data, points: p.points}}
			}
			return p
		}
		p.points = 0
	}

	var enc lineprotocol.Encoder
	// The decoder has already checked names and keys; lax also keeps tags
	// in the order the producer wrote them.
	enc.SetLax(true)
	enc.SetBuffer(make([]byte, 0, len(data)+len(data)/8))
	type span struct{ start, end int }
	var spans []span
	lines := make([]line, 0, bytes.Count(data, []byte{'\n'})+1)
	pos := lineCounter{data: data}
	dec := lineprotocol.NewDecoderWithBytes(data)
	entry := 0
	for dec.Next() {
		entry++
		mark := len(enc.Bytes())
		lineNo := int64(0)
		hasTime, err := decodeEntry(dec, &enc, func(m []byte) { lineNo = pos.lineOf(m) })
		if err == nil && !hasTime {
			enc.EndLine(stamp)
		}
		if err == nil {
			err = enc.Err()
		}
		if err != nil {
			enc.SetBuffer(enc.Bytes()[:mark])
			p.bad = append(p.bad, badEntry(data, entry, lineNo, err))
			continue
		}
		spans = append(spans, span{mark, len(enc.Bytes())})
		lines = append(lines, line{points: 1, entry: entry, lineNo: lineNo})
	}
	buf := enc.Bytes()
	for i, s := range spans {
		lines[i].data = buf[s.start:s.end:s.end]
	}
	p.lines = lines
	p.points = len(lines)
	return p
}

// validEntry checks the syntax of one entry and reports whether it has a
// timestamp. Asking for the timestamp makes the decoder scan the whole entry
// without unescaping or converting anything. Numbers are not converted:
// that would cost a third of ingest's CPU, and InfluxDB checks them anyway.
// A value it refuses gets the request split, and splitting uses
// decodeEntry, so the line still reaches the dead letters with the
// parser's reason.
func validEntry(dec *lineprotocol.Decoder) (hasTime bool, err error) {
	t, err := dec.TimeBytes()
	return t != nil, err
}

// decodeEntry reads one entry, converting every value, and re-encodes it
// into enc; when the entry has a timestamp it ends the line with it. seen
// gets the measurement name first.
func decodeEntry(dec *lineprotocol.Decoder, enc *lineprotocol.Encoder, seen func(measurement []byte)) (hasTime bool, err error) {
	m, err := dec.Measurement()
	if err != nil {
		return false, err
	}
	seen(m)
	enc.StartLineRaw(m)
	for {
		k, v, err := dec.NextTag()
		if err != nil {
			return false, err
		}
		if k == nil {
			break
		}
		enc.AddTagRaw(k, v)
	}
	fields := 0
	for {
		k, v, err := dec.NextField()
		if err != nil {
			return false, err
		}
		if k == nil {
			break
		}
		fields++
		enc.AddFieldRaw(k, v)
	}
	if fields == 0 {
		return false, errors.New("no fields")
	}
	t, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
	if err != nil {
		return false, err
	}
	if t.IsZero() {
		return false, nil
	}
	enc.EndLine(t)
	return true, nil
}

// badEntry describes a refused entry. The decoder's error carries the
// physical line; its text is cut from the message for the dead letter.
func badEntry(data []byte, entry int, lineNo int64, err error) badLine {
	if de, ok := errors.AsType[*lineprotocol.DecodeError](err); ok {
		lineNo = de.Line
		return badLine{
			text:   physicalLine(data, lineNo),
			lineNo: lineNo,
			reason: fmt.Sprintf("line %d: invalid line protocol: %s (column %d)", lineNo, de.Err, de.Column),
		}
	}
	where := fmt.Sprintf("entry %d", entry)
	if lineNo > 0 {
		where = fmt.Sprintf("line %d", lineNo)
	}
	b := badLine{lineNo: lineNo, reason: fmt.Sprintf("%s: invalid line protocol: %s", where, err)}
	if lineNo > 0 {
		b.text = physicalLine(data, lineNo)
	}
	return b
}

// physicalLine returns line n (1-based) of data without its line ending.
func physicalLine(data []byte, n int64) []byte {
	for i := int64(1); i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return nil
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return bytes.TrimSuffix(data, []byte{'\r'})
}

// lineCounter finds the physical line an entry starts on. The decoder
// returns a measurement name as a slice of the message itself unless it had
// to unescape it; the slice's position then gives the entry's offset.
type lineCounter struct {
	data   []byte
	off    int
	lineNo int64
}

func (c *lineCounter) lineOf(m []byte) int64 {
	if len(m) == 0 {
		return 0
	}
	off := cap(c.data) - cap(m)
	if off < c.off || off+len(m) > len(c.data) || &c.data[off] != &m[0] {
		return 0
	}
	if c.lineNo == 0 {
		c.lineNo = 1
	}
	c.lineNo += int64(bytes.Count(c.data[c.off:off], []byte{'\n'}))
	c.off = off
	return c.lineNo
}
