package evidence

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// OCSFVersion is the OCSF schema version the export writes.
const OCSFVersion = "1.3.0"

// OCSF Network Activity (class 4001) with the Security Control profile:
// the shape SIEMs and AWS Security Lake take. Only what a decision fills is
// written.
type ocsfEvent struct {
	ClassUID       int              `json:"class_uid"`
	ClassName      string           `json:"class_name"`
	CategoryUID    int              `json:"category_uid"`
	CategoryName   string           `json:"category_name"`
	ActivityID     int              `json:"activity_id"`
	ActivityName   string           `json:"activity_name"`
	TypeUID        int              `json:"type_uid"`
	TypeName       string           `json:"type_name"`
	Time           int64            `json:"time"`
	SeverityID     int              `json:"severity_id"`
	Severity       string           `json:"severity"`
	ActionID       int              `json:"action_id"`
	Action         string           `json:"action"`
	DispositionID  int              `json:"disposition_id"`
	Disposition    string           `json:"disposition"`
	Message        string           `json:"message,omitempty"`
	FirewallRule   *ocsfRule        `json:"firewall_rule,omitempty"`
	SrcEndpoint    ocsfEndpoint     `json:"src_endpoint"`
	DstEndpoint    ocsfEndpoint     `json:"dst_endpoint"`
	ConnectionInfo ocsfConnection   `json:"connection_info"`
	Traffic        *ocsfTraffic     `json:"traffic,omitempty"`
	TLS            *ocsfTLS         `json:"tls,omitempty"`
	HTTPRequest    *ocsfHTTPRequest `json:"http_request,omitempty"`
	Device         ocsfDevice       `json:"device"`
	Metadata       ocsfMetadata     `json:"metadata"`
	RawData        string           `json:"raw_data,omitempty"`
	Unmapped       map[string]any   `json:"unmapped,omitempty"`
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

type ocsfTLS struct {
	SNI string `json:"sni"`
}

type ocsfHTTPRequest struct {
	URL ocsfURL `json:"url"`
}

type ocsfURL struct {
	URLString string `json:"url_string"`
	Hostname  string `json:"hostname,omitempty"`
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
	Feature    *struct {
		Name string `json:"name"`
	} `json:"feature,omitempty"`
}

var protocolNumbers = map[string]int{"ICMP": 1, "TCP": 6, "UDP": 17, "ICMPV6": 58}

var activityNames = map[int]string{1: "Open", 2: "Close", 5: "Refuse", 6: "Traffic"}

// toOCSF maps a decision: a session start is Open and its end Close; a
// decision without a session event (an L7 SNI verdict) is Traffic, or
// Refuse when the gateway blocked it. Monitor-mode denials are Allowed
// and Detected: the flow went through, the policy would have stopped it.
// A decision without a source address or a destination (a line that
// parsed only in part) has no OCSF form: ok is false.
func toOCSF(d *Decision) (e ocsfEvent, ok bool) {
	if d.SrcIP == "" || (d.DstIP == "" && d.SNI == "") {
		return e, false
	}
	e = ocsfEvent{ClassUID: 4001, ClassName: "Network Activity", CategoryUID: 4, CategoryName: "Network Activity",
		Time: d.EventTime, SrcEndpoint: ocsfEndpoint{IP: d.SrcIP, Port: d.SrcPort},
		DstEndpoint: ocsfEndpoint{IP: d.DstIP, Port: d.DstPort, Hostname: d.SNI},
		Device:      ocsfDevice{Name: d.Gateway, IP: d.GatewayIP, TypeID: 9, Type: "Firewall"},
		Metadata: ocsfMetadata{Version: OCSFVersion, Product: ocsfProduct{Name: "Distributed Cloud Firewall", VendorName: "Aviatrix"},
			LogName: "dcf-" + d.Kind, UID: d.EventID, LoggedTime: d.ReceivedAt, Profiles: []string{"security_control"}},
	}
	enforced := d.Enforced != nil && *d.Enforced
	denied := d.Action == "DENY"
	switch {
	case d.Kind == "l4" && d.SessionEvent == 1:
		e.ActivityID = 2
	case d.Kind == "l4" && !denied:
		e.ActivityID = 1
	case denied && enforced:
		e.ActivityID = 5
	default:
		e.ActivityID = 6
	}
	e.ActivityName = activityNames[e.ActivityID]
	e.TypeUID, e.TypeName = 400100+e.ActivityID, "Network Activity: "+e.ActivityName
	switch {
	case denied && enforced:
		e.ActionID, e.Action, e.DispositionID, e.Disposition = 2, "Denied", 2, "Blocked"
		e.SeverityID, e.Severity = 3, "Medium"
	case denied:
		e.ActionID, e.Action, e.DispositionID, e.Disposition = 1, "Allowed", 15, "Detected"
		e.SeverityID, e.Severity = 3, "Medium"
	default:
		e.ActionID, e.Action, e.DispositionID, e.Disposition = 1, "Allowed", 1, "Allowed"
		e.SeverityID, e.Severity = 1, "Informational"
	}
	if d.RuleUUID != "" || d.RuleName != "" {
		e.FirewallRule = &ocsfRule{UID: d.RuleUUID, Name: d.RuleName, Type: "Aviatrix DCF"}
		e.Message = d.Action + " by " + firstNonEmpty(d.RuleName, d.RuleUUID)
	}
	e.ConnectionInfo = ocsfConnection{ProtocolName: lowerASCII(d.Proto), DirectionID: 2, Direction: "Outbound"}
	if n, ok := protocolNumbers[d.Proto]; ok {
		e.ConnectionInfo.ProtocolNum = &n
	}
	if d.SessionID != 0 {
		e.ConnectionInfo.UID = strconv.FormatUint(d.SessionID, 10)
	}
	if d.SessionBytes != 0 || d.SessionPackets != 0 {
		e.Traffic = &ocsfTraffic{Bytes: d.SessionBytes, Packets: d.SessionPackets}
	}
	if d.SNI != "" {
		e.TLS = &ocsfTLS{SNI: d.SNI}
	}
	if d.URL != "" {
		e.HTTPRequest = &ocsfHTTPRequest{URL: ocsfURL{URLString: d.URL, Hostname: d.SNI}}
	}
	if utf8.Valid(d.Raw) {
		e.RawData = string(d.Raw)
	}
	e.Unmapped = map[string]any{"scenario": d.Scenario, "src_groups": d.SrcGroups, "dst_groups": d.DstGroups,
		"web_group": d.WebGroup, "would_be_denied": d.WouldBeDenied, "catalog_version": d.CatalogVersion,
		"enforced": d.Enforced, "rule_tags": d.RuleTags}
	return e, true
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
