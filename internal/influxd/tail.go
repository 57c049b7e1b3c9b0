package influxd

import (
	"bytes"
	"strings"
	"sync"
)

// tailSize is how much of influxd's recent output is kept for error messages.
const tailSize = 16 << 10

// tail keeps the last tailSize bytes written to it, so a failed start can
// say why without reading the log file back.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lines returns up to n last complete or partial lines.
func (t *tail) lines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := bytes.TrimRight(t.buf, "\n")
	if len(s) == 0 {
		return "(influxd wrote nothing)"
	}
	all := strings.Split(string(s), "\n")
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return strings.Join(all, "\n")
}

func (t *tail) contains(sub string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Contains(t.buf, []byte(sub))
}
