package evidence

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// OCSFVersion is the OCSF schema version the export writes.
const OCSFVersion = "1.3.0"

// OCSF Network Activity (class 4001) with the Security Control and Host
// profiles: the shape SIEMs and AWS Security Lake take. Only attributes
// 1.3.0 defines for the class and the profiles named in metadata.profiles
// are written, and only what a decision fills; what the gateway or the
// catalog says beyond that goes into unmapped.
type ocsfEvent struct {
	ClassUID       int            `json:"class_uid"`
	ClassName      string         `json:"class_name"`
	CategoryUID    int            `json:"category_uid"`
	CategoryName   string         `json:"category_name"`
	ActivityID     int            `json:"activity_id"`
	ActivityName   string         `json:"activity_name"`
	TypeUID        int            `json:"type_uid"`
	TypeName       string         `json:"type_name"`
	Time           int64          `json:"time"`
	SeverityID     int            `json:"severity_id"`
	Severity       string         `json:"severity"`
	ActionID       int            `json:"action_id"`
	Action         string         `json:"action"`
	DispositionID  int            `json:"disposition_id"`
	Disposition    string         `json:"disposition"`
	Message        string         `json:"message,omitempty"`
	FirewallRule   *ocsfRule      `json:"firewall_rule,omitempty"`
	SrcEndpoint    ocsfEndpoint   `json:"src_endpoint"`
	DstEndpoint    ocsfEndpoint   `json:"dst_endpoint"`
	ConnectionInfo ocsfConnection `json:"connection_info"`
	Traffic        *ocsfTraffic   `json:"traffic,omitempty"`
	URL            *ocsfURL       `json:"url,omitempty"`
	Device         *ocsfDevice    `json:"device,omitempty"`
	Metadata       ocsfMetadata   `json:"metadata"`
	RawData        string         `json:"raw_data,omitempty"`
	Unmapped       map[string]any `json:"unmapped,omitempty"`
}

type ocsfRule struct {
	UID  string `json:"uid,omitempty"`
	Name string `json:"name,omitempty"`
	Type string `json:"type"`
}

type ocsfEndpoint struct {
	IP       string `json:"ip,omitempty"`
	Port     uint16 `json:"port,omitempty"`
	Hostname string `json:"hostname,omitempty"`
}

type ocsfConnection struct {
	ProtocolName string `json:"protocol_name,omitempty"`
	ProtocolNum  *int   `json:"protocol_num,omitempty"`
	DirectionID  int    `json:"direction_id"`
	Direction    string `json:"direction"`
	UID          string `json:"uid,omitempty"`
}

type ocsfTraffic struct {
	Bytes   uint64 `json:"bytes"`
	Packets uint64 `json:"packets"`
}

type ocsfURL struct {
	URLString   string `json:"url_string"`
	Hostname    string `json:"hostname,omitempty"`
	Port        uint16 `json:"port,omitempty"`
	Path        string `json:"path,omitempty"`
	QueryString string `json:"query_string,omitempty"`
}

type ocsfDevice struct {
	Name   string `json:"name,omitempty"`
	IP     string `json:"ip,omitempty"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
}

type ocsfMetadata struct {
	Version    string      `json:"version"`
	Product    ocsfProduct `json:"product"`
	LogName    string      `json:"log_name"`
	UID        string      `json:"uid"`
	LoggedTime int64       `json:"logged_time"`
	Profiles   []string    `json:"profiles"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
}

var protocolNumbers = map[string]int{"ICMP": 1, "TCP": 6, "UDP": 17, "ICMPV6": 58}

// OCSF 1.3.0 captions of the ids the export writes.
var (
	activityNames  = map[int]string{1: "Open", 2: "Close", 5: "Refuse", 6: "Traffic"}
	directionNames = map[int]string{0: "Unknown", 1: "Inbound", 2: "Outbound", 3: "Lateral"}
)

// Profiles named in metadata.profiles: security_control for the verdict,
// host for device, the gateway that made it.
var (
	profilesWithDevice = []string{"host", "security_control"}
	profilesNoDevice   = []string{"security_control"}
)

// toOCSF maps a decision of the DCF families (l4, l7) or the legacy FQDN
// filter; another kind (a line that is no decision, or a family the mapping
// does not know yet) has no Network Activity form, nor has a decision
// without a source address or a destination (a line that parsed only in
// part): ok is false.
//
// An L4 session start is Open and its end Close; a decision without a
// session event (an L7 SNI verdict, an FQDN filter line) is Traffic; an
// enforced DENY that is no session end is Refuse, the connection never
// reaching its destination. Monitor-mode denials (ENFORCED=false) are
// Allowed and Detected: the flow went through and the policy violation was
// seen, not acted on.
func toOCSF(d *Decision) (e ocsfEvent, ok bool) {
	switch d.Kind {
	case "l4", "l7", "fqdn":
	default:
		return e, false
	}
	dstHost := ""
	if isHostname(d.SNI) {
		dstHost = d.SNI
	}
	if d.SrcIP == "" || (d.DstIP == "" && dstHost == "") {
		return e, false
	}
	e = ocsfEvent{ClassUID: 4001, ClassName: "Network Activity", CategoryUID: 4, CategoryName: "Network Activity",
		Time: d.EventTime, SrcEndpoint: ocsfEndpoint{IP: d.SrcIP, Port: d.SrcPort},
		// The SNI names the server the client asked for: its OCSF home
		// is the destination's hostname. A tls object would need
		// tls.version, which the gateway does not log.
		DstEndpoint: ocsfEndpoint{IP: d.DstIP, Port: d.DstPort, Hostname: dstHost},
		Metadata: ocsfMetadata{Version: OCSFVersion, Product: ocsfProduct{Name: "Distributed Cloud Firewall", VendorName: "Aviatrix"},
			LogName: "dcf-" + d.Kind, UID: d.EventID, LoggedTime: d.ReceivedAt, Profiles: profilesNoDevice},
	}
	// The gateway is who decided: an auditor asks which gateway enforced
	// or only watched. OCSF's place for the reporting device is device,
	// which the host profile brings.
	if d.Gateway != "" || d.GatewayIP != "" {
		e.Device = &ocsfDevice{Name: d.Gateway, IP: d.GatewayIP, TypeID: 9, Type: "Firewall"}
		e.Metadata.Profiles = profilesWithDevice
	}
	denied := d.Action == "DENY"
	enforced := d.Enforced != nil && *d.Enforced
	switch {
	case d.Kind == "l4" && d.SessionEvent == 1:
		e.ActivityID = 2
	case denied && enforced:
		e.ActivityID = 5
	case d.Kind == "l4":
		e.ActivityID = 1
	default:
		e.ActivityID = 6
	}
	e.ActivityName = activityNames[e.ActivityID]
	e.TypeUID, e.TypeName = 400100+e.ActivityID, "Network Activity: "+e.ActivityName
	switch {
	case d.Action == "PERMIT":
		e.ActionID, e.Action, e.DispositionID, e.Disposition = 1, "Allowed", 1, "Allowed"
		e.SeverityID, e.Severity = 1, "Informational"
	case denied && enforced:
		e.ActionID, e.Action, e.DispositionID, e.Disposition = 2, "Denied", 2, "Blocked"
		e.SeverityID, e.Severity = 3, "Medium"
	case denied && d.Enforced != nil:
		// Detected ("a policy violation was detected without further
		// action") says more than Logged: the line is the violation.
		e.ActionID, e.Action, e.DispositionID, e.Disposition = 1, "Allowed", 15, "Detected"
		e.SeverityID, e.Severity = 3, "Medium"
	case denied:
		// A DENY whose line does not say whether it was enforced (the
		// FQDN filter logs no such field): neither Allowed nor Denied
		// can be claimed.
		e.ActionID, e.Action, e.DispositionID, e.Disposition = 0, "Unknown", 0, "Unknown"
		e.SeverityID, e.Severity = 3, "Medium"
	default:
		e.ActionID, e.Action, e.DispositionID, e.Disposition = 0, "Unknown", 0, "Unknown"
		e.SeverityID, e.Severity = 1, "Informational"
	}
	if d.RuleUUID != "" || d.RuleName != "" {
		e.FirewallRule = &ocsfRule{UID: d.RuleUUID, Name: d.RuleName, Type: "Aviatrix DCF"}
		if d.Action != "" {
			e.Message = d.Action + " by " + firstNonEmpty(d.RuleName, d.RuleUUID)
		}
	}
	dir := direction(d.SrcIP, d.DstIP)
	e.ConnectionInfo = ocsfConnection{ProtocolName: lowerASCII(d.Proto), DirectionID: dir, Direction: directionNames[dir]}
	if n, ok := protocolNumbers[d.Proto]; ok {
		e.ConnectionInfo.ProtocolNum = &n
	}
	if d.SessionID != 0 {
		e.ConnectionInfo.UID = strconv.FormatUint(d.SessionID, 10)
	}
	if d.SessionBytes != 0 || d.SessionPackets != 0 {
		e.Traffic = &ocsfTraffic{Bytes: d.SessionBytes, Packets: d.SessionPackets}
	}
	if d.URL != "" {
		e.URL = urlOf(d.URL)
	}
	if utf8.Valid(d.Raw) {
		e.RawData = string(d.Raw)
	}
	// What OCSF 1.3.0 has no attribute for: the catalog's view (scenario,
	// groups, WebGroups), the rule's priority and configured action
	// (firewall_rule has neither), the raw enforcement flag, and the ingest
	// batch that ties the line to integrity.json.
	e.Unmapped = map[string]any{"scenario": d.Scenario, "src_groups": d.SrcGroups, "dst_groups": d.DstGroups,
		"web_group": d.WebGroup, "admitting_web_group": d.AdmittingWebGroup, "would_be_denied": d.WouldBeDenied,
		"catalog_version": d.CatalogVersion, "enforced": d.Enforced, "rule_tags": d.RuleTags,
		"rule_priority": d.RulePriority, "rule_action": d.RuleAction, "batch_id": d.BatchID}
	if d.Action != "" && d.Action != "PERMIT" && !denied {
		e.Unmapped["action"] = d.Action
	}
	if d.SNI != "" && dstHost == "" {
		e.Unmapped["sni"] = d.SNI
	}
	if d.ParseStatus != "" && d.ParseStatus != "ok" {
		e.Unmapped["parse_status"], e.Unmapped["parse_error"] = d.ParseStatus, d.ParseError
	}
	return e, true
}

// direction places a connection against the private address space, the
// ranges the policy catalog treats as east-west: private to private is
// Lateral, private to elsewhere Outbound, elsewhere to private Inbound.
// Without both addresses, or between two public ones, it is Unknown.
func direction(src, dst string) int {
	s, err1 := netip.ParseAddr(src)
	t, err2 := netip.ParseAddr(dst)
	if err1 != nil || err2 != nil {
		return 0
	}
	switch si, ti := internal(s), internal(t); {
	case si && ti:
		return 3
	case si:
		return 2
	case ti:
		return 1
	}
	return 0
}

// cgnat is 100.64.0.0/10, which clouds hand out as pod and secondary VPC
// ranges.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// internal reports an address inside the environment: RFC 1918 and ULA,
// shared address space, link-local (the cloud metadata service) and
// loopback.
func internal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLoopback() || cgnat.Contains(a)
}

// urlOf splits the gateway's url, which is host and path without a scheme
// (a scheme, if one comes, is kept in url_string and skipped), into the
// url object's parts. The host goes into hostname only when it is one.
func urlOf(s string) *ocsfURL {
	u := &ocsfURL{URLString: s}
	rest := s
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, rest = rest[:i], rest[i:]
	} else {
		rest = ""
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	u.Path, u.QueryString, _ = strings.Cut(rest, "?")
	if h, p, found := strings.Cut(host, ":"); found {
		if n, err := strconv.ParseUint(p, 10, 16); err == nil {
			host, u.Port = h, uint16(n)
		}
	}
	if isHostname(host) {
		u.Hostname = host
	}
	return u
}

// isHostname checks OCSF's hostname_t: dot-separated labels of letters,
// digits and inner hyphens, no empty label.
func isHostname(s string) bool {
	if s == "" {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func millisUTC(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}
