package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"

	"github.com/swell-pipeline/swell/collector"
)

// Measurement is the measurement this input writes.
const Measurement = "system"

// Sources are where the input reads from.
type Sources struct {
	Load   func(ctx context.Context) (*load.AvgStat, error)
	CPUs   func(ctx context.Context, logical bool) (int, error)
	Users  func(ctx context.Context) ([]host.UserStat, error)
	Uptime func(ctx context.Context) (uint64, error)
}

// HostSources reads the host through gopsutil, which honours HOST_PROC and
// HOST_VAR (for utmp).
func HostSources() Sources {
	return Sources{
		Load:   load.AvgWithContext,
		CPUs:   cpu.CountsWithContext,
		Users:  host.UsersWithContext,
		Uptime: host.UptimeWithContext,
	}
}

// usersRetry is how long the input waits before trying the login records
// again after failing to read them. Where utmp is missing gopsutil runs
// loginctl instead, a process per gather that fails the same way every time
// on hosts and containers without systemd-logind.
const usersRetry = 10 * time.Minute

// System is the system input.
type System struct {
	src Sources
	log *slog.Logger
	now func() time.Time

	mu           sync.Mutex
	skipUsersTil time.Time
}

var _ collector.Input = (*System)(nil)

// New returns a system input reading the host. logger may be nil.
func New(logger *slog.Logger) *System {
	return NewWithSources(HostSources(), logger)
}

// NewWithSources returns a system input reading from src; tests use it.
func NewWithSources(src Sources, logger *slog.Logger) *System {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &System{src: src, log: logger, now: time.Now}
}

// Gather reports one system point. The user counts are left out when the
// login records cannot be read (no utmp in a minimal container), as in
// Telegraf.
func (s *System) Gather(ctx context.Context, acc collector.Accumulator) error {
	avg, err := s.src.Load(ctx)
	if err != nil {
		return fmt.Errorf("system: read load averages: %w", err)
	}
	n, err := s.src.CPUs(ctx, true)
	if err != nil {
		return fmt.Errorf("system: count CPUs: %w", err)
	}
	uptime, err := s.src.Uptime(ctx)
	if err != nil {
		return fmt.Errorf("system: read uptime: %w", err)
	}
	fields := map[string]any{
		"load1":  avg.Load1,
		"load5":  avg.Load5,
		"load15": avg.Load15,
		"n_cpus": n,
		"uptime": uptime,
	}
	if err := s.addUsers(ctx, fields); err != nil {
		return err
	}
	acc.AddFields(Measurement, fields, nil, time.Time{})
	return nil
}

// addUsers adds n_users and n_unique_users when the login records can be
// read, and otherwise leaves them out for usersRetry.
func (s *System) addUsers(ctx context.Context, fields map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Before(s.skipUsersTil) {
		return nil
	}
	users, err := s.src.Users(ctx)
	switch {
	case err == nil:
		fields["n_users"] = len(users)
		fields["n_unique_users"] = uniqueUsers(users)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("system: read logged-in users: %w", err)
	default:
		s.skipUsersTil = now.Add(usersRetry)
		s.log.Debug("system: cannot read logged-in users; leaving out n_users for a while",
			"err", err, "retry_in", usersRetry)
	}
	return nil
}

func uniqueUsers(users []host.UserStat) int {
	seen := make(map[string]struct{}, len(users))
	for _, u := range users {
		seen[u.User] = struct{}{}
	}
	return len(seen)
}
