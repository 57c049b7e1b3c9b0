//go:build !swellnode

package main

import (
	"fmt"
	"io"
	"os/user"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/api"
)

func newAlertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Silence alerts and test receivers",
		Long: `Alert rules, receivers and routes are YAML documents applied with
'swell apply -f' (see docs/alerts-yaml.md). These commands act on what runs:
silences mute matching alerts for a while, 'test' sends a test notification
through a receiver. 'swell get alerts' lists what fires.`,
	}
	cmd.AddCommand(newSilenceCmd(g), newSilencesCmd(g), newExpireCmd(g), newTestReceiverCmd(g))
	return cmd
}

func newSilenceCmd(g *globals) *cobra.Command {
	var (
		cf      clientFlags
		match   []string
		dur     time.Duration
		comment string
		by      string
	)
	cmd := &cobra.Command{
		Use:   "silence --match k=v[,k=v] --for DURATION",
		Short: "Mute the alerts whose labels match, for a while",
		Long: `silence mutes every alert whose labels match all the matchers, new or
firing, until the duration passes or 'swell alerts expire ID'. Muted alerts
still show in 'swell get alerts'. Matchers: name=value, name!=value,
name=~regex, name!~regex; alertname is the rule's name.`,
		Example: `  swell alerts silence --match alertname=node-lost,node=n3 --for 2h --comment "rack 3 maintenance"
  swell alerts silence --match 'service=~/shop/.*' --for 30m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(match) == 0 {
				return errUsage(cmd, "silence needs --match k=v")
			}
			if dur <= 0 {
				return errUsage(cmd, "silence needs --for DURATION, e.g. --for 2h")
			}
			if by == "" {
				if u, err := user.Current(); err == nil {
					by = u.Username
				}
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			s, err := c.Silence(cmd.Context(), api.SilenceRequest{Matchers: match, Duration: dur, Comment: comment, CreatedBy: by})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "silence %s until %s (%s)\n", s.ID, s.EndsAt.Local().Format(time.DateTime), strings.Join(s.Matchers, ","))
			return err
		},
	}
	fs := cmd.Flags()
	cf.register(fs)
	fs.StringSliceVar(&match, "match", nil, "label matchers, comma-separated or repeated: name=value, name!=value, name=~regex, name!~regex")
	fs.DurationVar(&dur, "for", 0, "how long the silence holds, e.g. 2h")
	fs.StringVar(&comment, "comment", "", "why (shown in 'swell alerts silences')")
	fs.StringVar(&by, "created-by", "", "who (default: your user name)")
	return cmd
}

func newSilencesCmd(g *globals) *cobra.Command {
	var (
		cf     clientFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "silences",
		Short: "List silences, expired ones included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			sils, err := c.Silences(cmd.Context())
			if err != nil {
				return err
			}
			return printAs(g.stdout, output, sils, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tSTATE\tMATCHERS\tENDS\tBY\tCOMMENT")
				for _, s := range sils {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.State, strings.Join(s.Matchers, ","),
						s.EndsAt.Local().Format(time.DateTime), dash(s.CreatedBy), dash(s.Comment))
				}
			})
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	return cmd
}

func newExpireCmd(g *globals) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:     "expire ID",
		Short:   "End a silence now",
		Example: `  swell alerts expire 3f2a9c0d1e4b5a67`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			if err := c.ExpireSilence(cmd.Context(), args[0]); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "silence %s expired\n", args[0])
			return err
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func newTestReceiverCmd(g *globals) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "test RECEIVER",
		Short: "Send a test notification through a receiver and show the provider's answer",
		Long: `test builds the applied receiver on the server (secrets are resolved
there) and sends it one firing test alert named swell-test, then prints what
the provider answered. Nothing is retried, so an error shows at once.`,
		Example: `  swell alerts test oncall-dingtalk`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			res, err := c.TestReceiver(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("receiver %s: %w", args[0], err)
			}
			fmt.Fprintf(g.stdout, "receiver %s (%s): sent\n", res.Receiver, res.Type)
			if res.Status != 0 {
				fmt.Fprintf(g.stdout, "provider answered HTTP %d: %s\n", res.Status, dash(res.Answer))
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func alertsTable(w io.Writer, as []api.AlertView) {
	fmt.Fprintln(w, "STATE\tRULE\tSINCE\tVALUE\tLABELS\tSILENCED")
	for _, a := range as {
		var labels []string
		for k, v := range a.Labels {
			if k != "alertname" {
				labels = append(labels, k+"="+v)
			}
		}
		sort.Strings(labels)
		fmt.Fprintf(w, "%s\t%s\t%s\t%g\t%s\t%s\n", a.State, a.Rule, age(a.Since), a.Value,
			dash(strings.Join(labels, ",")), dash(strings.Join(a.Silenced, ",")))
	}
}

func alertDefsTable(w io.Writer, kind string, d api.AlertDefsView) {
	switch kind {
	case "rules":
		fmt.Fprintln(w, "NAME\tMEASUREMENT\tFIELD\tWARN\tCRIT\tFOR\tNOTIFY")
		for _, r := range d.Rules {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Measurement, dash(r.Field), dash(r.Warn), dash(r.Crit), r.For, dash(strings.Join(r.Notify, ",")))
		}
		for _, name := range d.Builtin {
			fmt.Fprintf(w, "%s\t(built-in: see docs/alerts-yaml.md)\t\t\t\t\t\n", name)
		}
	case "routes":
		fmt.Fprintln(w, "NAME\tMATCHERS\tRECEIVERS\tGROUP BY\tCONTINUE")
		for _, r := range d.Routes {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", r.Name, dash(strings.Join(r.Matchers, ",")), strings.Join(r.Receivers, ","), dash(strings.Join(r.GroupBy, ",")), r.Continue)
		}
	default:
		fmt.Fprintln(w, "NAME\tTYPE")
		for _, r := range d.Receivers {
			fmt.Fprintf(w, "%s\t%s\n", r.Name, r.Type)
		}
	}
}
