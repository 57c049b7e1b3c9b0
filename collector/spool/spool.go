package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

const (
	// DefaultMaxBytes is the size cap used when Open is given 0.
	DefaultMaxBytes = 256 << 20
	// MinMaxBytes is the smallest cap Open accepts.
	MinMaxBytes = 4 << 10

	// Segments are an eighth of the cap so that a full spool sheds an
	// eighth at a time, but never so large that one deletion throws away
	// minutes of data on a big cap.
	segmentFraction = 8
	maxSegmentBytes = 32 << 20

	segmentExt = ".seg"
	cursorName = "cursor"
	lockName   = "LOCK"
	cursorSize = 12
)

var (
	// ErrTooLarge is returned by Append for a record bigger than the whole
	// cap; the record is counted as dropped.
	ErrTooLarge = errors.New("record larger than the spool's size cap")
	// ErrClosed is returned by every method that needs the files after Close.
	ErrClosed = errors.New("spool closed")
	// ErrLocked is returned by Open when another spool holds the directory.
	ErrLocked = errors.New("spool directory in use")
)

// Record is one spooled message.
type Record struct {
	// ID is the message id the record was first published (or meant to be
	// published) under; replays reuse it so the receiver can deduplicate.
	ID string
	// Data is the payload.
	Data []byte
	// Points is how many points Data holds, for counting drops.
	Points int
	// Seq is the record's position in the spool, set by Front and Peek and
	// ignored by Append. It only grows, also across restarts.
	Seq uint64
}

// Spool is a bounded on-disk FIFO of records. It is safe for concurrent use.
type Spool struct {
	dir      string
	maxBytes int64
	segBytes int64
	logger   *slog.Logger

	mu     sync.Mutex
	closed bool
	lock   *os.File
	cursor *os.File
	// segs are oldest first; the last one takes appends. segs[0] is never
	// read to its end while a later segment exists (it is removed then).
	segs []*segment
	// The oldest undelivered record: its offset in segs[0], its sequence
	// number, and the points already delivered out of segs[0].
	readOff int64
	readSeq uint64
	readPts int64
	nextSeq uint64

	bytes, records, points              int64
	droppedRecords, droppedPoints, torn int64

	dirty    bool // data written since the last fsync
	dirDirty bool // segment files created since the last fsync of dir
	buf      []byte
}

type segment struct {
	first  uint64
	count  uint64
	points int64
	size   int64
	path   string
	f      *os.File
}

// Open opens the spool in dir, creating dir if needed, and continues where
// the last process left off. maxBytes caps the size of the segment files (0:
// DefaultMaxBytes). A torn or corrupt record at the end of a segment is cut
// off and counted; Open fails only when it cannot use the directory.
func Open(dir string, maxBytes int64, logger *slog.Logger) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("spool: no directory given")
	}
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxBytes < MinMaxBytes {
		return nil, fmt.Errorf("spool: size cap of %d bytes for %s is below the minimum of %d bytes", maxBytes, dir, MinMaxBytes)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: create %s: %w", dir, err)
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	s := &Spool{
		dir:      dir,
		maxBytes: maxBytes,
		segBytes: min(max(maxBytes/segmentFraction, MinMaxBytes), maxSegmentBytes),
		logger:   logger,
		lock:     lock,
	}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// load rebuilds the in-memory state from the directory.
func (s *Spool) load() error {
	cursorSeq, cursorOK, err := s.openCursor()
	if err != nil {
		return err
	}
	firsts, err := s.listSegments()
	if err != nil {
		return err
	}
	var cur scanResult // where cursorSeq lies, if inside a segment
	for i, first := range firsts {
		path := filepath.Join(s.dir, segmentName(first))
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("spool: open segment %s: %w", path, err)
		}
		seg := &segment{first: first, path: path, f: f}
		s.segs = append(s.segs, seg)
		res, err := s.scan(seg, cursorSeq)
		if err != nil {
			return err
		}
		if res.targetFound {
			cur = res
		}
		if seg.count == 0 && i < len(firsts)-1 {
			s.removeSegment(len(s.segs) - 1)
		}
	}

	if n := len(s.segs); n > 0 {
		s.nextSeq = s.segs[n-1].first + s.segs[n-1].count
	}
	if cursorOK && cursorSeq > s.nextSeq {
		// Every segment on disk was delivered; keep numbering after the
		// cursor so sequence numbers never go back.
		s.nextSeq = cursorSeq
	}
	if cursorOK {
		// Delivered segments whose deletion a crash interrupted.
		for len(s.segs) > 0 && s.segs[0].first+s.segs[0].count <= cursorSeq {
			s.removeSegment(0)
		}
	}
	s.readSeq = s.nextSeq
	if len(s.segs) > 0 {
		s.readSeq = s.segs[0].first
		if cursorOK && cursorSeq > s.segs[0].first && cur.targetFound {
			s.readSeq, s.readOff, s.readPts = cursorSeq, cur.targetOff, cur.targetPts
		}
	}
	for _, seg := range s.segs {
		s.bytes += seg.size
		s.records += int64(seg.count)
		s.points += seg.points
	}
	if len(s.segs) > 0 {
		s.records -= int64(s.readSeq - s.segs[0].first)
		s.points -= s.readPts
	}
	if s.records == 0 {
		s.removeAll()
	}
	if s.bytes > s.maxBytes {
		// The cap was lowered since the last run.
		var lostR, lostP int64
		for s.bytes > s.maxBytes && len(s.segs) > 0 {
			r, p := s.dropOldest()
			lostR, lostP = lostR+r, lostP+p
		}
		s.logger.Warn("spool over its size cap at open, dropped oldest records",
			"dir", s.dir, "max_bytes", s.maxBytes, "records", lostR, "points", lostP)
	}
	if s.records > 0 {
		s.logger.Info("spool holds undelivered records", "dir", s.dir, "records", s.records, "points", s.points, "bytes", s.bytes)
	}
	return s.writeCursor()
}

func segmentName(first uint64) string { return fmt.Sprintf("%016x%s", first, segmentExt) }

func (s *Spool) listSegments() ([]uint64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool: read %s: %w", s.dir, err)
	}
	var firsts []uint64
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, segmentExt) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segmentExt), 16, 64)
		if err != nil {
			s.logger.Warn("spool: ignoring file that looks like a segment but is not named like one", "file", filepath.Join(s.dir, name))
			continue
		}
		firsts = append(firsts, first)
	}
	slices.Sort(firsts)
	return firsts, nil
}

// openCursor opens the cursor file and reads the sequence number of the
// oldest undelivered record. A missing or damaged cursor means "from the
// start": replaying delivered records is safe, skipping undelivered ones is not.
func (s *Spool) openCursor() (uint64, bool, error) {
	path := filepath.Join(s.dir, cursorName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, false, fmt.Errorf("spool: open cursor %s: %w", path, err)
	}
	s.cursor = f
	var b [cursorSize]byte
	if n, err := f.ReadAt(b[:], 0); n < cursorSize || (err != nil && !errors.Is(err, io.EOF)) {
		return 0, false, nil
	}
	if crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
		s.logger.Warn("spool: cursor damaged, replaying from the oldest record on disk", "file", path)
		return 0, false, nil
	}
	return binary.LittleEndian.Uint64(b[:8]), true, nil
}

func (s *Spool) writeCursor() error {
	var b [cursorSize]byte
	binary.LittleEndian.PutUint64(b[:8], s.readSeq)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	if _, err := s.cursor.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("spool: write cursor in %s: %w", s.dir, err)
	}
	s.dirty = true
	return nil
}

type scanResult struct {
	targetFound bool
	targetOff   int64
	targetPts   int64
}

// scan counts a segment's records and cuts off whatever follows the last
// good one. It also notes where record number target starts.
func (s *Spool) scan(seg *segment, target uint64) (scanResult, error) {
	var res scanResult
	st, err := seg.f.Stat()
	if err != nil {
		return res, fmt.Errorf("spool: stat segment %s: %w", seg.path, err)
	}
	size := st.Size()
	r := bufio.NewReaderSize(io.NewSectionReader(seg.f, 0, size), 1<<20)
	var (
		hdr  [headerSize]byte
		body []byte
		off  int64
		seq  = seg.first
	)
	torn := func(why string, points int64) error {
		s.logger.Warn("spool: cutting off a torn or corrupt record",
			"segment", seg.path, "offset", off, "discarded_bytes", size-off, "reason", why)
		s.torn++
		s.droppedRecords++
		s.droppedPoints += points
		if err := seg.f.Truncate(off); err != nil {
			return fmt.Errorf("spool: truncate segment %s at %d: %w", seg.path, off, err)
		}
		s.dirty = true
		return nil
	}
	for off < size {
		if seq == target {
			res = scanResult{targetFound: true, targetOff: off, targetPts: seg.points}
		}
		if size-off < headerSize {
			return res, torn("partial header", 0)
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return res, fmt.Errorf("spool: read segment %s at %d: %w", seg.path, off, err)
		}
		h, ok := parseHeader(hdr[:])
		if !ok {
			return res, torn("bad header", 0)
		}
		if int64(h.total) > size-off {
			return res, torn("partial record", int64(h.points))
		}
		body = slices.Grow(body[:0], int(h.total)-headerSize)[:int(h.total)-headerSize]
		if _, err := io.ReadFull(r, body); err != nil {
			return res, fmt.Errorf("spool: read segment %s at %d: %w", seg.path, off, err)
		}
		if !h.check(hdr[:], body) {
			return res, torn("checksum mismatch", int64(h.points))
		}
		off += int64(h.total)
		seg.size = off
		seg.count++
		seg.points += int64(h.points)
		seq++
	}
	if seq == target {
		res = scanResult{targetFound: true, targetOff: off, targetPts: seg.points}
	}
	return res, nil
}

// Append adds r at the end. When the spool would grow past its cap, the
// oldest segment goes first and its undelivered records are counted as
// dropped. A nil error means the record is in the kernel's hands and
// survives a crash of this process.
func (s *Spool) Append(r Record) error {
	if len(r.ID) > math.MaxUint16 {
		return fmt.Errorf("spool: record id of %d bytes is longer than %d", len(r.ID), math.MaxUint16)
	}
	if r.Points < 0 || int64(r.Points) > math.MaxUint32 {
		return fmt.Errorf("spool: record %s: point count %d out of range", r.ID, r.Points)
	}
	n := int64(headerSize + len(r.ID) + len(r.Data))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if n > s.maxBytes || n > maxRecordSize {
		s.droppedRecords++
		s.droppedPoints += int64(r.Points)
		return fmt.Errorf("spool: record %s of %d bytes does not fit the cap of %d bytes in %s: %w", r.ID, n, s.maxBytes, s.dir, ErrTooLarge)
	}
	var lostR, lostP int64
	for s.bytes+n > s.maxBytes && len(s.segs) > 0 {
		r, p := s.dropOldest()
		lostR, lostP = lostR+r, lostP+p
	}
	if lostR > 0 {
		s.logger.Warn("spool full, dropped oldest records", "dir", s.dir, "max_bytes", s.maxBytes, "records", lostR, "points", lostP)
	}
	seg := s.active()
	if seg == nil || (seg.size > 0 && seg.size+n > s.segBytes) {
		var err error
		if seg, err = s.rotate(); err != nil {
			return err
		}
	}
	s.buf = appendRecord(s.buf, r)
	if _, err := seg.f.WriteAt(s.buf, seg.size); err != nil {
		// A short write (disk full) must not leave half a record for the
		// next one to land behind.
		_ = seg.f.Truncate(seg.size)
		return fmt.Errorf("spool: append record %s to %s: %w", r.ID, seg.path, err)
	}
	if cap(s.buf) > 4<<20 {
		s.buf = nil
	}
	seg.size += n
	seg.count++
	seg.points += int64(r.Points)
	s.bytes += n
	s.records++
	s.points += int64(r.Points)
	s.nextSeq++
	s.dirty = true
	return nil
}

func (s *Spool) active() *segment {
	if len(s.segs) == 0 {
		return nil
	}
	return s.segs[len(s.segs)-1]
}

// rotate makes the finished segment durable and starts a new one.
func (s *Spool) rotate() (*segment, error) {
	if last := s.active(); last != nil {
		if err := last.f.Sync(); err != nil {
			return nil, fmt.Errorf("spool: fsync segment %s: %w", last.path, err)
		}
	}
	path := filepath.Join(s.dir, segmentName(s.nextSeq))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: create segment %s: %w", path, err)
	}
	seg := &segment{first: s.nextSeq, path: path, f: f}
	s.segs = append(s.segs, seg)
	if len(s.segs) == 1 {
		s.readSeq, s.readOff, s.readPts = seg.first, 0, 0
	}
	s.dirDirty = true
	return seg, nil
}

// dropOldest deletes segs[0] and returns the undelivered records and points
// that went with it.
func (s *Spool) dropOldest() (records, points int64) {
	seg := s.segs[0]
	records = int64(seg.count) - int64(s.readSeq-seg.first)
	points = seg.points - s.readPts
	s.droppedRecords += records
	s.droppedPoints += points
	s.records -= records
	s.points -= points
	s.bytes -= seg.size
	s.removeSegment(0)
	s.resetRead()
	return records, points
}

// resetRead points the reader at the start of segs[0].
func (s *Spool) resetRead() {
	s.readOff, s.readPts = 0, 0
	if len(s.segs) > 0 {
		s.readSeq = s.segs[0].first
	} else {
		s.readSeq = s.nextSeq
	}
}

// removeSegment closes and deletes segs[i]; the caller fixes the counters.
func (s *Spool) removeSegment(i int) {
	seg := s.segs[i]
	_ = seg.f.Close()
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.logger.Warn("spool: cannot delete segment", "segment", seg.path, "err", err)
	}
	s.segs = slices.Delete(s.segs, i, i+1)
}

// removeAll deletes every segment once nothing is left to deliver, so an
// empty spool takes no disk space.
func (s *Spool) removeAll() {
	for len(s.segs) > 0 {
		s.removeSegment(len(s.segs) - 1)
	}
	s.bytes, s.records, s.points = 0, 0, 0
	s.resetRead()
}

// Front returns the oldest undelivered record without removing it.
func (s *Spool) Front() (Record, bool, error) {
	recs, err := s.Peek(1, 0)
	if err != nil || len(recs) == 0 {
		return Record{}, false, err
	}
	return recs[0], true, nil
}

// Peek returns up to n of the oldest undelivered records, oldest first,
// without removing them. It stops early once the records read hold maxBytes
// (0: no byte limit) but always returns at least one record if there is one.
// A corrupt record at the front is dropped, counted and skipped.
func (s *Spool) Peek(n int, maxBytes int64) ([]Record, error) {
	n = max(n, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	var (
		out   []Record
		total int64
	)
	for i := 0; i < len(s.segs) && len(out) < n; i++ {
		seg := s.segs[i]
		off, seq := int64(0), seg.first
		if i == 0 {
			off, seq = s.readOff, s.readSeq
		}
		for off < seg.size && len(out) < n {
			if maxBytes > 0 && len(out) > 0 && total >= maxBytes {
				return out, nil
			}
			rec, size, err := readRecord(seg.f, off, seg.size)
			if err != nil {
				if len(out) > 0 {
					return out, nil
				}
				// The front record cannot be delivered, ever: give up on
				// its segment rather than wedge the reader.
				lostR, lostP := s.dropOldest()
				s.logger.Error("spool: dropped an unreadable segment", "segment", seg.path, "err", err, "records", lostR, "points", lostP)
				i = -1
				break
			}
			rec.Seq = seq
			out = append(out, rec)
			total += size
			off += size
			seq++
		}
	}
	return out, nil
}

// Pop removes the oldest undelivered record.
func (s *Spool) Pop() error {
	s.mu.Lock()
	seq := s.readSeq
	s.mu.Unlock()
	return s.PopThrough(seq)
}

// PopThrough removes every record whose Seq is at most seq. Records that the
// size cap already dropped are skipped, so a reader may pop what it peeked
// even if some of it is gone.
func (s *Spool) PopThrough(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	moved := false
	for s.records > 0 && s.readSeq <= seq {
		seg := s.segs[0]
		h, err := readHeader(seg.f, s.readOff, seg.size)
		if err != nil {
			return fmt.Errorf("spool: pop record %d from %s: %w", s.readSeq, seg.path, err)
		}
		s.readOff += int64(h.total)
		s.readPts += int64(h.points)
		s.readSeq++
		s.records--
		s.points -= int64(h.points)
		moved = true
		if s.readOff >= seg.size && len(s.segs) > 1 {
			s.bytes -= seg.size
			s.removeSegment(0)
			s.resetRead()
		}
	}
	if !moved {
		return nil
	}
	if s.records == 0 {
		s.removeAll()
	}
	return s.writeCursor()
}

// Sync makes everything appended and popped so far durable against power
// loss. The NATS output calls it once a second.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.sync()
}

func (s *Spool) sync() error {
	if !s.dirty && !s.dirDirty {
		return nil
	}
	if seg := s.active(); seg != nil {
		if err := seg.f.Sync(); err != nil {
			return fmt.Errorf("spool: fsync segment %s: %w", seg.path, err)
		}
	}
	if err := s.cursor.Sync(); err != nil {
		return fmt.Errorf("spool: fsync cursor in %s: %w", s.dir, err)
	}
	if s.dirDirty {
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	s.dirty, s.dirDirty = false, false
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: open %s for fsync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: fsync %s: %w", dir, err)
	}
	return nil
}

// Close syncs and closes the files and releases the directory. Counters
// stay readable.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	err := s.sync()
	s.closeFiles()
	s.closed = true
	return err
}

func (s *Spool) closeFiles() {
	for _, seg := range s.segs {
		_ = seg.f.Close()
	}
	if s.cursor != nil {
		_ = s.cursor.Close()
	}
	if s.lock != nil {
		_ = s.lock.Close()
	}
}

// Len is the number of undelivered records.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.records)
}

// Points is the number of undelivered points.
func (s *Spool) Points() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.points
}

// Bytes is the size of the segment files on disk. It includes delivered
// records at the start of the oldest segment until that segment goes.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Dropped counts the records and points lost since Open: pushed out by the
// size cap, too large for it, or torn by a crash.
func (s *Spool) Dropped() (records, points int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.droppedRecords, s.droppedPoints
}

// Torn counts the torn or corrupt records Open cut off (included in Dropped).
func (s *Spool) Torn() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.torn
}

// MaxBytes is the size cap.
func (s *Spool) MaxBytes() int64 { return s.maxBytes }
