package ingest

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	stamp := time.Unix(0, 1_700_000_000_000_000_000)
	type wantLine struct {
		text   string
		entry  int
		lineNo int64
	}
	type wantBad struct {
		text   string
		lineNo int64
		reason string
	}
	tests := []struct {
		name   string
		in     string
		split  bool
		whole  bool // the message itself is the only line
		points int
		lines  []wantLine
		bad    []wantBad
	}{
		{
			name:   "clean timestamped message is written as received",
			in:     "cpu,host=a usage=1.5 1000\ncpu,host=b usage=2 2000\n",
			whole:  true,
			points: 2,
		},
		{
			name:   "empty and comment-only message has nothing to write",
			in:     "\n# just a comment\n\n",
			whole:  false,
			points: 0,
		},
		{
			name:   "line without timestamp gets the message's stream time",
			in:     "cpu,host=a usage=1.5 1000\ncpu,host=b usage=2\n",
			points: 2,
			lines: []wantLine{
				{"cpu,host=a usage=1.5 1000\n", 1, 1},
				{"cpu,host=b usage=2 1700000000000000000\n", 2, 2},
			},
		},
		{
			name:   "garbled line is refused with its line number, the others kept",
			in:     "cpu,host=a usage=1 1000\nthis is not line protocol\ncpu,host=c usage=3 3000",
			points: 2,
			lines: []wantLine{
				{"cpu,host=a usage=1 1000\n", 1, 1},
				{"cpu,host=c usage=3 3000\n", 3, 3},
			},
			bad: []wantBad{{"this is not line protocol", 2, "line 2: invalid line protocol"}},
		},
		{
			name:   "entries without fields are refused",
			in:     "m,t=a\nm,t=b 123\nm v=1 1\n",
			points: 1,
			lines:  []wantLine{{"m v=1 1\n", 3, 3}},
			bad: []wantBad{
				{"m,t=a", 1, "line 1: invalid line protocol"},
				{"m,t=b 123", 2, "line 2: invalid line protocol"},
			},
		},
		{
			name:   "validation checks syntax only, values are left to InfluxDB",
			in:     "m v=1i 1\nm v=99999999999999999999i 2\n",
			whole:  true,
			points: 2,
		},
		{
			name:   "split converts values and refuses an out-of-range integer",
			in:     "m v=1i 1\nm v=99999999999999999999i 2\n",
			split:  true,
			points: 1,
			lines:  []wantLine{{"m v=1i 1\n", 1, 1}},
			bad:    []wantBad{{"m v=99999999999999999999i 2", 2, "line 2: invalid line protocol"}},
		},
		{
			name:   "line numbers count comments, blank lines and CRLF",
			in:     "# header\r\n\r\nm v=1 1\r\n\nm v=2 2\r\n",
			split:  true,
			points: 2,
			lines: []wantLine{
				{"m v=1 1\n", 1, 3},
				{"m v=2 2\n", 2, 5},
			},
		},
		{
			name:   "split keeps tag order and escapes",
			in:     "m\\ x,z=1,a=b\\ c s=\"q\\\"uote\",i=3i,u=true 7\nm2 v=1 8\n",
			split:  true,
			points: 2,
			lines: []wantLine{
				// Escaped measurement: its start cannot be located, so no line number.
				{"m\\ x,z=1,a=b\\ c s=\"q\\\"uote\",i=3i,u=true 7\n", 1, 0},
				{"m2 v=1 8\n", 2, 2},
			},
		},
		{
			name:   "string field spanning lines keeps later line numbers right",
			in:     "m s=\"two\nlines\" 1\nm v=2 2\n",
			split:  true,
			points: 2,
			lines: []wantLine{
				// The encoder writes a raw newline in a string as the escape \n.
				{"m s=\"two\\nlines\" 1\n", 1, 1},
				{"m v=2 2\n", 2, 3},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := parse([]byte(tc.in), stamp, tc.split)
			if p.points != tc.points {
				t.Errorf("points = %d, want %d", p.points, tc.points)
			}
			if tc.whole {
				if len(p.lines) != 1 || string(p.lines[0].data) != tc.in || p.lines[0].entry != 0 {
					t.Fatalf("lines = %+v, want the message itself", p.lines)
				}
			} else {
				if len(p.lines) != len(tc.lines) {
					t.Fatalf("got %d lines %+v, want %d", len(p.lines), p.lines, len(tc.lines))
				}
				for i, w := range tc.lines {
					g := p.lines[i]
					if string(g.data) != w.text || g.entry != w.entry || g.lineNo != w.lineNo || g.points != 1 {
						t.Errorf("line %d = {%q entry %d line %d}, want {%q entry %d line %d}",
							i, g.data, g.entry, g.lineNo, w.text, w.entry, w.lineNo)
					}
				}
			}
			if len(p.bad) != len(tc.bad) {
				t.Fatalf("bad = %+v, want %d", p.bad, len(tc.bad))
			}
			for i, w := range tc.bad {
				g := p.bad[i]
				if string(g.text) != w.text || g.lineNo != w.lineNo || !strings.HasPrefix(g.reason, w.reason) {
					t.Errorf("bad %d = {%q line %d %q}, want {%q line %d %q…}", i, g.text, g.lineNo, g.reason, w.text, w.lineNo, w.reason)
				}
			}
		})
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	tests := []struct {
		delivered uint64
		want      time.Duration
	}{
		{0, 500 * time.Millisecond},
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{4, 4 * time.Second},
		{7, 30 * time.Second},
		{1000, 30 * time.Second},
	}
	for _, tc := range tests {
		if got := nakDelay(tc.delivered); got != tc.want {
			t.Errorf("nakDelay(%d) = %s, want %s", tc.delivered, got, tc.want)
		}
	}
	if got := probeWait(100); got != maxProbeWait {
		t.Errorf("probeWait(100) = %s, want %s", got, maxProbeWait)
	}
}
