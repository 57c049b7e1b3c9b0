//go:build !swellnode

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/internal/events"
	"github.com/swell-pipeline/swell/spec"
)

// clientFlags are the flags of every command that talks to a server.
type clientFlags struct {
	server string
	token  string
}

func (c *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.server, "server", "http://127.0.0.1:7070", "the swell server's API")
	fs.StringVar(&c.token, "api-token", "", "the server's API token (prefer SWELL_API_TOKEN)")
}

func (c *clientFlags) client() (*api.Client, error) { return api.NewClient(c.server, c.token) }

func newGetCmd(g *globals) *cobra.Command {
	var (
		cf     clientFlags
		output string
		etype  string
		svc    string
		node   string
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "get services|nodes|instances|events|alerts|rules|routes|receivers",
		Short: "List services, nodes, instances, events, alerts or alert definitions from the server",
		Example: `  swell get services
  swell get services -o yaml
  swell get nodes
  swell get instances -o json
  swell get events --type node --limit 20
  swell get alerts
  swell get receivers -o yaml   # literal secrets are masked`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"services", "nodes", "instances", "events", "alerts", "rules", "routes", "receivers"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" && output != "yaml" {
				return errUsage(cmd, fmt.Sprintf("-o %q: want table, json or yaml", output))
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var (
				v     any
				table func(w io.Writer)
			)
			switch args[0] {
			case "services", "service", "svc":
				svcs, err := c.Services(ctx)
				if err != nil {
					return err
				}
				if output == "yaml" {
					// The YAML of services is what swell apply reads back.
					specs := make([]spec.Service, len(svcs))
					for i, s := range svcs {
						specs[i] = s.Spec
					}
					return spec.EncodeServices(g.stdout, specs)
				}
				v = svcs
				table = func(w io.Writer) {
					fmt.Fprintln(w, "ID	IMAGE	DESIRED	RUNNING	HEALTHY	VERSION	UPDATED	AUTOSCALE")
					for _, s := range svcs {
						fmt.Fprintf(w, "%s	%s	%d	%d	%d	%s	%s	%s\n", s.Spec.ID, s.Spec.Image, s.Desired, s.Running, s.Healthy, s.Version, age(s.UpdatedAt),
							dash(api.AutoscaleText(s.Spec.Autoscale)))
					}
				}
			case "nodes", "node":
				nodes, err := c.Nodes(ctx)
				if err != nil {
					return err
				}
				v, table = nodes, func(w io.Writer) { nodesTable(w, nodes) }
			case "instances", "instance":
				ins, err := c.Instances(ctx)
				if err != nil {
					return err
				}
				v = ins
				table = func(w io.Writer) {
					fmt.Fprintln(w, "ID\tSERVICE\tNODE\tSTATE\tHEALTHY\tIMAGE\tPORTS\tSTARTED")
					for _, in := range ins {
						ports := make([]string, len(in.HostPorts))
						for i, p := range in.HostPorts {
							ports[i] = strconv.Itoa(p)
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\t%s\t%s\n", in.ID, in.Service, in.Node, in.State, in.Healthy,
							in.Image, strings.Join(ports, ","), age(in.StartedAt))
					}
				}
			case "events", "event":
				evs, err := c.Events(ctx, events.Filter{Type: events.Type(etype), Service: svc, Node: node, Limit: limit})
				if err != nil {
					return err
				}
				v = evs
				table = func(w io.Writer) {
					fmt.Fprintln(w, "TIME\tTYPE\tSERVICE\tNODE\tFROM\tTO\tREASON")
					for _, e := range evs {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("15:04:05.000"), e.Type,
							dash(e.Service), dash(e.Node), dash(e.From), dash(e.To), e.Reason)
					}
				}
			case "alerts", "alert":
				as, err := c.Alerts(ctx)
				if err != nil {
					return err
				}
				v, table = as, func(w io.Writer) { alertsTable(w, as) }
			case "rules", "rule", "routes", "route", "receivers", "receiver":
				d, err := c.AlertDefs(ctx)
				if err != nil {
					return err
				}
				kind := strings.TrimSuffix(args[0], "s") + "s"
				switch kind {
				case "rules":
					v = d.Rules
				case "routes":
					v = d.Routes
				default:
					v = d.Receivers
				}
				table = func(w io.Writer) { alertDefsTable(w, kind, d) }
			default:
				return errUsage(cmd, fmt.Sprintf("cannot get %q: want services, nodes, instances, events, alerts, rules, routes or receivers", args[0]))
			}
			return printAs(g.stdout, output, v, table)
		},
	}
	fs := cmd.Flags()
	cf.register(fs)
	fs.StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	fs.StringVar(&etype, "type", "", "events: only this type (scale, deploy, node, instance, alert)")
	fs.StringVar(&svc, "service", "", "events: only this service (with --type)")
	fs.StringVar(&node, "node", "", "events: only this node")
	fs.IntVar(&limit, "limit", 100, "events: the newest this many")
	return cmd
}

func nodesTable(w io.Writer, nodes []api.NodeView) {
	fmt.Fprintln(w, "NAME\tSTATUS\tADDR\tCPUS\tMEM(MiB)\tDOCKER\tLABELS\tHEARTBEAT")
	for _, n := range nodes {
		var labels []string
		for k, v := range n.Labels {
			labels = append(labels, k+"="+v)
		}
		status := string(n.Status)
		if n.Cordoned {
			status += ",draining"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%g\t%.0f\t%v\t%s\t%s\n", n.Name, status, n.Addr, n.CPUs, n.MemMiB, n.Docker,
			dash(strings.Join(sortedStrings(labels), ",")), age(n.Heartbeat))
	}
}

// printAs writes v as JSON or YAML (same field names), or as a table.
func printAs(out io.Writer, format string, v any, table func(io.Writer)) error {
	switch format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		// Through JSON, so YAML keys are the API's JSON names.
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return err
		}
		y, err := yaml.Marshal(generic)
		if err != nil {
			return err
		}
		_, err = out.Write(y)
		return err
	default:
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}
