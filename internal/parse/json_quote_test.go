package parse

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// quoteByByte is appendQuotedBytes without the eight-byte skip: the oracle
// the fast path must match byte for byte.
func quoteByByte(dst, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return append(dst, '"')
}

func checkQuoted(t *testing.T, in []byte) {
	t.Helper()
	got := appendQuotedBytes(nil, in)
	if want := quoteByByte(nil, in); !bytes.Equal(got, want) {
		t.Fatalf("appendQuotedBytes(%q) = %s, want %s", in, got, want)
	}
	var back string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("appendQuotedBytes(%q) = %s: not JSON: %v", in, got, err)
	}
	if utf8.Valid(in) && back != string(in) {
		t.Fatalf("appendQuotedBytes(%q) decodes to %q", in, back)
	}
}

func TestAppendQuotedBytes(t *testing.T) {
	for _, in := range []string{
		"", "a", "plain ascii of more than eight bytes",
		`quote " at 9`, `01234567\`, "tab\tnewline\nreturn\r", "\x00\x01\x1f\x7f",
		"héllo wörld, ünïcode past the eighth byte", "1234567é", "\xff\xfe invalid", "12345678\xc3",
		`<14>Jan  7 10:00:00 gw AviatrixGwMicrosegPacket: POLICY=4f0e "x" SRC_MAC=aa`,
	} {
		checkQuoted(t, []byte(in))
	}
}

func FuzzAppendQuotedBytes(f *testing.F) {
	for _, s := range []string{"plain ascii of more than eight bytes", `a"b\c`, "\x00é\xff12345678"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkQuoted(t, in) })
}
