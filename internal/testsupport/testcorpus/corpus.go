// Package testcorpus holds the gateway syslog lines every test of the
// project replays: the constructed samples of the log-format reference and
// the project's own corpus of variants and malformed input.
package testcorpus

import (
	"bytes"
	_ "embed"
	"strconv"
	"strings"
)

//go:embed samples.txt
var samplesFile []byte

//go:embed corpus.txt
var corpusFile []byte

// Line is one message of the corpus.
type Line struct {
	Label string // "L4-12", "C-03", ...
	Note  string // what the line exercises
	// Message is the syslog message without transport framing; a sample
	// written as "\r" in the reference carries a real CR byte here.
	Message []byte
	// OctetCounted is set when the reference shows the line inside an
	// RFC 6587 octet-counted frame.
	OctetCounted bool
}

// Samples returns the reference's constructed sample lines, in order.
func Samples() []Line { return read(samplesFile) }

// Corpus returns the project's own lines, in order.
func Corpus() []Line { return read(corpusFile) }

// All returns Samples followed by Corpus.
func All() []Line { return append(Samples(), Corpus()...) }

func read(file []byte) []Line {
	var out []Line
	var label, note string
	for _, l := range strings.Split(string(file), "\n") {
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "# ") {
			label, note, _ = strings.Cut(l[2:], " ")
			continue
		}
		msg := []byte(l)
		msg = bytes.ReplaceAll(msg, []byte(`\r`), []byte("\r")) // only L4-32 writes it
		line := Line{Label: label, Note: note, Message: msg}
		if sp := bytes.IndexByte(msg, ' '); sp > 0 && msg[0] >= '1' && msg[0] <= '9' {
			if n, err := strconv.Atoi(string(msg[:sp])); err == nil && n == len(msg)-sp-1 {
				line.Message, line.OctetCounted = msg[sp+1:], true
			}
		}
		out = append(out, line)
	}
	return out
}
