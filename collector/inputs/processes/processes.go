package processes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/swell-pipeline/swell/collector"
)

// Measurement is the measurement this input writes.
const Measurement = "processes"

// Config says where to read.
type Config struct {
	// ProcRoot is the proc filesystem to read: HOST_PROC, or /proc.
	ProcRoot string
}

// DefaultConfig reads HOST_PROC from the environment, like gopsutil.
func DefaultConfig() Config {
	root := os.Getenv("HOST_PROC")
	if root == "" {
		root = "/proc"
	}
	return Config{ProcRoot: root}
}

// Processes is the processes input.
type Processes struct {
	root string
}

var _ collector.Input = (*Processes)(nil)

// New returns a processes input.
func New(cfg Config) (*Processes, error) {
	if cfg.ProcRoot == "" {
		return nil, errors.New("processes: ProcRoot is empty")
	}
	return &Processes{root: cfg.ProcRoot}, nil
}

// Counts are processes by state, Telegraf's fields, plus their threads.
type Counts struct {
	Total    int64
	Running  int64 // R
	Sleeping int64 // S
	Blocked  int64 // D: uninterruptible sleep, usually disk I/O
	Zombies  int64 // Z
	Stopped  int64 // T, t
	Dead     int64 // X, x
	Paging   int64 // W
	Idle     int64 // I: idle kernel threads
	Parked   int64 // P
	Unknown  int64 // any other letter
	Threads  int64
}

// Add counts one process in state with threads threads, using the state
// letters of proc(5).
func (c *Counts) Add(state byte, threads int64) {
	c.Total++
	c.Threads += threads
	switch state {
	case 'R':
		c.Running++
	case 'S':
		c.Sleeping++
	case 'D':
		c.Blocked++
	case 'Z':
		c.Zombies++
	case 'T', 't':
		c.Stopped++
	case 'X', 'x':
		c.Dead++
	case 'W':
		c.Paging++
	case 'I':
		c.Idle++
	case 'P':
		c.Parked++
	default:
		c.Unknown++
	}
}

// Fields are Telegraf's Linux processes fields; parked appears only when a
// parked process was seen, as in Telegraf.
func (c *Counts) Fields() map[string]any {
	f := map[string]any{
		"total":         c.Total,
		"running":       c.Running,
		"sleeping":      c.Sleeping,
		"blocked":       c.Blocked,
		"zombies":       c.Zombies,
		"stopped":       c.Stopped,
		"dead":          c.Dead,
		"paging":        c.Paging,
		"idle":          c.Idle,
		"unknown":       c.Unknown,
		"total_threads": c.Threads,
	}
	if c.Parked > 0 {
		f["parked"] = c.Parked
	}
	return f
}

// Gather counts the processes under ProcRoot and reports one point.
func (p *Processes) Gather(ctx context.Context, acc collector.Accumulator) error {
	dir, err := os.Open(p.root)
	if err != nil {
		return fmt.Errorf("processes: open %s: %w", p.root, err)
	}
	names, err := dir.Readdirnames(-1)
	_ = dir.Close() // read-only: nothing to lose
	if err != nil {
		return fmt.Errorf("processes: list %s: %w", p.root, err)
	}
	var (
		counts Counts
		buf    = make([]byte, 0, 1024)
	)
	for i, name := range names {
		if !isPID(name) {
			continue
		}
		if i%512 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("processes: stopped after %d of %d entries: %w", i, len(names), err)
			}
		}
		path := filepath.Join(p.root, name, "stat")
		buf, err = readInto(buf[:0], path)
		if err != nil {
			if gone(err) {
				continue
			}
			return fmt.Errorf("processes: read %s: %w", path, err)
		}
		state, threads, err := ParseStat(buf)
		if err != nil {
			acc.AddError(fmt.Errorf("processes: %s: %w", path, err))
			continue
		}
		counts.Add(state, threads)
	}
	acc.AddFields(Measurement, counts.Fields(), nil, time.Time{})
	return nil
}

// ParseStat returns the state letter and thread count from the contents of
// /proc/<pid>/stat. The command name may hold spaces and parentheses, so
// parsing starts after its last ')'.
func ParseStat(data []byte) (state byte, threads int64, err error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, errors.New("no ')' closing the command name")
	}
	fields := bytes.Fields(data[i+1:])
	// fields[0] is the state (field 3 in proc(5)); num_threads is field
	// 20, so 17 after the state.
	if len(fields) < 18 || len(fields[0]) == 0 {
		return 0, 0, fmt.Errorf("%d fields after the command name, want at least 18", len(fields))
	}
	threads, err = strconv.ParseInt(string(fields[17]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("thread count: %w", err)
	}
	return fields[0][0], threads, nil
}

func isPID(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return false
		}
	}
	return true
}

// readInto reads a whole file into buf, growing it as needed.
func readInto(buf []byte, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// gone reports whether a read failed because the process exited meanwhile.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}
