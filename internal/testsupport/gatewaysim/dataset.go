package gatewaysim

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// Dataset is simulated traffic as the collector stores it: every line
// parsed and enriched with the simulated catalog.
type Dataset struct {
	Index  *enrich.Index
	Events []parse.Event
	// Decisions[i] is what Events[i] encodes; nil for a malformed line.
	Decisions []*Decision
}

// Simulate generates the traffic and parses and enriches it as the
// collector would, each line received 200 to 900 ms after the gateway
// stamped it over TCP. Event ids are 16 printable bytes ("sim" and a
// sequence number), so the rows can also travel as JSON.
func Simulate(o Options) (*Dataset, error) {
	ds := &Dataset{}
	var err error
	if ds.Index, err = enrich.Load(CatalogJSON()); err != nil {
		return nil, err
	}
	p := parse.NewParser(parse.Options{})
	var out enrich.Outcome
	err = Generate(o, func(l Line) error {
		i := len(ds.Events)
		var ev parse.Event
		ev.ReceivedAt = l.Time.Add(time.Duration(200+i%700) * time.Millisecond)
		ev.Listener, ev.Transport = "tcp", "tcp"
		ev.Peer = netip.MustParseAddrPort("10.20.0.10:41000")
		copy(ev.EventID[:], fmt.Sprintf("sim%013d", i))
		p.Parse(l.Text, &ev)
		ds.Index.Enrich(&ev, &out)
		ds.Events = append(ds.Events, *ev.Clone())
		ds.Decisions = append(ds.Decisions, l.Decision)
		return nil
	})
	return ds, err
}
