package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func TestDashboardJSONMatchesGolden(t *testing.T) {
	for _, d := range All() {
		t.Run(d.UID, func(t *testing.T) {
			got, err := JSON(d)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", d.UID+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./dashboards -run Golden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the built dashboard; review the change and rerun with -update", path)
			}
		})
	}
}

var (
	uidRe       = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)
	macroRe     = regexp.MustCompile(`\$[A-Za-z_]\w*`)
	builtinVars = map[string]bool{"timeFilter": true, "__interval": true, "tag_": true, "col": true}
)

// TestDashboardModelIsSound checks what Grafana relies on when it loads a
// dashboard: the JSON is read back as a generic model, so the test sees
// what Grafana sees.
func TestDashboardModelIsSound(t *testing.T) {
	uids := map[string]bool{}
	for _, d := range All() {
		t.Run(d.UID, func(t *testing.T) {
			if !uidRe.MatchString(d.UID) || uids[d.UID] {
				t.Errorf("uid %q: want unique, at most 40 of [a-zA-Z0-9_-]", d.UID)
			}
			uids[d.UID] = true
			if d.SchemaVersion < 39 || d.Title == "" || !strings.HasPrefix(d.Title, "swell / ") {
				t.Errorf("schemaVersion %d, title %q", d.SchemaVersion, d.Title)
			}
			b, err := JSON(d)
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				UID    string `json:"uid"`
				Panels []struct {
					ID         int               `json:"id"`
					Type       string            `json:"type"`
					Title      string            `json:"title"`
					GridPos    map[string]int    `json:"gridPos"`
					Datasource map[string]string `json:"datasource"`
					Targets    []struct {
						RefID      string            `json:"refId"`
						Query      string            `json:"query"`
						RawQuery   bool              `json:"rawQuery"`
						Datasource map[string]string `json:"datasource"`
					} `json:"targets"`
				} `json:"panels"`
				Templating struct {
					List []struct {
						Name       string            `json:"name"`
						Datasource map[string]string `json:"datasource"`
					} `json:"list"`
				} `json:"templating"`
				Links []struct {
					Tags []string `json:"tags"`
				} `json:"links"`
			}
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			vars := map[string]bool{}
			for _, v := range m.Templating.List {
				vars[v.Name] = true
				checkDS(t, "variable "+v.Name, v.Datasource)
			}
			ids := map[int]bool{}
			type cell struct{ x, y int }
			used := map[cell]string{}
			for _, p := range m.Panels {
				if p.ID <= 0 || ids[p.ID] {
					t.Errorf("panel %q: id %d not unique and positive", p.Title, p.ID)
				}
				ids[p.ID] = true
				g := p.GridPos
				if g["w"] <= 0 || g["h"] <= 0 || g["x"] < 0 || g["y"] < 0 || g["x"]+g["w"] > gridWidth {
					t.Errorf("panel %q: gridPos %v outside the 24-column grid", p.Title, g)
				}
				for x := g["x"]; x < g["x"]+g["w"]; x++ {
					for y := g["y"]; y < g["y"]+g["h"]; y++ {
						if other, ok := used[cell{x, y}]; ok {
							t.Errorf("panel %q overlaps %q at %d,%d", p.Title, other, x, y)
						}
						used[cell{x, y}] = p.Title
					}
				}
				if p.Type == "row" {
					continue
				}
				checkDS(t, "panel "+p.Title, p.Datasource)
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no targets", p.Title)
				}
				refs := map[string]bool{}
				for _, tg := range p.Targets {
					checkDS(t, "panel "+p.Title+" target", tg.Datasource)
					if tg.RefID == "" || refs[tg.RefID] {
						t.Errorf("panel %q: refId %q empty or repeated", p.Title, tg.RefID)
					}
					refs[tg.RefID] = true
					if !tg.RawQuery || !strings.Contains(tg.Query, "$timeFilter") {
						t.Errorf("panel %q: want a raw query with $timeFilter: %s", p.Title, tg.Query)
					}
					if strings.Contains(tg.Query, "GROUP BY time(") && !strings.Contains(tg.Query, "GROUP BY time($__interval)") {
						t.Errorf("panel %q: time grouping must use $__interval: %s", p.Title, tg.Query)
					}
					for _, ref := range macroRe.FindAllString(tg.Query, -1) {
						name := ref[1:]
						if !vars[name] && !builtinVars[name] {
							t.Errorf("panel %q: %s is not a variable of this dashboard", p.Title, ref)
						}
					}
				}
			}
			if len(m.Links) == 0 || len(m.Links[0].Tags) == 0 || m.Links[0].Tags[0] != "swell" {
				t.Errorf("links %v: want the swell dashboards dropdown", m.Links)
			}
		})
	}
	if len(uids) != 6 {
		t.Errorf("%d dashboards, want 6", len(uids))
	}
}

func checkDS(t *testing.T, what string, ds map[string]string) {
	t.Helper()
	if ds["uid"] != DatasourceUID || ds["type"] != "influxdb" {
		t.Errorf("%s: datasource %v, want uid %s type influxdb", what, ds, DatasourceUID)
	}
}

// TestDashboardLinksPointAtDashboards checks that every data link opens one
// of swell's dashboards with one of its variables.
func TestDashboardLinksPointAtDashboards(t *testing.T) {
	vars := map[string]map[string]bool{}
	for _, d := range All() {
		vars[d.UID] = map[string]bool{}
		for _, v := range d.Templating.List {
			vars[d.UID][v.Name] = true
		}
	}
	linkRe := regexp.MustCompile(`^/d/([a-z-]+)\?var-([a-z]+)=\$\{__(field\.labels|data\.fields)\.[a-z_]+\}&\$\{__url_time_range\}$`)
	n := 0
	for _, d := range All() {
		for _, p := range d.Panels {
			if p.FieldConfig == nil {
				continue
			}
			for _, l := range p.FieldConfig.Defaults.Links {
				n++
				m := linkRe.FindStringSubmatch(l.URL)
				if m == nil {
					t.Errorf("%s %q: link %q", d.UID, p.Title, l.URL)
					continue
				}
				if !vars[m[1]][m[2]] {
					t.Errorf("%s %q: link to %s sets var %s, which it does not have", d.UID, p.Title, m[1], m[2])
				}
			}
		}
	}
	if n == 0 {
		t.Error("no data links")
	}
}
