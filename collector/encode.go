package collector

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// tag is one tag of a point.
type tag struct{ key, value string }

// field is one field of a point, already converted to a line protocol value.
type field struct {
	key   string
	value lineprotocol.Value
}

// lineEncoder encodes points as line protocol, one line per point, and
// remembers where each line ends so that batches can be cut between lines.
// It is not safe for concurrent use; the accumulator serialises access.
type lineEncoder struct {
	enc  lineprotocol.Encoder
	ends []int
	// tags is scratch space reused across points to sort tags without
	// allocating for every point.
	tags []tag
}

// encode appends one line. Tags must be sorted by key with no duplicates
// (mergeTags does that) and fields must not be empty. On error nothing is
// appended.
func (e *lineEncoder) encode(measurement string, tags []tag, fields []field, t time.Time) error {
	e.enc.StartLine(measurement)
	for _, tg := range tags {
		e.enc.AddTag(tg.key, tg.value)
	}
	for _, f := range fields {
		e.enc.AddField(f.key, f.value)
	}
	e.enc.EndLine(t)
	if err := e.enc.Err(); err != nil {
		e.enc.ClearErr()
		return fmt.Errorf("encode %s point: %w", measurement, err)
	}
	e.ends = append(e.ends, len(e.enc.Bytes()))
	return nil
}

// take returns the encoded lines and the end offset of each, and resets the
// encoder to a fresh buffer (the returned slices stay with the caller).
func (e *lineEncoder) take() ([]byte, []int) {
	data, ends := e.enc.Bytes(), e.ends
	e.enc.SetBuffer(nil)
	e.ends = nil
	return data, ends
}

// mergeTags returns the point's tags plus the global tags the point does not
// set itself, sorted by key, reusing dst. Tags with an empty key or value are
// left out, as InfluxDB would drop them anyway.
func mergeTags(dst []tag, own map[string]string, global []tag) []tag {
	dst = dst[:0]
	for k, v := range own {
		v = sanitizeTagValue(v)
		if k == "" || v == "" {
			continue
		}
		dst = append(dst, tag{k, v})
	}
	for _, g := range global {
		if v, ok := own[g.key]; ok && v != "" {
			continue
		}
		dst = append(dst, g)
	}
	slices.SortFunc(dst, func(a, b tag) int { return cmp.Compare(a.key, b.key) })
	return dst
}

// sortedTags turns a tag map into a sorted slice, dropping empty keys and
// values.
func sortedTags(m map[string]string) []tag {
	return mergeTags(nil, m, nil)
}

// sanitizeTagValue makes v encodable the way Telegraf's serializer does:
// invalid UTF-8 is replaced, the common control characters become their
// escaped spelling (a literal backslash and a letter), other control
// characters are removed, and trailing backslashes, which line protocol
// cannot carry at the end of a tag value, are trimmed.
func sanitizeTagValue(v string) string {
	if tagValueClean(v) {
		return v
	}
	v = strings.ToValidUTF8(v, "\uFFFD")
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimRight(b.String(), `\`)
}

// tagValueClean is the fast path of sanitizeTagValue: almost every tag value
// needs no change.
func tagValueClean(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return !strings.HasSuffix(v, `\`) && utf8.ValidString(v)
}

// validKey reports whether s can be a measurement, tag key or field key in
// line protocol (the same rule the encoder applies).
func validKey(s string) bool {
	return s != "" && tagValueClean(s)
}
