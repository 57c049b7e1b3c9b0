package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func open(t testing.TB, dir string, maxBytes int64) *Spool {
	t.Helper()
	s, err := Open(dir, maxBytes, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// crash drops the spool without syncing or writing anything more, as a
// killed process would; the kernel keeps what was written.
func crash(s *Spool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeFiles()
	s.closed = true
}

func rec(i, size int) Record {
	data := bytes.Repeat([]byte{byte('a' + i%26)}, size)
	return Record{ID: fmt.Sprintf("node:boot:%d", i), Data: data, Points: i%7 + 1}
}

func appendN(t testing.TB, s *Spool, from, to, size int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Append(rec(i, size)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// drain pops everything, checking the records come out as rec(from..to-1).
func drain(t *testing.T, s *Spool, from, to, size int) {
	t.Helper()
	for i := from; i < to; i++ {
		r, ok, err := s.Front()
		if err != nil || !ok {
			t.Fatalf("Front at %d: ok=%v err=%v", i, ok, err)
		}
		want := rec(i, size)
		if r.ID != want.ID || r.Points != want.Points || !bytes.Equal(r.Data, want.Data) {
			t.Fatalf("record %d: got id %q points %d len %d, want id %q points %d len %d",
				i, r.ID, r.Points, len(r.Data), want.ID, want.Points, len(want.Data))
		}
		if err := s.Pop(); err != nil {
			t.Fatalf("Pop %d: %v", i, err)
		}
	}
	if _, ok, err := s.Front(); ok || err != nil {
		t.Fatalf("spool not empty after draining: ok=%v err=%v", ok, err)
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRecordsComeOutInAppendOrder(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	appendN(t, s, 0, 100, 300)
	if s.Len() != 100 {
		t.Fatalf("Len = %d, want 100", s.Len())
	}
	wantPts := int64(0)
	for i := range 100 {
		wantPts += int64(rec(i, 0).Points)
	}
	if s.Points() != wantPts {
		t.Fatalf("Points = %d, want %d", s.Points(), wantPts)
	}
	drain(t, s, 0, 100, 300)
	if s.Len() != 0 || s.Bytes() != 0 || s.Points() != 0 {
		t.Fatalf("after drain Len=%d Bytes=%d Points=%d, want all 0", s.Len(), s.Bytes(), s.Points())
	}
}

func TestPeekReturnsAWindowWithoutRemoving(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	appendN(t, s, 0, 10, 1000)
	tests := []struct {
		name     string
		n        int
		maxBytes int64
		want     int
	}{
		{"count limit", 4, 0, 4},
		{"more than held", 50, 0, 10},
		{"byte limit stops after the record that reaches it", 10, 2500, 3},
		{"byte limit below one record still gives one", 10, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Peek(tt.n, tt.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Fatalf("Peek returned %d records, want %d", len(got), tt.want)
			}
			for i, r := range got {
				if r.ID != rec(i, 0).ID || r.Seq != uint64(i) {
					t.Fatalf("record %d: id %q seq %d", i, r.ID, r.Seq)
				}
			}
			if s.Len() != 10 {
				t.Fatalf("Peek changed Len to %d", s.Len())
			}
		})
	}
}

func TestCapDropsOldestSegmentsAndCountsThem(t *testing.T) {
	const capBytes, size, n = 64 << 10, 1000, 300
	dir := t.TempDir()
	s := open(t, dir, capBytes)
	appendN(t, s, 0, n, size)

	if s.Bytes() > capBytes {
		t.Fatalf("Bytes = %d, over the cap of %d", s.Bytes(), capBytes)
	}
	droppedR, droppedP := s.Dropped()
	if droppedR == 0 {
		t.Fatal("nothing dropped although 300 KB went into a 64 KiB spool")
	}
	if int(droppedR)+s.Len() != n {
		t.Fatalf("dropped %d + held %d != appended %d", droppedR, s.Len(), n)
	}
	// The dropped ones are exactly the oldest: the survivors are the tail.
	first := int(droppedR)
	var wantP int64
	for i := range first {
		wantP += int64(rec(i, 0).Points)
	}
	if droppedP != wantP {
		t.Fatalf("dropped points = %d, want %d (points of records 0..%d)", droppedP, wantP, first-1)
	}
	r, ok, err := s.Front()
	if err != nil || !ok || r.Seq != uint64(first) {
		t.Fatalf("Front = seq %d ok=%v err=%v, want seq %d", r.Seq, ok, err, first)
	}
	drain(t, s, first, n, size)
}

func TestCapDropsPartlyDeliveredSegmentCountingOnlyUndelivered(t *testing.T) {
	const capBytes, size = 32 << 10, 1000
	s := open(t, t.TempDir(), capBytes)
	appendN(t, s, 0, 10, size)
	// Segments are 4 KiB here, three of these records each: popping two
	// leaves one undelivered record in the oldest segment.
	for range 2 {
		if err := s.Pop(); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, s, 10, 40, size)
	droppedR, droppedP := s.Dropped()
	if int(droppedR)+s.Len()+2 != 40 {
		t.Fatalf("dropped %d + held %d + delivered 2 != 40 appended", droppedR, s.Len())
	}
	var wantP int64
	for i := 2; i < 2+int(droppedR); i++ {
		wantP += int64(rec(i, 0).Points)
	}
	if droppedP != wantP {
		t.Fatalf("dropped points = %d, want %d", droppedP, wantP)
	}
	r, _, _ := s.Front()
	if r.Seq != uint64(2+droppedR) {
		t.Fatalf("Front seq = %d, want %d", r.Seq, 2+droppedR)
	}
}

func TestPopThroughSkipsRecordsTheCapAlreadyDropped(t *testing.T) {
	s := open(t, t.TempDir(), 16<<10)
	appendN(t, s, 0, 4, 1000)
	window, err := s.Peek(4, 0)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 4, 40, 1000) // pushes the peeked records out
	before := s.Len()
	if err := s.PopThrough(window[len(window)-1].Seq); err != nil {
		t.Fatal(err)
	}
	if s.Len() != before {
		t.Fatalf("PopThrough of dropped records removed %d newer ones", before-s.Len())
	}
}

func TestRecordLargerThanCapIsRefusedAndCounted(t *testing.T) {
	s := open(t, t.TempDir(), MinMaxBytes)
	err := s.Append(Record{ID: "x", Data: make([]byte, MinMaxBytes), Points: 9})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append = %v, want ErrTooLarge", err)
	}
	if r, p := s.Dropped(); r != 1 || p != 9 {
		t.Fatalf("Dropped = %d records %d points, want 1 and 9", r, p)
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestReopenContinuesWhereItLeftOff(t *testing.T) {
	tests := []struct {
		name  string
		close func(*Spool)
	}{
		{"after Close", func(s *Spool) { _ = s.Close() }},
		{"after a crash", crash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, 64<<10)
			appendN(t, s, 0, 50, 900) // several segments
			for range 17 {
				if err := s.Pop(); err != nil {
					t.Fatal(err)
				}
			}
			tt.close(s)

			s = open(t, dir, 64<<10)
			if s.Len() != 33 {
				t.Fatalf("Len after reopen = %d, want 33", s.Len())
			}
			appendN(t, s, 50, 60, 900)
			got, err := s.Peek(100, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Seq != 17 || got[len(got)-1].Seq != 59 {
				t.Fatalf("seqs run %d..%d, want 17..59", got[0].Seq, got[len(got)-1].Seq)
			}
			drain(t, s, 17, 60, 900)
		})
	}
}

func TestSequenceNumbersNeverGoBackAfterDraining(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 0)
	appendN(t, s, 0, 3, 10)
	drain(t, s, 0, 3, 10)
	if files := segmentFiles(t, dir); len(files) != 0 {
		t.Fatalf("drained spool still has segment files %v", files)
	}
	_ = s.Close()
	s = open(t, dir, 0)
	appendN(t, s, 3, 4, 10)
	r, _, _ := s.Front()
	if r.Seq != 3 {
		t.Fatalf("seq after drain and reopen = %d, want 3", r.Seq)
	}
}

func TestOpenCutsOffTornTail(t *testing.T) {
	const size = 200
	lastLen := int64(headerSize + len(rec(4, size).ID) + size)
	tests := []struct {
		name       string
		damage     func(t *testing.T, path string)
		wantLen    int
		wantPoints int64 // points counted as dropped with the torn record
	}{
		{"record cut in its body", func(t *testing.T, p string) { truncateBy(t, p, lastLen/2) }, 4, int64(rec(4, 0).Points)},
		{"record cut in its header", func(t *testing.T, p string) { truncateBy(t, p, lastLen-5) }, 4, 0},
		{"zeros after the last record", func(t *testing.T, p string) { appendBytes(t, p, make([]byte, 4096)) }, 5, 0},
		{"flipped byte in the last record", func(t *testing.T, p string) { flipByte(t, p, -3) }, 4, int64(rec(4, 0).Points)},
		{"garbage shorter than a header", func(t *testing.T, p string) { appendBytes(t, p, []byte("xyz")) }, 5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, 0)
			appendN(t, s, 0, 5, size)
			crash(s)
			files := segmentFiles(t, dir)
			tt.damage(t, files[len(files)-1])

			s = open(t, dir, 0)
			if s.Len() != tt.wantLen {
				t.Fatalf("Len = %d, want %d", s.Len(), tt.wantLen)
			}
			if s.Torn() != 1 {
				t.Fatalf("Torn = %d, want 1", s.Torn())
			}
			if r, p := s.Dropped(); r != 1 || p != tt.wantPoints {
				t.Fatalf("Dropped = %d records %d points, want 1 and %d", r, p, tt.wantPoints)
			}
			// Appends go after the cut, and everything reads back.
			appendN(t, s, 5, 6, size)
			got, err := s.Peek(10, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantLen+1 || got[len(got)-1].ID != rec(5, 0).ID {
				t.Fatalf("after the cut: %d records, last %q", len(got), got[len(got)-1].ID)
			}
		})
	}
}

func TestDamagedCursorReplaysFromTheOldestRecord(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 0)
	appendN(t, s, 0, 5, 10)
	if err := s.PopThrough(1); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	flipByte(t, filepath.Join(dir, cursorName), 0)

	s = open(t, dir, 0)
	if s.Len() != 5 {
		t.Fatalf("Len = %d, want all 5 replayed", s.Len())
	}
}

func TestManySegmentsAreWalkedAndDeletedInOrder(t *testing.T) {
	const n, size = 5000, 100
	dir := t.TempDir()
	s := open(t, dir, 1<<20) // 128 KiB segments
	appendN(t, s, 0, n, size)
	if got := len(segmentFiles(t, dir)); got < 4 {
		t.Fatalf("%d segment files, want several", got)
	}
	next := 0
	for s.Len() > 0 {
		w, err := s.Peek(333, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range w {
			if r.ID != rec(next, 0).ID || r.Seq != uint64(next) {
				t.Fatalf("got %q seq %d, want record %d", r.ID, r.Seq, next)
			}
			next++
		}
		if err := s.PopThrough(w[len(w)-1].Seq); err != nil {
			t.Fatal(err)
		}
		if front, ok, _ := s.Front(); ok {
			files := segmentFiles(t, dir)
			if segFirst(t, files[0]) > front.Seq || (len(files) > 1 && segFirst(t, files[1]) <= front.Seq) {
				t.Fatalf("front record %d is not in the oldest segment file %s: delivered segments are not deleted", front.Seq, files[0])
			}
		}
	}
	if next != n {
		t.Fatalf("read %d records, want %d", next, n)
	}
	if files := segmentFiles(t, dir); len(files) != 0 || s.Bytes() != 0 {
		t.Fatalf("after draining: files %v, Bytes %d", files, s.Bytes())
	}
}

func TestSecondOpenOfTheSameDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, 0)
	_, err := Open(dir, 0, nil)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

func TestOpenRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name, dir string
		max       int64
		want      string
	}{
		{"no dir", "", 0, "no directory"},
		{"tiny cap", t.TempDir(), 100, "below the minimum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.dir, tt.max, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestClosedSpoolRefusesWorkButKeepsCounters(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	appendN(t, s, 0, 2, 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Append": s.Append(rec(9, 1)),
		"Pop":    s.Pop(),
		"Sync":   s.Sync(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if s.Len() != 2 {
		t.Errorf("Len after Close = %d, want 2", s.Len())
	}
}

func segFirst(t *testing.T, path string) uint64 {
	t.Helper()
	first, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(path), segmentExt), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return first
}

func truncateBy(t *testing.T, path string, n int64) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()-n); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// flipByte inverts the byte at off (negative: from the end).
func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += len(b)
	}
	b = slices.Clone(b)
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 400 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := open(b, b.TempDir(), DefaultMaxBytes)
			r := rec(1, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Append(r); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Sync(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
