package listen

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

type frame struct {
	msg       string
	truncated bool
}

func readAll(t testing.TB, r io.Reader, max int) []frame {
	t.Helper()
	fr := NewFrameReader(r, max)
	var out []frame
	for {
		msg, trunc, err := fr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("unexpected error %v", err)
			}
			return out
		}
		out = append(out, frame{string(msg), trunc})
	}
}

func octet(s string) string { return strconv.Itoa(len(s)) + " " + s }

func TestFrameReader(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name  string
		input string
		max   int
		want  []frame
	}{
		{"lf", "<1>a\n<2>b\n", 64, []frame{{"<1>a", false}, {"<2>b", false}}},
		{"crlf and nul stripped", "<1>a\r\n<2>b\x00\n", 64, []frame{{"<1>a", false}, {"<2>b", false}}},
		{"last line without lf", "<1>a\n<2>b", 64, []frame{{"<1>a", false}, {"<2>b", false}}},
		{"octet counted", octet("<1>a b") + octet("<2>c\n"), 64, []frame{{"<1>a b", false}, {"<2>c", false}}},
		{"octet with lf separators", octet("<1>a") + "\n" + octet("<2>b") + "\n", 64, []frame{{"<1>a", false}, {"<2>b", false}}},
		{"octet frame holding a newline", octet("<1>a\nb"), 64, []frame{{"<1>a\nb", false}}},
		{"mixed per frame", "<1>a\n" + octet("<2>b") + "<3>c\n", 64, []frame{{"<1>a", false}, {"<2>b", false}, {"<3>c", false}}},
		{"line starting with a date is not a count", "2019-12-12T04:33:46 host app: m\n", 64, []frame{{"2019-12-12T04:33:46 host app: m", false}}},
		{"oversized lf line truncated, next intact", long + "\n<2>b\n", 10, []frame{{long[:10], true}, {"<2>b", false}}},
		{"oversized octet frame truncated, next intact", octet(long) + octet("<2>b"), 10, []frame{{long[:10], true}, {"<2>b", false}}},
		{"sender stops mid frame", "<1>a\n" + "20 <2>only-part", 64, []frame{{"<1>a", false}, {"<2>only-part", true}}},
		{"sender stops inside the count", "<1>a\n12", 64, []frame{{"<1>a", false}, {"12", false}}},
		{"empty lines skipped", "\n\n<1>a\n\n", 64, []frame{{"<1>a", false}}},
		{"count without space is a line", "123abc\n", 64, []frame{{"123abc", false}}},
		{"zero-led count is a line", "0 x\n", 64, []frame{{"0 x", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tt.input)},
				{"one byte at a time", iotest.OneByteReader(strings.NewReader(tt.input))},
			} {
				got := readAll(t, r.r, tt.max)
				if len(got) != len(tt.want) {
					t.Fatalf("%s: got %+v, want %+v", r.name, got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Fatalf("%s: frame %d = %+v, want %+v", r.name, i, got[i], tt.want[i])
					}
				}
			}
		})
	}
}

func TestFrameReaderLargeLineDoesNotDesync(t *testing.T) {
	var in bytes.Buffer
	in.WriteString(strings.Repeat("A", 1<<20) + "\n")
	in.WriteString(octet(strings.Repeat("B", 1<<20)))
	in.WriteString("<1>after\n")
	got := readAll(t, &in, 64<<10)
	if len(got) != 3 || !got[0].truncated || !got[1].truncated || got[2] != (frame{"<1>after", false}) {
		t.Fatalf("got %d frames, last %+v", len(got), got[len(got)-1])
	}
	if len(got[0].msg) != 64<<10 || len(got[1].msg) != 64<<10 {
		t.Fatalf("truncated sizes %d %d", len(got[0].msg), len(got[1].msg))
	}
}

// FuzzFrameReader checks that octet-counted frames built from arbitrary
// messages come back exactly, however the stream is split into reads, and
// that arbitrary bytes never make the reader loop or panic.
func FuzzFrameReader(f *testing.F) {
	f.Add([]byte("<1>a\n"), []byte("<2>b"), uint8(3))
	f.Add([]byte("12 <158>Mar 14"), []byte("\r\n\x00"), uint8(1))
	f.Add([]byte("9999999999 "), []byte("x"), uint8(7))
	f.Fuzz(func(t *testing.T, a, b []byte, chunk uint8) {
		// Arbitrary bytes: must terminate with at most one frame per input byte.
		raw := append(append([]byte(nil), a...), b...)
		fr := NewFrameReader(&chunkReader{data: raw, n: int(chunk%16) + 1}, 32)
		for i := 0; ; i++ {
			if i > len(raw)+1 {
				t.Fatal("more frames than bytes")
			}
			msg, _, err := fr.Next()
			if err != nil {
				break
			}
			if len(msg) > 32 {
				t.Fatalf("frame of %d bytes exceeds the limit", len(msg))
			}
		}
		// Octet-counted frames of non-empty messages round-trip exactly,
		// trailing CR/LF/NUL aside. ("0 " is no frame: counts start at 1.)
		if len(a) == 0 || len(b) == 0 {
			return
		}
		want := [][]byte{trimTrailer(a), trimTrailer(b)}
		stream := []byte(octet(string(a)) + octet(string(b)))
		fr = NewFrameReader(&chunkReader{data: stream, n: int(chunk%16) + 1}, 1<<20)
		var got [][]byte
		for {
			msg, trunc, err := fr.Next()
			if err != nil {
				break
			}
			if trunc {
				t.Fatalf("complete frame reported truncated: %q", msg)
			}
			got = append(got, append([]byte(nil), msg...))
		}
		if len(got) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(c.n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}
