package spool

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// A segment file starts with a 32-byte header:
//
//	"VCASPL01" | spool id (8) | first sequence number (u64) | CRC-32C of the previous 24 bytes (u32) | 4 zero bytes
//
// and holds records from there on. Its name is its first sequence number,
// zero-padded to 20 digits, so that names sort in sequence order.
const (
	segmentHeader = 32
	segmentMagic  = "VCASPL01"
	segmentExt    = ".seg"
)

type segment struct {
	first uint64
	path  string
	size  int64 // header plus whole records written
	// synced is the prefix of size known to be on disk. The reader reads
	// only that far, so a record reaches a sink only once a power failure
	// can no longer take it, and a tail cut at start-up never holds a
	// record a sink has seen: sequence numbers are not reused.
	synced int64
	count  uint64   // records, known for the active segment and the recovered tail
	w      *os.File // the active segment's write handle
	r      *os.File // owned by the reader
	gone   bool     // deleted (committed or dropped); the reader moves on
}

func segmentPath(dir string, first uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", first, segmentExt))
}

func encodeSegmentHeader(id [8]byte, first uint64) []byte {
	h := make([]byte, segmentHeader)
	copy(h, segmentMagic)
	copy(h[8:], id[:])
	binary.LittleEndian.PutUint64(h[16:], first)
	binary.LittleEndian.PutUint32(h[24:], crc32.Checksum(h[:24], castagnoli))
	return h
}

func checkSegmentHeader(h []byte, id [8]byte, first uint64) error {
	if len(h) < segmentHeader {
		return errors.New("header incomplete")
	}
	if string(h[:8]) != segmentMagic {
		return errors.New("not a spool segment (bad magic)")
	}
	if crc32.Checksum(h[:24], castagnoli) != binary.LittleEndian.Uint32(h[24:]) {
		return errors.New("header checksum mismatch")
	}
	if [8]byte(h[8:16]) != id {
		return fmt.Errorf("belongs to spool %s, not %s", hex.EncodeToString(h[8:16]), hex.EncodeToString(id[:]))
	}
	if got := binary.LittleEndian.Uint64(h[16:]); got != first {
		return fmt.Errorf("header says first record %d, name says %d", got, first)
	}
	return nil
}

// listSegments returns the segment files in dir in sequence order.
func listSegments(dir string) ([]*segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []*segment
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, segmentExt) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segmentExt), 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		segs = append(segs, &segment{first: first, path: filepath.Join(dir, name), size: info.Size()})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	return segs, nil
}

// scanResult is what a full read of a segment found.
type scanResult struct {
	records  uint64
	valid    int64 // offset after the last valid record
	badBytes int64 // bytes after it (a torn or corrupt tail)
	err      error // why the tail is bad, nil when it is not
}

// scanSegment reads every record of a segment, checking checksums, and
// reports where the valid prefix ends.
func scanSegment(path string, id [8]byte, first uint64) (scanResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return scanResult{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return scanResult{}, err
	}
	h := make([]byte, segmentHeader)
	if _, err := io.ReadFull(f, h); err != nil {
		return scanResult{valid: 0, badBytes: info.Size(), err: errors.New("header incomplete")}, nil
	}
	if err := checkSegmentHeader(h, id, first); err != nil {
		return scanResult{valid: 0, badBytes: info.Size(), err: err}, nil
	}
	res := scanResult{valid: segmentHeader}
	buf := make([]byte, 1<<20)
	var rec Record
	names := map[string]string{}
	have := 0
	off := int64(segmentHeader)
	for {
		n, rerr := f.ReadAt(buf[have:], off+int64(have))
		have += n
		p := 0
		for {
			used, err := decodeRecord(buf[p:have], &rec, names)
			if err == errShort {
				break
			}
			if err != nil {
				res.err = err
				res.badBytes = info.Size() - res.valid
				return res, nil
			}
			p += used
			res.records++
			res.valid += int64(used)
		}
		off += int64(p)
		have = copy(buf, buf[p:have])
		if rerr != nil || n == 0 {
			if have > 0 {
				res.err = errShort
				res.badBytes = int64(have)
			}
			return res, nil
		}
		if have == len(buf) { // one record larger than the buffer
			if len(buf) >= recordHeader+MaxRecord {
				res.err, res.badBytes = errLength, info.Size()-res.valid
				return res, nil
			}
			buf = append(buf, make([]byte, len(buf))...)
		}
	}
}
