package connections

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// TCP states as /proc/net/tcp writes them (the kernel's tcp_states.h).
const (
	stateEstablished = 0x01
	stateListen      = 0x0A
)

// sockets is what one network namespace's TCP tables say about its local
// ports: which are listening, and how many established connections each
// has.
type sockets struct {
	listening   map[uint16]bool
	established map[uint16]int
}

func newSockets() sockets {
	return sockets{listening: map[uint16]bool{}, established: map[uint16]int{}}
}

// readSockets reads /proc/<pid>/net/tcp and tcp6: the tables of the
// network namespace pid lives in, whatever namespace the reader is in, so
// no setns is needed. A missing tcp6 (IPv6 disabled) is no error.
func readSockets(procRoot string, pid int) (sockets, error) {
	s := newSockets()
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "net")
	for _, name := range []string{"tcp", "tcp6"} {
		path := filepath.Join(dir, name)
		f, err := os.Open(path)
		if err != nil {
			if name == "tcp6" && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return sockets{}, err
		}
		err = s.parse(f)
		f.Close()
		if err != nil {
			return sockets{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	return s, nil
}

// parse adds the sockets of one table in /proc/net/tcp's format (IPv4 or
// IPv6: only the column positions matter) to s:
//
//	sl  local_address rem_address   st tx_queue ...
//	 0: 00000000:1F90 00000000:0000 0A 00000000:00000000 ...
//
// Ports and states are hexadecimal.
func (s *sockets) parse(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if n == 1 {
			continue // the header
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		local, st := field(line, 1), field(line, 3)
		colon := bytes.LastIndexByte(local, ':')
		if colon < 0 || st == nil {
			return fmt.Errorf("line %d: want sl, local_address, rem_address and st columns, got %q", n, line)
		}
		port, ok := parseHex(local[colon+1:], 4)
		if !ok {
			return fmt.Errorf("line %d: local port %q is not 1 to 4 hexadecimal digits", n, local[colon+1:])
		}
		state, ok := parseHex(st, 2)
		if !ok {
			return fmt.Errorf("line %d: state %q is not 1 or 2 hexadecimal digits", n, st)
		}
		switch state {
		case stateListen:
			s.listening[uint16(port)] = true
		case stateEstablished:
			s.established[uint16(port)]++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", n+1, err)
	}
	return nil
}

// parseHex reads 1 to digits hexadecimal digits.
func parseHex(b []byte, digits int) (uint64, bool) {
	if len(b) == 0 || len(b) > digits {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// field returns the i-th (from 0) space-separated column of line, or nil.
// It does not allocate: tables of busy namespaces have many thousands of
// lines.
func field(line []byte, i int) []byte {
	for {
		for len(line) > 0 && line[0] == ' ' {
			line = line[1:]
		}
		if len(line) == 0 {
			return nil
		}
		end := bytes.IndexByte(line, ' ')
		if end < 0 {
			end = len(line)
		}
		if i == 0 {
			return line[:end]
		}
		i--
		line = line[end:]
	}
}
