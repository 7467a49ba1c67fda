package parse

import (
	"time"
	"unsafe"

	"github.com/leodido/go-syslog/v4/rfc5424"
)

var rfc5424Lenient = rfc5424.NewParser(rfc5424.WithBestEffort())

// rfc5424Fallback hands a header the fast path refused (unusual but legal
// RFC5424, such as a PROCID with odd characters) to go-syslog's best-effort
// parser. It allocates, which only such rare lines pay for.
func (p *Parser) rfc5424Fallback(line []byte, ev *Event) ([]byte, bool) {
	m, _ := rfc5424Lenient.Parse(line)
	sm, ok := m.(*rfc5424.SyslogMessage)
	if !ok || sm == nil || sm.Hostname == nil {
		ev.Hostname, ev.App, ev.ProcID, ev.MsgID = nil, nil, nil, nil
		ev.fail(StatusFailed, ReasonBadTimestamp, nil)
		return nil, false
	}
	ev.Format = FormatRFC5424
	if sm.Timestamp != nil {
		ev.EventTime, ev.TimeSource = sm.Timestamp.UTC(), TimeHeader
	}
	ev.Hostname = stringBytes(sm.Hostname)
	ev.App = stringBytes(sm.Appname)
	ev.ProcID = stringBytes(sm.ProcID)
	ev.MsgID = stringBytes(sm.MsgID)
	ev.Gateway, ev.GatewayIP = ev.memo().gateway(ev.Hostname)
	if sm.Message == nil {
		return nil, true
	}
	return stringBytes(sm.Message), true
}

// stringBytes views an immutable string as bytes; the result is never written.
func stringBytes(s *string) []byte {
	if s == nil {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(*s), len(*s))
}

func epochTime(sec, nsec int64) time.Time { return time.Unix(sec, nsec).UTC() }
