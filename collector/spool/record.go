package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
)

// On disk a record is a 16-byte header followed by the message id and the
// payload:
//
//	0  uint32 total length (header + id + payload), little endian
//	4  uint32 CRC-32C of bytes 8..total
//	8  uint32 points
//	12 uint16 id length
//	14 uint16 format version (1)
//
// Points sit in the header so a record whose body was torn still tells how
// many points were lost with it.
const (
	headerSize    = 16
	recordVersion = 1
	// maxRecordSize keeps a corrupt length field from asking for gigabytes.
	maxRecordSize = 1 << 30
)

// castagnoli is read-only after package initialisation.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a record that fails its checks.
var errCorrupt = errors.New("corrupt record")

type header struct {
	total  uint32
	crc    uint32
	points uint32
	idLen  uint16
}

func appendRecord(b []byte, r Record) []byte {
	total := headerSize + len(r.ID) + len(r.Data)
	b = slices.Grow(b[:0], total)[:headerSize]
	binary.LittleEndian.PutUint32(b[0:], uint32(total))
	binary.LittleEndian.PutUint32(b[8:], uint32(r.Points))
	binary.LittleEndian.PutUint16(b[12:], uint16(len(r.ID)))
	binary.LittleEndian.PutUint16(b[14:], recordVersion)
	b = append(b, r.ID...)
	b = append(b, r.Data...)
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:], castagnoli))
	return b
}

// parseHeader checks what can be checked without the body.
func parseHeader(b []byte) (header, bool) {
	h := header{
		total:  binary.LittleEndian.Uint32(b[0:]),
		crc:    binary.LittleEndian.Uint32(b[4:]),
		points: binary.LittleEndian.Uint32(b[8:]),
		idLen:  binary.LittleEndian.Uint16(b[12:]),
	}
	ok := binary.LittleEndian.Uint16(b[14:]) == recordVersion &&
		h.total >= headerSize+uint32(h.idLen) && h.total <= maxRecordSize
	return h, ok
}

func (h header) check(hdr, body []byte) bool {
	c := crc32.Update(0, castagnoli, hdr[8:headerSize])
	return crc32.Update(c, castagnoli, body) == h.crc
}

// readHeader reads and checks the header of the record at off.
func readHeader(f *os.File, off, size int64) (header, error) {
	var hdr [headerSize]byte
	if size-off < headerSize {
		return header{}, fmt.Errorf("%w: %d bytes left at offset %d, a header needs %d", errCorrupt, size-off, off, headerSize)
	}
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return header{}, fmt.Errorf("read header at offset %d: %w", off, err)
	}
	h, ok := parseHeader(hdr[:])
	if !ok || int64(h.total) > size-off {
		return header{}, fmt.Errorf("%w: bad header at offset %d", errCorrupt, off)
	}
	return h, nil
}

// readRecord reads and verifies the record at off; the returned Data is the
// caller's to keep.
func readRecord(f *os.File, off, size int64) (Record, int64, error) {
	h, err := readHeader(f, off, size)
	if err != nil {
		return Record{}, 0, err
	}
	buf := make([]byte, h.total)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return Record{}, 0, fmt.Errorf("read record at offset %d: %w", off, err)
	}
	if !h.check(buf[:headerSize], buf[headerSize:]) {
		return Record{}, 0, fmt.Errorf("%w: checksum mismatch at offset %d", errCorrupt, off)
	}
	idEnd := headerSize + int(h.idLen)
	return Record{
		ID:     string(buf[headerSize:idEnd]),
		Data:   buf[idEnd:h.total:h.total],
		Points: int(h.points),
	}, int64(h.total), nil
}
