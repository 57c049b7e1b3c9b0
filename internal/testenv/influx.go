package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swell-pipeline/swell/internal/influxd"
)

// InfluxdBinary returns <repo root>/bin/influxd, found by walking up from the
// test's working directory to go.mod. A missing binary fails the test with
// the install command: `make test` installs it first, so skipping would only
// hide a broken setup.
func InfluxdBinary(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's working directory; cannot find bin/influxd")
		}
		dir = parent
	}
	bin := filepath.Join(dir, "bin", "influxd")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("influxd 1.8.10 not found at %s (%v): %s", bin, err, influxd.InstallHint)
	}
	return bin
}

// Influx starts a real influxd on a random loopback port with its files in a
// fresh temporary dir, database "swell", and stops it when the test ends.
func Influx(t testing.TB) *influxd.Process {
	t.Helper()
	return InfluxAt(t, t.TempDir(), "127.0.0.1:0")
}

// InfluxAt starts influxd on the given data dir and HTTP address (port 0:
// random). Tests that need the address before InfluxDB exists reserve one
// and call this later.
func InfluxAt(t testing.TB, dataDir, bindAddr string) *influxd.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p, err := influxd.Start(ctx, influxd.Options{
		Binary:   InfluxdBinary(t),
		DataDir:  dataDir,
		BindAddr: bindAddr,
	})
	if err != nil {
		t.Fatalf("start influxd: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("stop influxd: %v", err)
		}
	})
	return p
}

// InfluxSeries is one series of an InfluxQL result. Numbers stay
// json.Number so counts and integer fields compare exactly.
type InfluxSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Query runs one InfluxQL statement against db and returns its series; an
// error from InfluxDB fails the test.
func Query(t testing.TB, baseURL, db, influxql string) []InfluxSeries {
	t.Helper()
	series, err := query(baseURL, db, influxql)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return series
}

func query(baseURL, db, influxql string) ([]InfluxSeries, error) {
	form := url.Values{"db": {db}, "q": {influxql}, "epoch": {"ns"}}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).PostForm(baseURL+"/query", form)
	if err != nil {
		return nil, fmt.Errorf("query %q on %s: %w", influxql, baseURL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("query %q on %s: read answer: %w", influxql, baseURL, err)
	}
	var body struct {
		Error   string `json:"error"`
		Results []struct {
			Error  string         `json:"error"`
			Series []InfluxSeries `json:"series"`
		} `json:"results"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("query %q on %s: %s: %w (body %q)", influxql, baseURL, resp.Status, err, raw)
	}
	if body.Error != "" {
		return nil, fmt.Errorf("query %q on %s: %s", influxql, baseURL, body.Error)
	}
	var out []InfluxSeries
	for _, r := range body.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("query %q on %s: %s", influxql, baseURL, r.Error)
		}
		out = append(out, r.Series...)
	}
	return out, nil
}

// CountPoints counts the points of a measurement: the largest count(*)
// over its fields, which is exact when every point carries one common field
// (as every point swell and its tests write does). A missing measurement
// counts 0.
func CountPoints(t testing.TB, baseURL, db, measurement string) int64 {
	t.Helper()
	n, err := countPoints(baseURL, db, measurement)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return n
}

func countPoints(baseURL, db, measurement string) (int64, error) {
	q := "SELECT count(*) FROM " + influxIdent(measurement)
	series, err := query(baseURL, db, q)
	if err != nil {
		return 0, err
	}
	var most int64
	for _, s := range series {
		for _, row := range s.Values {
			for i, col := range s.Columns {
				if col == "time" || i >= len(row) {
					continue
				}
				num, ok := row[i].(json.Number)
				if !ok {
					continue
				}
				n, err := num.Int64()
				if err != nil {
					return 0, fmt.Errorf("%s: column %s: %w", q, col, err)
				}
				most = max(most, n)
			}
		}
	}
	return most, nil
}

// influxIdent quotes an InfluxQL identifier.
func influxIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
