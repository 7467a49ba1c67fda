package parse

// Reason is why a message is partial or failed. Its Label is a bounded metric
// label; Text is what a person reads in the parse_error column.
type Reason uint8

const (
	ReasonNone Reason = iota
	ReasonEmpty
	ReasonBadPRI
	ReasonBadTimestamp
	ReasonNoHostname
	ReasonTruncated
	ReasonBadValue
	ReasonBadJSON
	ReasonMissingField
	ReasonBadToken
	ReasonOversize
	ReasonNotEvent
)

var reasons = [...]struct{ label, text string }{
	ReasonNone:         {"", ""},
	ReasonEmpty:        {"empty", "empty message"},
	ReasonBadPRI:       {"bad_pri", "malformed <PRI>"},
	ReasonBadTimestamp: {"bad_timestamp", "no recognisable syslog timestamp"},
	ReasonNoHostname:   {"no_hostname", "header ends before the hostname"},
	ReasonTruncated:    {"truncated", "message ends inside"},
	ReasonBadValue:     {"bad_value", "malformed value for"},
	ReasonBadJSON:      {"bad_json", "malformed JSON at"},
	ReasonMissingField: {"missing_field", "required field missing:"},
	ReasonBadToken:     {"bad_token", "token is not KEY=VALUE:"},
	ReasonOversize:     {"oversize", "message cut at the listener's size limit"},
	ReasonNotEvent:     {"not_event", "stream record is not a collector event:"},
}

// Label is the reason's metric label ("" for none).
func (r Reason) Label() string { return reasons[r].label }

// Reasons lists every reason with a label, for pre-registering metrics.
func Reasons() []Reason {
	out := make([]Reason, 0, len(reasons)-1)
	for r := ReasonEmpty; int(r) < len(reasons); r++ {
		out = append(out, r)
	}
	return out
}

// AppendError appends the human-readable parse error ("" when none).
func (e *Event) AppendError(dst []byte) []byte {
	if e.Reason == ReasonNone {
		return dst
	}
	dst = append(dst, reasons[e.Reason].text...)
	if len(e.ErrField) > 0 {
		dst = append(dst, ' ')
		f := e.ErrField
		if len(f) > 64 {
			f = f[:64]
		}
		dst = append(dst, f...)
	}
	return dst
}

// MarkTruncated records that the listener cut the message at its size
// limit. The parse result stands, but a message that otherwise looked
// complete becomes partial: its tail is missing.
func (e *Event) MarkTruncated() {
	e.Flags |= FlagListenerTruncated
	if e.Status == StatusOK {
		e.fail(StatusPartial, ReasonOversize, nil)
	}
}

// SetUndecodable makes e a failed event whose raw line is data, whole: a
// record read from the stream that is not a collector event. why says what
// was wrong; the receive metadata set before stays.
func (e *Event) SetUndecodable(data, why []byte) {
	e.reset()
	e.Raw = data
	e.fail(StatusFailed, ReasonNotEvent, why)
}
