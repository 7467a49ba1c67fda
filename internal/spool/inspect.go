package spool

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
)

// Info describes a spool directory as found on disk.
type Info struct {
	Dir      string        `json:"dir"`
	SpoolID  string        `json:"spool_id"`
	Cursor   *Position     `json:"cursor,omitempty"`
	Segments []SegmentInfo `json:"segments"`
	Bytes    int64         `json:"bytes"`
	Records  uint64        `json:"records"`
	// NextSeq is the sequence number the next appended record would get.
	NextSeq uint64 `json:"next_seq"`
	// Unread counts records at or after the cursor: what a start replays.
	Unread uint64 `json:"unread"`
}

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	File     string `json:"file"`
	FirstSeq uint64 `json:"first_seq"`
	Records  uint64 `json:"records"`
	Bytes    int64  `json:"bytes"`
	BadBytes int64  `json:"bad_bytes,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

// Inspect reads a spool directory without changing it, checking every
// record's checksum. It is safe on a spool in use.
func Inspect(dir string) (Info, error) {
	info := Info{Dir: dir}
	id, err := readID(dir)
	if err != nil {
		return info, err
	}
	info.SpoolID = hex.EncodeToString(id[:])
	if c, ok, err := loadCursor(dir); err == nil && ok {
		info.Cursor = &c
	}
	segs, err := listSegments(dir)
	if err != nil {
		return info, err
	}
	for _, sg := range segs {
		res, err := scanSegment(sg.path, id, sg.first)
		if err != nil {
			return info, err
		}
		si := SegmentInfo{File: filepath.Base(sg.path), FirstSeq: sg.first, Records: res.records, Bytes: sg.size, BadBytes: res.badBytes}
		if res.err != nil {
			si.Problem = res.err.Error()
		}
		info.Segments = append(info.Segments, si)
		info.Bytes += sg.size
		info.Records += res.records
		info.NextSeq = max(info.NextSeq, sg.first+res.records)
		from := sg.first
		if info.Cursor != nil {
			from = max(from, info.Cursor.Seq)
		}
		if end := sg.first + res.records; end > from {
			info.Unread += end - from
		}
	}
	if info.Cursor != nil {
		info.NextSeq = max(info.NextSeq, info.Cursor.Seq)
	}
	return info, nil
}

func readID(dir string) ([8]byte, error) {
	var id [8]byte
	ids, err := filepath.Glob(filepath.Join(dir, "spool.id"))
	if err != nil || len(ids) == 0 {
		return id, fmt.Errorf("%s is not a spool directory (no spool.id)", dir)
	}
	return loadOrCreateID(dir)
}
