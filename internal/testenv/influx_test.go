package testenv

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestInfluxQueryHelpers(t *testing.T) {
	t.Parallel()
	p := Influx(t)
	// Two series; "b" has an extra field on one point only, so count(*)
	// differs per field and CountPoints must take the largest.
	body := "m,host=a v=1i 1000\nm,host=a v=2i 2000\nm,host=b v=3i,extra=1 3000\n"
	resp, err := http.Post(p.URL()+"/write?db=swell", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}

	tests := []struct {
		name        string
		measurement string
		want        int64
	}{
		{"every point counted once", "m", 3},
		{"missing measurement counts zero", "nothing_here", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CountPoints(t, p.URL(), "swell", tc.measurement); got != tc.want {
				t.Fatalf("CountPoints(%s) = %d, want %d", tc.measurement, got, tc.want)
			}
		})
	}

	series := Query(t, p.URL(), "swell", `SELECT sum("v") FROM "m" GROUP BY "host"`)
	sums := map[string]string{}
	for _, s := range series {
		sums[s.Tags["host"]] = string(s.Values[0][1].(json.Number))
	}
	if sums["a"] != "3" || sums["b"] != "3" || len(sums) != 2 {
		t.Fatalf("sums by host = %v, want a=3 b=3", sums)
	}

	if _, err := query(p.URL(), "swell", "SELECT FROM WHERE"); err == nil || !strings.Contains(err.Error(), "SELECT FROM WHERE") {
		t.Fatalf("bad InfluxQL: err = %v, want an error naming the query", err)
	}
}
