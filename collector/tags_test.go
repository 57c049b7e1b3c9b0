package collector_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/swell-pipeline/swell/collector"
)

func TestParseTags(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "blank", in: "  ", want: map[string]string{}},
		{name: "one", in: "rack=r1", want: map[string]string{"rack": "r1"}},
		{name: "several with spaces", in: " rack = r1 , zone=eu-1,ssd=true", want: map[string]string{"rack": "r1", "zone": "eu-1", "ssd": "true"}},
		{name: "value with equals sign", in: "expr=a=b", want: map[string]string{"expr": "a=b"}},
		{name: "trailing comma", in: "rack=r1,", wantErr: `pair 2 is empty; remove the extra comma`},
		{name: "missing equals", in: "rack", wantErr: `pair 1 ("rack") has no '='; write key=value`},
		{name: "empty key", in: "=r1", wantErr: `empty key`},
		{name: "empty value", in: "rack=", wantErr: `tag "rack" has an empty value`},
		{name: "duplicate", in: "rack=r1,rack=r2", wantErr: `key "rack" is given twice`},
		{name: "control character", in: "rack=r\x011", wantErr: "control characters"},
		{name: "reserved key", in: "time=now", wantErr: `tag key "time" is reserved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collector.ParseTags(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTags(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.in)) {
					t.Errorf("error %q does not quote the input", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTags(%q): %v", tt.in, err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("ParseTags(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
