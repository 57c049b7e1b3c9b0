package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits that keep a run bounded.
const (
	MaxDuration    = time.Hour
	MaxConcurrency = 10_000
	MaxRPS         = 1_000_000
	// maxSamples caps the latencies kept; later ones replace random earlier
	// ones (reservoir), so percentiles stay fair over long runs.
	maxSamples = 2_000_000
)

// Options describe a run.
type Options struct {
	URL string
	// Concurrency is the number of workers each sending one request after
	// another (closed loop). With RPS it caps the requests in flight
	// (default 1000 then).
	Concurrency int
	// RPS sends requests at this rate (open loop).
	RPS      float64
	Duration time.Duration
	// Method (default GET) and Body of every request.
	Method string
	Body   []byte
	// Timeout bounds each request (default 10s).
	Timeout time.Duration
	// AllowRemote lets the URL name a host that is not a loopback address.
	AllowRemote bool
	// Progress is called about once a second with the figures so far.
	Progress func(Progress)
	// Transport replaces the default keep-alive transport.
	Transport http.RoundTripper
}

// Progress is a run so far.
type Progress struct {
	Elapsed  time.Duration
	Requests int64
	Errors   int64
	InFlight int64
}

// Result is a finished run.
type Result struct {
	Requests int64
	// Errors are requests that got no answer, or a 5xx one.
	Errors int64
	// Statuses counts the answers by HTTP status.
	Statuses map[int]int64
	// FirstError is the first error seen, to say what went wrong.
	FirstError string
	// Dropped counts requests an open loop could not send because the
	// in-flight cap was reached (they count as errors too).
	Dropped int64
	Elapsed time.Duration
	RPS     float64
	P50Ms   float64
	P90Ms   float64
	P99Ms   float64
	MaxMs   float64
	MeanMs  float64
}

// Line is the summary's last line, the one scripts read.
func (r Result) Line() string {
	return fmt.Sprintf("result: requests=%d errors=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f", r.Requests, r.Errors, r.RPS, r.P50Ms, r.P99Ms)
}

// Validate checks the options without sending anything.
func (o *Options) Validate() error {
	if o.URL == "" {
		return errors.New("loadgen: no URL")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return fmt.Errorf("loadgen: URL %q: %w", o.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("loadgen: URL %q: want http:// or https://", o.URL)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("loadgen: URL %q names no host", o.URL)
	}
	if o.Concurrency == 0 && o.RPS == 0 {
		return errors.New("loadgen: give a concurrency or a rate (requests per second)")
	}
	if o.Concurrency < 0 || o.Concurrency > MaxConcurrency {
		return fmt.Errorf("loadgen: concurrency %d: want 1 to %d", o.Concurrency, MaxConcurrency)
	}
	if o.RPS < 0 || o.RPS > MaxRPS || math.IsNaN(o.RPS) {
		return fmt.Errorf("loadgen: rate %v: want up to %d requests per second", o.RPS, MaxRPS)
	}
	if o.Duration <= 0 || o.Duration > MaxDuration {
		return fmt.Errorf("loadgen: duration %s: want more than 0 and at most %s", o.Duration, MaxDuration)
	}
	return nil
}

// CheckTarget refuses a URL whose host is not a loopback address, unless
// allowRemote. A host name counts as loopback only when every address it
// resolves to is one.
func CheckTarget(ctx context.Context, raw string, allowRemote bool) error {
	if allowRemote {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("loadgen: URL %q: %w", raw, err)
	}
	host := u.Hostname()
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return fmt.Errorf("loadgen: resolve %s: %w", host, err)
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("loadgen: %s (%s) is not a loopback address; load only goes elsewhere with --allow-remote", host, ip)
		}
	}
	if len(ips) == 0 {
		return fmt.Errorf("loadgen: %s has no address", host)
	}
	return nil
}

// run is one run's shared state.
type run struct {
	o        Options
	client   *http.Client
	start    time.Time
	requests atomic.Int64
	errors   atomic.Int64
	dropped  atomic.Int64
	inFlight atomic.Int64

	mu       sync.Mutex
	samples  []float64 // ms
	seen     int64
	statuses map[int]int64
	firstErr string
	rng      uint64
}

// Run sends the load and returns the result; ctx ending stops it early.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	if err := CheckTarget(ctx, o.URL, o.AllowRemote); err != nil {
		return Result{}, err
	}
	tr := o.Transport
	if tr == nil {
		workers := o.Concurrency
		if workers == 0 {
			workers = 1000
		}
		t := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: workers,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		}
		defer t.CloseIdleConnections()
		tr = t
	}
	r := &run{o: o, client: &http.Client{Transport: tr, Timeout: o.Timeout}, statuses: map[int]int64{}, rng: 0x9e3779b97f4a7c15}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	r.start = time.Now()
	progDone := make(chan struct{})
	if o.Progress != nil {
		go r.progress(ctx, progDone)
	} else {
		close(progDone)
	}
	if o.RPS > 0 {
		r.openLoop(ctx)
	} else {
		r.closedLoop(ctx)
	}
	<-progDone
	return r.result(time.Since(r.start)), nil
}

func (r *run) progress(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.o.Progress(Progress{Elapsed: time.Since(r.start), Requests: r.requests.Load(), Errors: r.errors.Load(), InFlight: r.inFlight.Load()})
		}
	}
}

func (r *run) closedLoop(ctx context.Context) {
	var wg sync.WaitGroup
	for range r.o.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				r.one(ctx, time.Now())
			}
		})
	}
	wg.Wait()
}

func (r *run) openLoop(ctx context.Context) {
	limit := int64(r.o.Concurrency)
	if limit == 0 {
		limit = 1000
	}
	interval := time.Duration(float64(time.Second) / r.o.RPS)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := int64(0); ; i++ {
		due := r.start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		if r.inFlight.Load() >= limit {
			r.dropped.Add(1)
			r.requests.Add(1)
			r.fail("in-flight cap reached: the target answers slower than the rate asks")
			continue
		}
		wg.Go(func() { r.one(ctx, due) })
	}
}

// one sends one request; its latency counts from due.
func (r *run) one(ctx context.Context, due time.Time) {
	r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	var body io.Reader
	if r.o.Body != nil {
		body = bytes.NewReader(r.o.Body)
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), r.o.Method, r.o.URL, body)
	if err != nil {
		r.requests.Add(1)
		r.fail(err.Error())
		return
	}
	resp, err := r.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	lat := time.Since(due)
	r.requests.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sample(float64(lat) / float64(time.Millisecond))
	switch {
	case err != nil:
		r.errors.Add(1)
		r.firstErrLocked(err.Error())
	case resp.StatusCode >= 500:
		r.statuses[resp.StatusCode]++
		r.errors.Add(1)
		r.firstErrLocked(resp.Status)
	default:
		r.statuses[resp.StatusCode]++
	}
}

func (r *run) fail(msg string) {
	r.errors.Add(1)
	r.mu.Lock()
	r.firstErrLocked(msg)
	r.mu.Unlock()
}

func (r *run) firstErrLocked(msg string) {
	if r.firstErr == "" {
		r.firstErr = msg
	}
}

// sample keeps a latency (mu held), replacing a random earlier one once
// the cap is reached.
func (r *run) sample(ms float64) {
	r.seen++
	if len(r.samples) < maxSamples {
		r.samples = append(r.samples, ms)
		return
	}
	r.rng ^= r.rng << 13
	r.rng ^= r.rng >> 7
	r.rng ^= r.rng << 17
	if j := int64(r.rng % uint64(r.seen)); j < maxSamples {
		r.samples[j] = ms
	}
}

func (r *run) result(elapsed time.Duration) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{
		Requests: r.requests.Load(), Errors: r.errors.Load(), Dropped: r.dropped.Load(),
		Statuses: r.statuses, FirstError: r.firstErr, Elapsed: elapsed,
	}
	if elapsed > 0 {
		res.RPS = float64(res.Requests) / elapsed.Seconds()
	}
	s := slices.Clone(r.samples)
	sort.Float64s(s)
	res.P50Ms, res.P90Ms, res.P99Ms = Percentile(s, 0.50), Percentile(s, 0.90), Percentile(s, 0.99)
	if len(s) > 0 {
		res.MaxMs = s[len(s)-1]
		sum := 0.0
		for _, v := range s {
			sum += v
		}
		res.MeanMs = sum / float64(len(s))
	}
	return res
}

// Percentile is the nearest-rank q-quantile of sorted values, 0 when empty.
func Percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Summary is the human summary of a result; its last line is Line().
func (r Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "elapsed:   %s\n", r.Elapsed.Round(time.Millisecond))
	codes := make([]int, 0, len(r.Statuses))
	for c := range r.Statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", r.Statuses[c], c))
	}
	fmt.Fprintf(&b, "statuses:  %s\n", strings.Join(parts, " "))
	if r.Dropped > 0 {
		fmt.Fprintf(&b, "dropped:   %d (in-flight cap reached)\n", r.Dropped)
	}
	if r.FirstError != "" {
		fmt.Fprintf(&b, "first error: %s\n", r.FirstError)
	}
	fmt.Fprintf(&b, "latency:   mean %.3f ms, p50 %.3f, p90 %.3f, p99 %.3f, max %.3f\n", r.MeanMs, r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs)
	b.WriteString(r.Line())
	b.WriteByte('\n')
	return b.String()
}
