//go:build !swellnode

package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/swell-pipeline/swell/loadgen"
)

func newLoadCmd(g *globals) *cobra.Command {
	var (
		o      loadgen.Options
		method string
		body   string
		quiet  bool
	)
	cmd := &cobra.Command{
		Use:   "load --url URL (--concurrency C | --rps R) --duration D",
		Short: "Send HTTP load to one URL and report throughput and latency",
		Long: `load sends requests to --url for --duration, either from --concurrency
workers each sending one request after another, or at a fixed --rps rate
(latency then counts from when each request was due, so a slow target
cannot hide its queueing). It prints progress every second on stderr and a
summary on stdout whose last line is:

  result: requests=N errors=E rps=… p50_ms=… p99_ms=…

Errors are requests that got no answer or a 5xx one. Targets that are not
loopback addresses are refused unless --allow-remote is given.`,
		Example: `  swell load --url http://127.0.0.1:10001/ --concurrency 20 --duration 30s
  swell load --url 'http://127.0.0.1:10001/?ms=50' --rps 300 --duration 10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.URL == "" {
				return errUsage(cmd, "--url is required")
			}
			if (o.Concurrency > 0) == (o.RPS > 0) {
				return errUsage(cmd, "give one of --concurrency or --rps")
			}
			o.Method = method
			if body != "" {
				o.Body = []byte(body)
			}
			if !quiet {
				o.Progress = func(p loadgen.Progress) {
					fmt.Fprintf(g.stderr, "%6s  requests=%d errors=%d in_flight=%d\n",
						p.Elapsed.Round(time.Second), p.Requests, p.Errors, p.InFlight)
				}
			}
			if err := o.Validate(); err != nil {
				return err
			}
			res, err := loadgen.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprint(g.stdout, res.Summary())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", "", "URL to send the requests to")
	f.IntVar(&o.Concurrency, "concurrency", 0, "workers each sending one request after another (closed loop)")
	f.Float64Var(&o.RPS, "rps", 0, "requests per second to send (open loop)")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, fmt.Sprintf("how long to send (at most %s)", loadgen.MaxDuration))
	f.DurationVar(&o.Timeout, "timeout", 10*time.Second, "longest wait for one answer")
	f.StringVar(&method, "method", "GET", "HTTP method")
	f.StringVar(&body, "body", "", "request body")
	f.BoolVar(&o.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	f.BoolVar(&quiet, "quiet", false, "no progress lines")
	return cmd
}
