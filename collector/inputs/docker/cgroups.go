package docker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
)

// cgroupMode is the cgroup hierarchy layout under the cgroup root.
type cgroupMode int

const (
	cgroupV1 cgroupMode = 1
	cgroupV2 cgroupMode = 2
)

func (m cgroupMode) String() string {
	switch m {
	case cgroupV1:
		return "v1"
	case cgroupV2:
		return "v2"
	}
	return "unknown"
}

// v1Controllers are the cgroup v1 controllers whose files hold what the
// input emits. pids, cpuset and the rest would only cost reads.
var v1Controllers = []string{"cpu", "cpuacct", "memory", "blkio"}

// detectCgroupMode looks at root rather than asking
// cgroups.IsCgroup2UnifiedMode, which only ever checks /sys/fs/cgroup: an
// agent in a container sees the host's hierarchy wherever it was mounted.
// A hybrid host (v1 controllers plus an empty unified tree) counts as v1,
// because that is where the numbers are.
func detectCgroupMode(root string) (cgroupMode, error) {
	if fileExists(filepath.Join(root, "cgroup.controllers")) {
		return cgroupV2, nil
	}
	for _, c := range []string{"cpuacct", "cpu,cpuacct", "memory"} {
		if fileExists(filepath.Join(root, c)) {
			return cgroupV1, nil
		}
	}
	return 0, fmt.Errorf("docker: %s holds neither a cgroup v2 hierarchy (no cgroup.controllers) nor cgroup v1 controllers (no cpuacct or memory dir); mount the host's /sys/fs/cgroup there, or set --cgroup-root", root)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// procCgroups parses /proc/<pid>/cgroup into controller → path ("" is the
// v2 unified hierarchy). Named hierarchies (name=systemd) are skipped.
func procCgroups(procRoot string, pid int) (map[string]string, map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return nil, nil, err
	}
	paths := map[string]string{}
	// groups remembers the full controller list of each line, because a
	// v1 mount dir is often named after it (cpu,cpuacct).
	groups := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			paths[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if strings.HasPrefix(c, "name=") {
				continue
			}
			paths[c] = parts[2]
			groups[c] = parts[1]
		}
	}
	return paths, groups, sc.Err()
}

// candidatePaths lists where a container's cgroup may be, relative to a
// hierarchy's root, best guess first: what its init process reports (cut
// after the container's own directory, in case the payload made child
// cgroups), then the cgroupfs and systemd drivers' conventions. The
// /proc answer is relative to the reader's cgroup namespace, so an agent in
// its own namespace sees "/.." paths; those are useless and dropped.
func candidatePaths(fromProc, id, parent string) []string {
	var out []string
	if fromProc != "" && fromProc != "/" && !strings.Contains(fromProc, "/..") {
		if i := strings.Index(fromProc, id); i >= 0 {
			if j := strings.IndexByte(fromProc[i:], '/'); j >= 0 {
				fromProc = fromProc[:i+j]
			}
		}
		out = append(out, fromProc)
	}
	if parent != "" {
		if strings.HasSuffix(parent, ".slice") {
			out = append(out, "/"+expandSlice(parent)+"/docker-"+id+".scope")
		} else {
			out = append(out, "/"+strings.Trim(parent, "/")+"/"+id)
		}
	}
	out = append(out,
		"/system.slice/docker-"+id+".scope",
		"/docker/"+id,
	)
	seen := make(map[string]bool, len(out))
	uniq := out[:0]
	for _, p := range out {
		if !seen[p] {
			seen[p] = true
			uniq = append(uniq, p)
		}
	}
	return uniq
}

// expandSlice turns a systemd slice name into its path: a-b.slice lives at
// a.slice/a-b.slice.
func expandSlice(slice string) string {
	name := strings.TrimSuffix(slice, ".slice")
	if name == "" || name == "-" {
		return ""
	}
	var path []string
	prefix := ""
	for _, part := range strings.Split(name, "-") {
		if part == "" {
			return slice // not a valid slice name; use it as given
		}
		prefix += part
		path = append(path, prefix+".slice")
		prefix += "-"
	}
	return strings.Join(path, "/")
}

// containerCgroup is where one container's cgroup files are.
type containerCgroup struct {
	mode cgroupMode
	// dir is the v2 directory, or the v1 memory (else cpuacct) directory;
	// it tells whether the container is gone.
	dir string
	// paths maps v1 controller → directory; nil on v2.
	paths map[string]string
}

// findCgroup locates a container's cgroup under root.
func findCgroup(mode cgroupMode, root, procRoot string, pid int, id, parent string) (containerCgroup, error) {
	var fromProc, groups map[string]string
	if pid > 0 {
		// A process that is gone by now just leaves the conventions to try.
		fromProc, groups, _ = procCgroups(procRoot, pid)
	}
	switch mode {
	case cgroupV2:
		for _, rel := range candidatePaths(fromProc[""], id, parent) {
			dir := filepath.Join(root, rel)
			if fileExists(filepath.Join(dir, "cgroup.procs")) {
				return containerCgroup{mode: mode, dir: dir}, nil
			}
		}
		return containerCgroup{}, fmt.Errorf("docker: no cgroup v2 directory for container %.12s under %s (tried %s): %w",
			id, root, strings.Join(candidatePaths(fromProc[""], id, parent), ", "), os.ErrNotExist)
	case cgroupV1:
		cg := containerCgroup{mode: mode, paths: map[string]string{}}
		for _, ctrl := range v1Controllers {
			mount := filepath.Join(root, ctrl)
			if !fileExists(mount) && groups[ctrl] != "" {
				mount = filepath.Join(root, groups[ctrl])
			}
			for _, rel := range candidatePaths(fromProc[ctrl], id, parent) {
				dir := filepath.Join(mount, rel)
				if fileExists(filepath.Join(dir, "cgroup.procs")) {
					cg.paths[ctrl] = dir
					break
				}
			}
		}
		cg.dir = cg.paths["memory"]
		if cg.dir == "" {
			cg.dir = cg.paths["cpuacct"]
		}
		if cg.dir == "" {
			return containerCgroup{}, fmt.Errorf("docker: no cgroup v1 memory or cpuacct directory for container %.12s under %s (tried %s): %w",
				id, root, strings.Join(candidatePaths(fromProc["memory"], id, parent), ", "), os.ErrNotExist)
		}
		return cg, nil
	}
	return containerCgroup{}, fmt.Errorf("docker: cgroup mode %v not supported", mode)
}

// manager builds the opencontainers/cgroups manager for the container. It
// only reads; nothing is ever applied or set through it.
func (cg containerCgroup) manager() (cgroups.Manager, error) {
	cfg := &cgroups.Cgroup{Resources: &cgroups.Resources{}}
	switch cg.mode {
	case cgroupV2:
		return fs2.NewManager(cfg, cg.dir)
	case cgroupV1:
		return fs.NewManager(cfg, cg.paths)
	}
	return nil, fmt.Errorf("docker: cgroup mode %v not supported", cg.mode)
}

// gone tells whether the container's cgroup has been removed, i.e. the
// container stopped between listing and reading.
func (cg containerCgroup) gone() bool {
	_, err := os.Stat(cg.dir)
	return errors.Is(err, os.ErrNotExist)
}

// statsRecorder hands cAdvisor's handler the real manager and keeps the raw
// stats of its one GetStats call: cAdvisor's own result has no memory
// limit and no memory.stat map, which Telegraf's fields need, and reading
// the files twice would double the cost of a gather.
type statsRecorder struct {
	cgroups.Manager
	last *cgroups.Stats
}

// GetStats reads the cgroup through the wrapped manager and keeps the result.
func (r *statsRecorder) GetStats() (*cgroups.Stats, error) {
	st, err := r.Manager.GetStats()
	r.last = st
	return st, err
}
