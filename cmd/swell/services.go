//go:build !swellnode

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/api"
	"github.com/swell-pipeline/swell/internal/state"
	"github.com/swell-pipeline/swell/spec"
)

func newApplyCmd(g *globals) *cobra.Command {
	var (
		cf    clientFlags
		files []string
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or update the services and alert documents of a YAML (or JSON) file",
		Long: `apply sends each file to the server, which checks it whole: an unknown
field, a wrong type or an impossible value is reported with the file, line
and field, and nothing of that file is stored. Services that depend on each
other in a circle, or that claim a servicePort another service has, are
refused the same way, and so are alert rules and routes that name a
receiver neither in the file nor applied before.

A file may hold kind: Service, AlertRule, Receiver and Route documents;
the leader runs new alert documents within a second of the apply. Secrets in
receivers (${ENV_VAR}, file:/path) are resolved on the server.

A service whose containers change (image, cmd, env, resources, ports,
health checks…) is replaced by a rolling upgrade; a new instance count,
priority or upgrade strategy only rescales it. Follow an upgrade with
'swell rollout status ID'. FILE '-' reads standard input.`,
		Example: `  swell apply -f web.yaml
  swell import marathon app.json | swell apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return errUsage(cmd, "apply needs -f FILE")
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			for _, f := range files {
				name, data, err := readInput(cmd.InOrStdin(), f)
				if err != nil {
					return err
				}
				res, err := c.Apply(cmd.Context(), name, data)
				var se *spec.Error
				if errors.As(err, &se) {
					for _, line := range splitLines(se.Error()) {
						fmt.Fprintln(g.stderr, line)
					}
					return fmt.Errorf("%s: %d problem(s); nothing of it was applied", name, len(se.Problems))
				}
				if err != nil {
					return err
				}
				for _, r := range res {
					fmt.Fprintf(g.stdout, "%s %s %s\n", kindWord(r.Kind), r.ID, r.Action)
					if r.Rollout {
						fmt.Fprintf(g.stdout, "  rolling upgrade to version %s: swell rollout status %s\n", r.Version, r.ID)
					}
				}
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "YAML or JSON file to apply ('-' for standard input); repeatable")
	return cmd
}

// kindWord is how apply names a document's kind in its output.
func kindWord(kind string) string {
	switch kind {
	case spec.KindAlertRule:
		return "rule"
	case "":
		return "service"
	}
	return strings.ToLower(kind)
}

func readInput(stdin io.Reader, f string) (name string, data []byte, err error) {
	if f == "-" {
		data, err = io.ReadAll(stdin)
		name = "stdin"
	} else {
		data, err = os.ReadFile(f)
		name = f
	}
	if err != nil {
		return "", nil, fmt.Errorf("read %s: %w", name, err)
	}
	return name, data, nil
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

func newDeleteCmd(g *globals) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "delete service|rule|route|receiver NAME...",
		Short: "Delete services (their instances stop) or alert rules, routes or receivers",
		Long: `delete removes what apply stored. The instances of deleted services stop
in reverse dependency order: when /shop/web depends on /shop/db and both
are deleted, db's instances stop only once web's have.`,
		Example: `  swell delete service /shop/web /shop/db
  swell delete rule container-memory`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := strings.TrimSuffix(args[0], "s")
			switch kind {
			case "service", "rule", "route", "receiver":
			default:
				return errUsage(cmd, fmt.Sprintf("cannot delete %q: want service, rule, route or receiver", args[0]))
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			for _, name := range args[1:] {
				if kind == "service" {
					err = c.DeleteService(cmd.Context(), name)
				} else {
					err = c.DeleteAlertDef(cmd.Context(), kind, name)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s %s deleted\n", kind, name)
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func newScaleCmd(g *globals) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "scale ID N",
		Short: "Set a service's instance count",
		Long: `scale sets how many instances of a service run. Scaling down stops the
instances that are not running yet first, then unhealthy ones, then those
that restore the spread, then by the service's killSelection.`,
		Example: `  swell scale /shop/web 5`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 0 {
				return errUsage(cmd, fmt.Sprintf("instances %q: want a whole number, 0 or more", args[1]))
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			res, err := c.Scale(cmd.Context(), args[0], n)
			if err != nil {
				return err
			}
			if res.From == res.To {
				_, err = fmt.Fprintf(g.stdout, "service %s already has %d instances\n", res.ID, res.To)
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "service %s scaled from %d to %d instances\n", res.ID, res.From, res.To)
			return err
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func newDrainCmd(g *globals) *cobra.Command {
	var (
		cf      clientFlags
		wait    bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "drain NODE",
		Short: "Move every instance off a node; it takes nothing new until uncordon",
		Long: `drain cordons a node. Replacements of its instances start on other nodes
first, and the node's instances stop as their replacements become healthy,
as far as each service's minimumHealthCapacity allows. The node takes no new
instance until 'swell uncordon NODE'. With --wait, drain prints progress
and returns once no instance is left on the node (exit status 1 if
--timeout passes first); otherwise watch it with 'swell get instances'.`,
		Example: `  swell drain node-3
  swell drain node-3 --wait --timeout 10m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			res, err := c.Drain(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if !res.Changed {
				fmt.Fprintf(g.stdout, "node %s was already draining (%d instances left)\n", res.Node, res.Instances)
			} else {
				fmt.Fprintf(g.stdout, "node %s draining: %d instances move to other nodes\n", res.Node, res.Instances)
			}
			if !wait {
				return nil
			}
			return waitDrained(cmd, g, c, res.Node, timeout)
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until no instance is left on the node, printing progress")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "with --wait: give up after this long")
	return cmd
}

// waitDrained polls the node's instances until none is left.
func waitDrained(cmd *cobra.Command, g *globals, c *api.Client, node string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	last := -1
	for {
		ins, err := c.Instances(ctx)
		if err != nil && ctx.Err() == nil {
			return err
		}
		left := 0
		for _, in := range ins {
			if in.Node == node && in.State != state.Stopped && in.State != state.Failed && in.State != state.Lost {
				left++
			}
		}
		if err == nil && left != last {
			fmt.Fprintf(g.stdout, "%s  %d instances left on %s\n", time.Now().Format("15:04:05"), left, node)
			last = left
		}
		if err == nil && left == 0 {
			fmt.Fprintf(g.stdout, "node %s drained\n", node)
			return nil
		}
		select {
		case <-ctx.Done():
			if cmd.Context().Err() != nil {
				return cmd.Context().Err()
			}
			return fmt.Errorf("node %s still has %d instances after %s: see 'swell get instances' and 'swell explain ID' for services whose replacements cannot start", node, left, timeout)
		case <-time.After(time.Second):
		}
	}
}

func newUncordonCmd(g *globals) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:     "uncordon NODE",
		Short:   "Let a drained node take instances again",
		Example: `  swell uncordon node-3`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			res, err := c.Uncordon(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if !res.Changed {
				_, err = fmt.Fprintf(g.stdout, "node %s was not cordoned\n", res.Node)
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "node %s uncordoned: it takes new instances\n", res.Node)
			return err
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func newExplainCmd(g *globals) *cobra.Command {
	var (
		cf     clientFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "explain ID",
		Short: "Say why a service's instances are pending",
		Long: `explain shows what the scheduler sees of a service: its instances, the
nodes, whether one more instance would fit and why nodes refuse it, and why
instances wait (placement, dependencies, a rollout).`,
		Example: `  swell explain /shop/web`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" && output != "yaml" {
				return errUsage(cmd, fmt.Sprintf("-o %q: want text, json or yaml", output))
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			e, err := c.Explain(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printAs(g.stdout, output, e, func(w io.Writer) { explainText(w, e) })
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or yaml")
	return cmd
}

func explainText(w io.Writer, e api.ExplainView) {
	fmt.Fprintf(w, "service\t%s\n", e.ID)
	fmt.Fprintf(w, "instances\t%d desired, %d placed, %d running, %d healthy\n", e.Desired, e.Active, e.Running, e.Healthy)
	fmt.Fprintf(w, "nodes\t%d (%d ready, %d draining)\n", e.Nodes, e.Ready, e.Draining)
	if e.Invalid != "" {
		fmt.Fprintf(w, "invalid\t%s\n", e.Invalid)
	}
	if e.Fit != "" {
		fmt.Fprintf(w, "one more\t%s\n", e.Fit)
	}
	if e.Pending != "" {
		fmt.Fprintf(w, "pending\t%s\n", e.Pending)
	}
	if e.Waiting != "" {
		fmt.Fprintf(w, "waiting\t%s\n", e.Waiting)
	}
	if e.Pending == "" && e.Waiting == "" && e.Invalid == "" {
		fmt.Fprintf(w, "status\tnothing pending\n")
	}
	if e.Autoscale != "" {
		fmt.Fprintf(w, "autoscale\t%s\n", e.Autoscale)
	}
	if e.LastScale != nil {
		fmt.Fprintf(w, "last scale\t%s, %s → %s: %s\n", age(e.LastScale.Time), e.LastScale.From, e.LastScale.To, e.LastScale.Reason)
	}
}

func newRolloutCmd(g *globals) *cobra.Command {
	var (
		rcf      clientFlags
		strategy string
		file     string
		weight   int
		soak     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rollout ID --strategy bluegreen|canary -f FILE",
		Short: "Blue/green and canary rollouts; follow any rollout",
		Long: `swell apply replaces a service's instances by a rolling upgrade (its
upgradeStrategy). rollout offers two other ways to a new version, given in
FILE (the service's YAML with the new image or settings):

  --strategy bluegreen  starts the new version beside the old one; the
                        routers keep sending every request to the old one
                        until every new instance is healthy, then switch all
                        traffic at once; the old instances stop --soak later
                        (until then 'swell rollout abort' switches back).
  --strategy canary     starts --weight percent of the instances in the new
                        version (at least one) and sends them --weight
                        percent of the requests, until 'swell rollout
                        promote ID' (the new version replaces the old one)
                        or 'swell rollout abort ID' (the new one stops).

Follow any rollout with 'swell rollout status ID'.`,
		Example: `  swell rollout /shop/web --strategy bluegreen -f web-v2.yaml --soak 1m
  swell rollout /shop/web --strategy canary --weight 10 -f web-v2.yaml
  swell rollout promote /shop/web
  swell rollout status /shop/web`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errUsage(cmd, "rollout needs an ID and --strategy, or a subcommand, e.g. 'swell rollout status /shop/web'")
			}
			if strategy == "" || file == "" {
				return errUsage(cmd, "rollout ID needs --strategy bluegreen|canary and -f FILE with the new version")
			}
			c, err := rcf.client()
			if err != nil {
				return err
			}
			name, data, err := readInput(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			s := soak
			if !cmd.Flags().Changed("soak") {
				s = -1
			}
			w := weight
			if !cmd.Flags().Changed("weight") {
				w = 0
			}
			rv, err := c.StartRollout(cmd.Context(), args[0], strategy, w, s, name, data)
			var se *spec.Error
			if errors.As(err, &se) {
				for _, line := range splitLines(se.Error()) {
					fmt.Fprintln(g.stderr, line)
				}
				return fmt.Errorf("%s: %d problem(s); no rollout started", name, len(se.Problems))
			}
			if err != nil {
				return err
			}
			if rv.Strategy == "canary" {
				fmt.Fprintf(g.stdout, "canary of %s: version %s takes %d%% of the requests (from %s); then: swell rollout promote|abort %s\n", rv.ID, rv.Version, rv.Weight, rv.From, rv.ID)
				return nil
			}
			fmt.Fprintf(g.stdout, "blue/green rollout of %s to version %s (from %s) started; follow it: swell rollout status %s\n", rv.ID, rv.Version, rv.From, rv.ID)
			return nil
		},
	}
	rcf.register(cmd.Flags())
	cmd.Flags().StringVar(&strategy, "strategy", "", "bluegreen or canary")
	cmd.Flags().StringVarP(&file, "file", "f", "", "the service's YAML with the new version ('-' for standard input)")
	cmd.Flags().IntVar(&weight, "weight", 10, "canary: percent of requests (and instances) for the new version, 1 to 99")
	cmd.Flags().DurationVar(&soak, "soak", 30*time.Second, "bluegreen: how long the old instances stay after the switch")
	for _, verb := range []string{"promote", "abort"} {
		var cf clientFlags
		short := "Let the new version of a canary or blue/green rollout replace the old one"
		if verb == "abort" {
			short = "Go back to the old version of a canary or blue/green rollout; the new instances stop"
		}
		sub := &cobra.Command{
			Use:   verb + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := cf.client()
				if err != nil {
					return err
				}
				rv, err := c.EndRollout(cmd.Context(), args[0], verb)
				if err != nil {
					return err
				}
				done := map[string]string{"promote": "promoted", "abort": "aborted"}[verb]
				_, err = fmt.Fprintf(g.stdout, "rollout of %s %s: version %s; follow it: swell rollout status %s\n", rv.ID, done, rv.Version, rv.ID)
				return err
			},
		}
		cf.register(sub.Flags())
		cmd.AddCommand(sub)
	}
	var (
		cf       clientFlags
		interval time.Duration
		timeout  time.Duration
	)
	status := &cobra.Command{
		Use:   "status ID",
		Short: "Show a service's rollout progress until it ends",
		Long: `rollout status prints a line each time the rollout of a service moves:
instances of the new version (healthy of them), old ones left, and the
bounds the upgrade strategy sets. It returns when every instance runs the
new version and is healthy, and fails when --timeout passes first.`,
		Example: `  swell rollout status /shop/web
  swell rollout status /shop/web --timeout 10m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var deadline <-chan time.Time
			if timeout > 0 {
				t := time.NewTimer(timeout)
				defer t.Stop()
				deadline = t.C
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			last := ""
			for {
				rv, err := c.Rollout(ctx, args[0])
				if err != nil {
					return err
				}
				line := rolloutLine(rv)
				if line != last {
					fmt.Fprintln(g.stdout, line)
					last = line
				}
				if rv.Done {
					_, err := fmt.Fprintf(g.stdout, "rollout of %s done: %d/%d instances of version %s healthy\n", rv.ID, rv.NewHealthy, rv.Instances, rv.Version)
					return err
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-deadline:
					return fmt.Errorf("rollout of %s not done within %s: %s", rv.ID, timeout, line)
				case <-tick.C:
				}
			}
		},
	}
	cf.register(status.Flags())
	status.Flags().DurationVar(&interval, "interval", time.Second, "how often to ask the server")
	status.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: wait until done or Ctrl-C)")
	cmd.AddCommand(status)
	return cmd
}

func rolloutLine(rv api.RolloutView) string {
	s := fmt.Sprintf("version %s: %d/%d new (%d healthy), %d old (%d healthy), %d stopping; keep >= %d healthy, run <= %d",
		rv.Version, rv.New, rv.Instances, rv.NewHealthy, rv.Old, rv.OldHealthy, rv.Stopping, rv.MinHealthy, rv.MaxCapacity)
	switch {
	case rv.Strategy == "canary":
		s = fmt.Sprintf("canary %d%%: %s; promote or abort it", rv.Weight, s)
	case rv.Strategy != "" && rv.Phase == "switched":
		s = fmt.Sprintf("blue/green, traffic switched at %s: %s", rv.SwitchedAt.Local().Format("15:04:05"), s)
	case rv.Strategy != "":
		s = fmt.Sprintf("blue/green, traffic on version %s until every new instance is healthy: %s", rv.From, s)
	}
	if rv.Waiting != "" {
		s += "; waiting: " + rv.Waiting
	}
	if rv.Pending != "" {
		s += "; pending: " + rv.Pending
	}
	return s
}
