package evidence

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func boolPtr(b bool) *bool { return &b }

// decision is a complete L4 session start on an enforcing gateway; cases
// change what they need.
func decision(change func(*Decision)) *Decision {
	d := &Decision{EventID: "00112233445566778899AABBCCDDEEFF", BatchID: "FFEEDDCCBBAA99887766554433221100",
		ReceivedAt: 1795680000500, EventTime: 1795680000000, Gateway: "prod-use1-spoke1", GatewayIP: "3.91.10.20",
		Kind: "l4", ParseStatus: "ok", RuleUUID: "5a000000-0000-4000-8000-000000000090", RuleName: "allow-model-gateway",
		RulePriority: 40, RuleAction: "PERMIT", Scenario: "approved_model", SrcGroups: []string{"sg-openclaw"},
		Action: "PERMIT", Enforced: boolPtr(true), Proto: "TCP", SrcIP: "10.20.1.15", SrcPort: 40110,
		DstIP: "198.51.100.23", DstPort: 443, SessionID: 6677889900112233445, CatalogVersion: "c1",
		Raw: []byte("<158>Mar 14 09:04:02 GW-prod-use1-spoke1-3.91.10.20-sink /usr/local/bin/avx-gw-state-sync ...")}
	if change != nil {
		change(d)
	}
	return d
}

// ocsfDoc maps a decision and reads it back the way the schema validator
// reads a bundle line.
func ocsfDoc(t *testing.T, d *Decision) (map[string]any, bool) {
	t.Helper()
	e, ok := toOCSF(d)
	if !ok {
		return nil, false
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc.(map[string]any), true
}

func jsonInt(v any) int {
	n, ok := v.(json.Number)
	if !ok {
		return -1
	}
	i, _ := n.Int64()
	return int(i)
}

// TestOCSFMapping maps one decision of each shape the gateways log and
// checks the class 4001 ids it gets and that the event validates.
func TestOCSFMapping(t *testing.T) {
	schema := ocsfSchema(t)
	cases := []struct {
		name                    string
		change                  func(*Decision)
		activity, action, dispo int
		severity, direction     int
		omitted                 bool
		check                   func(t *testing.T, e map[string]any)
	}{
		{name: "l4 session start permitted", activity: 1, action: 1, dispo: 1, severity: 1, direction: 2},
		{name: "l4 session end permitted", change: func(d *Decision) {
			d.SessionEvent, d.SessionBytes, d.SessionPackets = 1, 18211, 24
		}, activity: 2, action: 1, dispo: 1, severity: 1, direction: 2, check: func(t *testing.T, e map[string]any) {
			if tr := e["traffic"].(map[string]any); jsonInt(tr["bytes"]) != 18211 || jsonInt(tr["packets"]) != 24 {
				t.Errorf("traffic %v", tr)
			}
		}},
		{name: "l4 enforced deny", change: func(d *Decision) { d.Action = "DENY" },
			activity: 5, action: 2, dispo: 2, severity: 3, direction: 2},
		{name: "l4 monitor-mode deny, session start", change: func(d *Decision) {
			d.Action, d.Enforced, d.WouldBeDenied = "DENY", boolPtr(false), true
		}, activity: 1, action: 1, dispo: 15, severity: 3, direction: 2},
		{name: "l4 monitor-mode deny, session end", change: func(d *Decision) {
			d.Action, d.Enforced, d.WouldBeDenied, d.SessionEvent = "DENY", boolPtr(false), true, 1
		}, activity: 2, action: 1, dispo: 15, severity: 3, direction: 2},
		{name: "l4 east-west deny", change: func(d *Decision) { d.Action, d.DstIP, d.DstPort = "DENY", "10.40.2.30", 22 },
			activity: 5, action: 2, dispo: 2, severity: 3, direction: 3},
		{name: "l4 cloud metadata", change: func(d *Decision) { d.Action, d.DstIP, d.DstPort = "DENY", "169.254.169.254", 80 },
			activity: 5, action: 2, dispo: 2, severity: 3, direction: 3},
		{name: "l4 inbound", change: func(d *Decision) { d.SrcIP, d.DstIP = "203.0.113.9", "10.20.1.15" },
			activity: 1, action: 1, dispo: 1, severity: 1, direction: 1},
		{name: "l4 IPv6 outbound", change: func(d *Decision) { d.SrcIP, d.DstIP = "fd00:20::15", "2600:1f18:4a3:6e00:abcd::2b" },
			activity: 1, action: 1, dispo: 1, severity: 1, direction: 2},
		{name: "l4 without a verdict", change: func(d *Decision) { d.Action, d.Enforced = "", nil },
			activity: 1, action: 0, dispo: 0, severity: 1, direction: 2, check: func(t *testing.T, e map[string]any) {
				if _, ok := e["message"]; ok {
					t.Errorf("message %q without an action", e["message"])
				}
			}},
		{name: "l4 unknown action word", change: func(d *Decision) { d.Action = "REDIRECT" },
			activity: 1, action: 0, dispo: 0, severity: 1, direction: 2, check: func(t *testing.T, e map[string]any) {
				if u := e["unmapped"].(map[string]any); u["action"] != "REDIRECT" {
					t.Errorf("unmapped %v lacks the action", u)
				}
			}},
		{name: "l7 SNI permitted", change: func(d *Decision) {
			d.Kind, d.SNI, d.SessionID, d.WebGroup = "l7", "integrate.api.nvidia.com", 0, "wg-approved-model-gateways"
		}, activity: 6, action: 1, dispo: 1, severity: 1, direction: 2, check: func(t *testing.T, e map[string]any) {
			if h := e["dst_endpoint"].(map[string]any)["hostname"]; h != "integrate.api.nvidia.com" {
				t.Errorf("dst_endpoint.hostname %v", h)
			}
			if _, ok := e["tls"]; ok {
				t.Error("a tls object without a TLS version")
			}
			if u := e["unmapped"].(map[string]any); u["web_group"] != "wg-approved-model-gateways" {
				t.Errorf("unmapped %v lacks the WebGroup", u)
			}
		}},
		{name: "l7 enforced deny", change: func(d *Decision) { d.Kind, d.SNI, d.Action = "l7", "api.openai.com", "DENY" },
			activity: 5, action: 2, dispo: 2, severity: 3, direction: 2},
		{name: "l7 monitor-mode deny", change: func(d *Decision) {
			d.Kind, d.SNI, d.Action, d.Enforced, d.WouldBeDenied = "l7", "api.openai.com", "DENY", boolPtr(false), true
		}, activity: 6, action: 1, dispo: 15, severity: 3, direction: 2},
		{name: "l7 decrypted URL", change: func(d *Decision) {
			d.Kind, d.SNI, d.URL = "l7", "api.example.com", "api.example.com/v1/items?page=2&sort=desc"
		}, activity: 6, action: 1, dispo: 1, severity: 1, direction: 2, check: func(t *testing.T, e map[string]any) {
			u := e["url"].(map[string]any)
			if u["url_string"] != "api.example.com/v1/items?page=2&sort=desc" || u["hostname"] != "api.example.com" ||
				u["path"] != "/v1/items" || u["query_string"] != "page=2&sort=desc" {
				t.Errorf("url %v", u)
			}
			if _, ok := e["http_request"]; ok {
				t.Error("http_request is no class 4001 attribute in 1.3.0")
			}
		}},
		{name: "l7 URL with a port", change: func(d *Decision) { d.Kind, d.URL = "l7", "files.example.com:8443/a" },
			activity: 6, action: 1, dispo: 1, severity: 1, direction: 2, check: func(t *testing.T, e map[string]any) {
				if u := e["url"].(map[string]any); u["hostname"] != "files.example.com" || jsonInt(u["port"]) != 8443 || u["path"] != "/a" {
					t.Errorf("url %v", u)
				}
			}},
		{name: "l7 SNI that is no hostname", change: func(d *Decision) { d.Kind, d.SNI = "l7", "bad_name.example.com." },
			activity: 6, action: 1, dispo: 1, severity: 1, direction: 2, check: func(t *testing.T, e map[string]any) {
				if _, ok := e["dst_endpoint"].(map[string]any)["hostname"]; ok {
					t.Error("an invalid hostname in dst_endpoint")
				}
				if u := e["unmapped"].(map[string]any); u["sni"] != "bad_name.example.com." {
					t.Errorf("unmapped %v lacks the SNI", u)
				}
			}},
		{name: "l7 SNI without a destination address", change: func(d *Decision) {
			d.Kind, d.SNI, d.DstIP, d.ParseStatus, d.ParseError = "l7", "github.com", "", "partial", "missing_field:dest"
		}, activity: 6, action: 1, dispo: 1, severity: 1, direction: 0, check: func(t *testing.T, e map[string]any) {
			if u := e["unmapped"].(map[string]any); u["parse_status"] != "partial" {
				t.Errorf("unmapped %v lacks the parse status", u)
			}
		}},
		{name: "fqdn deny without an enforcement flag", change: func(d *Decision) {
			d.Kind, d.SNI, d.Action, d.Enforced, d.SessionID = "fqdn", "aviatrix-download.s3-us-west-2.amazonaws.com", "DENY", nil, 0
		}, activity: 6, action: 0, dispo: 0, severity: 3, direction: 2},
		{name: "no gateway: no device, no host profile", change: func(d *Decision) { d.Gateway, d.GatewayIP = "", "" },
			activity: 1, action: 1, dispo: 1, severity: 1, direction: 2, check: func(t *testing.T, e map[string]any) {
				if _, ok := e["device"]; ok {
					t.Error("device without a gateway")
				}
				if p := e["metadata"].(map[string]any)["profiles"].([]any); len(p) != 1 || p[0] != "security_control" {
					t.Errorf("profiles %v", p)
				}
			}},
		{name: "no source address", change: func(d *Decision) { d.SrcIP = "" }, omitted: true},
		{name: "no destination", change: func(d *Decision) { d.DstIP = "" }, omitted: true},
		{name: "kind other", change: func(d *Decision) { d.Kind = "other" }, omitted: true},
		{name: "a kind the mapping does not know", change: func(d *Decision) { d.Kind = "alert" }, omitted: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := ocsfDoc(t, decision(c.change))
			if ok == c.omitted {
				t.Fatalf("mapped %v, want omitted %v", ok, c.omitted)
			}
			if !ok {
				return
			}
			if err := schema.Validate(any(e)); err != nil {
				b, _ := json.Marshal(e)
				t.Fatalf("does not validate: %v\n%s", err, b)
			}
			got := [5]int{jsonInt(e["activity_id"]), jsonInt(e["action_id"]), jsonInt(e["disposition_id"]), jsonInt(e["severity_id"]),
				jsonInt(e["connection_info"].(map[string]any)["direction_id"])}
			if want := [5]int{c.activity, c.action, c.dispo, c.severity, c.direction}; got != want {
				t.Errorf("activity, action, disposition, severity, direction %v, want %v", got, want)
			}
			if jsonInt(e["type_uid"]) != 400100+c.activity {
				t.Errorf("type_uid %v for activity %d", e["type_uid"], c.activity)
			}
			if d := decision(c.change); d.Gateway != "" {
				dev := e["device"].(map[string]any)
				if dev["name"] != d.Gateway || dev["ip"] != d.GatewayIP || jsonInt(dev["type_id"]) != 9 {
					t.Errorf("device %v", dev)
				}
			}
			if c.check != nil {
				c.check(t, e)
			}
		})
	}
}

// TestOCSFSchemaRejects shows the schema is strict where 1.3.0 is: each
// case changes a valid exported event, and only the controls pass.
func TestOCSFSchemaRejects(t *testing.T) {
	schema := ocsfSchema(t)
	base := decision(func(d *Decision) { d.Kind, d.SNI, d.URL = "l7", "api.example.com", "api.example.com/v1" })
	cases := []struct {
		name   string
		want   string // in the validator's error: the reason, not another one
		change func(e map[string]any)
		valid  bool
	}{
		{name: "the event as exported", change: func(map[string]any) {}, valid: true},
		{name: "tls without version", want: "at '/tls': missing property 'version'", change: func(e map[string]any) { e["tls"] = map[string]any{"sni": "api.example.com"} }},
		{name: "tls with version (control)", change: func(e map[string]any) {
			e["tls"] = map[string]any{"sni": "api.example.com", "version": "1.3"}
		}, valid: true},
		{name: "http_request", want: "additional properties 'http_request' not allowed", change: func(e map[string]any) {
			e["http_request"] = map[string]any{"url": map[string]any{"url_string": "api.example.com/v1"}}
		}},
		{name: "action_id 99", want: "at '/action_id': value must be one of 0, 1, 2", change: func(e map[string]any) { e["action_id"], e["action"] = 99, "Other" }},
		{name: "action_id 3 (1.4.0)", want: "at '/action_id': value must be one of 0, 1, 2", change: func(e map[string]any) { e["action_id"], e["action"] = 3, "Modified" }},
		{name: "direction_id 4", want: "at '/connection_info/direction_id': value must be one of 0, 1, 2, 3, 99", change: func(e map[string]any) {
			ci := e["connection_info"].(map[string]any)
			ci["direction_id"], ci["direction"] = 4, "Other"
		}},
		{name: "boundary_id 12", want: "at '/connection_info/boundary_id': value must be one of", change: func(e map[string]any) { e["connection_info"].(map[string]any)["boundary_id"] = 12 }},
		{name: "connection_info without direction_id", want: "at '/connection_info': missing property 'direction_id'", change: func(e map[string]any) {
			delete(e["connection_info"].(map[string]any), "direction_id")
		}},
		{name: "device without the host profile", want: "value must be 'host'", change: func(e map[string]any) {
			e["metadata"].(map[string]any)["profiles"] = []any{"security_control"}
		}},
		{name: "device without type_id", want: "at '/device': missing property 'type_id'", change: func(e map[string]any) { delete(e["device"].(map[string]any), "type_id") }},
		{name: "security_control attributes without the profile", want: "value must be 'security_control'", change: func(e map[string]any) {
			e["metadata"].(map[string]any)["profiles"] = []any{"host"}
		}},
		{name: "security_control profile without action_id", want: "missing property 'action_id'", change: func(e map[string]any) {
			delete(e, "action_id")
			delete(e, "action")
		}},
		{name: "a profile the class does not accept", want: "at '/metadata/profiles/2': value must be one of", change: func(e map[string]any) {
			e["metadata"].(map[string]any)["profiles"] = []any{"host", "security_control", "container"}
		}},
		{name: "an invented attribute", want: "additional properties 'gateway' not allowed", change: func(e map[string]any) { e["gateway"] = "prod-use1-spoke1" }},
		{name: "an invented endpoint attribute", want: "at '/dst_endpoint': additional properties 'sni' not allowed", change: func(e map[string]any) { e["dst_endpoint"].(map[string]any)["sni"] = "x" }},
		{name: "no dst_endpoint", want: "missing property 'dst_endpoint'", change: func(e map[string]any) { delete(e, "dst_endpoint") }},
		{name: "an empty dst_endpoint", want: "at '/dst_endpoint': missing property 'ip'", change: func(e map[string]any) { e["dst_endpoint"] = map[string]any{"port": 443} }},
		{name: "type_uid of another activity", want: "at '/type_uid': value must be 400106", change: func(e map[string]any) { e["type_uid"] = 400101 }},
		{name: "activity_name not the caption", want: "at '/activity_name': value must be 'Traffic'", change: func(e map[string]any) { e["activity_name"] = "Open" }},
		{name: "disposition_id 28", want: "at '/disposition_id': value must be one of", change: func(e map[string]any) { e["disposition_id"] = 28 }},
		{name: "disposition not the caption", want: "at '/disposition': value must be 'Allowed'", change: func(e map[string]any) { e["disposition"] = "Blocked" }},
		{name: "severity_id 7", want: "at '/severity_id': value must be one of", change: func(e map[string]any) { e["severity_id"] = 7 }},
		{name: "no severity_id", want: "missing property 'severity_id'", change: func(e map[string]any) { delete(e, "severity_id") }},
		{name: "class_uid 4002", want: "at '/class_uid': value must be 4001", change: func(e map[string]any) { e["class_uid"] = 4002 }},
		{name: "metadata.version 1.4.0", want: "at '/metadata/version': value must be '1.3.0'", change: func(e map[string]any) { e["metadata"].(map[string]any)["version"] = "1.4.0" }},
		{name: "no product.vendor_name", want: "at '/metadata/product': missing property 'vendor_name'", change: func(e map[string]any) {
			delete(e["metadata"].(map[string]any)["product"].(map[string]any), "vendor_name")
		}},
		{name: "a hostname that is none", want: "at '/dst_endpoint/hostname': 'bad_name' does not match pattern", change: func(e map[string]any) { e["dst_endpoint"].(map[string]any)["hostname"] = "bad_name" }},
		{name: "url without url_string or path", want: "at '/url': missing property 'url_string'", change: func(e map[string]any) { e["url"] = map[string]any{"hostname": "api.example.com"} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := ocsfDoc(t, base)
			c.change(e)
			// Through JSON again, so that the changed values are read
			// as the validator reads a file.
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			err = schema.Validate(doc)
			if c.valid && err != nil {
				t.Fatalf("rejected: %v\n%s", err, b)
			}
			if !c.valid && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("want an error saying %q, got %v\n%s", c.want, err, b)
			}
		})
	}
}

func TestIsHostname(t *testing.T) {
	for s, want := range map[string]bool{"github.com": true, "a": true, "x-1.example.com": true, "192.0.2.1": true,
		"": false, "a..b": false, "-a.com": false, "a-.com": false, "a.com.": false, "*.example.com": false, "a_b.com": false,
		strings.Repeat("a", 70) + ".com": true} {
		if got := isHostname(s); got != want {
			t.Errorf("isHostname(%q) = %v, want %v", s, got, want)
		}
	}
}
